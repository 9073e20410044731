"""`schoolaudit serve`: run the schedule of settings.toml [schedule] until stopped."""
from __future__ import annotations

import logging

from schoolaudit.app import using_line
from schoolaudit.commands.web import start_in_thread
from schoolaudit.config import config_dir, load_settings
from schoolaudit.scheduler import Scheduler

HELP = ("run the schedule (nightly audit, weekly digest, per-account intervals), and the review app when "
        "[web] serve = true, until stopped with SIGTERM or Ctrl-C")
EXAMPLE = "schoolaudit --config /etc/schoolaudit serve"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    logging.getLogger("schoolaudit").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = Scheduler(args.config)
    settings = load_settings(config_dir(args.config))
    print(using_line(settings.config_dir, settings.database), flush=True)
    print(f"schoolaudit serve: {', '.join(scheduler.schedule.jobs) or 'no jobs'} on the schedule "
          f"({scheduler.schedule.timezone.key}); stop with SIGTERM or Ctrl-C", flush=True)
    web = start_in_thread(args.config)
    code = scheduler.serve()
    if web is not None:
        web.should_exit = True
    print("schoolaudit serve: stopped", flush=True)
    return code
