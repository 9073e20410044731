"""One source per platform, looked up by the account's `platform` in one table.

Each entry names `module:Class`; modules are imported only when an account needs them, so a
platform's optional dependencies never stop the others.
"""
from __future__ import annotations

from importlib import import_module

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


def source_class(platform: str) -> type[Source]:
    try:
        module_name, _, class_name = SOURCES[platform].partition(":")
    except KeyError:
        raise KeyError(f"unknown platform {platform!r} (known: {', '.join(sorted(SOURCES))})") from None
    return getattr(import_module(module_name), class_name)
