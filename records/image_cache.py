"""A small, self-contained cache of image analyses, keyed by the image's sha256.

Two layers: a dict in this process, holding the `MEMORY_ENTRIES` analyses used last, and (when a
path is given) a SQLite file, normally `<media_dir>/image-analysis.sqlite` beside the images
themselves. The dict serves the several auditors that read one post's images; unbounded, it held
every image a night's audit worker had seen (about 5 KB each: 64 MB at 13,000 images), so the
worker grew with the number of accounts. Each entry is also keyed by `params`, a short digest of
the models and thresholds that produced it, so changing a threshold or a model re-analyses instead
of serving a stale answer. The cache is not the project's store:
deleting the file only costs a re-analysis.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

#: Analyses kept in memory, the most recently used: an account's images at the crawl's defaults (50
#: posts of at most 20 images) fit, so its auditors never read the file or re-analyse for one another.
MEMORY_ENTRIES = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS image_analysis (
    sha256 TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (sha256, params)
)
"""


class ImageCache:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.memory: OrderedDict[tuple[str, str], dict] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.hits = self.misses = 0
        if self.path:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(_SCHEMA)
                self._db.commit()
            except (sqlite3.Error, OSError) as exc:  # a broken cache must never stop an audit
                log.warning("image cache %s unusable (%s); caching in memory only", self.path, exc)
                self._db = None

    def get(self, sha256: str, params: str) -> dict | None:
        key = (sha256, params)
        with self._lock:
            found = self.memory.get(key)
            if found is not None:
                self.memory.move_to_end(key)
            elif self._db is not None:
                try:
                    row = self._db.execute("SELECT result FROM image_analysis WHERE sha256 = ? AND params = ?",
                                           key).fetchone()
                except sqlite3.Error as exc:
                    log.warning("image cache read failed: %s", exc)
                    row = None
                if row:
                    found = json.loads(row[0])
                    self._remember(key, found)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, sha256: str, params: str, result: dict) -> None:
        key = (sha256, params)
        with self._lock:
            self._remember(key, result)
            if self._db is not None:
                try:
                    self._db.execute("INSERT OR REPLACE INTO image_analysis (sha256, params, result) VALUES (?, ?, ?)",
                                     (sha256, params, json.dumps(result, sort_keys=True)))
                    self._db.commit()
                except sqlite3.Error as exc:
                    log.warning("image cache write failed: %s", exc)

    def _remember(self, key: tuple[str, str], result: dict) -> None:
        """Keep `result` in memory, forgetting the analysis used longest ago beyond `MEMORY_ENTRIES`."""
        self.memory[key] = result
        self.memory.move_to_end(key)
        if len(self.memory) > MEMORY_ENTRIES:
            self.memory.popitem(last=False)

    def forget(self) -> None:
        """Empty the memory layer when there is a file (without one, forgetting would mean analysing again; an
        analysis whose write to the file failed, which is logged, is analysed again at its next use). An audit
        worker calls it after each account: kept, the analyses of earlier accounts stayed among the heap's pages
        and the worker's level rose with the accounts."""
        with self._lock:
            if self._db is not None:
                self.memory.clear()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
