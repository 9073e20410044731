"""`schoolaudit audit ACCOUNT`: the on-demand audit of one account."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from schoolaudit.app import load_app
from schoolaudit.demo import demo_server_gone
from schoolaudit.pipeline import Pipeline
from schoolaudit.reporting import ReportBuilder, finding_json
from schoolaudit.summary import format_summary
from schoolaudit.terminal import say

HELP = "crawl one registered account now, audit its posts and write its HTML report"
EXAMPLE = "schoolaudit audit birchwood-ps-news --json"


def add_arguments(parser) -> None:
    parser.add_argument("account", metavar="ACCOUNT", help="the account's id in accounts.toml")
    parser.add_argument("--json", action="store_true", help="print the account's open findings as JSON")
    parser.add_argument("--out", metavar="DIR", type=Path, help="report folder (default: storage.reports_dir)")


def run(args) -> int:
    app = load_app(args.config)
    try:
        account = app.registry.get(args.account)
    except KeyError as exc:
        say(f"schoolaudit: {exc.args[0]}")
        app.close()
        return 2
    if gone := demo_server_gone(app.settings.config_dir):
        print(f"schoolaudit: {gone}", file=sys.stderr)
        app.close()
        return 1
    try:
        summary = Pipeline(app.settings, app.policy, app.store).run([account], kind="audit", show_progress=not args.json)
        builder = ReportBuilder(app.settings, app.registry, app.store)
        report = builder.write_account_report(account.id, args.out or app.settings.reports_dir)
        result = summary.results[0]
        if args.json:
            print(json.dumps(findings_document(builder, account.id, result, report), indent=2, ensure_ascii=False))
        else:
            say(format_summary(summary))
            say(f"Report: {report}")
        return 0 if result.outcome == "ok" else 1
    finally:
        app.close()


AUDIT_FINDING_KEYS = ("id", "category", "severity", "evidence", "explanation", "clause", "where", "status",
                      "post_url", "post_created_at")  # the README's contract: exactly these


def findings_document(builder: ReportBuilder, account_id: str, result, report: Path) -> dict:
    findings = []
    for post in builder.post_views(account_id):
        for finding in post["findings"]:
            document = finding_json(finding, builder.registry, builder.zone)
            findings.append({key: document[key] for key in AUDIT_FINDING_KEYS})
    return {"account": account_id, "outcome": result.outcome, "detail": result.detail,
            "report": str(report), "findings": findings}
