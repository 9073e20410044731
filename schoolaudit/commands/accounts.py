"""`schoolaudit accounts check|list|status`: the account registry and each account's last outcome."""
from __future__ import annotations

from schoolaudit.app import load_app
from schoolaudit.config import check_registry, config_dir

HELP = "check the account registry, list accounts, or show each account's last check"
EXAMPLE = "schoolaudit accounts check"


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("check", help="validate accounts.toml; print every problem with file and line",
                       epilog="Example: schoolaudit --config ./config accounts check")
    actions.add_parser("list", help="list registered accounts", epilog="Example: schoolaudit accounts list")
    actions.add_parser("status", help="each account's last check: outcome, time and detail",
                       epilog="Example: schoolaudit accounts status")


def run(args) -> int:
    return {"check": _check, "list": _list, "status": _status}[args.action](args)


def _check(args) -> int:
    path = config_dir(args.config) / "accounts.toml"
    registry, problems = check_registry(path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {path}")
        return 1
    print(f"{path}: {len(registry.accounts)} accounts in {len(registry.schools)} schools, no problems")
    return 0


def _list(args) -> int:
    app = load_app(args.config)
    app.close()
    for a in app.registry.accounts:
        school = app.registry.schools.get(a.school or "", "board")
        print(f"{a.id:<28} {a.kind:<8} {a.platform:<10} {school:<32} {a.target}")
    return 0


def _status(args) -> int:
    app = load_app(args.config)
    try:
        app.store.sync_accounts(app.registry.accounts)
        registered = {a.id for a in app.registry.accounts}
        for row in app.store.latest_checks():
            if row["id"] in registered:
                print(f"{row['id']:<28} {row['outcome'] or 'never checked':<13} {row['checked_at'] or '':<33} {row['detail'] or ''}")
    finally:
        app.close()
    return 0
