"""`schoolaudit findings [show ID | dismiss|confirm|resolve|reopen ID... --note TEXT]`: list and review findings."""
from __future__ import annotations

import json
import shutil
import sys

from records.findings import UnknownFinding
from records.model import CATEGORY_LABELS, FindingRecord
from reports.render import place_label
from schoolaudit.app import App, load_app
from schoolaudit.reporting import ReportBuilder, finding_json, iso_time, local_time
from schoolaudit.review import ACTIONS, FindingFilter, ReviewError, default_reviewer, list_findings, parse_since, review
from schoolaudit.terminal import printable, say

HELP = "list findings (with filters), show one in full, or dismiss, confirm or resolve some with a note"
EXAMPLE = "schoolaudit findings dismiss '#12' '#13' --note \"parents gave written consent\""
EVIDENCE_WIDTH = 50  # characters of evidence at most in the table; `findings show ID` has all of it
COLUMNS = ("ID", "SEVERITY", "STATUS", "ACCOUNT", "CATEGORY", "FIRST SEEN", "EVIDENCE")


def finding_number(text: str) -> int:
    """`12` or `#12` (reports print #12)."""
    try:
        return int(text.strip().removeprefix("#"))
    except ValueError:
        raise ValueError(f"{text!r} is not a finding number like 12 or #12") from None


finding_number.__name__ = "finding number"  # argparse names the type in its error: "invalid finding number value"


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=["list", "show", *ACTIONS],
                        help="list (default), show ID (everything about one finding), or the decision to record")
    parser.add_argument("ids", nargs="*", type=finding_number, metavar="ID",
                        help="finding numbers, as 12 or #12 (reports print #12); a decision may name several")
    parser.add_argument("--note", default="", help="why (kept with the decision)")
    parser.add_argument("--by", default=None, help="who decided (default: $USER)")
    parser.add_argument("--account", help="only this account's findings")
    parser.add_argument("--school", help="only the findings of this school's accounts")
    parser.add_argument("--category", help="only this category (e.g. student_photo)")
    parser.add_argument("--status", help="open, confirmed, dismissed, resolved or all (default: open and confirmed)")
    parser.add_argument("--since", metavar="DATE", help="only findings first seen on or after DATE (2025-09-01)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table (README: JSON output)")


def run(args) -> int:
    app = load_app(args.config)
    try:
        if args.action == "list":
            return _list(app, args)
        if not args.ids:
            raise ReviewError(f"`findings {args.action}` needs the finding's number, e.g. findings {args.action} 12")
        if args.action == "show":
            return _show(app, args.ids, args.json)
        return _decide(app, args)
    except ReviewError as exc:
        say(f"schoolaudit: {exc}")
        return 2
    finally:
        app.close()


def _list(app: App, args) -> int:
    flt = FindingFilter(args.account, args.school, args.category, args.status,
                        parse_since(args.since, app.settings.timezone))
    if flt.account and flt.account not in {a.id for a in app.registry.accounts}:
        raise ReviewError(f"no account {flt.account!r} in the registry (see `schoolaudit accounts list`)")
    rows = list_findings(app.store, app.registry, flt)
    builder = ReportBuilder(app.settings, app.registry, app.store)
    if args.json:
        print(json.dumps([finding_json(r, app.registry, builder.zone) for r in rows], indent=2, ensure_ascii=False))
    elif not rows:
        say("No findings match.")
    else:
        say(findings_table(rows, builder.zone, terminal_width()))
    return 0


def terminal_width() -> int:
    """The terminal's width; into a pipe or file (no terminal), room for the whole table."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 1000


def findings_table(rows: list[FindingRecord], zone, terminal_width: int) -> str:
    """A header row, then one row per finding (its post's link below it); evidence cut to fit the terminal."""
    table = [[f"#{r.id}", r.severity, r.status + (" (post removed)" if r.post_removed_at else ""), r.account_id,
              CATEGORY_LABELS.get(r.category, r.category), (local_time(r.first_seen, zone, with_zone=False) or "")[:10]]
             for r in rows]
    widths = [max(len(line[column]) for line in [list(COLUMNS), *table]) for column in range(len(COLUMNS) - 1)]
    room = max(10, min(EVIDENCE_WIDTH, terminal_width - sum(widths) - 2 * len(widths)))
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(COLUMNS, widths)) + "  " + COLUMNS[-1]]
    for record, cells in zip(rows, table):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + "  "
                     + shorten(printable(record.evidence or ""), room))  # escapes first: the cut counts them
        if record.post_url:
            lines.append(" " * (widths[0] + 2) + record.post_url)
    lines.append(f"{len(rows)} finding(s). Full detail: schoolaudit findings show ID. "
                 "Record a decision: schoolaudit findings dismiss|confirm|resolve ID... --note TEXT")
    return "\n".join(lines)


def shorten(text: str | None, width: int) -> str:
    """`text` on one line, at most `width` characters (an ellipsis marks a cut)."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _show(app: App, ids: list[int], as_json: bool) -> int:
    builder = ReportBuilder(app.settings, app.registry, app.store)
    for number in ids:
        try:
            finding = app.store.finding(number)
        except UnknownFinding as exc:
            raise ReviewError(str(exc)) from None
        history = app.store.review_history(number)
        if as_json:
            document = finding_json(finding, app.registry, builder.zone)
            document["history"] = [{"action": h.action, "status": h.status, "note": h.note, "by": h.reviewed_by,
                                    "at": iso_time(h.reviewed_at, builder.zone)} for h in history]
            print(json.dumps(document, indent=2, ensure_ascii=False))
            continue
        say(finding_details(builder, finding, history))
    return 0


def finding_details(builder: ReportBuilder, finding: FindingRecord, history) -> str:
    """What the report shows about one finding and its post, then its review history."""
    post = builder.views_for_findings([finding])[0]
    label = CATEGORY_LABELS.get(finding.category, finding.category)
    lines = [f"Finding #{finding.id}: {label} ({finding.severity}), {finding.status}",
             f"  Account:   {finding.account_id} ({post['account_name']})",
             f"  Evidence:  {' '.join(finding.evidence.split())}",
             f"  Where:     in {place_label(finding.location)}",
             f"  Why:       {finding.explanation}",
             f"  Procedure: {finding.clause}",
             f"  Post:      {post['url'] or '-'}",
             f"  Posted:    {post['created_at'] or 'unknown'}"
             + (f"; removed from the account {post['removed_at']}" if post["removed_at"] else ""),
             f"  Flagged:   {builder.local_time(finding.first_seen)} (first seen)"]
    if post["title"]:
        lines.append(f"  Title:     {post['title']}")
    if post["text"]:
        lines.append("  Text:      " + "\n             ".join(post["text"].splitlines()))
    if post["repost_of"]:
        lines.append(f"  Repost of: {post['repost_of']}")
    lines += [f"  Image:     {image['url']}" + (f" (alt: {image['alt']})" if image["alt"] else "")
              for image in post["images"]]
    lines += [f"  {builder.local_time(h.reviewed_at)}: {h.action} by {h.reviewed_by} ({h.status_before} -> {h.status})"
              + (f": {h.note}" if h.note else "") for h in history]
    return "\n".join(lines)


def _decide(app: App, args) -> int:
    """The decision on each number, in order; an unknown number is named and the others still decided."""
    unknown = 0
    for number in args.ids:
        try:
            finding = review(app.store, number, args.action, args.note, args.by or default_reviewer())
        except ReviewError as exc:
            say(f"schoolaudit: {exc}")
            unknown += 1
            continue
        say(f"Finding #{finding.id} ({CATEGORY_LABELS.get(finding.category, finding.category)}, "
            f"{finding.account_id}) is now {finding.status}, by {finding.reviewed_by}"
            + (f": {finding.note}" if finding.note else "."))
    return 2 if unknown else 0
