"""`schoolaudit demo`: the whole pipeline on a fictional board served locally; no internet needed."""
from __future__ import annotations

import secrets
from pathlib import Path

from records import people
from schoolaudit.app import load_app
from schoolaudit.demo import PREFERRED_PORT, DemoSite, write_demo_config
from schoolaudit.pipeline import Pipeline
from schoolaudit.reporting import ReportBuilder
from schoolaudit.summary import format_summary

HELP = "run the full audit on a bundled demo board served from 127.0.0.1 and write its HTML report"
EXAMPLE = "schoolaudit demo --out /tmp/schoolaudit-demo --web"
DEMO_USER = "demo@example.org"


def add_arguments(parser) -> None:
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("schoolaudit-demo"),
                        help="folder for the report, the database and the demo configuration (default: ./schoolaudit-demo)")
    parser.add_argument("--web", action="store_true",
                        help="then serve the review app on http://127.0.0.1:8080 until Ctrl-C")


def run(args) -> int:
    out = args.out.resolve()
    with DemoSite(port=PREFERRED_PORT) as site:
        print(f"Serving the demo board at {site.url} (local only)")
        config = write_demo_config(out, site.url, one_at_a_time=True)
        app = load_app(config, announce=False)
        try:
            summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, kind="demo")
            report = ReportBuilder(app.settings, app.registry, app.store).write_board_report(out)
            password = demo_user(app.store)
        finally:
            app.close()
    print(format_summary(summary))
    print(f"Report: {report}")
    print(f"Database: {app.settings.database}")
    print(f"Configuration: {config}; keep using it with --config, e.g. `schoolaudit findings --config {config}`")
    print(f"Review app: sign in as {DEMO_USER} with password {password}"
          + ("" if args.web else f" after `schoolaudit --config {config} web` (or run the demo with --web)"))
    if args.web:
        from schoolaudit.commands import web

        args.config, args.host, args.port = str(config), None, None
        return web.run(args)
    return 0


def demo_user(store) -> str:
    """The demo board's administrator, with a new password each run; returns the password."""
    from schoolaudit.web.passwords import hash_password

    password = secrets.token_urlsafe(9)
    if people.user_by_email(store, DEMO_USER):
        people.set_password_hash(store, DEMO_USER, hash_password(password))
    else:
        people.add_user(store, DEMO_USER, "admin", "board", hash_password(password), "Demo administrator")
    return password
