"""Reviewing findings: listing them with filters, and recording a person's decision on one.

A decision (dismiss, confirm, resolve) sets the finding's status, note, reviewer and time, and adds
a row to the `reviews` history, so a records request can show who decided what, when and why.
A dismissed finding stays dismissed when the post is audited again (its fingerprint keeps the
status); a confirmed finding whose post disappears is resolved by the store after a run
(`Store.resolve_removed_findings`).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from records.model import CATEGORIES
from records.queue import DECISIONS, STATUSES, record_decision
from records.store import Store
from schoolaudit.config import Registry

#: action -> the status it sets
ACTIONS = DECISIONS


class ReviewError(Exception):
    """A review that cannot be recorded (unknown finding or action); str() says why."""


def default_reviewer() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or getpass.getuser()


def review(store: Store, finding_id: int, action: str, note: str = "", by: str | None = None) -> dict:
    """Record `action` on finding `finding_id`; return the updated finding row."""
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    row = record_decision(store, finding_id, action, note=note, by=by or default_reviewer())
    if row is None:
        raise ReviewError(f"no finding #{finding_id} (see `schoolaudit findings`)")
    return row


def history(store: Store, finding_id: int | None = None) -> list[dict]:
    sql, params = "SELECT * FROM reviews", []
    if finding_id is not None:
        sql, params = sql + " WHERE finding_id = ?", [finding_id]
    return list(store.db.query(sql + " ORDER BY id", params))


def parse_since(value: str | None, zone: str) -> str | None:
    """A date (`2025-09-01`, midnight in the board's timezone) or a datetime, as a UTC ISO string."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ReviewError(f"--since {value!r} is not a date like 2025-09-01 or 2025-09-01T08:00") from None
    if len(value) <= 10:
        parsed = datetime.combine(date.fromisoformat(value), time(0))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed.astimezone(timezone.utc).isoformat()


@dataclass
class FindingFilter:
    account: str | None = None
    school: str | None = None
    category: str | None = None
    status: str | None = None  # one of STATUSES, or "all"; None: open and confirmed
    since: str | None = None  # UTC ISO: first seen at or after

    def validate(self, registry: Registry) -> None:
        if self.category and self.category not in CATEGORIES:
            raise ReviewError(f"unknown category {self.category!r} (one of {', '.join(CATEGORIES)})")
        if self.status and self.status != "all" and self.status not in STATUSES:
            raise ReviewError(f"unknown status {self.status!r} (one of {', '.join(STATUSES)}, all)")
        if self.school and self.school not in registry.schools:
            raise ReviewError(f"unknown school {self.school!r} (one of {', '.join(registry.schools)})")


def list_findings(store: Store, registry: Registry, flt: FindingFilter) -> list[dict]:
    """Findings (still produced by the post's current content) matching `flt`, newest first."""
    flt.validate(registry)
    sql = """SELECT f.*, p.url AS post_url, p.created_at AS post_created_at, p.removed_at AS post_removed_at
             FROM findings f LEFT JOIN posts p ON p.key = f.post_key WHERE f.active = 1"""
    params: list = []
    if flt.account:
        sql += " AND f.account_id = ?"
        params.append(flt.account)
    if flt.school:
        ids = [a.id for a in registry.accounts if a.school == flt.school]
        sql += f" AND f.account_id IN ({', '.join('?' for _ in ids) or 'NULL'})"
        params.extend(ids)
    if flt.category:
        sql += " AND f.category = ?"
        params.append(flt.category)
    if flt.status is None:
        sql += " AND f.status IN ('open', 'confirmed')"
    elif flt.status != "all":
        sql += " AND f.status = ?"
        params.append(flt.status)
    if flt.since:
        sql += " AND f.first_seen >= ?"
        params.append(flt.since)
    return list(store.db.query(sql + " ORDER BY f.id DESC", params))
