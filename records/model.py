"""The data model of schoolaudit, in one place.

Everything that crosses a module boundary (registry accounts, fetched posts, media, findings,
fetch outcomes, runs) is defined here, so that sources, auditors, the store and the reports
agree on one vocabulary. Times are timezone-aware UTC datetimes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

ACCOUNT_KINDS = ("school", "club", "council", "board")

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

#: Severities, least to most severe.
SEVERITIES = ("low", "medium", "high")


class FindingStatus(str, Enum):
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

    def fingerprint(self, post_key: str) -> str:
        """Stable identity: the same finding on the same post is recognised again after a dismissal."""
        evidence = " ".join(self.evidence.lower().split())
        raw = f"{post_key}|{self.category}|{self.where}|{evidence}"
        return hashlib.sha256(raw.encode()).hexdigest()[:20]
