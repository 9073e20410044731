"""One source per platform, looked up by the account's `platform` in one table.

Each entry names `module:Class`; modules are imported only when an account needs them, so a
platform's optional dependencies never stop the others. Other packages add platforms through the
entry-point group `schoolaudit.sources` (name = platform, value = `module:Class`); a plugin's
platform that fails to load fails its accounts with a one-line reason, not the run.
"""
from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points

from crawler.http import HttpClient
from crawler.result import FetchError, FetchResult
from records.model import Account, Outcome
from crawler.sources.base import Source

log = logging.getLogger(__name__)

#: The built-in platforms, platform name -> "module:Class". Add one by adding a module and a row.
BUILTIN_SOURCES: dict[str, str] = {
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

#: The entry-point group through which an installed package adds platforms (README: Extending schoolaudit).
PLUGIN_GROUP = "schoolaudit.sources"


def _with_plugins(builtin: dict[str, str]) -> dict[str, str]:
    """`builtin`, then the platforms of installed plugins; a plugin never replaces a platform already taken."""
    table = dict(builtin)
    for entry in entry_points(group=PLUGIN_GROUP):
        if entry.name in table:
            log.warning("source plugin %s ignored: platform %r is already %s",
                        entry.value, entry.name, table[entry.name])
        else:
            table[entry.name] = entry.value
    return table


#: Every platform an account may name: the built-in ones, then the installed plugins' ones.
SOURCES: dict[str, str] = _with_plugins(BUILTIN_SOURCES)


async def read_account(client: HttpClient, account: Account, limit: int) -> FetchResult:
    """One account's posts through its platform's source, the one way every command reads an account."""
    cls = source_class(account.platform)
    cls.check_ready()
    return await cls(client, api_base=account.api_base).fetch(account, limit)


def source_class(platform: str) -> type[Source]:
    try:
        row = SOURCES[platform]
    except KeyError:
        raise KeyError(f"unknown platform {platform!r} (known: {', '.join(sorted(SOURCES))})") from None
    entry = EntryPoint(platform, row, PLUGIN_GROUP)
    return entry.load() if platform in BUILTIN_SOURCES else _plugin_class(entry)


def _plugin_class(entry: EntryPoint) -> type[Source]:
    """A plugin's source class; one that cannot be loaded is an `error` outcome for its accounts, in one line."""
    platform, row = entry.name, entry.value
    try:
        cls = entry.load()
    except Exception as exc:  # whatever a third-party module raises on import, the other accounts go on
        reason = f"platform {platform!r} is off: its plugin {row} failed to load ({type(exc).__name__}: {exc})"
        log.warning("%s", reason)
        raise FetchError(Outcome.ERROR, reason) from None
    if not (isinstance(cls, type) and issubclass(cls, Source)):
        raise FetchError(Outcome.ERROR, f"platform {platform!r} is off: its plugin {row} is not a "
                                        "crawler.sources.base.Source")
    return cls
