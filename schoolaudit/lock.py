"""One run at a time: the run lock, kept by the store (`locks`).

The holder records its pid, host, start time and a heartbeat it refreshes while it works. Another
process may take the lock over only when the holder is gone: on the same host its pid is no longer
alive, or (any host) its heartbeat is older than `stale_after`. Within one process the lock is
re-entrant per thread, so a scheduled job that holds it can run the pipeline, which takes it too.

`LockHeld` is a `SystemExit`: a command that meets it (a manual `audit` during the nightly run)
ends with its one-line message and exit status 1 instead of a traceback.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta

from records.model import LockRecord, utcnow
from records.runs import LockTaken
from records.store import Store

log = logging.getLogger(__name__)

RUN_LOCK = "run"
HEARTBEAT_SECONDS = 30
STALE_AFTER = timedelta(minutes=10)


class LockHeld(SystemExit):
    def __init__(self, holder: LockRecord):
        self.holder = holder
        super().__init__(f"schoolaudit: another run is in progress ({holder.purpose or 'run'}, pid "
                         f"{holder.holder_pid} on {holder.host}, since {holder.started_at[:19]} UTC); "
                         f"try again when it has finished (`schoolaudit runs` shows it)")

    def __str__(self) -> str:
        return str(self.code)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


_held: dict[tuple[str, str, int], "RunLock"] = {}
_held_guard = threading.Lock()


class RunLock:
    """`with RunLock(store, purpose="nightly"):` ... raises `LockHeld` when another live process holds it.

    With `wait_seconds`, a held lock is waited for (polling) that long before giving up.
    """

    def __init__(self, store: Store, name: str = RUN_LOCK, purpose: str = "",
                 stale_after: timedelta = STALE_AFTER, heartbeat_seconds: float | None = None,
                 wait_seconds: float = 0.0):
        self.store, self.name, self.purpose = store, name, purpose
        self.stale_after, self.wait_seconds = stale_after, wait_seconds
        self.heartbeat_seconds = HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds
        self.token = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname(), os.getpid()
        self._key = (str(store.path.resolve()), name, threading.get_ident())
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> "RunLock":
        with _held_guard:
            if self._key in _held:  # this thread holds it already: re-enter, the outer one releases
                self._outer = True
                return self
        self._outer = False
        self.acquire()
        with _held_guard:
            _held[self._key] = self
        return self

    def __exit__(self, *exc) -> None:
        if self._outer:
            return
        with _held_guard:
            _held.pop(self._key, None)
        self.release()

    def stale(self, holder: LockRecord, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if holder.host == self.host and not pid_alive(holder.holder_pid):
            return True
        return now - datetime.fromisoformat(holder.heartbeat) > self.stale_after

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            now = utcnow().isoformat()
            try:
                self.store.take_lock(LockRecord(self.name, self.token, self.pid, self.host, now, now, self.purpose),
                                     self.stale)
                break
            except LockTaken as taken:
                if time.monotonic() >= deadline:
                    raise LockHeld(taken.holder) from None
                time.sleep(min(5.0, max(0.05, deadline - time.monotonic())))
        self._beat = threading.Thread(target=self._heartbeat, name=f"lock-heartbeat-{self.name}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        # Its own connection: a connection belongs to the thread that uses it. A beat that meets a
        # busy database is skipped, never fatal: the next one comes soon enough.
        store = self.store.companion()
        try:
            while not self._stop.wait(self.heartbeat_seconds):
                try:
                    store.beat_lock(self.name, self.token)
                except Exception as exc:
                    log.warning("run lock heartbeat skipped: %s", exc)
        finally:
            store.close()

    def release(self) -> None:
        self._stop.set()
        if self._beat:
            self._beat.join(timeout=5)
        self.store.drop_lock(self.name, self.token)


def current_holder(store: Store, name: str = RUN_LOCK) -> LockRecord | None:
    return store.lock_holder(name)
