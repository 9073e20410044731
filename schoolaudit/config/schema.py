"""A small schema layer for TOML files: what keys a table may hold and what each value must be.

`validate(node, value, path, report)` walks a parsed TOML document against a schema and calls
`report(path, message)` for every problem (unknown key with "did you mean", wrong type, out of
range, bad pattern...), never stopping at the first. `Lines` finds the line of a key path in the
file's text, since tomllib keeps no positions. Nothing here knows schoolaudit's settings.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

Check = Callable[[Any], "str | None"]  # a message when the value is wrong, else None
Report = Callable[[tuple, str], None]


@dataclass(frozen=True)
class Value:
    """A leaf: the TOML types it may have (as Python types), how to say so, and a further check."""

    types: tuple[type, ...]
    describe: str
    check: Check | None = None
    items: "Value | None" = None  # for a list: what each item must be


@dataclass(frozen=True)
class Table:
    """A table with known `keys`; `any_key` (when given) is the schema of every other key, which
    `key_check` may still refuse (for instance: a key must name a known account)."""

    keys: dict[str, Any] = field(default_factory=dict)
    any_key: Any = None
    key_check: Check | None = None
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rows:
    """An array of tables (`[[name]]`), each matching `row`."""

    row: Table


# -- leaves --------------------------------------------------------------------------------------

def flag() -> Value:
    return Value((bool,), "true or false")


def _range(minimum=None, above=None, maximum=None) -> Check:
    def check(value):
        if minimum is not None and value < minimum:
            return f"at least {minimum}"
        if above is not None and value <= above:
            return f"above {above}"
        if maximum is not None and value > maximum:
            return f"at most {maximum}"
        return None
    return check


def whole(minimum=None, maximum=None) -> Value:
    return Value((int,), "a whole number", _range(minimum, None, maximum))


def number(minimum=None, above=None, maximum=None) -> Value:
    return Value((int, float), "a number", _range(minimum, above, maximum))


def text(check: Check | None = None) -> Value:
    return Value((str,), "a string", check)


def choice(*options: str) -> Value:
    return text(lambda v: None if v in options else f"one of {', '.join(options)}")


def strings(check: Check | None = None) -> Value:
    return Value((list,), "a list of strings", items=text(check))


def _compiles(pattern: str) -> str | None:
    from auditors.cache import pattern_error  # here: `--help` reads no rules

    error = pattern_error(pattern)
    return f"a regular expression ({error})" if error else None


def pattern() -> Value:
    return text(_compiles)


def patterns() -> Value:
    """A regular expression or a list of them (rules accept both)."""
    return Value((str, list), "a pattern or a list of patterns", _compiles, items=text(_compiles))


def control_characters(value: str) -> str | None:
    """'without control characters' when `value` holds one (C0, DEL, C1: a newline in a name ends up
    in mail headers, a DEL makes the TOML file unreadable)."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "without control characters (newline, tab, DEL...)"
    return None


# -- validation ----------------------------------------------------------------------------------

def dotted(path: tuple) -> str:
    """`crawl.timeout_seconds`, `rules[2].unless`: a path as a person reads it (rows 1-based)."""
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validate(node, value, path: tuple, report: Report) -> None:
    if isinstance(node, Rows):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            report(path, f"{dotted(path)} must be tables ([[{dotted(path)}]]), not {value!r}")
            return
        for index, row in enumerate(value):
            validate(node.row, row, path + (index,), report)
    elif isinstance(node, Table):
        _validate_table(node, value, path, report)
    else:
        _validate_value(node, value, path, report)


def _validate_table(node: Table, value, path: tuple, report: Report) -> None:
    if not isinstance(value, dict):
        report(path, f"{dotted(path)} must be a table, not {value!r}")
        return
    meant = set()  # required keys an unknown key was probably meant to be: said once, not twice
    for key, item in value.items():
        child = node.keys.get(key, node.any_key)
        if child is None:
            where = "" if not path else f" in {dotted(path)}" if isinstance(path[-1], int) else f" in [{dotted(path)}]"
            hint = did_you_mean(key, node.keys)
            meant.update(difflib.get_close_matches(key, list(node.keys), n=1, cutoff=0.6))
            report(path + (key,), f"unknown key {key!r}{where}{hint}")
            continue
        refused = node.key_check(key) if key not in node.keys and node.key_check else None
        if refused:
            report(path + (key,), f"{dotted(path + (key,))}: {key!r} is not {refused}")
            continue
        validate(child, item, path + (key,), report)
    for key in node.required:
        if key not in value and key not in meant:
            report(path, f"{dotted(path) or 'the table'} needs {key!r}")


def _validate_value(node: Value, value, path: tuple, report: Report) -> None:
    name = dotted(path)
    if type(value) is bool and bool not in node.types or not isinstance(value, node.types):
        report(path, f"{name} must be {node.describe}, not {value!r}")
        return
    if isinstance(value, list) and node.items is not None:
        for item in value:
            problem = _item_problem(node.items, item)
            if problem:
                report(path, f"{name}: {problem}")
        return
    problem = node.check(value) if node.check and not isinstance(value, list) else None
    if problem:
        report(path, f"{name} must be {problem}, not {value!r}")


def _item_problem(node: Value, item) -> str | None:
    if type(item) is bool and bool not in node.types or not isinstance(item, node.types):
        return f"every item must be {node.describe}, not {item!r}"
    problem = node.check(item) if node.check else None
    return f"{item!r} must be {problem}" if problem else None


# -- lines ---------------------------------------------------------------------------------------

_KEY_PART = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _parts(dotted_key: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.findall(_KEY_PART, dotted_key))


class Lines:
    """The line of each table and key of a TOML text, by path (`("accounts", 2, "kind")`, rows
    0-based); a path not found gives the line of its nearest enclosing table."""

    def __init__(self, text: str):
        self.lines: dict[tuple, int] = {}
        rows: dict[tuple, int] = {}
        table: tuple = ()
        multiline = False
        for number, line in enumerate(text.splitlines(), 1):
            quotes = line.count('"""') + line.count("'''")
            if multiline:
                multiline = quotes % 2 == 0
                continue
            header = _HEADER.match(line)
            if header:
                parts = _parts(header.group(2))
                if header.group(1) == "[[":
                    table = self._resolve(parts[:-1], rows) + parts[-1:]
                    rows[table] = rows.get(table, -1) + 1
                    table = table + (rows[table],)
                else:
                    table = self._resolve(parts, rows)
                self.lines.setdefault(table, number)
            else:
                assign = _ASSIGN.match(line)
                if assign:
                    self.lines.setdefault(table + _parts(assign.group(1)), number)
            multiline = quotes % 2 == 1

    @staticmethod
    def _resolve(parts: tuple, rows: dict) -> tuple:
        """`[a.b]` after `[[a]]` belongs to the last row of a."""
        path: tuple = ()
        for part in parts:
            path += (part,)
            if path in rows:
                path += (rows[path],)
        return path

    def of(self, path: tuple) -> int:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1
