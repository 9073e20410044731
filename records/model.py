"""The data model of schoolaudit, in one place.

Everything that crosses a module boundary (registry accounts, fetched posts, media, findings and
their review, fetch outcomes, runs, checks, digests and deliveries) is defined here, so that
sources, auditors, the store, the reports and the application agree on one vocabulary. Times in
memory are timezone-aware UTC datetimes; records read back from the store carry them as ISO text.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum, StrEnum

ACCOUNT_KINDS = ("school", "club", "council", "team", "board")

#: The finding categories, in the order reports show them. Names are a contract.
CATEGORIES = (
    "student_photo",
    "endorsement_repost",
    "endorsement_commercial",
    "endorsement_political",
    "religion_promotion",
    "substances",
    "explicit",
    "hostile",
    "privacy",
)

#: How a person reads each category's name.
CATEGORY_LABELS = {
    "student_photo": "Picture of students",
    "endorsement_repost": "Repost of an outside account",
    "endorsement_commercial": "Commercial endorsement",
    "endorsement_political": "Political endorsement",
    "religion_promotion": "Promotion of religion",
    "substances": "Alcohol, drugs or tobacco",
    "explicit": "Explicit content",
    "hostile": "Disrespectful or hostile",
    "privacy": "Privacy and confidentiality",
}

#: Severities, least to most severe; SEVERITY_RANK orders them most severe first.
SEVERITIES = ("low", "medium", "high")
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


class FindingStatus(StrEnum):
    """Where a finding stands in review. Stored by value; the values are a contract (`findings --json`)."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    RESOLVED = "resolved"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Outcome(str, Enum):
    """Why a fetch of one account ended the way it did (shown by `accounts status`)."""

    OK = "ok"
    NOT_FOUND = "not_found"
    BLOCKED = "blocked"
    LOGIN_WALL = "login_wall"
    RATE_LIMITED = "rate_limited"
    AUTH_MISSING = "auth_missing"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    ERROR = "error"


#: How a person reads each outcome.
OUTCOME_LABELS = {
    "ok": "checked", "not_found": "not found", "blocked": "blocked", "login_wall": "behind a login",
    "rate_limited": "rate-limited", "auth_missing": "no access token", "timeout": "timed out",
    "malformed": "unreadable content", "error": "error",
}



@dataclass(frozen=True)
class Account:
    """One registered account or website feed of the board, a school, a club or a council."""

    id: str
    name: str
    kind: str
    platform: str
    target: str  # handle, feed URL, page URL or channel id: what the source needs
    school: str | None = None
    contacts: tuple[str, ...] = ()
    api_base: str | None = None  # overrides the platform's default API host


@dataclass
class Media:
    """An image (or a video's thumbnail) attached to a post."""

    url: str
    alt: str = ""
    kind: str = "image"  # image | video_thumbnail
    sha256: str | None = None  # set once the bytes are stored
    path: str | None = None  # where the bytes live in the media folder


@dataclass(frozen=True)
class RepostRef:
    """The original author of a repost, boost, retweet, share or quote."""

    handle: str
    url: str | None = None
    kind: str = "repost"  # repost | quote
    external: bool | None = None  # None: decide from the registry and partner lists
    text: str | None = None  # what the reposted or quoted post says, when the source gives it


@dataclass
class Post:
    """One post as a source saw it. `platform_id` is unique within its account."""

    account_id: str
    platform: str
    platform_id: str
    url: str | None
    created_at: datetime | None
    text: str
    media: list[Media] = field(default_factory=list)
    repost_of: RepostRef | None = None
    title: str = ""
    sensitive: bool = False
    edited_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.account_id}:{self.platform_id}"

    def content_hash(self) -> str:
        """Changes exactly when what an auditor reads changes (text, images, repost)."""
        repost = self.repost_of
        content = {
            "title": self.title,
            "text": self.text,
            "media": [(m.url, m.alt, m.kind) for m in self.media],
            "repost_of": [repost.handle, repost.kind] + ([repost.text] if repost.text else []) if repost else None,
            "sensitive": self.sensitive,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    @property
    def full_text(self) -> str:
        """Title and body, as an auditor reads them."""
        return f"{self.title}\n{self.text}" if self.title and self.title not in self.text else self.text


@dataclass(frozen=True)
class Finding:
    """One thing an auditor flagged in one post, with enough to decide in seconds."""

    category: str
    severity: str
    evidence: str  # quoted exactly from the post (text, alt text or image description)
    explanation: str  # one plain sentence
    clause: str  # the procedure's words this finding concerns
    auditor: str
    where: str = "text"  # text | title | alt:N | image:N | repost
    media_sha256: str | None = None
    firm: bool = False  # from a rule whose words are never innocent: the text model may not veto or lower it

    def fingerprint(self, post_key: str) -> str:
        """Stable identity: the same finding on the same post is recognised again after a dismissal."""
        evidence = " ".join(self.evidence.lower().split())
        raw = f"{post_key}|{self.category}|{self.where}|{evidence}"
        return hashlib.sha256(raw.encode()).hexdigest()[:20]


# -- records as the store keeps them ------------------------------------------------------------


class Action(StrEnum):
    """A review decision on a finding, and the status it sets."""

    CONFIRM = "confirm"
    DISMISS = "dismiss"
    RESOLVE = "resolve"
    REOPEN = "reopen"

    @property
    def status(self) -> FindingStatus:
        return {Action.CONFIRM: FindingStatus.CONFIRMED, Action.DISMISS: FindingStatus.DISMISSED,
                Action.RESOLVE: FindingStatus.RESOLVED, Action.REOPEN: FindingStatus.OPEN}[self]


#: Statuses that still ask for attention (the default of every list).
OPEN_STATUSES = (FindingStatus.OPEN, FindingStatus.CONFIRMED)


@dataclass(frozen=True)
class FindingRecord:
    """A stored finding with its review state (and, when read with its post, the post's link and dates)."""

    id: int
    fingerprint: str
    post_key: str
    account_id: str
    category: str
    severity: str
    evidence: str
    explanation: str
    clause: str
    auditor: str
    location: str
    media_sha256: str | None
    status: FindingStatus
    active: bool
    first_seen: str
    last_seen: str
    run_id: int | None
    note: str | None = None
    reason: str | None = None
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    post_url: str | None = None
    post_created_at: str | None = None
    post_removed_at: str | None = None


@dataclass(frozen=True)
class ReviewRecord:
    """One row of a finding's review history: who decided what, when and why (append-only)."""

    id: int
    finding_id: int
    action: str
    status_before: str
    status: str
    note: str | None
    reason: str | None
    reviewed_by: str
    reviewed_at: str


@dataclass(frozen=True)
class PostRecord:
    """A stored post: its current content and how it was seen over time."""

    key: str
    account_id: str
    platform: str
    platform_id: str
    url: str | None
    created_at: str | None
    edited_at: str | None
    title: str
    text: str
    media: list[dict]
    repost_of: dict | None
    version: int
    first_seen: str
    last_seen: str
    removed_at: str | None


@dataclass(frozen=True)
class PostVersion:
    post_key: str
    version: int
    seen_at: str
    edited_at: str | None
    title: str
    text: str
    media: list[dict]
    repost_of: dict | None


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    started_at: str
    finished_at: str | None
    status: str  # running | finished | interrupted
    accounts_ok: int
    accounts_failed: int
    posts_new: int
    posts_changed: int
    findings_new: int
    detail: str | None


@dataclass(frozen=True)
class AccountCheck:
    """A registered account with its latest check (outcome None: never checked)."""

    id: str
    name: str
    kind: str
    school: str | None
    platform: str
    target: str
    checked_at: str | None
    outcome: str | None
    detail: str | None
    posts_seen: int | None


@dataclass(frozen=True)
class DigestRange:
    """The finding ids a digest of `kind` covered: after `first_finding_id`, up to `last_finding_id`."""

    kind: str
    first_finding_id: int
    last_finding_id: int


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to queue for one recipient, rendered before anything is recorded."""

    recipient: str
    subject: str
    message: str  # the whole RFC 5322 message, ASCII
    message_id: str


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # queued, never tried
    SENDING = "sending"  # handed to the server; a kill here resends with the same Message-ID
    SENT = "sent"
    FAILED = "failed"  # a temporary failure: the next run tries again
    REJECTED = "rejected"  # a permanent failure (5xx): never retried


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    digest_id: int
    recipient: str
    subject: str
    message: str
    message_id: str | None
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str
    sent_at: str | None


@dataclass(frozen=True)
class ScheduleState:
    job: str
    last_fire_time: str | None
    last_started_at: str | None
    last_finished_at: str | None
    last_status: str | None


@dataclass(frozen=True)
class LockRecord:
    name: str
    token: str
    holder_pid: int
    host: str
    started_at: str
    heartbeat: str
    purpose: str | None
