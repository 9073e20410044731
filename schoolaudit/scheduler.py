"""The schedule: the nightly crawl-and-audit, the weekly digest and optional per-account intervals.

`run_job` is the one function behind every job, whether `serve` runs it on time, on start to catch
up a missed one, or a person runs it with `schoolaudit run`. Which jobs are due is decided from the
`schedule_state` table (the fire time each job last ran for) and the APScheduler trigger of the job,
at a time given by a clock (`Scheduler.tick(now)`), so a job missed while `serve` was down runs
once (coalesced) on start when its latest fire time is within `schedule.grace_minutes`.
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from records.model import utcnow
from schoolaudit.app import App, load_app
from schoolaudit.config import ConfigError, Settings
from schoolaudit.config.settings import INTERVAL, OFF
from schoolaudit.digest import DigestBuilder, load_recipients
from schoolaudit.lock import LockHeld, RunLock
from schoolaudit.mail import DryRunMailer, SmtpMailer, deliver_pending, outgoing
from schoolaudit.pipeline import Pipeline

log = logging.getLogger(__name__)


@dataclass
class ScheduleConfig:
    timezone: ZoneInfo
    jobs: dict[str, object]  # job name -> APScheduler trigger
    grace: timedelta


def parse_interval(text: str) -> timedelta:
    match = INTERVAL.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an interval like \"6h\", \"90m\", \"1d\" or \"every 6 hours\"")
    number, unit = int(match.group(1)), match.group(2).lower()[0]
    return {"m": timedelta(minutes=number), "h": timedelta(hours=number), "d": timedelta(days=number)}[unit]


def load_schedule(settings: Settings, account_ids: list[str]) -> ScheduleConfig:
    schedule = settings.schedule
    zone = ZoneInfo(settings.timezone)
    jobs: dict[str, object] = {}
    for name in ("nightly", "weekly"):
        expression = getattr(schedule, name)
        if expression not in OFF:
            jobs[name] = CronTrigger.from_crontab(expression, timezone=zone)
    for account_id, every in schedule.accounts.items():
        if account_id not in account_ids:
            raise ConfigError(f"{settings.config_dir / 'settings.toml'}: [schedule.accounts] unknown account {account_id!r}")
        interval = parse_interval(every)
        jobs[f"account:{account_id}"] = IntervalTrigger(seconds=int(interval.total_seconds()), timezone=zone,
                                                        start_date=datetime(2000, 1, 1, tzinfo=zone))
    return ScheduleConfig(zone, jobs, timedelta(minutes=schedule.grace_minutes))


# -- the jobs -----------------------------------------------------------------------------------


@dataclass
class JobReport:
    job: str
    status: str = "finished"  # finished | interrupted | skipped (another run held the lock)
    run_id: int | None = None
    sent: int = 0
    failed: int = 0
    written: list[Path] = field(default_factory=list)
    detail: str = ""

    def line(self) -> str:
        mail = f"{self.sent} message(s) sent" + (f", {self.failed} failed (kept; the next run retries)" if self.failed else "")
        if self.written:
            mail = f"{len(self.written)} message(s) written as .eml to {self.written[0].parent}"
        return f"{self.job}: {self.status}" + (f" (run {self.run_id})" if self.run_id else "") + f"; {mail}" + \
            (f"; {self.detail}" if self.detail else "")


def run_job(app: App, job: str, now: datetime | None = None, *, dry_run: Path | None = None,
            stop: threading.Event | None = None, transport=None, show_progress: bool = False,
            wait_for_lock: float = 0.0) -> JobReport:
    """Run one job (`nightly`, `weekly` or `account:ID`) now, holding the run lock for all of it.

    nightly: crawl and audit every account, send alerts for the severe categories, then the nightly
    digest. weekly: the weekly digest. account:ID: crawl and audit that account, then alerts. With
    `dry_run` messages are written as .eml files there and nothing about digests is recorded. A run
    lock held by another process (a manual `audit`) is waited for up to `wait_for_lock` seconds.
    """
    now = now or utcnow()
    report = JobReport(job)
    recipients = load_recipients(app.settings, app.registry)
    mailer = DryRunMailer(dry_run) if dry_run else SmtpMailer(app.settings.mail)
    with RunLock(app.store, purpose=job, wait_seconds=wait_for_lock):
        if job == "weekly":
            report.run_id = app.store.start_run("weekly")
            kinds = ["weekly"]
        else:
            accounts = app.registry.accounts if job == "nightly" else [app.registry.get(job.partition(":")[2])]
            pipeline = Pipeline(app.settings, app.policy, app.store, transport=transport)
            pipeline.stop = stop
            summary = pipeline.run(accounts, kind=job, show_progress=show_progress)
            report.run_id = summary.run_id
            report.status = app.store.run(summary.run_id).status
            kinds = ["alerts", "nightly"] if job == "nightly" else ["alerts"]
            if report.status == "interrupted":  # stopping: digests go out with the next run
                return report
        builder = DigestBuilder(app.settings, app.registry, app.store, now=now)
        for kind in kinds:
            _issue(app, builder, kind, recipients, mailer, record=not dry_run, run_id=report.run_id)
        if not dry_run:
            report.sent, report.failed = deliver_pending(app.store, mailer, app.settings.mail)
        else:
            report.written = mailer.written
        detail = f"digests: {report.sent} sent, {report.failed} failed" if not dry_run else "dry run"
        if job == "weekly":
            app.store.finish_run(report.run_id, "finished", detail)
        else:
            app.store.add_run_detail(report.run_id, detail)
    return report


def _issue(app: App, builder: DigestBuilder, kind: str, recipients, mailer, record: bool,
           run_id: int | None) -> None:
    """Render `kind` for each of its recipients, then record its range with every message at once.

    A message that cannot be rendered is logged and left out; it never holds back the others.
    """
    covered = builder.next_range(kind)
    previous = app.store.last_digest(kind)
    messages = []
    for recipient in recipients:
        if kind not in recipient.digests:
            continue
        try:
            if kind == "weekly":
                digest = builder.weekly(recipient, covered, previous)
            else:
                digest = getattr(builder, kind)(recipient, covered)
            if digest.empty and (kind == "alerts" or not app.settings.digest.send_empty):
                continue
            messages.append(outgoing(digest, app.settings.mail.sender))
        except Exception:
            log.exception("%s digest for %s could not be written; the others go out", kind, recipient.email)
    if not record:
        for message in messages:
            mailer.send(message.message.encode("ascii"), message.recipient)
        return
    app.store.queue_digest(covered, messages, run_id)


# -- deciding what is due -----------------------------------------------------------------------


def latest_fire(trigger, after: datetime, now: datetime) -> datetime | None:
    """The latest fire time of `trigger` in (after, now], or None (missed fires coalesce into it)."""
    latest, cursor = None, after + timedelta(seconds=1)
    while True:
        fire = trigger.get_next_fire_time(None, cursor)
        if fire is None or fire > now:
            return latest
        latest, cursor = fire, fire + timedelta(seconds=1)


class Scheduler:
    """Decides and runs due jobs at the time its clock gives; `serve` drives it with APScheduler."""

    def __init__(self, config: str | Path | None, clock: Callable[[], datetime] = utcnow,
                 stop: threading.Event | None = None, transport=None):
        self.config, self.clock, self.stop, self.transport = config, clock, stop or threading.Event(), transport
        app = load_app(config, announce=False)
        try:
            self.schedule = load_schedule(app.settings, [a.id for a in app.registry.accounts])
            load_recipients(app.settings, app.registry)  # configuration errors now, not at 02:30
        finally:
            app.close()
        self._busy = threading.Lock()

    def due(self, app: App, now: datetime) -> list[tuple[str, datetime]]:
        """(job, fire time) for each job with a fire time since it last ran, within the grace time."""
        due = []
        state = app.store.schedule_state()
        for job, trigger in self.schedule.jobs.items():
            row = state.get(job)
            if row is None or not row.last_fire_time:  # first start: nothing was expected yet
                app.store.record_schedule(job, last_fire_time=now, last_status="scheduled")
                continue
            fire = latest_fire(trigger, datetime.fromisoformat(row.last_fire_time), now)
            if fire is None:
                continue
            if now - fire > self.schedule.grace:
                log.warning("%s: missed its run of %s by more than the grace time; waiting for the next one", job, fire)
                app.store.record_schedule(job, last_fire_time=fire, last_status="missed")
                continue
            due.append((job, fire))
        return due

    def tick(self) -> list[JobReport]:
        """Run, once each and nightly before weekly, every job due at the clock's time."""
        if not self._busy.acquire(blocking=False):
            return []  # a tick is already running jobs in this process
        try:
            reports = []
            now = self.clock()
            app = load_app(self.config, announce=False)
            try:
                for job, fire in self.due(app, now):
                    if self.stop.is_set():
                        break
                    reports.append(self._run(app, job, fire, now))
            finally:
                app.close()
            return reports
        finally:
            self._busy.release()

    def _run(self, app: App, job: str, fire: datetime, now: datetime) -> JobReport:
        app.store.record_schedule(job, last_started_at=utcnow(), last_status="running")
        try:
            report = run_job(app, job, now, stop=self.stop, transport=self.transport,
                             wait_for_lock=self.schedule.grace.total_seconds())
        except LockHeld as exc:  # a manual run holds it: this fire time is tried again at the next tick
            log.warning("%s: %s", job, exc)
            app.store.record_schedule(job, last_status="waiting for the lock")
            return JobReport(job, "skipped", detail=str(exc))
        except Exception as exc:
            log.exception("%s failed", job)
            app.store.record_schedule(job, last_fire_time=fire, last_finished_at=utcnow(),
                         last_status=f"failed: {type(exc).__name__}: {exc}"[:300])
            return JobReport(job, "failed", detail=f"{type(exc).__name__}: {exc}")
        if report.status == "interrupted":  # stopped: the same fire time is due again on the next start
            app.store.record_schedule(job, last_finished_at=utcnow(), last_status="interrupted")
        else:
            app.store.record_schedule(job, last_fire_time=fire, last_finished_at=utcnow(),
                         last_status=report.status)
        log.info("%s", report.line())
        return report

    # -- serve --------------------------------------------------------------------------------

    def serve(self, poll_seconds: float = 60.0) -> int:
        """Run missed jobs once, then the schedule, until SIGTERM/SIGINT (which finishes or stops the current account)."""
        from apscheduler.schedulers.background import BackgroundScheduler

        def on_signal(signum, frame):
            log.info("signal %s: finishing the current account, then stopping", signum)
            self.stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        scheduler = BackgroundScheduler(timezone=self.schedule.timezone)
        grace = int(self.schedule.grace.total_seconds())
        for job, trigger in self.schedule.jobs.items():
            scheduler.add_job(self.tick, trigger, id=job, coalesce=True, misfire_grace_time=grace, max_instances=1)
        try:
            self.tick()  # catch up: a job missed while serve was down runs once now
            scheduler.start()
            for job in scheduler.get_jobs():
                log.info("scheduled %s: next run %s", job.id, job.next_run_time)
            while not self.stop.wait(poll_seconds):
                pass
        finally:
            scheduler.shutdown(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0
