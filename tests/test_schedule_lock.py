"""One run at a time: the lock in the database, taken over only from a dead or silent holder; stop flag."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from records.model import utcnow
from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.lock import LockHeld, RunLock, current_holder
from schoolaudit.pipeline import Pipeline


def _plant(store, pid: int, host: str, heartbeat_age: timedelta = timedelta(0)) -> None:
    beat = (utcnow() - heartbeat_age).isoformat()
    with store.db.conn:
        store.db.execute("INSERT OR REPLACE INTO locks VALUES ('run', 'other', ?, ?, ?, ?, 'nightly')",
                         [pid, host, beat, beat])


def test_a_live_holder_blocks_and_a_dead_one_is_taken_over(demo_config):
    app = load_app(demo_config)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _plant(app.store, other.pid, socket.gethostname())
        with pytest.raises(LockHeld) as held:
            with RunLock(app.store):
                pass
        assert f"pid {other.pid}" in str(held.value) and "another run is in progress" in str(held.value)
        # The manual audit meets the same lock and says so in one line, exit status 1.
        with pytest.raises(SystemExit) as exit_info:
            main(["--config", str(demo_config), "audit", "birchwood-council"])
        assert "another run is in progress" in str(exit_info.value.code)
    finally:
        other.kill()
        other.wait()
    with RunLock(app.store, purpose="audit") as lock:  # its holder died: taken over
        assert current_holder(app.store).token == lock.token
    assert current_holder(app.store) is None
    app.close()


def test_another_hosts_lock_counts_until_its_heartbeat_is_stale(demo_config):
    app = load_app(demo_config)
    _plant(app.store, 1, "other-host")
    with pytest.raises(LockHeld):
        RunLock(app.store).__enter__()
    _plant(app.store, 1, "other-host", heartbeat_age=timedelta(hours=1))
    with RunLock(app.store):
        assert current_holder(app.store).host == socket.gethostname()
    app.close()


def test_the_lock_is_reentrant_within_a_thread_and_exclusive_across_threads(demo_config):
    app = load_app(demo_config)
    outcome = {}

    def contender():
        store = load_app(demo_config).store
        try:
            with RunLock(store):
                outcome["got"] = True
        except LockHeld:
            outcome["got"] = False
        finally:
            store.close()

    with RunLock(app.store, purpose="nightly"):
        with RunLock(app.store):  # the job holds it and runs the pipeline, which takes it again
            pass
        assert current_holder(app.store).purpose == "nightly"
        thread = threading.Thread(target=contender)
        thread.start()
        thread.join()
    assert outcome == {"got": False}
    app.close()


def test_a_run_stopped_before_it_starts_is_recorded_as_interrupted(demo_config):
    app = load_app(demo_config)
    pipeline = Pipeline(app.settings, app.policy, app.store)
    pipeline.stop = threading.Event()
    pipeline.stop.set()
    summary = pipeline.run(app.registry.accounts, kind="nightly", show_progress=False)
    run = next(app.store.db.query("SELECT * FROM runs WHERE id = ?", [summary.run_id]))
    assert run["status"] == "interrupted" and run["finished_at"] and "stopped after 0 of" in run["detail"]
    assert current_holder(app.store) is None
    app.close()


def test_a_run_with_a_very_frequent_heartbeat_completes(demo_config, monkeypatch):
    # The heartbeat writes on its own connection while the run's transactions write: neither may
    # fail with "database is locked" (each waits for the other's short transaction).
    monkeypatch.setattr("schoolaudit.lock.HEARTBEAT_SECONDS", 0.001)
    app = load_app(demo_config)
    summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
    assert len(summary.results) == len(app.registry.accounts)
    assert app.store.run(summary.run_id).status == "finished"
    app.close()
