"""`schoolaudit accounts check|list|status`: the account registry and each account's last outcome."""
from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

from records.model import AccountCheck
from schoolaudit.app import load_app
from schoolaudit.config import check_registry, config_dir, read_toml
from schoolaudit.reporting import local_time
from schoolaudit.terminal import say

HELP = "check the account registry, list accounts, or show each account's last check"
EXAMPLE = "schoolaudit accounts check"


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("check", help="validate accounts.toml; print every problem with file and line",
                       epilog="Example: schoolaudit --config ./config accounts check")
    actions.add_parser("list", help="list registered accounts", epilog="Example: schoolaudit accounts list")
    actions.add_parser("status", help="each account's last check as a table: outcome, time, posts seen and detail",
                       epilog="Example: schoolaudit accounts status")
    importer = actions.add_parser("import", help="append the good rows of a CSV file to accounts.toml; report bad rows by line",
                                  epilog="Example: schoolaudit accounts import accounts.csv")
    importer.add_argument("file", metavar="FILE.csv",
                          help="columns: id,name,kind,school,school_name,platform,url,handle,contacts (others are "
                               "ignored); UTF-8, UTF-16 or Windows-1252; separated by , or ; or tabs, as Excel saves")
    importer.add_argument("--dry-run", action="store_true", help="check the rows, change nothing")


def run(args) -> int:
    return {"check": _check, "list": _list, "status": _status, "import": _import}[args.action](args)


def _import(args) -> int:
    from pathlib import Path

    from schoolaudit.importer import UnreadableFile, import_csv
    from schoolaudit.summary import plural

    path = config_dir(args.config) / "accounts.toml"
    try:
        result = import_csv(Path(args.file), path, write=not args.dry_run)
    except UnreadableFile as exc:
        say(f"schoolaudit: {exc}")
        return 2
    for problem in [*result.warnings, *result.problems]:
        say(problem)
    verb = "would add" if args.dry_run else "added"
    schools = f" and {plural(len(result.schools), 'school')} ({', '.join(result.schools)})" if result.schools else ""
    say(f"{verb} {plural(len(result.added), 'account')}{schools} to {path}"
          + (f": {', '.join(result.added)}" if result.added else "")
          + (f"; {len(result.problems)} problem(s), those rows were left out" if result.problems else ""))
    return 1 if result.problems else 0


def _check(args) -> int:
    path = config_dir(args.config) / "accounts.toml"
    read_toml(path)  # a file that cannot be read at all is a configuration error (exit 2)
    registry, problems = check_registry(path)
    for problem in problems:
        say(problem)
    if problems:
        say(f"{len(problems)} problem(s) in {path}")
        return 1
    say(f"{path}: {len(registry.accounts)} accounts in {len(registry.schools)} schools, no problems")
    return 0


def _list(args) -> int:
    app = load_app(args.config)
    app.close()
    for a in app.registry.accounts:
        school = app.registry.schools.get(a.school or "", "board")
        say(f"{a.id:<28} {a.kind:<8} {a.platform:<10} {school:<32} {a.target}")
    return 0


def _status(args) -> int:
    app = load_app(args.config)
    try:
        app.store.sync_accounts(app.registry.accounts)
        registered = {a.id for a in app.registry.accounts}
        rows = [check for check in app.store.latest_checks() if check.id in registered]
    finally:
        app.close()
    say(status_table(rows, app.settings.timezone))
    return 0


def status_table(rows: list[AccountCheck], timezone: str = "UTC") -> str:
    """Each account's last check as an aligned table, then one line counting outcomes."""
    zone = ZoneInfo(timezone)
    table = [("ACCOUNT", "OUTCOME", "CHECKED", "POSTS", "DETAIL")]
    for row in rows:
        checked = local_time(row.checked_at, zone, with_zone=False) or "-"
        posts = str(row.posts_seen) if row.outcome == "ok" else "-"
        table.append((row.id, row.outcome or "never checked", checked, posts, row.detail or ""))
    widths = [max(len(line[column]) for line in table) for column in range(4)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(line[:4], widths)), line[4]]).rstrip()
             for line in table]
    counts = Counter(row.outcome or "never checked" for row in rows)
    failed = sum(n for outcome, n in counts.items() if outcome not in ("ok", "never checked"))
    summary = f"{len(rows)} accounts: {counts.get('ok', 0)} ok, {failed} could not be checked"
    if failed:
        summary += " (" + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())
                                    if outcome not in ("ok", "never checked")) + ")"
    if counts.get("never checked"):
        summary += f", {counts['never checked']} never checked"
    return "\n".join([*lines, "", summary])
