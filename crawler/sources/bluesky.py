"""Bluesky, through the public AppView (no login): `app.bsky.feed.getAuthorFeed`, paged by `cursor`.

TARGET is the handle (`school.bsky.social`, with or without `@`), a DID, or a profile URL
(`https://bsky.app/profile/<handle>`). The AppView defaults to https://public.api.bsky.app.

A repost (`reason` `#reasonRepost`) becomes a post whose text and images are the reposted post
and whose `repost_of` names its author; a quote (`app.bsky.embed.record#view` or
`recordWithMedia#view`) keeps the account's text, followed by the quoted text, with a `quote`
RepostRef. Images carry their alt text; external link cards contribute their thumbnail; video
embeds their thumbnail. Self-labels such as `nudity` or `graphic-media` mark a post sensitive.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from crawler.result import FetchError, FetchResult, HttpError
from records.model import Account, Media, Outcome, Post, RepostRef
from crawler.sources.base import Source
from crawler.sources.common import (
    MAX_PAGES, Collector, get_json, json_document, parse_time, unique_media, with_quote,
)

PAGE_SIZE = 100  # the API's maximum
REPOST = "app.bsky.feed.defs#reasonRepost"
SENSITIVE_LABELS = {"porn", "sexual", "nudity", "graphic-media", "gore", "sexual-figurative"}


def parse_target(target: str) -> str:
    """The actor (handle or DID) of `@handle`, `handle`, a DID or a bsky.app profile URL."""
    target = target.strip()
    if target.startswith(("http://", "https://")):
        match = re.match(r"^/profile/([^/?#]+)", urlsplit(target).path)
        if not match:
            raise FetchError(Outcome.NOT_FOUND, f"{target}: not a Bluesky profile URL (https://bsky.app/profile/<handle>)")
        return match.group(1)
    return target.lstrip("@")


class BlueskySource(Source):
    platform = "bluesky"
    default_api_base = "https://public.api.bsky.app"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        """A `getAuthorFeed` page, or a `getPostThread` answer (its post)."""
        document = json_document(body, url)
        if isinstance(document, dict) and isinstance(document.get("thread"), dict):
            return [post for post in [post_view_post(document["thread"].get("post"), account_id)] if post]
        items = document.get("feed") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise FetchError(Outcome.MALFORMED, f"{url}: no 'feed' list in the answer")
        return feed_posts(items, account_id)

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        actor = parse_target(account.target)
        endpoint = f"{self.base_url(account)}/xrpc/app.bsky.feed.getAuthorFeed?actor={quote(actor)}"
        collected, cursor = Collector(limit), None
        for _ in range(MAX_PAGES):
            url = f"{endpoint}&limit={min(PAGE_SIZE, collected.wanted)}"
            if cursor:
                url += f"&cursor={quote(cursor)}"
            try:
                page, fetched = await get_json(self.client, url, trusted=True, robots=False)  # built from the base
            except HttpError as exc:
                if exc.status == 400:  # the AppView answers 400 for unknown or invalid actors
                    raise FetchError(Outcome.NOT_FOUND, f"no Bluesky account {actor!r} ({exc.detail})") from None
                raise
            items = page.get("feed") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise FetchError(Outcome.MALFORMED, f"{fetched.url}: no 'feed' list in the answer")
            collected.add(feed_posts(items, account.id))
            cursor = page.get("cursor")
            if not items or not isinstance(cursor, str) or not cursor or collected.full:
                break
        return collected.result()


def feed_posts(items: list, account_id: str) -> list[Post]:
    return [post for item in items if (post := feed_item_post(item, account_id))]


def feed_item_post(item, account_id: str) -> Post | None:
    """One `feedViewPost` (post + optional reason/reply) as a Post; None when unreadable."""
    if not isinstance(item, dict):
        return None
    reason = item.get("reason") if isinstance(item.get("reason"), dict) else {}
    return post_view_post(item.get("post"), account_id, reason)


def post_view_post(view, account_id: str, reason: dict | None = None) -> Post | None:
    """A `postView` as a Post; with a repost `reason`, the account's repost of it."""
    if not isinstance(view, dict) or not isinstance(view.get("record"), dict) or not view.get("uri"):
        return None
    try:
        record = view["record"]
        author = view.get("author") if isinstance(view.get("author"), dict) else {}
        url = post_url(view["uri"], author)
        text = str(record.get("text") or "")
        media, repost = _embed_media(view.get("embed")), None
        quoted = _quoted_record(view.get("embed"))
        if quoted:
            quoted_author = quoted.get("author") if isinstance(quoted.get("author"), dict) else {}
            value = quoted.get("value") if isinstance(quoted.get("value"), dict) else {}
            text = with_quote(text, str(value.get("text") or ""))
            repost = RepostRef(handle="@" + str(quoted_author.get("handle") or quoted_author.get("did") or "unknown"),
                               url=post_url(quoted.get("uri"), quoted_author), kind="quote", text=str(value.get("text") or ""))
            for embed in quoted.get("embeds") or []:
                media += _embed_media(embed)
        platform_id, created = str(view["uri"]), parse_time(record.get("createdAt") or view.get("indexedAt"))
        if reason and reason.get("$type") == REPOST:
            repost = RepostRef(handle="@" + str(author.get("handle") or author.get("did") or "unknown"),
                               url=url, kind="repost", text=text)
            platform_id = str(reason.get("uri") or f"{view['uri']}#repost")
            created = parse_time(reason.get("indexedAt")) or created
        labels = {str(label.get("val")) for label in view.get("labels") or [] if isinstance(label, dict)}
        return Post(
            account_id=account_id,
            platform="bluesky",
            platform_id=platform_id,
            url=url,
            created_at=created,
            text=text,
            media=unique_media(media),
            repost_of=repost,
            sensitive=bool(labels & SENSITIVE_LABELS),
        )
    except (AttributeError, TypeError, ValueError, KeyError):
        return None  # one unreadable item never stops the others


def post_url(uri, author: dict | None = None) -> str | None:
    """https://bsky.app/profile/<handle or did>/post/<rkey> of an at:// post URI."""
    match = re.match(r"^at://([^/]+)/app\.bsky\.feed\.post/([^/?#]+)$", uri or "")
    if not match:
        return None
    who = (author or {}).get("handle") or match.group(1)
    if who == "handle.invalid":
        who = match.group(1)
    return f"https://bsky.app/profile/{who}/post/{match.group(2)}"


def _quoted_record(embed) -> dict | None:
    if not isinstance(embed, dict):
        return None
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record#view":
        record = embed.get("record")
    elif kind == "app.bsky.embed.recordWithMedia#view":
        record = (embed.get("record") or {}).get("record")
    else:
        return None
    if isinstance(record, dict) and record.get("$type", "app.bsky.embed.record#viewRecord") == "app.bsky.embed.record#viewRecord" \
            and isinstance(record.get("value"), dict):
        return record
    return None


def _embed_media(embed) -> list[Media]:
    if not isinstance(embed, dict):
        return []
    kind = embed.get("$type")
    if kind == "app.bsky.embed.images#view":
        return [Media(image.get("fullsize") or image.get("thumb"), alt=" ".join(str(image.get("alt") or "").split()))
                for image in embed.get("images") or [] if isinstance(image, dict) and (image.get("fullsize") or image.get("thumb"))]
    if kind == "app.bsky.embed.recordWithMedia#view":
        return _embed_media(embed.get("media"))
    if kind == "app.bsky.embed.video#view" and embed.get("thumbnail"):
        return [Media(embed["thumbnail"], alt=" ".join(str(embed.get("alt") or "").split()), kind="video_thumbnail")]
    if kind == "app.bsky.embed.external#view":
        external = embed.get("external") if isinstance(embed.get("external"), dict) else {}
        if isinstance(external.get("thumb"), str) and external["thumb"]:
            return [Media(external["thumb"], alt=" ".join(str(external.get("title") or "").split()))]
    return []
