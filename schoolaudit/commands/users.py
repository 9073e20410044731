"""`schoolaudit users add|list|remove|invite`: the people who may sign in to the review app."""
from __future__ import annotations

import secrets

from records import people
from schoolaudit.app import load_app
from schoolaudit.config import ConfigError, Registry
from schoolaudit.digest import load_recipients
from schoolaudit.web.passwords import hash_password, read_new_password

HELP = "add, list or remove the people who may sign in to the review app, with their role and scope"
EXAMPLE = "schoolaudit users add a.chen@example.org --role reviewer --scope school:birchwood-ps < password.txt"


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=["add", "list", "remove", "invite"],
                        help="add EMAIL, list, remove EMAIL, or invite the people of recipients.toml and "
                             "the accounts' contacts")
    parser.add_argument("email", nargs="?", metavar="EMAIL", help="the person's e-mail address (add, remove)")
    parser.add_argument("--role", choices=people.ROLES, default="reviewer",
                        help="admin (everything), reviewer (decides), viewer (reads); default reviewer")
    parser.add_argument("--scope", default=None,
                        help="board, school:SCHOOL-ID or account:ACCOUNT-ID (add: required)")
    parser.add_argument("--name", default="", help="the person's name (optional)")


def run(args) -> int:
    app = load_app(args.config)
    try:
        if args.action == "list":
            return _list(app.store)
        if args.action == "invite":
            return _invite(app, args.role)
        if not args.email:
            raise people.PeopleError(f"`users {args.action}` needs the person's e-mail address")
        if args.action == "remove":
            if not people.remove_user(app.store, args.email):
                raise people.PeopleError(f"no user {args.email}")
            people.log_event(app.store, "command line", "user_removed", args.email.lower())
            print(f"Removed {args.email}; they can no longer sign in.")
            return 0
        if not args.scope:
            raise people.PeopleError("`users add` needs --scope (board, school:ID or account:ID)")
        check_scope(app.registry, args.scope)
        user = people.add_user(app.store, args.email, args.role, args.scope, hash_password(read_new_password()),
                               args.name)
        people.log_event(app.store, "command line", "user_added", f"{user.email} {user.role} {user.scope}")
        print(f"Added {user.email}: {user.role} of {user.scope}.")
        return 0
    except (people.PeopleError, ValueError, ConfigError) as exc:
        print(f"schoolaudit users: {exc}")
        return 2
    finally:
        app.close()


def check_scope(registry: Registry, scope: str) -> None:
    kind, _, ident = scope.partition(":")
    if kind == "school" and ident not in registry.schools:
        raise people.PeopleError(f"unknown school {ident!r} (one of {', '.join(registry.schools)})")
    if kind == "account" and ident not in {a.id for a in registry.accounts}:
        raise people.PeopleError(f"unknown account {ident!r} (see `schoolaudit accounts list`)")


def _list(store) -> int:
    users = people.list_users(store)
    for user in users:
        print(f"{user.email:<40} {user.role:<9} {user.scope}")
    print(f"{len(users)} user(s).")
    return 0


def _invite(app, role: str) -> int:
    """Every recipients.toml person (their scope) and account contact (that account), not yet a user,
    becomes one with a new random password, printed once to hand over."""
    wanted = {r.email.lower(): r.scope for r in load_recipients(app.settings, app.registry)}
    for account in app.registry.accounts:
        for contact in account.contacts:
            wanted.setdefault(contact.lower(), f"account:{account.id}")
    added = 0
    for email, scope in wanted.items():
        if people.user_by_email(app.store, email):
            continue
        password = secrets.token_urlsafe(12)
        people.add_user(app.store, email, role, scope, hash_password(password))
        people.log_event(app.store, "command line", "user_added", f"{email} {role} {scope} (invited)")
        print(f"{email:<40} {role:<9} {scope:<28} password: {password}")
        added += 1
    print(f"{added} user(s) invited; give each their password (they sign in at web.base_url).")
    return 0
