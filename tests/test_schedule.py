"""The schedule end to end with a clock the test controls: nightly crawl of the local demo board ->
weekly digest received by a local SMTP server -> a finding dismissed -> the next digest without it.
Also: missed runs coalesce within the grace time, and SIGTERM stops `serve` cleanly mid-run."""
from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.config import ConfigError, load_settings
from schoolaudit.scheduler import Scheduler, latest_fire, load_schedule, parse_interval

from conftest import add_feed_account, stalling_server
from smtpserver import SmtpServer, parts, use_server

TZ = ZoneInfo("America/Toronto")
BOARD = "communications@example.org"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _ids(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"#(\d+)", text)}


def test_schedule_crawl_digest_dismiss_next_digest(demo_config, capsys):
    with SmtpServer() as smtp:
        use_server(demo_config, smtp.port)
        clock = Clock(datetime(2025, 1, 5, 12, 0, tzinfo=TZ))  # a Sunday: serve starts for the first time
        scheduler = Scheduler(demo_config, clock)
        assert scheduler.tick() == []  # nothing was expected before the first start

        clock.now = datetime(2025, 1, 6, 2, 31, tzinfo=TZ)  # Monday, just after the nightly time
        assert [r.job for r in scheduler.tick()] == ["nightly"]
        assert scheduler.tick() == []  # already done for this fire time

        clock.now = datetime(2025, 1, 6, 7, 1, tzinfo=TZ)  # the weekly digest
        (weekly,) = scheduler.tick()
        assert weekly.job == "weekly" and weekly.sent == 4
        first = parts(smtp.inbox.to(BOARD)[-1])[0]
        app = load_app(demo_config)
        findings = {r["id"]: r for r in app.store.db.query("SELECT * FROM findings")}
        beer = next(i for i, f in findings.items() if "Brewery" in f["evidence"])
        assert beer in _ids(first) and len(_ids(first)) == len(findings)

        assert main(["--config", str(demo_config), "findings", "dismiss", str(beer),
                     "--note", "a staff event, not a school one", "--by", "comms"]) == 0

        # serve was down for a week: the nightly and weekly jobs run once each on the next tick.
        clock.now = datetime(2025, 1, 13, 7, 1, tzinfo=TZ)
        assert [r.job for r in scheduler.tick()] == ["nightly", "weekly"]
        second = parts(smtp.inbox.to(BOARD)[-1])[0]
        assert beer not in _ids(second)
        assert _ids(second) == set(findings) - {beer}  # the others are still open
        assert "Still open from earlier weeks".upper() in second.upper()

        kinds = [(r["kind"], r["status"]) for r in app.store.db.query("SELECT kind, status FROM runs ORDER BY id")]
        assert kinds == [("nightly", "finished"), ("weekly", "finished")] * 2
        capsys.readouterr()
        assert main(["--config", str(demo_config), "runs"]) == 0
        listing = capsys.readouterr().out
        assert "nightly" in listing and "weekly" in listing and "digests: 4 sent, 0 failed" in listing

        # Too late for the nightly (past the grace time), in time for the weekly.
        clock.now = datetime(2025, 1, 20, 12, 0, tzinfo=TZ)
        assert [r.job for r in scheduler.tick()] == ["weekly"]
        state = {r["job"]: r for r in app.store.db.query("SELECT * FROM schedule_state")}
        assert state["nightly"]["last_status"] == "missed"
        app.close()


def test_schedule_settings_and_intervals(demo_config):
    assert parse_interval("6h") == timedelta(hours=6) and parse_interval("every 90 minutes") == timedelta(minutes=90)
    with pytest.raises(ValueError):
        parse_interval("twice a day")
    path = demo_config / "settings.toml"
    path.write_text(path.read_text().replace('# "mrdsb-news" = "6h"', '"mrdsb-news" = "6h"'))
    schedule = load_schedule(load_settings(demo_config), ["mrdsb-news"])
    assert set(schedule.jobs) == {"nightly", "weekly", "account:mrdsb-news"}
    monday = datetime(2025, 3, 10, 12, 0, tzinfo=TZ)
    # 02:30 in the board's timezone, whatever the server's: across the DST change of 2025-03-09 too.
    fire = latest_fire(schedule.jobs["nightly"], monday - timedelta(days=2), monday)
    assert fire.astimezone(TZ).strftime("%H:%M") == "02:30" and fire.astimezone(TZ).day == 10
    with pytest.raises(ConfigError):
        load_schedule(load_settings(demo_config), [])  # unknown account in [schedule.accounts]
    path.write_text(path.read_text().replace('nightly = "30 2 * * *"', 'nightly = "at night"'))
    with pytest.raises(ConfigError):
        load_schedule(load_settings(demo_config), ["mrdsb-news"])


def test_sigterm_stops_serve_cleanly_and_marks_the_run_interrupted(demo_config):
    with stalling_server(30) as hang:
        add_feed_account(demo_config, "hanging-club", f"{hang}/feed.xml")
        settings = demo_config / "settings.toml"
        settings.write_text(settings.read_text().replace("grace_minutes = 360", "grace_minutes = 2880"))
        app = load_app(demo_config)
        total = len(app.registry.accounts)
        with app.store.db.conn:  # the nightly job last ran yesterday: it is due as serve starts
            app.store.db["schedule_state"].insert({"job": "nightly", "last_fire_time": (
                datetime.now(TZ) - timedelta(days=1, minutes=1)).isoformat()})
        with SmtpServer() as smtp:
            use_server(demo_config, smtp.port)
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            serve = subprocess.Popen([sys.executable, "-m", "schoolaudit.cli", "--config", str(demo_config), "serve"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # wait until the run has checked the other accounts
                    checks = app.store.db.execute("SELECT count(*) FROM account_checks").fetchone()[0]
                    if checks >= total - 1:
                        break
                    time.sleep(0.1)
                assert checks >= total - 1, serve.poll()
                serve.send_signal(signal.SIGTERM)
                output, _ = serve.communicate(timeout=60)
            finally:
                if serve.poll() is None:
                    serve.kill()
    assert serve.returncode == 0, output
    assert "stopped" in output
    assert f"schoolaudit: configuration {demo_config}, database " in output.splitlines()[0]
    # normal events (a job scheduled, the signal received) are INFO; WARNING is kept for what needs a look
    assert "INFO schoolaudit.scheduler: signal 15" in output and "WARNING" not in output, output
    run = next(app.store.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))
    assert run["status"] == "interrupted" and run["finished_at"] and f"stopped after {total - 1} of {total} accounts" in run["detail"]
    assert app.store.db.execute("SELECT count(*) FROM locks").fetchone()[0] == 0
    assert next(app.store.db.query("SELECT * FROM schedule_state WHERE job = 'nightly'"))["last_status"] == "interrupted"
    app.close()


CRON_ITEMS = ("*", "*/0", "*/5", "*/23", "*/24", "*/30", "*/59", "*/60", "0", "1", "5", "6", "7", "12", "13", "23", "24",
              "31", "32", "59", "60", "00", "007", "1-5", "5-1", "0-0/1", "1-5/2", "1-5/4", "1-5/5", "0-59/59", "0-59/60",
              "5/10", "mon", "MON", "Fri", "mon-fri", "fri-mon", "sun-sun", "monday", "mon/2", "jan", "last", "L", "x", "")


def test_schedules_read_without_apscheduler_are_those_apscheduler_accepts():
    """The start-up check (`_plainly_valid_cron`) may only accept what apscheduler accepts; it hands the
    rest to apscheduler, whose message the user then reads."""
    from apscheduler.triggers.cron import CronTrigger

    from schoolaudit.config.settings import _plainly_valid_cron

    def accepted(expression: str) -> bool:
        try:
            CronTrigger.from_crontab(expression)
        except ValueError:
            return False
        return True

    plain = 0
    for position in range(5):
        for pair in [*((item,) for item in CRON_ITEMS), *itertools.combinations(CRON_ITEMS, 2)]:
            expression = " ".join(",".join(pair) if i == position else "*" for i in range(5))
            if _plainly_valid_cron(expression):
                plain += 1
                assert accepted(expression), expression
    assert plain > 500  # the usual schedules really are read without apscheduler
    for usual in ("30 2 * * *", "0 7 * * mon", "*/15 8-17 * * mon-fri", "0 6 1,15 * *"):
        assert _plainly_valid_cron(usual), usual
    for wrong in ("30 2 * *", "61 * * * *", "at night"):
        assert not _plainly_valid_cron(wrong) and not accepted(wrong)
