"""recipients.toml: who receives which digest, for which accounts; scopes must name known schools and accounts."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schoolaudit.config.files import ConfigFile
from schoolaudit.config.registry import NAME, Registry
from schoolaudit.config.schema import Rows, Table, strings, text
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
    """The recipients of recipients.toml (none when it is absent) and the file read. Scopes are checked
    against `registry` when one is given."""
    file = ConfigFile.read(directory / "recipients.toml", required=False)
    if file.problems or not file.check(RECIPIENTS):
        return [], file
    recipients = []
    for index, entry in enumerate(file.data.get("recipients", [])):
        scope = entry.get("scope", "board")
        kind, _, ident = scope.partition(":")
        if registry is not None and kind == "school" and ident not in registry.schools:
            file.add(("recipients", index, "scope"), f"unknown school {ident!r} in scope")
        elif registry is not None and kind == "account" and ident not in {a.id for a in registry.accounts}:
            file.add(("recipients", index, "scope"), f"unknown account {ident!r} in scope")
        recipients.append(Recipient(entry["email"], entry.get("name", ""), scope,
                                    tuple(entry.get("digests", DEFAULT_DIGESTS))))
    return ([] if file.problems else recipients), file


def load_recipients(directory: Path, registry: Registry) -> list[Recipient]:
    recipients, file = check_recipients(directory, registry)
    file.raise_problems()
    return recipients
