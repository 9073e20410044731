"""`schoolaudit demo`: the whole pipeline on a fictional board served locally; no internet needed."""
from __future__ import annotations

from pathlib import Path

from schoolaudit.app import load_app
from schoolaudit.demo import PREFERRED_PORT, DemoSite, write_demo_config
from schoolaudit.pipeline import Pipeline
from schoolaudit.reporting import ReportBuilder
from schoolaudit.summary import format_summary

HELP = "run the full audit on a bundled demo board served from 127.0.0.1 and write its HTML report"
EXAMPLE = "schoolaudit demo --out /tmp/schoolaudit-demo"


def add_arguments(parser) -> None:
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("schoolaudit-demo"),
                        help="folder for the report, the database and the demo configuration (default: ./schoolaudit-demo)")


def run(args) -> int:
    out = args.out.resolve()
    with DemoSite(port=PREFERRED_PORT) as site:
        print(f"Serving the demo board at {site.url} (local only)")
        app = load_app(write_demo_config(out, site.url))
        try:
            summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, kind="demo")
            report = ReportBuilder(app.settings, app.registry, app.store).write_board_report(out)
        finally:
            app.close()
    print(format_summary(summary))
    print(f"Report: {report}")
    print(f"Database: {app.settings.database}")
    return 0
