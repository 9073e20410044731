"""One run at a time: a lock row in the database (`locks` table).

The holder writes its pid, host, start time and a heartbeat it refreshes while it works. Another
process may take the lock over only when the holder is gone: on the same host its pid is no longer
alive, or (any host) its heartbeat is older than `stale_after`. Within one process the lock is
re-entrant per thread, so a scheduled job that holds it can run the pipeline, which takes it too.

`LockHeld` is a `SystemExit`: a command that meets it (a manual `audit` during the nightly run)
ends with its one-line message and exit status 1 instead of a traceback.
"""
from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from records.model import utcnow
from records.store import Store

RUN_LOCK = "run"
HEARTBEAT_SECONDS = 30
STALE_AFTER = timedelta(minutes=10)


class LockHeld(SystemExit):
    def __init__(self, row: dict):
        self.row = row
        super().__init__(f"schoolaudit: another run is in progress ({row.get('purpose') or 'run'}, pid "
                         f"{row['holder_pid']} on {row['host']}, since {row['started_at'][:19]} UTC); "
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
    """`with RunLock(store, purpose="nightly"):` ... raises `LockHeld` when another live process holds it."""

    def __init__(self, store: Store, name: str = RUN_LOCK, purpose: str = "",
                 stale_after: timedelta = STALE_AFTER, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.store, self.name, self.purpose = store, name, purpose
        self.stale_after, self.heartbeat_seconds = stale_after, heartbeat_seconds
        self.token = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname(), os.getpid()
        self._key = (str(store.path.resolve()), name, threading.get_ident())
        self._depth = 0
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> "RunLock":
        with _held_guard:
            outer = _held.get(self._key)
            if outer is not None:  # this thread holds it already: re-enter
                outer._depth += 1
                self._outer = outer
                return self
        self._outer = None
        self.acquire()
        with _held_guard:
            _held[self._key] = self
        self._depth = 1
        return self

    def __exit__(self, *exc) -> None:
        if self._outer is not None:
            self._outer._depth -= 1
            return
        with _held_guard:
            _held.pop(self._key, None)
        self.release()

    def stale(self, row: dict, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if row["host"] == self.host and not pid_alive(row["holder_pid"]):
            return True
        return now - datetime.fromisoformat(row["heartbeat"]) > self.stale_after

    def acquire(self) -> None:
        db = self.store.db
        now = utcnow().isoformat()
        db.execute("BEGIN IMMEDIATE")  # no other writer between the read and the write
        try:
            rows = list(db.query("SELECT * FROM locks WHERE name = ?", [self.name]))
            if rows and not self.stale(rows[0]):
                raise LockHeld(rows[0])
            db.execute("INSERT OR REPLACE INTO locks (name, token, holder_pid, host, started_at, heartbeat, purpose) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", [self.name, self.token, self.pid, self.host, now, now, self.purpose])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._beat = threading.Thread(target=self._heartbeat, name=f"lock-heartbeat-{self.name}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        # Its own connection: the store's belongs to the thread that opened it.
        import sqlite3

        conn = sqlite3.connect(self.store.path, timeout=10)
        try:
            while not self._stop.wait(self.heartbeat_seconds):
                with conn:
                    conn.execute("UPDATE locks SET heartbeat = ? WHERE name = ? AND token = ?",
                                 [utcnow().isoformat(), self.name, self.token])
        finally:
            conn.close()

    def release(self) -> None:
        self._stop.set()
        if self._beat:
            self._beat.join(timeout=5)
        with self.store.db.conn:
            self.store.db.execute("DELETE FROM locks WHERE name = ? AND token = ?", [self.name, self.token])


def current_holder(store: Store, name: str = RUN_LOCK) -> dict | None:
    rows = list(store.db.query("SELECT * FROM locks WHERE name = ?", [name]))
    return rows[0] if rows else None
