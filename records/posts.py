"""Posts, their versions and their images, and the HTTP validators saved with them."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable

from records.model import Account, Media, Post, PostRecord, PostVersion, RepostRef, utcnow
from records.rows import chunks, dict_rows, insert, insert_many, loads, placeholders, records, update_many, upsert


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


_JSON = {"media": lambda text: json.loads(text or "[]"), "repost_of": loads}


class PostsPart:
    # -- accounts ------------------------------------------------------------------------------

    def sync_accounts(self, accounts: Iterable[Account]) -> None:
        with self.transaction():
            for a in accounts:
                upsert(self.db, "accounts", "id", {"id": a.id, "name": a.name, "kind": a.kind, "school": a.school,
                                            "platform": a.platform, "target": a.target,
                                            "registered_at": utcnow().isoformat()})

    # -- posts -------------------------------------------------------------------------------

    def save_posts(self, account: Account, posts: list[Post], complete_window: bool = True) -> tuple[list[Post], list[Post]]:
        """Store what a source returned; return (new posts, changed posts).

        A changed post keeps its earlier version in `post_versions`. When the source returned its
        whole window, posts of that window that are no longer there are marked removed.
        """
        now = utcnow().isoformat()
        new, changed, inserted, updated, versions, seen = [], [], [], [], [], []
        with self.transaction():
            known = self._stored_hashes([p.key for p in posts])
            for post in posts:
                digest = post.content_hash()
                row = _post_columns(post, digest)
                stored = known.get(post.key)
                if stored is None:
                    inserted.append({**row, "version": 1, "first_seen": now, "last_seen": now, "audited_hash": None})
                    versions.append(_version_row(row, 1, now))
                    new.append(post)
                elif stored[0] != digest:
                    updated.append({**row, "version": stored[1] + 1, "last_seen": now, "removed_at": None})
                    versions.append(_version_row(row, stored[1] + 1, now))
                    changed.append(post)
                else:
                    seen.append((now, post.key))
            insert_many(self.db, "posts", inserted)
            update_many(self.db, "posts", "key", updated)
            insert_many(self.db, "post_versions", versions)
            self.db.conn.executemany("UPDATE posts SET last_seen = ?, removed_at = NULL WHERE key = ?", seen)
            if complete_window and posts:
                self._mark_removed(account.id, {p.key for p in posts}, posts, now)
        return new, changed

    def _stored_hashes(self, keys: list[str]) -> dict[str, tuple[str, int]]:
        found = {}
        for chunk in chunks(keys):
            for key, digest, version in self.db.execute(
                    f"SELECT key, content_hash, version FROM posts WHERE key IN ({placeholders(chunk)})", chunk):
                found[key] = (digest, version)
        return found

    def _mark_removed(self, account_id: str, present: set[str], posts: list[Post], now: str) -> None:
        # The window is what the source answered for, oldest to newest: a feed that briefly lists only
        # its oldest item says nothing about the newer posts.
        dated = [p.created_at for p in posts if p.created_at]
        if not dated:
            return
        gone = [(now, key) for (key,) in self.db.execute(
            """SELECT key FROM posts WHERE account_id = ? AND removed_at IS NULL AND created_at >= ? AND created_at <= ?""",
            [account_id, min(dated).isoformat(), max(dated).isoformat()]) if key not in present]
        self.db.conn.executemany("UPDATE posts SET removed_at = ? WHERE key = ?", gone)

    def unaudited_posts(self, account_id: str | None = None) -> list[Post]:
        """Posts whose current content has not been audited (new, changed, or left by a killed run)."""
        sql = "SELECT * FROM posts WHERE (audited_hash IS NULL OR audited_hash != content_hash)"
        params: list = []
        if account_id:
            sql += " AND account_id = ?"
            params.append(account_id)
        return [post_from_row(row) for row in dict_rows(self.db.execute(sql + " ORDER BY created_at", params))]

    def count_posts(self, account_id: str) -> int:
        return self.db.execute("SELECT count(*) FROM posts WHERE account_id = ?", [account_id]).fetchone()[0]

    def post_records(self, keys: list[str]) -> list[PostRecord]:
        """The stored posts with these keys (in no particular order)."""
        rows = []
        for chunk in chunks(keys):
            rows.extend(self.db.query(f"SELECT * FROM posts WHERE key IN ({placeholders(chunk)})", chunk))
        return records(PostRecord, rows, **_JSON)

    def post_versions(self, post_key: str) -> list[PostVersion]:
        """Every version of a post as it was seen, oldest first."""
        return records(PostVersion, self.db.query(
            "SELECT * FROM post_versions WHERE post_key = ? ORDER BY version", [post_key]), **_JSON)

    # -- media -------------------------------------------------------------------------------

    def media_for_url(self, url: str) -> dict | None:
        rows = list(self.db.query("""SELECT m.* FROM media_urls u JOIN media m ON m.sha256 = u.sha256
                                     WHERE u.url = ?""", [url]))
        return rows[0] if rows else None

    def save_media(self, url: str, sha256: str, path: str, size: int, width: int, height: int, content_type: str) -> None:
        now = utcnow().isoformat()
        with self.transaction():
            insert(self.db, "media", {"sha256": sha256, "path": path, "bytes": size, "width": width, "height": height,
                                     "content_type": content_type, "first_url": url, "fetched_at": now}, conflict="IGNORE")
            upsert(self.db, "media_urls", "url", {"url": url, "sha256": sha256, "fetched_at": now})

    # -- conditional GET validators (crawler.http.ValidatorCache) ----------------------------

    def validators(self, url: str) -> dict | None:
        rows = dict_rows(self.db.execute("SELECT etag, last_modified FROM http_validators WHERE url = ?", [url]))
        return rows[0] if rows else None

    def remember_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        if not (etag or last_modified):
            return
        with self.transaction():
            upsert(self.db, "http_validators", "url", {"url": url, "etag": etag, "last_modified": last_modified,
                                               "updated_at": utcnow().isoformat()})

    # -- a records request -------------------------------------------------------------------

    def export_rows(self, since: str | None) -> dict[str, list[dict]]:
        """{"posts", "post_versions", "findings", "reviews"}: posts first seen (or created) since `since`,
        every finding on them or first seen since, their versions and review history (None: everything)."""
        since = since or ""
        findings = list(self.db.query(
            """SELECT * FROM findings WHERE first_seen >= ? OR post_key IN
               (SELECT key FROM posts WHERE first_seen >= ? OR created_at >= ?) ORDER BY id""", [since] * 3))
        posts = list(self.db.query(
            """SELECT * FROM posts WHERE first_seen >= ? OR created_at >= ?
               OR key IN (SELECT post_key FROM findings WHERE first_seen >= ?) ORDER BY account_id, created_at""",
            [since] * 3))
        versions, reviews = [], []
        for chunk in chunks([p["key"] for p in posts]):
            versions.extend(self.db.query(f"SELECT * FROM post_versions WHERE post_key IN ({placeholders(chunk)})", chunk))
        for chunk in chunks([f["id"] for f in findings]):
            reviews.extend(self.db.query(f"SELECT * FROM reviews WHERE finding_id IN ({placeholders(chunk)})", chunk))
        versions.sort(key=lambda r: (r["post_key"], r["version"]))
        reviews.sort(key=lambda r: r["id"])
        return {"posts": posts, "post_versions": versions, "findings": findings, "reviews": reviews}


def _post_columns(post: Post, digest: str) -> dict:
    return {
        "key": post.key, "account_id": post.account_id, "platform": post.platform, "platform_id": post.platform_id,
        "url": post.url, "created_at": _iso(post.created_at), "edited_at": _iso(post.edited_at), "title": post.title,
        "text": post.text,
        "media": json.dumps([{"url": m.url, "alt": m.alt, "kind": m.kind, "sha256": m.sha256, "path": m.path}
                             for m in post.media]),
        "repost_of": json.dumps(post.repost_of.__dict__) if post.repost_of else None,
        "sensitive": int(post.sensitive), "content_hash": digest,
    }


def _version_row(row: dict, version: int, now: str) -> dict:
    return {"post_key": row["key"], "version": version, "content_hash": row["content_hash"], "title": row["title"],
            "text": row["text"], "media": row["media"], "repost_of": row["repost_of"], "edited_at": row["edited_at"],
            "seen_at": now}


def post_from_row(row: dict) -> Post:
    repost = loads(row.get("repost_of"))
    return Post(
        account_id=row["account_id"], platform=row["platform"], platform_id=row["platform_id"], url=row["url"],
        created_at=datetime.fromisoformat(row["created_at"]) if row.get("created_at") else None,
        edited_at=datetime.fromisoformat(row["edited_at"]) if row.get("edited_at") else None,
        text=row["text"] or "", title=row.get("title") or "",
        media=[Media(**m) for m in json.loads(row["media"] or "[]")],
        repost_of=RepostRef(**repost) if repost else None, sensitive=bool(row.get("sensitive")),
    )
