"""The store: schoolaudit's records in one SQLite file, the only place that speaks SQL.

`Store` composes one part per concern (posts, findings and their review, runs and the run lock,
digests and deliveries); each part is a module of this package, and every operation that must be
all-or-nothing is one transaction. The database runs in WAL mode, so readers (reports, the web
app) never block a crawl; writers take the write lock at the start of their transaction
(`BEGIN IMMEDIATE`) and wait up to `BUSY_TIMEOUT_MS` for it, instead of failing at their first
write. A second backend (PostgreSQL, for boards sharing one installation) would implement the
same methods.
"""
from __future__ import annotations

import contextlib
import sqlite3
import sys
from pathlib import Path

from records.errors import StoreBusy
from records.findings import FindingsPart
from records.mailing import MailingPart
from records.posts import PostsPart
from records.runs import RunsPart
from records.schema import MIGRATIONS

#: Optional libraries sqlite-utils imports when it can, only to name the column types of their values,
#: which the store never writes (its tables are declared with Python types): numpy is 15 MB resident
#: in the night's crawling process, which has no other use for it. Where numpy was imported first,
#: sqlite-utils finds it anyway; either way the store's tables are the same.
_UNUSED_BY_SQLITE_UTILS = ("numpy", "pandas")


def _sqlite_utils():
    """sqlite-utils, imported without the libraries of `_UNUSED_BY_SQLITE_UTILS` not already imported."""
    hidden = [name for name in _UNUSED_BY_SQLITE_UTILS if name not in sys.modules]
    sys.modules.update(dict.fromkeys(hidden))  # None: importing it raises ImportError, as when it is absent
    try:
        import sqlite_utils
    finally:
        for name in hidden:
            del sys.modules[name]
    return sqlite_utils


sqlite_utils = _sqlite_utils()

#: How long a writer waits for another's transaction to end before it gives up with StoreBusy.
BUSY_TIMEOUT_MS = 60_000


class Store(PostsPart, FindingsPart, RunsPart, MailingPart):
    def __init__(self, path: str | Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; every write goes through transaction().
        self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), isolation_level=None,
                                                        timeout=busy_timeout_ms / 1000, check_same_thread=False))
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self.db.enable_wal()
        # WAL + NORMAL: a crash or kill never corrupts the file or splits a transaction (a power cut
        # may lose the last commits); FULL would fsync every commit of every account.
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def companion(self) -> "Store":
        """Another connection to the same file, for another thread (a connection belongs to one)."""
        return Store(self.path)

    @contextlib.contextmanager
    def transaction(self):
        """One real transaction, all or nothing; nested calls join the outer one (as savepoints).

        The outer one starts with BEGIN IMMEDIATE: it takes the write lock first (waiting for it),
        so no write inside it fails with "database is locked" half-way.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the outer transaction
                yield
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreBusy(f"{self.path}: the database stayed busy ({exc}); another schoolaudit process "
                            f"is writing, try again when it has finished") from None
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction():
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            version = self.schema_version
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                step(self.db)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(number)])

    @property
    def schema_version(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
