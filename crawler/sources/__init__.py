"""One source per platform, looked up by the account's `platform` in one table.

Each entry names `module:Class`; modules are imported only when an account needs them, so a
platform's optional dependencies never stop the others.
"""
from __future__ import annotations

from importlib import import_module

from crawler.http import HttpClient
from crawler.result import FetchResult
from records.model import Account
from crawler.sources.base import Source

#: platform name -> "module:Class". Add a platform by adding a module and a row.
SOURCES: dict[str, str] = {
    "rss": "crawler.sources.feed:FeedSource",
    "atom": "crawler.sources.feed:FeedSource",
    "jsonfeed": "crawler.sources.feed:FeedSource",
    "website": "crawler.sources.website:WebsiteSource",
    "youtube": "crawler.sources.youtube:YouTubeSource",
    "mastodon": "crawler.sources.mastodon:MastodonSource",
    "bluesky": "crawler.sources.bluesky:BlueskySource",
    "facebook": "crawler.sources.facebook:FacebookSource",
    "instagram": "crawler.sources.instagram:InstagramSource",
    "x": "crawler.sources.x:XSource",
}


async def read_account(client: HttpClient, account: Account, limit: int) -> FetchResult:
    """One account's posts through its platform's source, the one way every command reads an account."""
    cls = source_class(account.platform)
    cls.check_ready()
    return await cls(client, api_base=account.api_base).fetch(account, limit)


def source_class(platform: str) -> type[Source]:
    try:
        module_name, _, class_name = SOURCES[platform].partition(":")
    except KeyError:
        raise KeyError(f"unknown platform {platform!r} (known: {', '.join(sorted(SOURCES))})") from None
    return getattr(import_module(module_name), class_name)
