"""accounts.toml: the board, its schools and its accounts, checked key by key and as a whole."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from records.model import ACCOUNT_KINDS, Account
from schoolaudit.config.files import ConfigFile, ConfigError, Problem
from schoolaudit.config.schema import Rows, Table, Value, choice, control_characters, did_you_mean, strings, text, validate
from schoolaudit.config.settings import _address

_IDENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")


def ident(value: str) -> str | None:
    """Ids name files and appear in URLs and scopes: ASCII letters, digits, '-', '_', '.', no leading dot, no '..'."""
    if _IDENT.match(value) and ".." not in value:
        return None
    return "an id of ASCII letters, digits, '-', '_' and '.' (not first, no '..')"


NAME = text(control_characters)
ACCOUNT = Table({
    "id": text(ident), "name": NAME, "kind": choice(*ACCOUNT_KINDS), "school": text(ident),
    "platform": text(), "url": NAME, "handle": NAME, "contacts": strings(_address), "api_base": NAME,
}, required=("id", "kind", "platform"))
SCHOOL = Table({"id": text(ident), "name": NAME}, required=("id",))
REGISTRY = Table({"board": Table({"id": text(ident), "name": NAME}), "schools": Rows(SCHOOL),
                  "accounts": Value((object,), "tables")})  # each account row is checked by `_account`


@dataclass
class Registry:
    board: dict
    schools: dict[str, str]  # id -> name
    accounts: list[Account]

    def get(self, account_id: str) -> Account:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(f"no account {account_id!r} in the registry (see `schoolaudit accounts list`)")


def check_registry(path: Path) -> tuple[Registry, list[Problem]]:
    """The registry in `path` and every problem in it (unknown keys, bad ids, unknown platform,
    missing target, duplicates...); the registry holds only the accounts without problems."""
    file = ConfigFile.read(path)
    return registry_of(file), file.problems


def registry_of(file: ConfigFile) -> Registry:
    data = file.data
    validate(REGISTRY, data, (), file.add)
    schools: dict[str, str] = {}
    for index, school in enumerate(data.get("schools", []) if isinstance(data.get("schools"), list) else []):
        if not isinstance(school, dict) or not isinstance(school.get("id"), str):
            continue
        if school["id"] in schools:
            file.add(("schools", index), f"duplicate school id {school['id']!r}")
        else:
            schools[school["id"]] = str(school.get("name", school["id"]))
    accounts, seen_ids, seen_targets = [], set(), {}
    rows = data.get("accounts", [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        file.add(("accounts",), f"accounts must be tables ([[accounts]]), not {rows!r}")
        rows = []
    for index, entry in enumerate(rows):
        account, problems = _account(entry, schools, seen_ids, seen_targets)
        for key_path, message in problems:
            file.add(("accounts", index, *key_path), message)
        if account:
            accounts.append(account)
    board = data.get("board", {}) if isinstance(data.get("board"), dict) else {}
    return Registry(board, schools, accounts)


def _account(entry: dict, schools: dict, seen_ids: set, seen_targets: dict) -> tuple[Account | None, list[tuple]]:
    """An account from one `[[accounts]]` table or CSV row, or the problems that keep it out, as
    (key path in the row, message)."""
    account_id = entry.get("id")
    label = f"account {account_id!r}" if isinstance(account_id, str) and account_id else "account"
    found: list[tuple] = []
    validate(ACCOUNT, entry, (), lambda key_path, message: found.append((key_path, f"{label}: {message}")))
    if found:
        return None, found
    problems = []
    if account_id in seen_ids:
        problems.append(f"duplicate account id {account_id!r}")
    platform, kind, school = entry["platform"], entry["kind"], entry.get("school")
    from crawler.sources import SOURCES  # here: it imports the HTTP client, which reading a policy does not need

    if platform not in SOURCES:
        problems.append(f"{label}: unknown platform {platform!r}{did_you_mean(platform, SOURCES)} "
                        f"(known: {', '.join(sorted(SOURCES))})")
    target = entry.get("url") or entry.get("handle")
    if not target:
        problems.append(f"{label}: needs a 'url' or a 'handle'")
    elif (platform, target) in seen_targets:
        problems.append(f"{label}: duplicate of account {seen_targets[(platform, target)]!r} ({platform} {target})")
    if school and school not in schools:
        problems.append(f"{label}: unknown school {school!r}")
    elif not school and kind != "board":
        problems.append(f"{label}: needs a 'school' (only kind = \"board\" accounts may have none)")
    if problems:
        return None, [((), message) for message in problems]
    seen_ids.add(account_id)
    seen_targets[(platform, target)] = account_id
    return Account(
        id=account_id, name=entry.get("name", account_id), kind=kind, platform=platform, target=target,
        school=school, contacts=tuple(entry.get("contacts", [])), api_base=entry.get("api_base"),
    ), []


def load_registry(directory: Path) -> Registry:
    registry, problems = check_registry(directory / "accounts.toml")
    if problems:
        raise ConfigError(problems=problems)
    return registry
