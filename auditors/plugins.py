"""The installed plugins' entry points (groups `schoolaudit.*`), without importing importlib.metadata.

Every command start reads them (`--help` lists plugin commands, the registry places plugin auditors),
and `importlib.metadata` costs ~30 ms to import plus a read of every distribution's metadata at each
call, more the bigger the environment. They are read once per state of the installation and kept in
the user cache folder: the state is the distributions' metadata folders on `sys.path` and the times
their entry_points.txt changed, so installing, upgrading or removing a package reads them afresh.
"""
from __future__ import annotations

import json
import os
import re
import sys
import zlib
from functools import reduce
from importlib import import_module
from typing import NamedTuple

from auditors.cache import prune, read_cache, write_cache

#: The entry-point groups of schoolaudit all start with this. Commands and auditors are read here; the
#: crawler's sources, a layer beside auditors/, still read theirs with importlib.metadata when a crawl starts.
PREFIX = "schoolaudit."
#: Cache files kept: one per environment (sys.path) in use.
KEPT_FILES = 8
#: An entry point's value, as importlib.metadata reads it: `module[:attr.attr] [extras]`.
VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


class EntryPoint(NamedTuple):
    name: str
    value: str

    def load(self):
        """The object the value names, imported as importlib.metadata's EntryPoint.load does."""
        match = VALUE.match(self.value)
        if match is None:
            raise ValueError(f"not an entry point value: {self.value!r}")
        attrs = filter(None, (match.group("attr") or "").split("."))
        return reduce(getattr, attrs, import_module(match.group("module")))


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of `group` (a `schoolaudit.` group), in the order importlib.metadata lists them."""
    state = _installation_state()
    name = f"entry-points-{_digest(state)}.json"
    try:
        kept = json.loads(read_cache(name) or b"null")
    except ValueError:
        kept = None
    if not (isinstance(kept, dict) and kept.get("state") == state):
        kept = {"state": state, "groups": _read_groups()}
        write_cache(name, json.dumps(kept).encode())
        prune("entry-points-*.json", KEPT_FILES)
    return [EntryPoint(*pair) for pair in kept["groups"].get(group, [])]


def _installation_state() -> list:
    """For each folder on sys.path, its distributions' metadata folders and their entry_points.txt's
    modification time (None: none); for a file on the path (a zip), its own modification time."""
    state = []
    for entry in sys.path:
        path = entry or "."
        try:
            with os.scandir(path) as listing:
                names = sorted(item.name for item in listing if item.name.endswith((".dist-info", ".egg-info")))
        except NotADirectoryError:
            state.append([path, _mtime(path)])
            continue
        except OSError:  # missing or unreadable: importlib.metadata finds nothing there either
            continue
        state.append([path, [[name, _mtime(os.path.join(path, name, "entry_points.txt"))] for name in names]])
    return state


def _mtime(path: str) -> list[int] | None:
    """The file's modification and change times and size: a reinstall that keeps the archive's
    modification times (rsync -a, cp -p) still changes the change time, which nothing can set back."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_mtime_ns, found.st_ctime_ns, found.st_size]


def _digest(state: list) -> str:
    """A short name for the state (two states sharing one only read the entry points again: the file holds
    the whole state); a checksum, as hashlib's import alone costs more than all the rest of a cache hit."""
    return f"{zlib.crc32(json.dumps(state).encode()):08x}"


def _read_groups() -> dict[str, list[tuple[str, str]]]:
    """{group: [(name, value)]} of every `schoolaudit.` group, read by importlib.metadata."""
    from importlib.metadata import entry_points as installed  # here: only when the installation changed

    every = installed()  # read once (each `group=` query reads every package again)
    return {group: [(entry.name, entry.value) for entry in every.select(group=group)]
            for group in sorted(every.groups) if group.startswith(PREFIX)}
