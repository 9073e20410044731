"""Mastodon (and other servers speaking its REST API).

TARGET is `@user@instance`, `user@instance` or a profile URL (`https://instance/@user`,
`https://instance/users/user`). The account id comes from `/api/v1/accounts/lookup?acct=`; its
public statuses from `/api/v1/accounts/:id/statuses`, paged by the `Link: <…>; rel="next"` header.
The API base is the instance unless `api_base` says otherwise. No token is needed.

A boost (`reblog`) becomes a post whose text and media are the boosted status (what a reader
sees) and whose `repost_of` names its author; a quote (`quote.quoted_status`, Mastodon 4.5) keeps
the account's own text, followed by the quoted text, with a `quote` RepostRef. The content
warning (`spoiler_text`) becomes the post title; `sensitive` and `edited_at` are kept.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from crawler.result import FetchError, FetchResult
from records.model import Account, Media, Outcome, Post, RepostRef
from crawler.sources.base import Source
from crawler.sources.common import (
    MAX_PAGES, Collector, get_json, html_to_text, json_document, link_header, parse_time, unique_media, with_query,
    with_quote,
)

PAGE_SIZE = 40  # the API's maximum


def parse_target(target: str) -> tuple[str, str]:
    """(username, instance host) of `@user@instance`, `user@instance` or a profile URL."""
    target = target.strip()
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        match = re.match(r"^/(?:@|users/)([A-Za-z0-9_.\-]+)(?:@([^/]+))?/?", parts.path)
        if not match or not parts.netloc:
            raise FetchError(Outcome.NOT_FOUND, f"{target}: not a Mastodon profile URL (https://instance/@user)")
        return match.group(1), match.group(2) or parts.netloc
    match = re.fullmatch(r"@?([A-Za-z0-9_.\-]+)@([A-Za-z0-9.\-]+(?::\d+)?)", target)
    if not match:
        raise FetchError(Outcome.NOT_FOUND, f"{target}: a Mastodon account is @user@instance or https://instance/@user")
    return match.group(1), match.group(2)


class MastodonSource(Source):
    platform = "mastodon"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        """A page of statuses (or one status) from the instance at `url`."""
        document = json_document(body, url)
        return statuses_posts(document if isinstance(document, list) else [document], account_id, urlsplit(url).netloc)

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        username, instance = parse_target(account.target)
        base = (account.api_base or self.api_base or f"https://{instance}").rstrip("/")
        acct = username if urlsplit(base).netloc == instance else f"{username}@{instance}"
        try:
            found, _ = await get_json(self.client, f"{base}/api/v1/accounts/lookup?acct={quote(acct)}",
                                      trusted=True, robots=False)
        except FetchError as exc:
            if exc.outcome == Outcome.NOT_FOUND:
                raise FetchError(Outcome.NOT_FOUND, f"no Mastodon account @{username}@{instance} ({exc.detail})") from None
            raise
        if not isinstance(found, dict) or not found.get("id"):
            raise FetchError(Outcome.MALFORMED, f"{base}/api/v1/accounts/lookup: no account id in the answer")
        url = f"{base}/api/v1/accounts/{quote(str(found['id']))}/statuses?limit={min(PAGE_SIZE, max(1, limit))}"
        collected = Collector(limit)
        for number in range(MAX_PAGES):
            # The first page is built from the configured base; the next ones are named by the server's Link header.
            page, fetched = await get_json(self.client, url, trusted=number == 0, robots=False)
            if not isinstance(page, list):
                raise FetchError(Outcome.MALFORMED, f"{fetched.url}: expected a list of statuses")
            collected.add(statuses_posts(page, account.id, instance))
            next_url = link_header(fetched.headers.get("link")).get("next")
            if not page or not next_url or collected.full:
                break
            url = with_query(next_url, limit=min(PAGE_SIZE, collected.wanted))
        return collected.result()


def statuses_posts(statuses: list, account_id: str, instance: str) -> list[Post]:
    return [post for status in statuses if (post := status_post(status, account_id, instance))]


def status_post(status, account_id: str, instance: str = "") -> Post | None:
    """One Mastodon Status as a Post; None when it is not a readable status."""
    if not isinstance(status, dict) or not status.get("id"):
        return None
    try:
        shown = status.get("reblog") if isinstance(status.get("reblog"), dict) else status
        text = html_to_text(shown.get("content") or "")
        repost = None
        if shown is not status:
            repost = RepostRef(handle=account_handle(shown.get("account"), instance),
                               url=shown.get("url") or shown.get("uri"), kind="repost", text=text)
        quoted = _quoted_status(shown)
        if quoted:
            quoted_text = html_to_text(quoted.get("content") or "")
            text = with_quote(text, quoted_text)
            if repost is None:
                repost = RepostRef(handle=account_handle(quoted.get("account"), instance),
                                   url=quoted.get("url") or quoted.get("uri"), kind="quote", text=quoted_text)
        media = _media(shown)
        if quoted:
            media += _media(quoted)
        return Post(
            account_id=account_id,
            platform="mastodon",
            platform_id=str(status["id"]),
            url=status.get("url") or status.get("uri"),
            created_at=parse_time(status.get("created_at")),
            title=" ".join(str(shown.get("spoiler_text") or "").split()),
            text=text,
            media=unique_media(media),
            repost_of=repost,
            sensitive=bool(shown.get("sensitive")),
            edited_at=parse_time(shown.get("edited_at")),
        )
    except (AttributeError, TypeError, ValueError):
        return None  # one unreadable status never stops the others


def _quoted_status(status: dict) -> dict | None:
    quote_ = status.get("quote")
    if not isinstance(quote_, dict):
        return None
    if isinstance(quote_.get("quoted_status"), dict):
        return quote_["quoted_status"] if quote_.get("state", "accepted") == "accepted" else None
    return quote_ if quote_.get("content") is not None else None  # older forks embed the status itself


def _media(status: dict) -> list[Media]:
    found = []
    for item in status.get("media_attachments") or []:
        if not isinstance(item, dict):
            continue
        kind, alt = item.get("type"), " ".join(str(item.get("description") or "").split())
        if kind == "image":
            url = item.get("url") or item.get("remote_url") or item.get("preview_url")
            found.append(Media(url, alt=alt))
        elif kind in ("gifv", "video") and item.get("preview_url"):
            found.append(Media(item["preview_url"], alt=alt, kind="video_thumbnail"))
    card = status.get("card")
    if isinstance(card, dict) and card.get("image"):
        found.append(Media(card["image"], alt=" ".join(str(card.get("image_description") or "").split())))
    return [m for m in found if isinstance(m.url, str) and m.url]


def account_handle(account, instance: str = "") -> str:
    """`@user@instance` of a Mastodon Account entity (local accounts' `acct` lacks the domain)."""
    if not isinstance(account, dict):
        return "@unknown"
    acct = str(account.get("acct") or account.get("username") or "unknown")
    if "@" not in acct:
        host = urlsplit(account.get("url") or "").netloc or instance
        acct = f"{acct}@{host}" if host else acct
    return "@" + acct
