"""YouTube channels, through the channel's public Atom feed (`/feeds/videos.xml?channel_id=`).

TARGET is a channel id (`UC…`), a channel URL (`https://www.youtube.com/channel/UC…`), the feed
URL itself (`…/feeds/videos.xml?channel_id=…` or `?user=…`), or a handle (`@school` or
`https://www.youtube.com/@school`), whose page names its feed in `<link rel="alternate">`. The
feed holds the latest 15 videos: title, `media:description` and the `media:thumbnail`; no paging.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import feedparser

from crawler.result import FetchError, FetchResult
from records.model import Account, Media, Outcome, Post
from crawler.sources.base import Source
from crawler.sources.common import FEEDPARSER_OPTIONS, absolute, html_to_text, parse_time

_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")


class YouTubeSource(Source):
    platform = "youtube"
    default_api_base = "https://www.youtube.com"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        return parse_videos(body, url, account_id)

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        url, trusted = await self.feed_url(account.target.strip(), self.base_url(account))
        fetched = await self.client.get(url, trusted=trusted)
        if fetched.not_modified:
            return FetchResult([], not_modified=True)
        return FetchResult(parse_videos(fetched.content, fetched.url, account.id)[:limit]).with_validators(fetched)

    async def feed_url(self, target: str, base: str) -> tuple[str, bool]:
        """The channel's feed URL, and whether the configuration names it (else the channel page does)."""
        if "/feeds/videos.xml" in target:
            return target, True
        if _CHANNEL_ID.match(target):
            return f"{base}/feeds/videos.xml?channel_id={target}", True
        path = urlsplit(target).path if target.startswith(("http://", "https://")) else target
        match = re.match(r"^/?channel/(UC[A-Za-z0-9_-]{22})", path)
        if match:
            return f"{base}/feeds/videos.xml?channel_id={match.group(1)}", True
        match = re.match(r"^/?(@[A-Za-z0-9_.\-]+)", path)
        if not match:
            raise FetchError(Outcome.NOT_FOUND, f"{target}: not a YouTube channel id, channel URL, feed URL or @handle")
        page_url = target if target.startswith(("http://", "https://")) else f"{base}/{quote(match.group(1), safe='@')}"
        page = await self.client.get(page_url, trusted=True, conditional=False)
        html = page.text()
        link = re.search(r"""<link[^>]+type=["']application/rss\+xml["'][^>]*href=["']([^"']+)["']""", html) or \
            re.search(r"""href=["']([^"']*/feeds/videos\.xml\?channel_id=[^"']+)["']""", html)
        if link:
            return absolute(page.url, link.group(1).replace("&amp;", "&")), False
        channel = re.search(r'"(?:channelId|externalId)"\s*:\s*"(UC[A-Za-z0-9_-]{22})"', html)
        if channel:
            return f"{base}/feeds/videos.xml?channel_id={channel.group(1)}", True
        raise FetchError(Outcome.NOT_FOUND, f"{page_url}: no channel feed named on the page")


def parse_videos(body: bytes, url: str, account_id: str) -> list[Post]:
    """The videos of a YouTube channel feed; `malformed` when the document is no feed."""
    parsed = feedparser.parse(body, response_headers={"content-location": url, "content-type": "application/atom+xml"},
                              **FEEDPARSER_OPTIONS)
    if not parsed.entries and not parsed.get("version"):
        raise FetchError(Outcome.MALFORMED, f"{url}: {parsed.get('bozo_exception') or 'not a YouTube channel feed'}")
    posts = []
    for entry in parsed.entries:
        video_id = entry.get("yt_videoid") or str(entry.get("id", "")).removeprefix("yt:video:")
        if not video_id:
            continue
        thumbnails = [Media(absolute(url, t.get("url")), kind="video_thumbnail")
                      for t in entry.get("media_thumbnail", []) if t.get("url")]
        if not thumbnails and re.fullmatch(r"[A-Za-z0-9_-]{11}", video_id):
            thumbnails = [Media(f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg", kind="video_thumbnail")]
        posts.append(Post(
            account_id=account_id,
            platform="youtube",
            platform_id=video_id,
            url=absolute(url, entry.get("link")) or f"https://www.youtube.com/watch?v={video_id}",
            created_at=parse_time(entry.get("published")) or parse_time(entry.get("updated")),
            title=html_to_text(entry.get("title", "")),
            text=_description(entry),
            media=thumbnails[:1],
        ))
    return posts


def _description(entry) -> str:
    """media:group/media:description, which feedparser files as the summary (plain text)."""
    value = entry.get("summary") or entry.get("media_description") or ""
    return "\n".join(" ".join(line.split()) for line in str(value).splitlines()).strip()
