"""The schema, as numbered migration steps: a database at version N runs steps N+1.. on open."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store imports sqlite-utils (records.store._sqlite_utils)
    import sqlite_utils


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


def _v3(db: sqlite_utils.Database) -> None:
    """Edit times of posts, a decision's reason, each delivery's Message-ID; findings by post."""
    db["posts"].add_column("edited_at", str)
    db["post_versions"].add_column("edited_at", str)
    db["findings"].add_column("reason", str)
    db["reviews"].add_column("reason", str)
    db["deliveries"].add_column("message_id", str)
    db["findings"].create_index(["post_key"])  # saving a post's findings looked the table through without it


#: The dismissal reasons a new database starts with (admins edit the list in the review app).
DEFAULT_REASONS = ("Consent on file", "Public event", "Not a student", "Not what the rule means",
                   "Already handled")


def _v4(db: sqlite_utils.Database) -> None:
    """The review app's people (records.people): users, sign-in attempts, secrets, reasons, the audit log;
    assignment on findings."""
    db["users"].create({"id": int, "email": str, "name": str, "role": str, "scope": str, "password_hash": str,
                        "created_at": str}, pk="id")
    db["users"].create_index(["email"], unique=True)
    db["signin_attempts"].create({"id": int, "email": str, "client": str, "at": str, "ok": int}, pk="id")
    db["signin_attempts"].create_index(["at"])
    db["app_secrets"].create({"name": str, "value": str}, pk="name")
    db["review_reasons"].create({"id": int, "label": str, "position": int}, pk="id")
    db["review_reasons"].insert_all({"label": label, "position": n} for n, label in enumerate(DEFAULT_REASONS))
    db["audit_log"].create({"id": int, "at": str, "actor": str, "event": str, "finding_id": int, "detail": str,
                            "client": str}, pk="id")
    # Append-only: the database itself refuses to change or delete an entry.
    db.execute("""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")
    db.execute("""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")
    db["findings"].add_column("assigned_to", str)
    db["findings"].add_column("escalated_at", str)
    db["findings"].create_index(["status", "severity"])


def _v5(db: sqlite_utils.Database) -> None:
    """An account's latest check without sorting its history (1.1 s -> 25 ms at 1M checks, 2,000 accounts)."""
    db["account_checks"].create_index(["account_id", "id"])


#: Schema steps in order. Append a step; never edit one that has shipped.
MIGRATIONS = (_v1, _v2, _v3, _v4, _v5)
