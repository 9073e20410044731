"""`accounts import FILE.csv`: accounts kept in a spreadsheet, appended to accounts.toml.

The file is read as Excel writes it: UTF-8 (with or without a byte-order mark), UTF-16 ("Unicode
text") or Windows-1252 (Excel's default "CSV"), separated by commas, semicolons (French-locale Excel)
or tabs. Columns (header row required, any order): id, name, kind, school, school_name, platform,
url, handle, contacts (addresses separated by `;`); other columns are ignored with one warning. A
`school_name` creates the row's school when accounts.toml does not have it yet (its id from the
`school` column, else made from the name). Each row is checked exactly as `accounts check` checks
accounts.toml (ids, control characters in any cell, kinds, platforms, schools, duplicates), against
the registry and the rows before it; a bad row is reported with its line number and left out, good
rows are appended as `[[accounts]]` tables, so a bad cell can never make accounts.toml unreadable.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from schoolaudit.config import Problem, _account, check_registry
from schoolaudit.config.registry import ident

COLUMNS = ("id", "name", "kind", "school", "school_name", "platform", "url", "handle", "contacts")
REQUIRED = ("id", "kind", "platform")
DELIMITERS = (",", ";", "\t")


class UnreadableFile(Exception):
    """The file cannot be read as text at all; str() says why, naming the file."""


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    schools: list[str] = field(default_factory=list)  # ids of the schools created
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


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


def school_toml(school_id: str, name: str) -> str:
    return f"\n[[schools]]\nid = {_toml_string(school_id)}\nname = {_toml_string(name)}\n"


def read_text(path: Path) -> tuple[str, str]:
    """The file's text and the encoding it was read in: a byte-order mark decides, else UTF-8, else Windows-1252."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such file") from None
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc.strerror})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    for encoding, label in (("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return data.decode(encoding), label
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(f"{path}: not a text file in UTF-8, UTF-16 or Windows-1252 (save it as CSV UTF-8)")


def delimiter_of(header_line: str) -> str:
    """The separator the header row uses most: `,` or `;` (Excel in a French locale) or a tab."""
    return max(DELIMITERS, key=header_line.count)


def school_id_of(name: str) -> str:
    """An id made from a school's name: "École Saint-Jean" -> "ecole-saint-jean"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def import_csv(csv_path: Path, accounts_toml: Path, write: bool = True) -> ImportResult:
    """Raises UnreadableFile when the file cannot be read as text."""
    registry, _ = check_registry(accounts_toml)
    schools = dict(registry.schools)
    seen_ids = {a.id for a in registry.accounts}
    seen_targets = {(a.platform, a.target): a.id for a in registry.accounts}
    result, blocks = ImportResult(), []
    text, encoding = read_text(csv_path)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter_of(text.partition("\n")[0]))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        result.problems.append(Problem(csv_path, 1, f"missing column(s): {', '.join(missing)} "
                                                    f"(columns: {', '.join(COLUMNS)}; read as {encoding})"))
        return result
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        result.warnings.append(Problem(csv_path, 1, f"ignoring column(s) {', '.join(unknown)} "
                                                    f"(columns: {', '.join(COLUMNS)})"))
    reader.fieldnames = header
    end = reader.line_num
    for row in reader:
        line, end = end + 1, reader.line_num  # a row's first line (a quoted cell may span several)
        entry = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS and isinstance(v, str)}
        if not any(entry.values()):
            continue
        entry["contacts"] = [c.strip() for c in entry.get("contacts", "").replace(",", ";").split(";") if c.strip()]
        entry = {k: v for k, v in entry.items() if v}
        new_school, problem = _school(entry, schools)
        if problem:
            result.problems.append(Problem(csv_path, line, problem))
            continue
        candidate = {**schools, **dict([new_school])} if new_school else schools
        account, problems = _account(entry, candidate, seen_ids, seen_targets)
        if problems:
            result.problems.extend(Problem(csv_path, line, message) for _, message in problems)
            continue
        if new_school:
            schools[new_school[0]] = new_school[1]
            blocks.append(school_toml(*new_school))
            result.schools.append(new_school[0])
        blocks.append(to_toml(entry))
        result.added.append(account.id)
    if write and blocks:
        text = accounts_toml.read_text(encoding="utf-8")
        accounts_toml.write_text(text.rstrip("\n") + "\n" + "".join(blocks), encoding="utf-8")
    return result


def _school(entry: dict, schools: dict) -> tuple[tuple[str, str] | None, str | None]:
    """(the school to create for this row, or None; a problem, or None). Sets entry["school"] from
    `school_name` when the row names its school only by name."""
    name = entry.pop("school_name", "")
    if not name:
        return None, None
    school_id = entry.get("school") or next((i for i, n in schools.items() if n == name), None) or school_id_of(name)
    entry["school"] = school_id
    if school_id in schools:
        return None, None
    if message := ident(school_id):
        return None, f"school id {school_id!r} made from {name!r}: {message} (give it in the 'school' column)"
    return (school_id, name), None
