"""The e-mailed digests: nightly (new since the last one), weekly (the week by school, account and
category), and alerts (severe categories, right after the nightly run), each for one recipient's scope.

A digest covers a range of finding ids: from where the previous digest of its kind stopped to the
newest finding (the `digests` table keeps the ranges), so nothing is reported twice and nothing is
skipped, whatever the clock says. Post and finding views come from `ReportBuilder` (the same as
the HTML reports); thumbnails are the face-blurred ones only, embedded as `cid:` images.
"""
from __future__ import annotations

import html
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from records.model import CATEGORIES, utcnow
from records.store import Store
from reports.render import CATEGORY_LABELS, SEVERITY_RANK, environment, highlight
from schoolaudit.config import ConfigError, Registry, Settings, _table_lines
from schoolaudit.reporting import ReportBuilder

KINDS = ("nightly", "weekly", "alerts")
DEFAULT_ALERT_CATEGORIES = ("explicit", "hostile")
DEFAULT_MAX_POSTS = 30
MARK = '<mark style="background:#ffe08a;color:#1f2933;padding:0 2px;">'
_SCOPE = re.compile(r"^(board|school:[\w.-]+|account:[\w.-]+)$")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""
    scope: str = "board"  # board | school:<id> | account:<id>
    digests: tuple[str, ...] = ("weekly", "alerts")


@dataclass
class DigestOptions:
    send_empty: bool = True
    alert_categories: tuple[str, ...] = DEFAULT_ALERT_CATEGORIES
    max_posts: int = DEFAULT_MAX_POSTS

    @classmethod
    def from_settings(cls, settings: Settings) -> "DigestOptions":
        raw = settings.raw.get("digest", {})
        categories = tuple(raw.get("alert_categories", DEFAULT_ALERT_CATEGORIES))
        unknown = set(categories) - set(CATEGORIES)
        if unknown:
            raise ConfigError(f"{settings.config_dir / 'settings.toml'}: [digest] alert_categories: unknown "
                              f"{', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})")
        return cls(bool(raw.get("send_empty", True)), categories, int(raw.get("max_posts", DEFAULT_MAX_POSTS)))


def load_recipients(settings: Settings, registry: Registry) -> list[Recipient]:
    """The `[[recipients]]` of recipients.toml in the configuration folder (none when it is absent)."""
    path = settings.config_dir / "recipients.toml"
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    lines = _table_lines(path.read_text(encoding="utf-8"), "recipients")
    recipients = []
    for index, entry in enumerate(data.get("recipients", [])):
        where = f"{path}:{lines[index] if index < len(lines) else 1}"
        email, scope = str(entry.get("email", "")), str(entry.get("scope", "board"))
        if "@" not in email:
            raise ConfigError(f"{where}: recipient needs an 'email' address")
        if not _SCOPE.match(scope):
            raise ConfigError(f"{where}: scope must be \"board\", \"school:ID\" or \"account:ID\", not {scope!r}")
        kind, _, ident = scope.partition(":")
        if kind == "school" and ident not in registry.schools:
            raise ConfigError(f"{where}: unknown school {ident!r} in scope")
        if kind == "account" and ident not in {a.id for a in registry.accounts}:
            raise ConfigError(f"{where}: unknown account {ident!r} in scope")
        digests = tuple(entry.get("digests", ("weekly", "alerts")))
        if set(digests) - set(KINDS):
            raise ConfigError(f"{where}: digests must be among {', '.join(KINDS)}, not {list(digests)}")
        recipients.append(Recipient(email, str(entry.get("name", "")), scope, digests))
    return recipients


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
    def __init__(self, settings: Settings, registry: Registry, store: Store, options: DigestOptions | None = None,
                 now: datetime | None = None):
        self.settings, self.registry, self.store = settings, registry, store
        self.options = options or DigestOptions.from_settings(settings)
        self.reports = ReportBuilder(settings, registry, store)
        self.now = now or utcnow()
        self.env = environment()
        self.env.filters["text_mark"] = text_mark
        self.env.globals["severity_rank"] = SEVERITY_RANK

    # -- ranges --------------------------------------------------------------------------------

    def next_range(self, kind: str) -> tuple[int, int]:
        """(after, upto): finding ids after the previous digest of `kind`, up to the newest finding."""
        previous = list(self.store.db.query("SELECT last_finding_id FROM digests WHERE kind = ? ORDER BY id DESC LIMIT 1",
                                            [kind]))
        after = previous[0]["last_finding_id"] if previous else 0
        upto = self.store.db.execute("SELECT coalesce(max(id), 0) FROM findings").fetchone()[0]
        return after, max(after, upto)

    def previous_range(self, kind: str) -> tuple[int, int] | None:
        rows = list(self.store.db.query(
            "SELECT first_finding_id, last_finding_id FROM digests WHERE kind = ? ORDER BY id DESC LIMIT 1", [kind]))
        return (rows[0]["first_finding_id"], rows[0]["last_finding_id"]) if rows else None

    def _findings(self, accounts: list[str], after: int, upto: int, categories=None, statuses=("open", "confirmed")) -> list[dict]:
        if not accounts:
            return []
        sql = (f"SELECT * FROM findings WHERE active = 1 AND id > ? AND id <= ? "
               f"AND account_id IN ({', '.join('?' for _ in accounts)}) "
               f"AND status IN ({', '.join('?' for _ in statuses)})")
        params = [after, upto, *accounts, *statuses]
        if categories is not None:
            sql += f" AND category IN ({', '.join('?' for _ in categories)})"
            params.extend(categories)
        return list(self.store.db.query(sql + " ORDER BY id", params))

    # -- the three digests ---------------------------------------------------------------------

    def nightly(self, recipient: Recipient, after: int, upto: int) -> Digest:
        accounts = accounts_in_scope(self.registry, recipient.scope)
        findings = self._findings(accounts, after, upto)
        return self._digest("nightly", recipient, findings, unchecked=self._unchecked(accounts))

    def alerts(self, recipient: Recipient, after: int, upto: int) -> Digest:
        accounts = accounts_in_scope(self.registry, recipient.scope)
        findings = self._findings(accounts, after, upto, categories=self.options.alert_categories)
        return self._digest("alerts", recipient, findings)

    def weekly(self, recipient: Recipient, after: int, upto: int, previous: tuple[int, int] | None) -> Digest:
        accounts = accounts_in_scope(self.registry, recipient.scope)
        findings = self._findings(accounts, after, upto)
        last_week = len(self._findings(accounts, *previous)) if previous else None
        older_open = self._findings(accounts, 0, after)
        return self._digest("weekly", recipient, findings, unchecked=self._unchecked(accounts),
                            groups=self._groups(findings), last_week=last_week,
                            still_open=self._open_rows(older_open))

    # -- pieces --------------------------------------------------------------------------------

    def _unchecked(self, accounts: list[str]) -> list[dict]:
        """Accounts in scope whose last check failed (or that were never checked), and why."""
        wanted = set(accounts)
        return [{"name": row["name"], "id": row["id"], "outcome": row["outcome"], "detail": row["detail"],
                 "checked_at": self.reports.local_time(row["checked_at"])}
                for row in self.store.latest_checks() if row["id"] in wanted and row["outcome"] != "ok"]

    def _groups(self, findings: list[dict]) -> list[dict]:
        """School -> account -> category counts of `findings`, schools in registry order."""
        by_account = {}
        for f in findings:
            by_account.setdefault(f["account_id"], Counter())[f["category"]] += 1
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

    def _open_rows(self, findings: list[dict]) -> list[dict]:
        posts = {row["key"]: row for row in self.store.db.query(
            f"SELECT key, url, created_at FROM posts WHERE key IN ({', '.join('?' for _ in findings) or 'NULL'})",
            [f["post_key"] for f in findings])}
        rows = [{"id": f["id"], "severity": f["severity"], "category": f["category"], "status": f["status"],
                 "account_name": self.reports.account_name(f["account_id"]), "evidence": f["evidence"],
                 "first_seen": (self.reports.local_time(f["first_seen"]) or "")[:10],
                 "url": posts.get(f["post_key"], {}).get("url")} for f in findings]
        rows.sort(key=lambda r: (SEVERITY_RANK.get(r["severity"], 9), r["id"]))
        return rows

    def _digest(self, kind: str, recipient: Recipient, findings: list[dict], **extra) -> Digest:
        images: dict[str, bytes] = {}

        def embed(sha256: str, jpeg: bytes) -> str:
            cid = f"thumb-{sha256[:16]}@schoolaudit"
            images[cid] = jpeg
            return f"cid:{cid}"

        views = self.reports.views_for_findings(findings)
        shown, hidden = views[: self.options.max_posts], views[self.options.max_posts:]
        self.reports.add_thumbnails(shown, embed)
        severities = Counter(f["severity"] for f in findings)
        view = {
            "kind": kind, "board": self.settings.board_name, "recipient": recipient,
            "scope": scope_label(self.registry, recipient.scope), "posts": shown, "more_posts": len(hidden),
            "count": len(findings), "severities": [(s, severities[s]) for s in ("high", "medium", "low") if severities[s]],
            "generated_at": self.reports.local_time(self.now),
            "unchecked": [], "groups": [], "still_open": [], "last_week": None,
            # each finding's page in the review app (sign-in required): settings.toml [web] base_url
            "review_url": str(self.settings.raw.get("web", {}).get("base_url", "")).rstrip("/"), **extra,
        }
        view["title"] = {"nightly": "New findings since the last run", "alerts": "Alert: findings to look at today",
                         "weekly": "Weekly social-media audit"}[kind]
        plural = "s" if len(findings) != 1 else ""
        subject = {"nightly": f"{len(findings)} new finding{plural}",
                   "alerts": f"ALERT: {len(findings)} severe finding{plural}",
                   "weekly": f"Week: {len(findings)} new finding{plural}, {len(view['still_open'])} still open"}[kind]
        digest = Digest(kind, recipient, f"[schoolaudit] {subject} · {view['scope']}",
                        # <mark> styled inline: some mail clients drop its default yellow (untrusted
                        # text's own "<mark>" is escaped, so only highlight()'s tags match).
                        self.env.get_template("digest.html").render(**view).replace("<mark>", MARK),
                        self.env.get_template("digest.txt").render(**view), images,
                        [f["id"] for f in findings],
                        empty=not findings)
        return digest
