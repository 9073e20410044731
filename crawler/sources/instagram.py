"""Instagram professional accounts, through the Graph API, with a token from the environment.

TARGET is the account's user name (`springfieldhigh`, `@springfieldhigh` or its instagram.com
URL), read with `business_discovery` on behalf of the token's own Instagram account (its id is
SCHOOLAUDIT_INSTAGRAM_USER_ID when set, else asked of `/me`), or a numeric Instagram user id,
read as own media (`/{id}/media`). The token is SCHOOLAUDIT_INSTAGRAM_TOKEN.

Text is the caption; IMAGE gives its `media_url`, VIDEO its `thumbnail_url`, CAROUSEL_ALBUM each
child's image or thumbnail (or the album's own `media_url` when the children are not returned).
Instagram has no reposts in this API.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import quote

from crawler.result import FetchError, FetchResult
from records.model import Account, Media, Outcome, Post
from crawler.sources.common import MAX_PAGES, Collector, parse_time, unique_media, user_name
from crawler.sources.graph import PAGE_SIZE, GraphSource, next_page, nodes

USER_ID_ENV = "SCHOOLAUDIT_INSTAGRAM_USER_ID"
MEDIA_FIELDS = ("id,caption,media_type,media_url,thumbnail_url,permalink,timestamp,"
                "children{id,media_type,media_url,thumbnail_url}")


def parse_target(target: str) -> str:
    return user_name(target, r"[A-Za-z0-9._]{1,30}", "an Instagram user name or id")


class InstagramSource(GraphSource):
    platform = "instagram"
    token_env = "SCHOOLAUDIT_INSTAGRAM_TOKEN"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        """A `business_discovery` answer, a `/{id}/media` page (`data` list), or one Media node."""
        document = cls.saved_answer(body, url)
        discovery = document.get("business_discovery")
        if isinstance(discovery, dict) and isinstance(discovery.get("media"), dict):
            document = discovery["media"]
        return [post for item in nodes(document) if (post := media_post(item, account_id))]

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        self.check_ready()
        base, target = self.base_url(account), parse_target(account.target)
        size = min(PAGE_SIZE, max(1, limit))
        collected = Collector(limit)
        if target.isdigit():
            url = f"{base}/{target}/media?fields={quote(MEDIA_FIELDS, safe=',{}')}&limit={size}"
        else:
            url, caller = None, await self._caller_id(base)
        after = None
        for _ in range(MAX_PAGES):
            if target.isdigit():
                document = await self.graph_get(url)
                media = document
            else:
                page = f".after({after})" if after else ""
                fields = f"business_discovery.username({target}){{media{page}.limit({size}){{{MEDIA_FIELDS}}}}}"
                document = await self.graph_get(f"{base}/{caller}?fields={quote(fields, safe=',{}().')}")
                discovery = document.get("business_discovery")
                media = discovery.get("media") if isinstance(discovery, dict) else None
                if not isinstance(media, dict):
                    raise FetchError(Outcome.NOT_FOUND if discovery is None else Outcome.MALFORMED,
                                     f"{base}: no media of Instagram user {target!r} in the business_discovery answer")
            items = media.get("data")
            if not isinstance(items, list):
                raise FetchError(Outcome.MALFORMED, f"{base}: no media 'data' list for Instagram user {target!r}")
            collected.add(media_post(item, account.id) for item in items)
            if target.isdigit():
                url = next_page(document, url)
                more = bool(url)
            else:
                cursors = ((media.get("paging") or {}).get("cursors") or {}) if isinstance(media.get("paging"), dict) else {}
                after = cursors.get("after") if (media.get("paging") or {}).get("next") else None
                more = isinstance(after, str) and bool(after)
            if not items or not more or collected.full:
                break
        return collected.result()

    async def _caller_id(self, base: str) -> str:
        """The Instagram user id that business_discovery is asked through."""
        configured = os.environ.get(USER_ID_ENV, "").strip()
        if configured:
            return configured
        me = await self.graph_get(f"{base}/me?fields=id,instagram_business_account")
        business = me.get("instagram_business_account")
        caller = business.get("id") if isinstance(business, dict) else me.get("id")
        if not caller:
            raise FetchError(Outcome.AUTH_MISSING, f"instagram: the token names no Instagram account; set {USER_ID_ENV}")
        return str(caller)


def media_post(item, account_id: str) -> Post | None:
    """One IG Media node as a Post; None when it has no id."""
    if not isinstance(item, dict) or not item.get("id"):
        return None
    try:
        return Post(
            account_id=account_id,
            platform="instagram",
            platform_id=str(item["id"]),
            url=item.get("permalink") or (f"https://www.instagram.com/p/{item['shortcode']}/" if item.get("shortcode") else None),
            created_at=parse_time(item.get("timestamp")),
            text=str(item.get("caption") or "").strip(),
            media=unique_media(item_media(item)),
        )
    except (AttributeError, TypeError, ValueError):
        return None  # one unreadable item never stops the others


def item_media(item: dict) -> list[Media]:
    kind = item.get("media_type")
    if kind == "CAROUSEL_ALBUM":
        children = item.get("children")
        found = [m for child in (children.get("data") if isinstance(children, dict) else None) or []
                 if isinstance(child, dict) for m in item_media(child)]
        if found:
            return found
        return [Media(item["media_url"])] if isinstance(item.get("media_url"), str) else []
    if kind == "VIDEO" or kind == "REELS":
        return [Media(item["thumbnail_url"], kind="video_thumbnail")] if isinstance(item.get("thumbnail_url"), str) else []
    return [Media(item["media_url"])] if isinstance(item.get("media_url"), str) else []
