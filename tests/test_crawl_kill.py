"""A crawl killed with SIGKILL mid-way leaves a consistent database; the next run completes the work."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from faultserver import FaultServer, feed, rss, stall, write_config
from schoolaudit.app import load_app
from schoolaudit.pipeline import Pipeline

CRAWL = """
import sys
from schoolaudit.app import load_app
from schoolaudit.pipeline import Pipeline
app = load_app(sys.argv[1])
Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
"""
ACCOUNTS = 6
POSTS = 4


def _wait_for(condition, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("the crawl did not get there in time")
        time.sleep(0.05)


def _checked(database) -> int:
    try:
        with sqlite3.connect(database, timeout=5) as conn:
            return conn.execute("SELECT count(DISTINCT account_id) FROM account_checks").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_a_crawl_killed_mid_way_is_completed_by_the_next_run(tmp_path):
    release = threading.Event()
    routes = {f"/feed-{i}.xml": feed(rss(POSTS, f"club{i}", words=60)) for i in range(ACCOUNTS - 1)}
    routes["/stalling.xml"] = stall(release, feed(rss(POSTS, "stalling")))
    with FaultServer(routes) as server:
        accounts = {f"club-{i}": f"{server.url}/feed-{i}.xml" for i in range(ACCOUNTS - 1)}
        accounts["stalling"] = server.url + "/stalling.xml"
        config = write_config(tmp_path, accounts, timeout_seconds=60)
        database = load_app(config).settings.database
        crawl = subprocess.Popen([sys.executable, "-c", CRAWL, str(config)], cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Mid-way: the other accounts are stored and audited, one is still waiting for its feed.
            _wait_for(lambda: server.hits["/stalling.xml"] >= 1 and _checked(database) == ACCOUNTS - 1)
            os.kill(crawl.pid, signal.SIGKILL)
            assert crawl.wait(timeout=30) == -signal.SIGKILL
        finally:
            if crawl.poll() is None:
                crawl.kill()
            release.set()

        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]  # it never finished
            assert conn.execute("SELECT count(*) FROM posts WHERE account_id = 'stalling'").fetchone()[0] == 0

        app = load_app(config)
        summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
        assert {r.account.id: r.outcome for r in summary.results} == {a: "ok" for a in accounts}
        assert app.store.unaudited_posts() == []
        counts = dict(app.store.db.execute("SELECT account_id, count(*) FROM posts GROUP BY account_id").fetchall())
        assert counts == {a: POSTS for a in accounts}
        versions = app.store.db.execute("SELECT count(*) FROM post_versions").fetchone()[0]
        assert versions == ACCOUNTS * POSTS  # nothing half-written and nothing written twice
        assert app.store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert app.store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        app.close()
