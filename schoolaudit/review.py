"""Reviewing findings: listing them with filters, and recording a person's decision on one.

A decision (dismiss, confirm, resolve, reopen) is recorded by the store with its history row in
one transaction, so a records request can show who decided what, when and why. A dismissed
finding stays dismissed when the post is audited again (its fingerprint keeps the status).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from records.findings import FindingQuery, UnknownFinding
from records.model import CATEGORIES, Action, FindingRecord, FindingStatus
from records.store import Store
from schoolaudit.config import Registry

ACTIONS = tuple(a.value for a in Action)
STATUSES = tuple(s.value for s in FindingStatus)


class ReviewError(Exception):
    """A review that cannot be recorded (unknown finding or action); str() says why."""


def default_reviewer() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or getpass.getuser()


def review(store: Store, finding_id: int, action: str, note: str = "", by: str | None = None) -> FindingRecord:
    """Record `action` on finding `finding_id`; return the finding as it now stands."""
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    try:
        return store.record_decision(finding_id, action, note=note, by=by or default_reviewer())
    except UnknownFinding as exc:
        raise ReviewError(str(exc)) from None


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

    def query(self, registry: Registry) -> FindingQuery:
        """The store's query for this filter, once every value is known to be valid."""
        if self.category and self.category not in CATEGORIES:
            raise ReviewError(f"unknown category {self.category!r} (one of {', '.join(CATEGORIES)})")
        if self.status and self.status != "all" and self.status not in STATUSES:
            raise ReviewError(f"unknown status {self.status!r} (one of {', '.join(STATUSES)}, all)")
        if self.school and self.school not in registry.schools:
            raise ReviewError(f"unknown school {self.school!r} (one of {', '.join(registry.schools)})")
        accounts = None
        if self.account:
            accounts = (self.account,)
        if self.school:
            accounts = tuple(a.id for a in registry.accounts if a.school == self.school
                             and (not self.account or a.id == self.account))
        statuses = FindingQuery.statuses if self.status is None else \
            None if self.status == "all" else (FindingStatus(self.status),)
        return FindingQuery(account_ids=accounts, category=self.category, statuses=statuses, since=self.since)


def list_findings(store: Store, registry: Registry, flt: FindingFilter) -> list[FindingRecord]:
    """Findings (still produced by the post's current content) matching `flt`, newest first."""
    return store.findings(flt.query(registry))
