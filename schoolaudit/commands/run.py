"""`schoolaudit run nightly|weekly`: run a scheduled job now, exactly as the schedule would."""
from __future__ import annotations

from pathlib import Path

from schoolaudit.app import load_app
from schoolaudit.scheduler import run_job
from schoolaudit.terminal import say

HELP = "run the nightly crawl-and-audit (with alerts and the nightly digest) or the weekly digest now"
EXAMPLE = "schoolaudit run weekly --dry-run /tmp/digests"


def add_arguments(parser) -> None:
    parser.add_argument("job", metavar="JOB", help="nightly, weekly, or account:ID (an account's own job)")
    parser.add_argument("--dry-run", metavar="DIR", type=Path,
                        help="write the e-mails as .eml files in DIR instead of sending them (nothing is recorded as sent)")


def run(args) -> int:
    if args.job not in ("nightly", "weekly") and not args.job.startswith("account:"):
        say(f"schoolaudit: unknown job {args.job!r} (nightly, weekly or account:ID)")
        return 2
    app = load_app(args.config)
    try:
        if args.job.startswith("account:"):
            try:
                app.registry.get(args.job.partition(":")[2])
            except KeyError as exc:
                say(f"schoolaudit: {exc.args[0]}")
                return 2
        report = run_job(app, args.job, dry_run=args.dry_run, show_progress=True)
        if report.run_id:
            run = app.store.run(report.run_id)
            if args.job != "weekly":
                say(f"Run {run.id}: {run.accounts_ok} accounts checked, {run.accounts_failed} could not be "
                      f"checked; {run.posts_new} new posts, {run.posts_changed} changed, {run.findings_new} new findings.")
        say(report.line())
        return 0 if report.status == "finished" and not report.failed else 1
    finally:
        app.close()
