"""A small, self-contained cache of image analyses, keyed by the image's sha256.

Two layers: a dict in this process, and (when a path is given) a SQLite file, normally
`<media_dir>/image-analysis.sqlite` beside the images themselves. Each entry is also keyed by
`params`, a short digest of the models and thresholds that produced it, so changing a threshold
or a model re-analyses instead of serving a stale answer. The cache is not the project's store:
deleting the file only costs a re-analysis.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

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
        self.memory: dict[tuple[str, str], dict] = {}
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
            if found is None and self._db is not None:
                try:
                    row = self._db.execute("SELECT result FROM image_analysis WHERE sha256 = ? AND params = ?",
                                           key).fetchone()
                except sqlite3.Error as exc:
                    log.warning("image cache read failed: %s", exc)
                    row = None
                if row:
                    found = json.loads(row[0])
                    self.memory[key] = found
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, sha256: str, params: str, result: dict) -> None:
        key = (sha256, params)
        with self._lock:
            self.memory[key] = result
            if self._db is not None:
                try:
                    self._db.execute("INSERT OR REPLACE INTO image_analysis (sha256, params, result) VALUES (?, ?, ?)",
                                     (sha256, params, json.dumps(result, sort_keys=True)))
                    self._db.commit()
                except sqlite3.Error as exc:
                    log.warning("image cache write failed: %s", exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
