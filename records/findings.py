"""Findings and their review: saving an audit's findings, listing them, recording decisions.

A finding is identified by its fingerprint (post, category, place, evidence), so a finding seen
again keeps its review status: a dismissed finding never comes back. Every decision is written with
its history row in one transaction, and reads the status it changes inside that transaction, so
concurrent decisions leave a history whose `status_before` always matches.
"""
from __future__ import annotations

from dataclasses import dataclass

from records.model import (Action, Finding, FindingRecord, FindingStatus, OPEN_STATUSES, Post, ReviewRecord,
                           utcnow)
from records.rows import chunks, insert, placeholders, record, records


class UnknownFinding(LookupError):
    """No finding has this number (or none the caller may see)."""


class NothingToUndo(ValueError):
    """An undo on a finding nobody has decided on yet."""


UNDO = "undo"
#: History actions that changed a status (assign and escalate rows did not).
DECIDING = (*(a.value for a in Action), UNDO)


@dataclass(frozen=True)
class FindingQuery:
    """Which findings to list. `account_ids` None: every account; an empty list: none (a scope)."""

    account_ids: tuple[str, ...] | None = None
    category: str | None = None
    statuses: tuple[FindingStatus, ...] | None = OPEN_STATUSES  # None: every status
    since: str | None = None  # UTC ISO: first seen at or after
    after_id: int = 0  # id range, for digests: after_id < id <= upto_id
    upto_id: int | None = None
    categories: tuple[str, ...] | None = None
    order: str = "newest"  # newest | oldest | severity (most severe first, then oldest)
    limit: int | None = None


_WITH_POST = """SELECT f.*, p.url AS post_url, p.created_at AS post_created_at, p.removed_at AS post_removed_at
                FROM findings f LEFT JOIN posts p ON p.key = f.post_key"""


_ORDER = {"newest": " ORDER BY f.id DESC", "oldest": " ORDER BY f.id",
          "severity": " ORDER BY CASE f.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, f.id"}


def _finding(row: dict) -> FindingRecord:
    return record(FindingRecord, row, status=FindingStatus, active=bool)


def _finding_row(fingerprint: str, post: Post, finding: Finding, now: str, run_id: int) -> dict:
    return {"fingerprint": fingerprint, "post_key": post.key, "account_id": post.account_id,
            "category": finding.category, "severity": finding.severity, "evidence": finding.evidence,
            "explanation": finding.explanation, "clause": finding.clause, "auditor": finding.auditor,
            "location": finding.where, "media_sha256": finding.media_sha256,
            "status": FindingStatus.OPEN.value, "active": 1, "first_seen": now, "last_seen": now, "run_id": run_id}


class FindingsPart:
    def save_findings(self, post: Post, findings: list[Finding], run_id: int) -> list[int]:
        """Record the audit of `post`'s current content; return ids of findings seen for the first time.

        Findings of earlier content that this audit no longer produces are made inactive.
        """
        return self.save_audits([(post, findings)], run_id)

    def save_audits(self, audited: list[tuple[Post, list[Finding]]], run_id: int) -> list[int]:
        """`save_findings` for several posts (an account's) in one transaction and a few statements;
        return the ids of findings seen for the first time."""
        now = utcnow().isoformat()
        keys = [post.key for post, _ in audited]
        with self.transaction():
            known: dict[str, tuple[int, int]] = {}
            for chunk in chunks(keys):
                known.update((fingerprint, (finding_id, active)) for finding_id, fingerprint, active in self.db.execute(
                    f"SELECT id, fingerprint, active FROM findings WHERE post_key IN ({placeholders(chunk)})", chunk))
            current, fresh = set(), {}
            for post, findings in audited:
                for finding in findings:
                    fingerprint = finding.fingerprint(post.key)
                    current.add(fingerprint)
                    if fingerprint not in known:
                        fresh[fingerprint] = _finding_row(fingerprint, post, finding, now, run_id)
            self.db.conn.executemany("UPDATE findings SET last_seen = ?, active = 1 WHERE id = ?",
                                     [(now, known[f][0]) for f in current if f in known])
            self.db.conn.executemany("UPDATE findings SET active = 0 WHERE id = ?",
                                     [(finding_id,) for f, (finding_id, active) in known.items()
                                      if active and f not in current])
            new_ids = [insert(self.db, "findings", row) for row in fresh.values()]
            self.db.conn.executemany("UPDATE posts SET audited_hash = ? WHERE key = ?",
                                     [(post.content_hash(), post.key) for post, _ in audited])
        return new_ids

    # -- reading -----------------------------------------------------------------------------

    def finding(self, finding_id: int) -> FindingRecord:
        rows = list(self.db.query(_WITH_POST + " WHERE f.id = ?", [finding_id]))
        if not rows:
            raise UnknownFinding(f"no finding #{finding_id} (see `schoolaudit findings`)")
        return _finding(rows[0])

    def findings(self, query: FindingQuery) -> list[FindingRecord]:
        """Findings still produced by their post's current content, matching `query`."""
        sql, params = self._where(query)
        sql += _ORDER[query.order]
        if query.limit is not None:
            sql += f" LIMIT {int(query.limit)}"
        return [_finding(row) for row in self.db.query(_WITH_POST + sql, params)]

    def count_findings(self, query: FindingQuery) -> int:
        sql, params = self._where(query)
        return self.db.execute("SELECT count(*) FROM findings f" + sql, params).fetchone()[0]

    def _where(self, query: FindingQuery) -> tuple[str, list]:
        sql, params = " WHERE f.active = 1 AND f.id > ?", [query.after_id]
        if query.upto_id is not None:
            sql += " AND f.id <= ?"
            params.append(query.upto_id)
        if query.account_ids is not None:
            sql += f" AND f.account_id IN ({placeholders(query.account_ids)})"
            params.extend(query.account_ids)
        categories = (query.category,) if query.category else query.categories
        if categories is not None:
            sql += f" AND f.category IN ({placeholders(categories)})"
            params.extend(categories)
        if query.statuses is not None:
            sql += f" AND f.status IN ({placeholders(query.statuses)})"
            params.extend(FindingStatus(s).value for s in query.statuses)
        if query.since:
            sql += " AND f.first_seen >= ?"
            params.append(query.since)
        return sql, params

    def newest_finding_id(self) -> int:
        return self.db.execute("SELECT coalesce(max(id), 0) FROM findings").fetchone()[0]

    # -- review ------------------------------------------------------------------------------

    def record_decision(self, finding_id: int, action: Action | str, *, by: str, note: str = "",
                        reason: str | None = None, now: str | None = None) -> FindingRecord:
        """Set the finding's status by `action` and append its history row, in one transaction.

        `undo` gives the finding back the status it had before its last decision. A decision that
        would not change the status or its note (resolving a resolved finding) adds no second
        history row.
        """
        when = now or utcnow().isoformat()
        with self.transaction():
            before = self.finding(finding_id)
            action, status = self._decided(finding_id, action)
            if before.status == status and (before.note or "") == note and before.reason == reason:
                return before
            self.db.execute("UPDATE findings SET status = ?, note = ?, reason = ?, reviewed_by = ?, reviewed_at = ? "
                            "WHERE id = ?", [status.value, note, reason, by, when, finding_id])
            insert(self.db, "reviews", {"finding_id": finding_id, "action": action,
                                       "status_before": before.status.value, "status": status.value, "note": note,
                                       "reason": reason, "reviewed_by": by, "reviewed_at": when})
        return self.finding(finding_id)

    def _decided(self, finding_id: int, action: Action | str) -> tuple[str, FindingStatus]:
        """(the action's name, the status it sets); undo looks the status up in the history."""
        if action != UNDO:
            action = Action(action)
            return action.value, action.status
        last = self.db.execute(f"""SELECT status_before FROM reviews WHERE finding_id = ? AND action IN
                                   ({placeholders(DECIDING)}) ORDER BY id DESC LIMIT 1""",
                               [finding_id, *DECIDING]).fetchone()
        if last is None:
            raise NothingToUndo(f"finding #{finding_id} has no decision to undo")
        return UNDO, FindingStatus(last[0])

    def review_history(self, finding_id: int | None = None) -> list[ReviewRecord]:
        sql, params = "SELECT * FROM reviews", []
        if finding_id is not None:
            sql, params = sql + " WHERE finding_id = ?", [finding_id]
        return records(ReviewRecord, self.db.query(sql + " ORDER BY id", params))

    def resolve_removed_findings(self, by: str = "schoolaudit") -> list[int]:
        """Confirmed findings whose post has left its account become `resolved` (post removed)."""
        with self.transaction():
            rows = list(self.db.query("""SELECT f.id, p.removed_at FROM findings f JOIN posts p ON p.key = f.post_key
                                         WHERE f.status = 'confirmed' AND p.removed_at IS NOT NULL"""))
            for row in rows:
                note = f"resolved as removed: the post left the account (noticed {row['removed_at']})"
                self.record_decision(row["id"], Action.RESOLVE, by=by, note=note)
        return [row["id"] for row in rows]
