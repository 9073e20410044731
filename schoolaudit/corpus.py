"""Posts in the labelled-corpus schema (JSON Lines), as the data model's `Post` and `Account`.

One record: {"id", "platform", "account": {"name", "kind"}, "text", "image_alt": [...],
"repost_of": {"handle", "external", "text"} | null} (`text`: what the reposted post says). Other keys (labels, difficulty, note) are never read
here: they are the answers, not the input.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from records.model import ACCOUNT_KINDS, Account, Media, Post, RepostRef


class RecordError(ValueError):
    """A record that is not a post in the corpus schema; str() says what is wrong."""


@dataclass
class Line:
    """One line of a JSONL file: a post and its account, or the error that stopped it."""

    number: int
    post: Post | None = None
    account: Account | None = None
    error: str | None = None


#: Labelled files that are measurements, never training data and never read post by post (`--show`, `--errors` by
#: tools that refuse them): the dev corpus, heldout2/4/5, heldout17 to 99.
MEASUREMENT_FILES = re.compile(r"(dev|heldout[245]|heldout1[7-9]|heldout[2-9]\d)_posts\.jsonl")


def is_measurement(path: Path) -> bool:
    """Whether `path` is a measurement: by its name, or as any file in a `blind*` folder."""
    return bool(MEASUREMENT_FILES.fullmatch(path.name)) or any(part.startswith("blind") for part in path.resolve().parts)


def record_to_post(record: dict) -> tuple[Post, Account]:
    """The `Post` (alt texts as `Media`, the repost as `RepostRef`) and `Account` of one record."""
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    post_id, text = record.get("id"), record.get("text")
    if not isinstance(post_id, str) or not post_id:
        raise RecordError("missing string field 'id'")
    if not isinstance(text, str):
        raise RecordError(f"{post_id}: missing string field 'text'")
    account = record.get("account") or {}
    if not isinstance(account, dict):
        raise RecordError(f"{post_id}: 'account' must be an object with 'name' and 'kind'")
    kind = account.get("kind", "school")
    if kind not in ACCOUNT_KINDS:
        raise RecordError(f"{post_id}: account kind must be one of {', '.join(ACCOUNT_KINDS)}, not {kind!r}")
    alts = record.get("image_alt") or []
    if not isinstance(alts, list) or not all(isinstance(alt, str) for alt in alts):
        raise RecordError(f"{post_id}: 'image_alt' must be a list of strings")
    repost = record.get("repost_of")
    if repost is not None and not (isinstance(repost, dict) and isinstance(repost.get("handle"), str)):
        raise RecordError(f"{post_id}: 'repost_of' must be null or an object with a 'handle'")
    platform = str(record.get("platform") or "unknown")
    name = str(account.get("name") or "unknown account")
    owner = Account(id=name, name=name, kind=kind, platform=platform, target=name)
    post = Post(
        account_id=owner.id, platform=platform, platform_id=post_id, url=None, created_at=None, text=text,
        media=[Media(url=f"corpus:{post_id}/{index}", alt=alt) for index, alt in enumerate(alts)],
        repost_of=RepostRef(repost["handle"], external=repost.get("external"),
                            text=repost.get("text") if isinstance(repost.get("text"), str) else None) if repost else None,
    )
    return post, owner


def read_posts(path: str | Path) -> Iterator[Line]:
    """Each non-blank line of a JSONL file as a post, or as the reason it is not one."""
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                post, account = record_to_post(json.loads(raw))
            except json.JSONDecodeError as exc:
                yield Line(number, error=f"not valid JSON ({exc.msg}, column {exc.colno})")
            except RecordError as exc:
                yield Line(number, error=str(exc))
            else:
                yield Line(number, post, account)
