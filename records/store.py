"""The SQLite store: posts and their versions, media, findings, runs and per-account outcomes.

The schema is created and migrated on open (numbered steps in `MIGRATIONS`); the database runs in
WAL mode so readers (reports, `findings`) never block a crawl. Each account's posts are saved in
one transaction, and a post remembers the content hash it was last audited at, so a run that is
killed between saving and auditing leaves work the next run finds and finishes.
"""
from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Iterable

import sqlite_utils

from records.model import Account, Finding, Media, Post, RepostRef, utcnow
from records.people import migrate_people


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _v1(db: sqlite_utils.Database) -> None:
    db["accounts"].create({"id": str, "name": str, "kind": str, "school": str, "platform": str,
                           "target": str, "registered_at": str}, pk="id")
    db["runs"].create({"id": int, "kind": str, "started_at": str, "finished_at": str, "status": str,
                       "accounts_ok": int, "accounts_failed": int, "posts_new": int, "posts_changed": int,
                       "findings_new": int, "detail": str}, pk="id")
    db["account_checks"].create({"id": int, "run_id": int, "account_id": str, "checked_at": str,
                                 "outcome": str, "detail": str, "posts_seen": int}, pk="id",
                                foreign_keys=[("run_id", "runs"), ("account_id", "accounts")])
    db["account_checks"].create_index(["account_id", "checked_at"])
    db["posts"].create({"key": str, "account_id": str, "platform": str, "platform_id": str, "url": str,
                        "created_at": str, "title": str, "text": str, "media": str, "repost_of": str,
                        "sensitive": int, "content_hash": str, "version": int, "audited_hash": str,
                        "first_seen": str, "last_seen": str, "removed_at": str}, pk="key",
                       foreign_keys=[("account_id", "accounts")])
    db["posts"].create_index(["account_id", "created_at"])
    db["post_versions"].create({"id": int, "post_key": str, "version": int, "content_hash": str,
                                "title": str, "text": str, "media": str, "repost_of": str, "seen_at": str},
                               pk="id", foreign_keys=[("post_key", "posts")])
    db["post_versions"].create_index(["post_key", "version"], unique=True)
    db["media"].create({"sha256": str, "path": str, "bytes": int, "width": int, "height": int,
                        "content_type": str, "first_url": str, "fetched_at": str}, pk="sha256")
    db["media_urls"].create({"url": str, "sha256": str, "fetched_at": str}, pk="url")
    db["findings"].create({"id": int, "fingerprint": str, "post_key": str, "account_id": str,
                           "category": str, "severity": str, "evidence": str, "explanation": str,
                           "clause": str, "auditor": str, "location": str, "media_sha256": str,
                           "status": str, "active": int, "first_seen": str, "last_seen": str,
                           "run_id": int, "note": str, "reviewed_by": str, "reviewed_at": str},
                          pk="id", foreign_keys=[("post_key", "posts")])
    db["findings"].create_index(["fingerprint"], unique=True)
    db["findings"].create_index(["account_id", "status"])
    db["http_validators"].create({"url": str, "etag": str, "last_modified": str, "updated_at": str}, pk="url")


def _v2(db: sqlite_utils.Database) -> None:
    """Review history, the run lock, the schedule's memory, digests and their deliveries."""
    db["reviews"].create({"id": int, "finding_id": int, "action": str, "status_before": str, "status": str,
                          "note": str, "reviewed_by": str, "reviewed_at": str}, pk="id",
                         foreign_keys=[("finding_id", "findings")])
    db["reviews"].create_index(["finding_id"])
    db["locks"].create({"name": str, "token": str, "holder_pid": int, "host": str, "started_at": str,
                        "heartbeat": str, "purpose": str}, pk="name")
    db["schedule_state"].create({"job": str, "last_fire_time": str, "last_started_at": str,
                                 "last_finished_at": str, "last_status": str}, pk="job")
    db["digests"].create({"id": int, "kind": str, "created_at": str, "first_finding_id": int,
                          "last_finding_id": int, "run_id": int}, pk="id")
    db["deliveries"].create({"id": int, "digest_id": int, "recipient": str, "subject": str, "message": str,
                             "status": str, "attempts": int, "last_error": str, "created_at": str,
                             "updated_at": str, "sent_at": str}, pk="id", foreign_keys=[("digest_id", "digests")])
    db["deliveries"].create_index(["status"])


#: Schema steps in order; a database at version N runs steps N+1.. on open.
MIGRATIONS = (_v1, _v2, migrate_people)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA busy_timeout = 10000")
        self.db.enable_wal()
        # WAL + NORMAL: a crash or kill never corrupts the file or splits a transaction (a power cut
        # may lose the last commits); FULL would fsync every commit of every account.
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self._depth = 0
        self._migrate()

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self):
        """One real transaction, all or nothing; nested calls join the outer one (as savepoints).

        (`with self.db.conn:` is not one: sqlite-utils commits each insert and update on its own.)
        """
        if self._depth == 0 and self.db.conn.in_transaction:
            self.db.conn.commit()  # an implicit transaction left open by a bare execute(): settle it first
        self._depth += 1
        try:
            with self.db.atomic():
                yield
        finally:
            self._depth -= 1

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                step(self.db)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(number)])

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])

    # -- accounts and runs -------------------------------------------------------------------

    def sync_accounts(self, accounts: Iterable[Account]) -> None:
        with self.transaction():
            for a in accounts:
                self.db["accounts"].upsert({"id": a.id, "name": a.name, "kind": a.kind, "school": a.school,
                                            "platform": a.platform, "target": a.target,
                                            "registered_at": utcnow().isoformat()}, pk="id")

    def start_run(self, kind: str) -> int:
        with self.transaction():
            return self.db["runs"].insert({"kind": kind, "started_at": utcnow().isoformat(), "status": "running",
                                           "accounts_ok": 0, "accounts_failed": 0, "posts_new": 0,
                                           "posts_changed": 0, "findings_new": 0}).last_pk

    def finish_run(self, run_id: int, status: str = "finished", detail: str = "", **counts: int) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, {"finished_at": utcnow().isoformat(), "status": status,
                                            "detail": detail, **counts})

    def record_check(self, run_id: int, account_id: str, outcome: str, detail: str = "", posts_seen: int = 0) -> None:
        with self.transaction():
            self.db["account_checks"].insert({"run_id": run_id, "account_id": account_id,
                                              "checked_at": utcnow().isoformat(), "outcome": outcome,
                                              "detail": detail, "posts_seen": posts_seen})

    def latest_checks(self) -> list[dict]:
        """Each registered account with its most recent check (None when never checked)."""
        return list(self.db.query("""
            SELECT a.id, a.name, a.kind, a.school, a.platform, a.target,
                   c.checked_at, c.outcome, c.detail, c.posts_seen
            FROM accounts a LEFT JOIN account_checks c ON c.id = (
                SELECT id FROM account_checks WHERE account_id = a.id ORDER BY id DESC LIMIT 1)
            ORDER BY a.school, a.id"""))

    # -- posts -------------------------------------------------------------------------------

    def save_posts(self, account: Account, posts: list[Post], complete_window: bool = True) -> tuple[list[Post], list[Post]]:
        """Store what a source returned; return (new posts, changed posts).

        A changed post keeps its earlier version in `post_versions`. When the source returned its
        whole window, posts of that window that are no longer there are marked removed.
        """
        now = utcnow().isoformat()
        new, changed = [], []
        with self.transaction():
            for post in posts:
                row = self._post_row(post.key)
                digest = post.content_hash()
                if row is None:
                    self.db["posts"].insert({**_post_record(post, digest), "version": 1, "first_seen": now,
                                             "last_seen": now, "audited_hash": None})
                    self._insert_version(post, 1, digest, now)
                    new.append(post)
                elif row["content_hash"] != digest:
                    version = row["version"] + 1
                    self.db["posts"].update(post.key, {**_post_record(post, digest), "version": version,
                                                       "last_seen": now, "removed_at": None})
                    self._insert_version(post, version, digest, now)
                    changed.append(post)
                else:
                    self.db["posts"].update(post.key, {"last_seen": now, "removed_at": None})
            if complete_window and posts:
                self._mark_removed(account.id, {p.key for p in posts}, posts, now)
        return new, changed

    def _post_row(self, key: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM posts WHERE key = ?", [key]))
        return rows[0] if rows else None

    def _insert_version(self, post: Post, version: int, digest: str, now: str) -> None:
        record = _post_record(post, digest)
        self.db["post_versions"].insert({"post_key": post.key, "version": version, "content_hash": digest,
                                         "title": record["title"], "text": record["text"], "media": record["media"],
                                         "repost_of": record["repost_of"], "seen_at": now})

    def _mark_removed(self, account_id: str, present: set[str], posts: list[Post], now: str) -> None:
        dated = [p.created_at for p in posts if p.created_at]
        if not dated:
            return
        window_start = min(dated).isoformat()
        for row in self.db.query("""SELECT key FROM posts WHERE account_id = ? AND removed_at IS NULL
                                    AND created_at >= ?""", [account_id, window_start]):
            if row["key"] not in present:
                self.db["posts"].update(row["key"], {"removed_at": now})

    def unaudited_posts(self, account_id: str | None = None) -> list[Post]:
        """Posts whose current content has not been audited (new, changed, or left by a killed run)."""
        sql = "SELECT * FROM posts WHERE (audited_hash IS NULL OR audited_hash != content_hash)"
        params: list = []
        if account_id:
            sql += " AND account_id = ?"
            params.append(account_id)
        return [post_from_row(row) for row in self.db.query(sql + " ORDER BY created_at", params)]

    def posts_for(self, account_id: str) -> list[Post]:
        return [post_from_row(r) for r in self.db.query(
            "SELECT * FROM posts WHERE account_id = ? ORDER BY created_at DESC", [account_id])]

    def post_rows(self, account_id: str) -> list[dict]:
        return list(self.db.query("SELECT * FROM posts WHERE account_id = ? ORDER BY created_at DESC", [account_id]))

    # -- media -------------------------------------------------------------------------------

    def media_for_url(self, url: str) -> dict | None:
        rows = list(self.db.query("""SELECT m.* FROM media_urls u JOIN media m ON m.sha256 = u.sha256
                                     WHERE u.url = ?""", [url]))
        return rows[0] if rows else None

    def save_media(self, url: str, sha256: str, path: str, size: int, width: int, height: int, content_type: str) -> None:
        now = utcnow().isoformat()
        with self.transaction():
            self.db["media"].insert({"sha256": sha256, "path": path, "bytes": size, "width": width, "height": height,
                                     "content_type": content_type, "first_url": url, "fetched_at": now}, ignore=True)
            self.db["media_urls"].upsert({"url": url, "sha256": sha256, "fetched_at": now}, pk="url")

    # -- findings ----------------------------------------------------------------------------

    def save_findings(self, post: Post, findings: list[Finding], run_id: int) -> list[int]:
        """Record the audit of `post`'s current content; return ids of findings seen for the first time.

        A finding already known (same fingerprint) keeps its review status, so a dismissed finding
        never comes back; findings of earlier content that the new audit no longer produces are
        made inactive.
        """
        now = utcnow().isoformat()
        new_ids, current = [], set()
        with self.transaction():
            for finding in findings:
                fingerprint = finding.fingerprint(post.key)
                current.add(fingerprint)
                existing = list(self.db.query("SELECT id FROM findings WHERE fingerprint = ?", [fingerprint]))
                if existing:
                    self.db["findings"].update(existing[0]["id"], {"last_seen": now, "active": 1})
                    continue
                new_ids.append(self.db["findings"].insert({
                    "fingerprint": fingerprint, "post_key": post.key, "account_id": post.account_id,
                    "category": finding.category, "severity": finding.severity, "evidence": finding.evidence,
                    "explanation": finding.explanation, "clause": finding.clause, "auditor": finding.auditor,
                    "location": finding.where, "media_sha256": finding.media_sha256, "status": "open", "active": 1,
                    "first_seen": now, "last_seen": now, "run_id": run_id}).last_pk)
            for row in self.db.query("SELECT id, fingerprint FROM findings WHERE post_key = ? AND active = 1", [post.key]):
                if row["fingerprint"] not in current:
                    self.db["findings"].update(row["id"], {"active": 0})
            self.db["posts"].update(post.key, {"audited_hash": post.content_hash()})
        return new_ids

    def findings_for(self, account_id: str, include_dismissed: bool = False) -> list[dict]:
        sql = "SELECT * FROM findings WHERE account_id = ? AND active = 1"
        if not include_dismissed:
            sql += " AND status != 'dismissed'"
        return list(self.db.query(sql + " ORDER BY id", [account_id]))

    def resolve_removed_findings(self, by: str = "schoolaudit") -> list[int]:
        """Confirmed findings whose post has left its account become `resolved` (post removed)."""
        now = utcnow().isoformat()
        rows = list(self.db.query("""SELECT f.id, p.removed_at FROM findings f JOIN posts p ON p.key = f.post_key
                                     WHERE f.status = 'confirmed' AND p.removed_at IS NOT NULL"""))
        with self.transaction():
            for row in rows:
                note = f"resolved as removed: the post left the account (noticed {row['removed_at']})"
                self.db["findings"].update(row["id"], {"status": "resolved", "note": note, "reviewed_by": by,
                                                       "reviewed_at": now})
                self.db["reviews"].insert({"finding_id": row["id"], "action": "resolve", "status_before": "confirmed",
                                           "status": "resolved", "note": note, "reviewed_by": by, "reviewed_at": now})
        return [row["id"] for row in rows]

    # -- conditional GET validators (crawler.http.ValidatorCache) ----------------------------

    def validators(self, url: str) -> dict | None:
        rows = list(self.db.query("SELECT etag, last_modified FROM http_validators WHERE url = ?", [url]))
        return rows[0] if rows else None

    def remember_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        if not (etag or last_modified):
            return
        with self.transaction():
            self.db["http_validators"].upsert({"url": url, "etag": etag, "last_modified": last_modified,
                                               "updated_at": utcnow().isoformat()}, pk="url")


def _post_record(post: Post, digest: str) -> dict:
    return {
        "key": post.key, "account_id": post.account_id, "platform": post.platform, "platform_id": post.platform_id,
        "url": post.url, "created_at": _iso(post.created_at), "title": post.title, "text": post.text,
        "media": json.dumps([{"url": m.url, "alt": m.alt, "kind": m.kind, "sha256": m.sha256, "path": m.path}
                             for m in post.media]),
        "repost_of": json.dumps(post.repost_of.__dict__) if post.repost_of else None,
        "sensitive": int(post.sensitive), "content_hash": digest,
    }


def post_from_row(row: dict) -> Post:
    repost = json.loads(row["repost_of"]) if row.get("repost_of") else None
    return Post(
        account_id=row["account_id"], platform=row["platform"], platform_id=row["platform_id"], url=row["url"],
        created_at=datetime.fromisoformat(row["created_at"]) if row.get("created_at") else None,
        text=row["text"] or "", title=row.get("title") or "",
        media=[Media(**m) for m in json.loads(row["media"] or "[]")],
        repost_of=RepostRef(**repost) if repost else None, sensitive=bool(row.get("sensitive")),
    )
