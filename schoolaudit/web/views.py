"""Turning records into what a person reads: outcomes in plain words, times, changes between versions."""
from __future__ import annotations

import difflib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from records.model import utcnow

_OUTCOME_WORDS = {
    "not_found": "the feed or page is gone (404)",
    "blocked": "the site refuses to answer us (blocked)",
    "login_wall": "the posts are behind a login",
    "rate_limited": "the platform asked us to slow down",
    "auth_missing": "no access token is set for this platform",
    "timeout": "the site did not answer in time",
    "malformed": "the site sent something we could not read",
    "error": "the check failed",
}


def nights_since(moment: str | None, zone: ZoneInfo, now: datetime | None = None) -> int | None:
    """Whole calendar days in the board's timezone between `moment` and now."""
    if not moment:
        return None
    then = datetime.fromisoformat(moment).astimezone(zone).date()
    return ((now or utcnow()).astimezone(zone).date() - then).days


def _since_words(nights: int | None) -> str:
    if nights is None:
        return ""
    if nights <= 0:
        return " (since today)"
    if nights == 1:
        return " (since last night)"
    return f" (for {nights} nights)"


def plain_outcome(row: dict, zone: ZoneInfo, now: datetime | None = None) -> str:
    """An account's last check in words: "the feed is gone (404) for 3 nights"."""
    outcome = row.get("outcome")
    if outcome is None:
        return "not checked yet"
    if outcome == "ok":
        return f"read fine, {row.get('posts_seen') or 0} posts seen"
    return _OUTCOME_WORDS.get(outcome, outcome) + _since_words(nights_since(row.get("failing_since"), zone, now))


def changes(before: str, after: str) -> Markup:
    """`after` escaped, with words added since `before` in <ins> and words taken out in <del>."""
    old, new = re.findall(r"\S+|\s+", before or ""), re.findall(r"\S+|\s+", after or "")
    pieces = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            pieces.append(Markup("<del>%s</del>") % "".join(old[a1:a2]))
        if op in ("insert", "replace"):
            pieces.append(Markup("<ins>%s</ins>") % "".join(new[b1:b2]))
        if op == "equal":
            pieces.append(escape("".join(new[b1:b2])))
    return Markup("").join(pieces)


def version_views(versions: list[dict]) -> list[dict]:
    """Each stored version with its changes from the one before, newest first."""
    views, previous = [], None
    for version in versions:
        text = version["text"] or ""
        views.append({**version, "changes": changes(previous, text) if previous is not None else escape(text)})
        previous = text
    return views[::-1]
