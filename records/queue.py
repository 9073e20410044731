"""The review queue as a person sees it: every read takes that person's scope.

A scope is "board", "school:ID" or "account:ID". It is applied in the SQL of each query (by the
account's school in the `accounts` table), so nothing outside it is ever read, counted or changed;
a finding outside it looks exactly like a finding that does not exist (None).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from records.model import utcnow

if TYPE_CHECKING:
    from records.store import Store

SEVERITY_ORDER = "CASE f.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"
PAGE_SIZE = 50

_FINDING_COLUMNS = """f.id, f.post_key, f.account_id, a.name AS account_name, a.school, f.category, f.severity,
    f.status, f.evidence, f.explanation, f.clause, f.location, f.media_sha256, f.first_seen, f.last_seen,
    f.note, f.reason, f.reviewed_by, f.reviewed_at, f.assigned_to, f.escalated_at,
    p.url AS post_url, p.created_at AS post_created_at, p.removed_at AS post_removed_at"""
_FROM = """FROM findings f JOIN accounts a ON a.id = f.account_id LEFT JOIN posts p ON p.key = f.post_key"""


def scope_sql(scope: str, alias: str = "a") -> tuple[str, list]:
    """The WHERE fragment (on the accounts table `alias`) that keeps only what `scope` may see."""
    kind, _, ident = scope.partition(":")
    if kind == "board" and not ident:
        return "1 = 1", []
    if kind == "school" and ident:
        return f"{alias}.school = ?", [ident]
    if kind == "account" and ident:
        return f"{alias}.id = ?", [ident]
    return "0 = 1", []  # an unreadable scope sees nothing


@dataclass
class QueueFilter:
    status: str | None = "open"  # one of STATUSES, "all"
    category: str | None = None
    severity: str | None = None
    school: str | None = None
    account: str | None = None
    since: str | None = None  # UTC ISO: first seen at or after
    assigned_to: str | None = None  # an e-mail ("assigned to me")

    def clauses(self, skip: str | None = None) -> tuple[list[str], list]:
        """SQL conditions and parameters for every set filter except `skip` (a facet being counted)."""
        sql, params = [], []
        for name, column in (("status", "f.status"), ("category", "f.category"), ("severity", "f.severity"),
                             ("school", "a.school"), ("account", "f.account_id"), ("assigned_to", "f.assigned_to")):
            value = getattr(self, name)
            if name == skip or not value or (name == "status" and value == "all"):
                continue
            sql.append(f"{column} = ?")
            params.append(value)
        if self.since and skip != "since":
            sql.append("f.first_seen >= ?")
            params.append(self.since)
        return sql, params

    def query_args(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def _where(scope: str, flt: QueueFilter | None, skip: str | None = None) -> tuple[str, list]:
    scope_clause, params = scope_sql(scope)
    conditions = ["f.active = 1", scope_clause]
    if flt:
        more, more_params = flt.clauses(skip)
        conditions += more
        params = params + more_params
    return " WHERE " + " AND ".join(conditions), params


def queue(store: Store, scope: str, flt: QueueFilter, limit: int | None = PAGE_SIZE, offset: int = 0) -> list[dict]:
    """Findings in `scope` matching `flt`, most severe first, then newest."""
    where, params = _where(scope, flt)
    sql = f"SELECT {_FINDING_COLUMNS} {_FROM}{where} ORDER BY {SEVERITY_ORDER}, f.id DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = params + [limit, offset]
    return list(store.db.query(sql, params))


FACETS = {"status": "f.status", "category": "f.category", "severity": "f.severity", "school": "a.school",
          "account": "f.account_id"}


def counts(store: Store, scope: str, flt: QueueFilter) -> dict[str, dict[str, int]]:
    """For each filter, how many findings each of its values would show (the other filters applied);
    "total" holds the number `flt` itself matches."""
    result = {}
    for facet, column in FACETS.items():
        where, params = _where(scope, flt, skip=facet)
        rows = store.db.query(f"SELECT {column} AS value, COUNT(*) AS n {_FROM}{where} GROUP BY {column}", params)
        result[facet] = {row["value"] or "": row["n"] for row in rows}
    where, params = _where(scope, flt)
    result["total"] = {"": next(iter(store.db.query(f"SELECT COUNT(*) AS n {_FROM}{where}", params)))["n"]}
    return result


def finding(store: Store, scope: str, finding_id: int) -> dict | None:
    """One finding (active or not) with its post's link and dates; None when absent or out of scope."""
    scope_clause, params = scope_sql(scope)
    rows = list(store.db.query(f"SELECT {_FINDING_COLUMNS}, p.text AS post_text, p.title AS post_title, "
                               f"p.media AS post_media, p.version AS post_version {_FROM} "
                               f"WHERE f.id = ? AND {scope_clause}", [finding_id, *params]))
    return rows[0] if rows else None


def post_findings(store: Store, scope: str, post_key: str) -> list[dict]:
    """Every current finding on a post (to highlight all of the post's evidence)."""
    scope_clause, params = scope_sql(scope)
    return list(store.db.query(f"SELECT {_FINDING_COLUMNS} {_FROM} WHERE f.post_key = ? AND f.active = 1 "
                               f"AND {scope_clause} ORDER BY {SEVERITY_ORDER}, f.id", [post_key, *params]))


def post_versions(store: Store, scope: str, post_key: str) -> list[dict]:
    """Every stored version of a post in scope, oldest first."""
    scope_clause, params = scope_sql(scope)
    return list(store.db.query(f"""SELECT v.version, v.title, v.text, v.media, v.seen_at FROM post_versions v
                                   JOIN posts p ON p.key = v.post_key JOIN accounts a ON a.id = p.account_id
                                   WHERE v.post_key = ? AND {scope_clause} ORDER BY v.version""",
                               [post_key, *params]))


def post_media(store: Store, scope: str, finding_id: int) -> list[dict]:
    """The stored media of the post a finding in scope is on ([] when out of scope)."""
    row = finding(store, scope, finding_id)
    return json.loads(row["post_media"] or "[]") if row else []


def review_history(store: Store, scope: str, finding_id: int) -> list[dict]:
    scope_clause, params = scope_sql(scope)
    return list(store.db.query(f"""SELECT r.* FROM reviews r JOIN findings f ON f.id = r.finding_id
                                   JOIN accounts a ON a.id = f.account_id
                                   WHERE r.finding_id = ? AND {scope_clause} ORDER BY r.id""",
                               [finding_id, *params]))


def record_decision(store: Store, finding_id: int, action: str, *, note: str = "", reason: str = "",
                    by: str, scope: str = "board") -> dict | None:
    """Record `action` (a decision, or `undo`) on a finding in `scope` through the store's one
    decision path; return the updated finding, or None when it is absent or out of scope."""
    with store.transaction():
        if finding(store, scope, finding_id) is None:
            return None
        store.record_decision(finding_id, action, note=note, reason=reason or None, by=by)
        return finding(store, scope, finding_id)


def assign(store: Store, scope: str, finding_id: int, assignee: str | None, *, by: str) -> dict | None:
    """Assign a finding in scope to a person (None: nobody); kept in its history."""
    return _mark(store, scope, finding_id, "assign", {"assigned_to": assignee or None},
                 f"assigned to {assignee}" if assignee else "unassigned", by)


def escalate(store: Store, scope: str, finding_id: int, note: str, *, by: str) -> dict | None:
    """Flag a finding in scope for the board's attention; kept in its history."""
    return _mark(store, scope, finding_id, "escalate", {"escalated_at": utcnow().isoformat()},
                 note or "escalated to the board", by)


def _mark(store: Store, scope: str, finding_id: int, action: str, changes: dict, note: str, by: str) -> dict | None:
    with store.transaction():
        before = finding(store, scope, finding_id)
        if before is None:
            return None
        store.db["findings"].update(finding_id, changes)
        store.db["reviews"].insert({"finding_id": finding_id, "action": action, "status_before": before["status"],
                                    "status": before["status"], "note": note, "reviewed_by": by,
                                    "reviewed_at": utcnow().isoformat()})
        return finding(store, scope, finding_id)


def accounts_overview(store: Store, scope: str) -> list[dict]:
    """Each account in scope: its last check, since when it fails, its last good check, posts stored
    and open findings."""
    scope_clause, params = scope_sql(scope)
    return list(store.db.query(f"""
        SELECT a.id, a.name, a.kind, a.school, a.platform, a.target,
               c.checked_at, c.outcome, c.detail, c.posts_seen,
               (SELECT MAX(checked_at) FROM account_checks WHERE account_id = a.id AND outcome = 'ok') AS last_ok,
               (SELECT MIN(checked_at) FROM account_checks WHERE account_id = a.id AND outcome != 'ok'
                  AND checked_at > COALESCE((SELECT MAX(checked_at) FROM account_checks
                                             WHERE account_id = a.id AND outcome = 'ok'), '')) AS failing_since,
               (SELECT COUNT(*) FROM posts WHERE account_id = a.id) AS posts_stored,
               (SELECT COUNT(*) FROM findings WHERE account_id = a.id AND active = 1 AND status = 'open')
                  AS open_findings
        FROM accounts a LEFT JOIN account_checks c ON c.id = (
            SELECT id FROM account_checks WHERE account_id = a.id ORDER BY id DESC LIMIT 1)
        WHERE {scope_clause} ORDER BY a.school, a.id""", params))


def account_in_scope(store: Store, scope: str, account_id: str) -> bool:
    scope_clause, params = scope_sql(scope)
    return bool(list(store.db.query(f"SELECT 1 FROM accounts a WHERE a.id = ? AND {scope_clause}",
                                    [account_id, *params])))


def runs(store: Store, scope: str, limit: int = 30) -> list[dict]:
    """The latest runs; their counts are board-wide, so only a board scope sees them."""
    if scope != "board":
        return []
    return list(store.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))
