"""`accounts import FILE.csv`: accounts kept in a spreadsheet, appended to accounts.toml.

Columns (header row required, any order): id, name, kind, school, platform, url, handle, contacts
(addresses separated by `;`). Each row is checked exactly as `accounts check` checks accounts.toml
(ids, control characters in any cell, kinds, platforms, schools, duplicates), against the registry
and the rows before it; a bad row is reported with its line number and left out, good rows are
appended as `[[accounts]]` tables, so a bad cell can never make accounts.toml unreadable.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from schoolaudit.config import Problem, _account, check_registry

COLUMNS = ("id", "name", "kind", "school", "platform", "url", "handle", "contacts")
REQUIRED = ("id", "kind", "platform")


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def to_toml(entry: dict) -> str:
    lines = ["", "[[accounts]]"]
    for key in ("id", "name", "kind", "school", "platform", "url", "handle"):
        if entry.get(key):
            lines.append(f"{key} = {_toml_string(entry[key])}")
    if entry.get("contacts"):
        lines.append(f"contacts = [{', '.join(_toml_string(c) for c in entry['contacts'])}]")
    return "\n".join(lines) + "\n"


def import_csv(csv_path: Path, accounts_toml: Path, write: bool = True) -> ImportResult:
    registry, _ = check_registry(accounts_toml)
    seen_ids = {a.id for a in registry.accounts}
    seen_targets = {(a.platform, a.target): a.id for a in registry.accounts}
    result, blocks = ImportResult(), []
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        unknown = [h for h in header if h and h not in COLUMNS]
        if missing or unknown:
            message = "; ".join(filter(None, [f"missing column(s): {', '.join(missing)}" if missing else "",
                                              f"unknown column(s): {', '.join(unknown)}" if unknown else ""]))
            result.problems.append(Problem(csv_path, 1, f"{message} (columns: {', '.join(COLUMNS)})"))
            return result
        reader.fieldnames = header
        end = reader.line_num
        for row in reader:
            line, end = end + 1, reader.line_num  # a row's first line (a quoted cell may span several)
            entry = {k: (v or "").strip() for k, v in row.items() if k}
            if not any(entry.values()):
                continue
            entry["contacts"] = [c.strip() for c in entry.get("contacts", "").replace(",", ";").split(";") if c.strip()]
            entry = {k: v for k, v in entry.items() if v}
            account, problems = _account(entry, registry.schools, seen_ids, seen_targets)
            if problems:
                result.problems.extend(Problem(csv_path, line, message) for _, message in problems)
                continue
            blocks.append(to_toml(entry))
            result.added.append(account.id)
    if write and blocks:
        text = accounts_toml.read_text(encoding="utf-8")
        accounts_toml.write_text(text.rstrip("\n") + "\n" + "".join(blocks), encoding="utf-8")
    return result
