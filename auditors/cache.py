"""The user cache folder: work done once per version of its inputs and kept for the next start-up.

The text rules' compiled prefilter (auditors/prefilter.py), the embedding's float32 vectors
(auditors/text_model.py) and the regular expressions already found valid by this Python (checked by
the configuration schema and by the text auditors alike) live here. Everything is best effort: an
unreadable or unwritable folder costs time, never a result.
"""
from __future__ import annotations

import json
import os
import re
import stat
import sys
from functools import lru_cache
from pathlib import Path


def cache_dir() -> Path:
    """$SCHOOLAUDIT_CACHE, else the platform's user cache folder for schoolaudit; for a user without a
    home folder (a service account with neither $HOME nor a passwd entry), one in the temporary folder."""
    if os.environ.get("SCHOOLAUDIT_CACHE"):
        return Path(os.environ["SCHOOLAUDIT_CACHE"])
    try:
        if sys.platform == "win32":
            return Path(os.environ.get("LOCALAPPDATA") or Path.home()) / "schoolaudit" / "Cache"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / "schoolaudit"
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "schoolaudit"
    except RuntimeError:  # Path.home(): "Could not determine home directory"
        return _private_temporary_folder()


def _private_temporary_folder() -> Path:
    """A cache folder in the shared temporary folder, used only when it is this user's alone: a folder
    of that name made first by another user could hand this one a planted rules database."""
    import tempfile

    uid = getattr(os, "getuid", lambda: None)()
    folder = Path(tempfile.gettempdir()) / f"schoolaudit-cache-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        found = os.lstat(folder)  # not followed: a link planted there could point at any folder of this user's
        if uid is None or (stat.S_ISDIR(found.st_mode) and found.st_uid == uid and not found.st_mode & 0o077):
            return folder
    except OSError:
        pass
    return _process_folder(tempfile.gettempdir())


@lru_cache(maxsize=None)
def _process_folder(temporary: str) -> Path:
    """A folder of this process's own, made once: nothing is kept between runs."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="schoolaudit-cache-", dir=temporary))


def read_cache(name: str) -> bytes | None:
    try:
        return (cache_dir() / name).read_bytes()
    except OSError:
        return None


def write_cache(name: str, data: bytes) -> None:
    """Best effort: an unwritable cache folder only costs the next start-up a compile."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.{os.getpid()}"
        partial.write_bytes(data)
        os.replace(partial, folder / name)
    except OSError:
        pass


def prune(pattern: str, kept: int) -> None:
    """Remove all but the `kept` newest cache files matching `pattern` (best effort)."""
    try:
        files = sorted(cache_dir().glob(pattern), key=lambda path: path.stat().st_mtime, reverse=True)
        for old in files[kept:]:
            old.unlink()
    except OSError:
        pass


# --- Regular expressions found valid before ------------------------------------------------------

#: Most patterns kept as compiled without error by this Python before: compiling every pattern of
#: the rules files is most of reading a configuration.
MAX_KNOWN = 20_000
#: Files of known patterns kept: one per Python version in use.
KEPT_KNOWN_FILES = 2
_known: set[str] | None = None
_found: set[str] = set()  # found valid by this process


def _known_file() -> str:
    import hashlib  # here: `--help` reads no rules

    return f"patterns-valid-2-{hashlib.sha256(sys.version.encode()).hexdigest()[:16]}.json"


def _known_valid() -> set[str]:
    global _known
    if _known is None:
        try:
            _known = set(json.loads(read_cache(_known_file()) or b"[]"))
        except (ValueError, TypeError):
            _known = set()
    return _known


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is not a usable regular expression (re's message), or None when it is one. It is
    compiled as written and as the auditors join patterns, "(?:...)", so a global flag mid-pattern fails here too;
    a pattern this Python compiled before (remembered by `remember_valid_patterns`) is not compiled again."""
    if pattern in _known_valid() or pattern in _found:
        return None
    try:
        re.compile(pattern)  # as written: "a)|(b" balanced by the wrapping below would mean something else
        re.compile(f"(?:{pattern})")
    except re.error as exc:
        return str(exc)
    _found.add(pattern)
    return None


def remember_valid_patterns() -> None:
    """Keep the patterns found valid in the cache folder, for the next start-up (best effort)."""
    known = _known_valid()
    if _found - known:
        kept = known | _found
        known.update(_found)
        write_cache(_known_file(), json.dumps(sorted(kept if len(kept) <= MAX_KNOWN else _found)).encode())
        prune("patterns-valid-*.json", KEPT_KNOWN_FILES)
        prune("rules-valid-*", 0)  # one empty marker per rules version, written by earlier versions
