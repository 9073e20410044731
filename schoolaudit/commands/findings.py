"""`schoolaudit findings [dismiss|confirm|resolve|reopen ID --note TEXT]`: list and review findings."""
from __future__ import annotations

import json

from records.model import CATEGORY_LABELS, FindingRecord
from schoolaudit.app import load_app
from schoolaudit.review import ACTIONS, FindingFilter, ReviewError, default_reviewer, list_findings, parse_since, review
from schoolaudit.terminal import say

HELP = "list findings (with filters), or dismiss, confirm or resolve one with a note"
EXAMPLE = 'schoolaudit findings dismiss 12 --note "parents gave written consent"'


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=["list", *ACTIONS],
                        help="list (default), or the decision to record on finding ID")
    parser.add_argument("id", nargs="?", type=int, metavar="ID", help="the finding's number (#12 in reports)")
    parser.add_argument("--note", default="", help="why (kept with the decision)")
    parser.add_argument("--by", default=None, help="who decided (default: $USER)")
    parser.add_argument("--account", help="only this account's findings")
    parser.add_argument("--school", help="only the findings of this school's accounts")
    parser.add_argument("--category", help="only this category (e.g. student_photo)")
    parser.add_argument("--status", help="open, confirmed, dismissed, resolved or all (default: open and confirmed)")
    parser.add_argument("--since", metavar="DATE", help="only findings first seen on or after DATE (2025-09-01)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    app = load_app(args.config)
    try:
        if args.action == "list":
            flt = FindingFilter(args.account, args.school, args.category, args.status,
                                parse_since(args.since, app.settings.timezone))
            if flt.account and flt.account not in {a.id for a in app.registry.accounts}:
                raise ReviewError(f"no account {flt.account!r} in the registry (see `schoolaudit accounts list`)")
            _print(list_findings(app.store, app.registry, flt), args.json)
            return 0
        if args.id is None:
            raise ReviewError(f"`findings {args.action}` needs the finding's number, e.g. findings {args.action} 12")
        finding = review(app.store, args.id, args.action, args.note, args.by or default_reviewer())
        say(f"Finding #{finding.id} ({CATEGORY_LABELS.get(finding.category, finding.category)}, "
            f"{finding.account_id}) is now {finding.status}, by {finding.reviewed_by}"
              + (f": {finding.note}" if finding.note else "."))
        return 0
    except ReviewError as exc:
        say(f"schoolaudit: {exc}")
        return 2
    finally:
        app.close()


def _print(rows: list[FindingRecord], as_json: bool) -> None:
    if as_json:
        keys = ("id", "account_id", "category", "severity", "status", "evidence", "explanation", "clause", "location",
                "first_seen", "note", "reviewed_by", "reviewed_at", "post_url", "post_created_at", "post_removed_at")
        print(json.dumps([{k: getattr(r, k) for k in keys} for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        say("No findings match.")
        return
    for r in rows:
        evidence = " ".join((r.evidence or "").split())
        evidence = evidence if len(evidence) <= 50 else evidence[:49] + "…"
        say(f"#{r.id:<5} {r.severity:<6} {r.status:<9} {r.account_id:<24} "
            f"{CATEGORY_LABELS.get(r.category, r.category):<30} {(r.first_seen or '')[:10]}  “{evidence}”")
        if r.post_url:
            say(f"       {r.post_url}")
    say(f"{len(rows)} finding(s). Record a decision: schoolaudit findings dismiss|confirm|resolve ID --note TEXT")
