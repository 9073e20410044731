"""Printing text that came from strangers (posts, feeds, servers) on a terminal.

A post or an error page can carry terminal control codes: ESC starts an ANSI sequence that can
recolour, hide or rewrite what is on the screen, or set the window title; CR and backspace
overwrite a line; bidirectional overrides reorder it. Commands print through `say`, which shows
every such character as a visible escape (ESC as `\\x1b`) and keeps only the line break.
"""
from __future__ import annotations

import re

# C0 and C1 control characters except the line feed, and the Unicode direction marks and overrides.
_UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with each control character written as a Python escape (`\\x1b`, `\\r`, `\\u202e`)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def say(text: object = "") -> None:
    """Print `text` with its control characters made visible (see `printable`)."""
    print(printable(str(text)))
