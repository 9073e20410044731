"""recipients.toml: who receives which digest, for which accounts; scopes must name known schools and accounts."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schoolaudit.config.files import ConfigFile
from schoolaudit.config.registry import NAME, Registry
from schoolaudit.config.schema import Rows, Table, did_you_mean, strings, text
from schoolaudit.config.settings import DIGEST_KINDS, _address

_SCOPE = re.compile(r"^(board|school:[\w.-]+|account:[\w.-]+)$")
DEFAULT_DIGESTS = ("weekly", "alerts")


def _scope(value: str) -> str | None:
    return None if _SCOPE.match(value) else "\"board\", \"school:ID\" or \"account:ID\""


def _kind(value: str) -> str | None:
    return None if value in DIGEST_KINDS else f"one of {', '.join(DIGEST_KINDS)}"


RECIPIENTS = Table({"recipients": Rows(Table({"email": text(_address), "name": NAME, "scope": text(_scope),
                                              "digests": strings(_kind)}, required=("email",)))})


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""
    scope: str = "board"  # board | school:<id> | account:<id>
    digests: tuple[str, ...] = DEFAULT_DIGESTS


def check_recipients(directory: Path, registry: Registry | None) -> tuple[list[Recipient], ConfigFile]:
    """The recipients of recipients.toml (none when it is absent or has problems) and the file read.
    Scopes are checked against `registry` when one is given."""
    file = ConfigFile.read(directory / "recipients.toml", required=False)
    if file.problems:
        return [], file
    file.check(RECIPIENTS)
    rows = file.data.get("recipients", [])
    for index, entry in enumerate(rows if isinstance(rows, list) else []):
        scope = entry.get("scope") if isinstance(entry, dict) else None
        if registry is not None and isinstance(scope, str):
            _check_scope(file, ("recipients", index, "scope"), scope, registry)
    if file.problems:
        return [], file
    return [Recipient(entry["email"], entry.get("name", ""), entry.get("scope", "board"),
                      tuple(entry.get("digests", DEFAULT_DIGESTS))) for entry in rows], file


def _check_scope(file: ConfigFile, key_path: tuple, scope: str, registry: Registry) -> None:
    kind, _, ident = scope.partition(":")
    if kind == "school" and ident not in registry.schools:
        file.add(key_path, f"unknown school {ident!r} in scope{did_you_mean(ident, registry.schools)}")
    elif kind == "account" and ident not in (known := [a.id for a in registry.accounts]):
        file.add(key_path, f"unknown account {ident!r} in scope{did_you_mean(ident, known)}")


def load_recipients(directory: Path, registry: Registry) -> list[Recipient]:
    recipients, file = check_recipients(directory, registry)
    file.raise_problems()
    return recipients


def with_account_contacts(recipients: list[Recipient], registry: Registry) -> list[Recipient]:
    """`recipients` and, for each account, the people who answer for it (its `contacts`) with scope
    account:ID; someone recipients.toml names already gets what the board chose for them there."""
    named = {r.email.lower() for r in recipients}
    contacts = [Recipient(contact, "", f"account:{account.id}") for account in registry.accounts
                for contact in account.contacts if contact.lower() not in named]
    return [*recipients, *contacts]
