"""The e-mailed digests: nightly (new since the last one), weekly (the week by school, account and
category), and alerts (severe categories, right after the nightly run), each for one recipient's scope.

A digest covers a range of finding ids: from where the previous digest of its kind stopped to the
newest finding (the `digests` table keeps the ranges), so nothing is reported twice and nothing is
skipped, whatever the clock says. Post and finding views come from `ReportBuilder` (the same as
the HTML reports); thumbnails are the face-blurred ones only, embedded as `cid:` images.
"""
from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from records.findings import FindingQuery
from records.model import CATEGORIES, CATEGORY_LABELS, SEVERITY_RANK, DigestRange, FindingRecord, utcnow
from records.store import Store
from reports.render import environment, highlight
from schoolaudit import config
from schoolaudit.config import Recipient, Registry, Settings
from schoolaudit.config.recipients import with_account_contacts
from schoolaudit.config.settings import DIGEST_KINDS
from schoolaudit.reporting import ReportBuilder

KINDS = DIGEST_KINDS
#: The weekly digest lists this many older open findings, most severe first, then says how many more.
STILL_OPEN_SHOWN = 50
MARK = '<mark style="background:#ffe08a;color:#1f2933;padding:0 2px;">'


def load_recipients(settings: Settings, registry: Registry) -> list[Recipient]:
    """The `[[recipients]]` of recipients.toml in the configuration folder (none when it is absent), and
    each account's contacts for that account unless `digest.account_contacts = false`."""
    recipients = config.load_recipients(settings.config_dir, registry)
    return with_account_contacts(recipients, registry) if settings.digest.account_contacts else recipients


def accounts_in_scope(registry: Registry, scope: str) -> list[str]:
    kind, _, ident = scope.partition(":")
    if kind == "board":
        return [a.id for a in registry.accounts]
    if kind == "school":
        return [a.id for a in registry.accounts if a.school == ident]
    return [a.id for a in registry.accounts if a.id == ident]


def scope_label(registry: Registry, scope: str) -> str:
    kind, _, ident = scope.partition(":")
    if kind == "school":
        return registry.schools.get(ident, ident)
    if kind == "account":
        return next((a.name for a in registry.accounts if a.id == ident), ident)
    return "all accounts of the board"


@dataclass
class Digest:
    kind: str
    recipient: Recipient
    subject: str
    html: str
    text: str
    images: dict[str, bytes] = field(default_factory=dict)  # content-id -> JPEG
    finding_ids: list[int] = field(default_factory=list)
    empty: bool = False


def text_mark(text: str, evidences) -> str:
    """Plain-text highlight: the same matches as the HTML `<mark>`, written as **evidence**."""
    marked = str(highlight(text, evidences)).replace("<mark>", "**").replace("</mark>", "**")
    return html.unescape(marked)


class DigestBuilder:
    def __init__(self, settings: Settings, registry: Registry, store: Store, now: datetime | None = None):
        self.settings, self.registry, self.store = settings, registry, store
        self.reports = ReportBuilder(settings, registry, store)
        self.now = now or utcnow()
        self.env = environment()
        self.env.filters["text_mark"] = text_mark
        self.env.globals["severity_rank"] = SEVERITY_RANK

    # -- ranges --------------------------------------------------------------------------------

    def next_range(self, kind: str) -> DigestRange:
        """Finding ids after the previous digest of `kind`, up to the newest finding."""
        previous = self.store.last_digest(kind)
        after = previous.last_finding_id if previous else 0
        return DigestRange(kind, after, max(after, self.store.newest_finding_id()))

    def _findings(self, accounts: list[str], after: int, upto: int, categories=None,
                  order: str = "oldest", limit: int | None = None) -> list[FindingRecord]:
        return self.store.findings(FindingQuery(account_ids=tuple(accounts), after_id=after, upto_id=upto,
                                                categories=categories, order=order, limit=limit))

    def _count(self, accounts: list[str], after: int, upto: int) -> int:
        return self.store.count_findings(FindingQuery(account_ids=tuple(accounts), after_id=after, upto_id=upto))

    # -- the three digests ---------------------------------------------------------------------

    def nightly(self, recipient: Recipient, covered: DigestRange) -> Digest:
        accounts = accounts_in_scope(self.registry, recipient.scope)
        findings = self._findings(accounts, covered.first_finding_id, covered.last_finding_id)
        return self._digest("nightly", recipient, findings, unchecked=self._unchecked(accounts))

    def alerts(self, recipient: Recipient, covered: DigestRange) -> Digest:
        accounts = accounts_in_scope(self.registry, recipient.scope)
        findings = self._findings(accounts, covered.first_finding_id, covered.last_finding_id,
                                  categories=self.settings.digest.alert_categories)
        return self._digest("alerts", recipient, findings)

    def weekly(self, recipient: Recipient, covered: DigestRange, previous: DigestRange | None) -> Digest:
        accounts = accounts_in_scope(self.registry, recipient.scope)
        after = covered.first_finding_id
        findings = self._findings(accounts, after, covered.last_finding_id)
        last_week = self._count(accounts, previous.first_finding_id, previous.last_finding_id) if previous else None
        older_open = self._findings(accounts, 0, after, order="severity", limit=STILL_OPEN_SHOWN)
        return self._digest("weekly", recipient, findings, unchecked=self._unchecked(accounts),
                            groups=self._groups(findings), last_week=last_week,
                            still_open=self._open_rows(older_open), still_open_count=self._count(accounts, 0, after))

    # -- pieces --------------------------------------------------------------------------------

    def _unchecked(self, accounts: list[str]) -> list[dict]:
        """Accounts in scope whose last check failed (or that were never checked), and why."""
        wanted = set(accounts)
        return [{"name": check.name, "id": check.id, "outcome": check.outcome, "detail": check.detail,
                 "checked_at": self.reports.local_time(check.checked_at)}
                for check in self.reports.checks.values() if check.id in wanted and check.outcome != "ok"]

    def _groups(self, findings: list[FindingRecord]) -> list[dict]:
        """School -> account -> category counts of `findings`, schools in registry order."""
        by_account = {}
        for f in findings:
            by_account.setdefault(f.account_id, Counter())[f.category] += 1
        groups = []
        for school_id, school_name in [*self.registry.schools.items(), (None, "Board accounts")]:
            accounts = []
            for account in self.registry.accounts:
                if account.school == school_id and account.id in by_account:
                    counts = by_account[account.id]
                    accounts.append({"id": account.id, "name": account.name, "total": sum(counts.values()),
                                     "categories": [(CATEGORY_LABELS.get(c, c), counts[c])
                                                    for c in CATEGORIES if counts.get(c)]})
            if accounts:
                groups.append({"name": school_name, "accounts": accounts, "total": sum(a["total"] for a in accounts)})
        return groups

    def _open_rows(self, findings: list[FindingRecord]) -> list[dict]:
        rows = [{"id": f.id, "severity": f.severity, "category": f.category, "status": f.status,
                 "account_name": self.reports.account_name(f.account_id), "evidence": f.evidence,
                 "first_seen": (self.reports.local_time(f.first_seen) or "")[:10], "url": f.post_url}
                for f in findings]
        rows.sort(key=lambda r: (SEVERITY_RANK.get(r["severity"], 9), r["id"]))
        return rows

    def _digest(self, kind: str, recipient: Recipient, findings: list[FindingRecord], **extra) -> Digest:
        images: dict[str, bytes] = {}

        def embed(sha256: str, jpeg: bytes) -> str:
            cid = f"thumb-{sha256[:16]}@schoolaudit"
            images[cid] = jpeg
            return f"cid:{cid}"

        views = self.reports.views_for_findings(findings)
        shown, hidden = views[: self.settings.digest.max_posts], views[self.settings.digest.max_posts:]
        self.reports.add_thumbnails(shown, embed)
        severities = Counter(f.severity for f in findings)
        view = {
            "kind": kind, "board": self.settings.board_name, "recipient": recipient,
            "scope": scope_label(self.registry, recipient.scope), "posts": shown, "more_posts": len(hidden),
            "count": len(findings), "severities": [(s, severities[s]) for s in ("high", "medium", "low") if severities[s]],
            "generated_at": self.reports.local_time(self.now),
            "unchecked": [], "groups": [], "still_open": [], "still_open_count": 0, "last_week": None,
            # each finding's page in the review app (sign-in required): settings.toml [web] base_url
            "review_url": self.settings.web.base_url, **extra,
        }
        view["title"] = {"nightly": "New findings since the last run", "alerts": "Alert: findings to look at today",
                         "weekly": "Weekly social-media audit"}[kind]
        plural = "s" if len(findings) != 1 else ""
        subject = {"nightly": f"{len(findings)} new finding{plural}",
                   "alerts": f"ALERT: {len(findings)} severe finding{plural}",
                   "weekly": f"Week: {len(findings)} new finding{plural}, {view['still_open_count']} still open"}[kind]
        digest = Digest(kind, recipient, f"[schoolaudit] {subject} · {view['scope']}",
                        # <mark> styled inline: some mail clients drop its default yellow (untrusted
                        # text's own "<mark>" is escaped, so only highlight()'s tags match).
                        self.env.get_template("digest.html").render(**view).replace("<mark>", MARK),
                        self.env.get_template("digest.txt").render(**view), images,
                        [f.id for f in findings],
                        empty=not findings)
        return digest
