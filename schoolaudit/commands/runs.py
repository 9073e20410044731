"""`schoolaudit runs`: every run with its start, end, outcome and counts, newest first."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from schoolaudit.app import load_app
from schoolaudit.lock import current_holder
from schoolaudit.reporting import local_time
from schoolaudit.terminal import say

HELP = "list the runs (nightly, weekly, audits): when, how long, accounts ok/failed, new posts and findings"
EXAMPLE = "schoolaudit runs --limit 10"


def add_arguments(parser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="how many runs to show (default 20)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    app = load_app(args.config)
    try:
        rows = app.store.recent_runs(args.limit)
        undelivered = app.store.undelivered()
        state = list(app.store.schedule_state().values())
        if args.json:
            print(json.dumps({"runs": [asdict(r) for r in rows],
                              "undelivered": [{"recipient": d.recipient, "subject": d.subject, "status": d.status.value,
                                               "attempts": d.attempts, "last_error": d.last_error} for d in undelivered],
                              "schedule": [asdict(s) for s in state]}, indent=2))
            return 0
        zone = ZoneInfo(app.settings.timezone)
        local = lambda iso: local_time(iso, zone, with_zone=False) or "-"  # noqa: E731
        say(f"{'run':>5}  {'kind':<22} {'started':<16}  {'took':>6}  {'status':<11} {'accounts ok/failed':>18}  "
              f"{'posts new/changed':>17}  {'new findings':>12}")
        for r in rows:
            took = "-"
            if r.finished_at:
                seconds = (datetime.fromisoformat(r.finished_at) - datetime.fromisoformat(r.started_at)).total_seconds()
                took = f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"
            say(f"{r.id:>5}  {r.kind:<22} {local(r.started_at):<16}  {took:>6}  {r.status:<11} "
                  f"{r.accounts_ok:>8} / {r.accounts_failed:<7}  {r.posts_new:>8} / {r.posts_changed:<6}  "
                  f"{r.findings_new:>12}" + (f"  {r.detail}" if r.detail else ""))
        if not rows:
            say("No runs yet. `schoolaudit run nightly` runs the nightly job now.")
        holder = current_holder(app.store)
        if holder:
            say(f"Running now: {holder.purpose} (pid {holder.holder_pid} on {holder.host}, since "
                  f"{local(holder.started_at)})")
        for s in state:
            say(f"Schedule: {s.job:<22} last ran for {local(s.last_fire_time)}  ({s.last_status})")
        for d in undelivered:
            say(f"Not delivered yet: {d.subject} to {d.recipient} after {d.attempts} attempt(s): {d.last_error or 'pending'}")
        return 0
    finally:
        app.close()
