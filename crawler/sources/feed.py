"""RSS, Atom and JSON Feed.

feedparser reads RSS 0.9x/1.0/2.0 and Atom, including malformed feeds (it marks them `bozo` and
carries on); JSON Feed, which feedparser 6.0 does not read, is parsed here from its JSON.
Images come from media:content / media:thumbnail, image enclosures and `<img>` in the HTML,
resolved against the feed's URL. An RSS `<source>` element marks an item taken from another
channel: a repost.
"""
from __future__ import annotations

import calendar
import json
from datetime import datetime, timezone
from urllib.parse import urljoin

import feedparser
from bs4 import BeautifulSoup

from crawler.models import Account, FetchError, FetchResult, Media, Outcome, Post, RepostRef
from crawler.sources.base import Source

# feedparser's warnings that do not mean the document is damaged.
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class FeedSource(Source):
    platform = "rss"

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        fetched = await self.client.get(account.target)
        if fetched.not_modified:
            return FetchResult([], not_modified=True)
        posts = parse_feed(fetched.content, fetched.url, account.id, content_type=fetched.content_type)
        return FetchResult(posts[:limit])


def parse_feed(body: bytes, url: str, account_id: str, content_type: str = "") -> list[Post]:
    """Posts of an RSS, Atom or JSON Feed document; raise `malformed` when it is none of them."""
    if _looks_like_json(body, content_type):
        return _parse_json_feed(body, url, account_id)
    parsed = feedparser.parse(body, response_headers={"content-location": url, "content-type": content_type})
    posts = [post for entry in parsed.entries if (post := _entry_post(entry, url, account_id))]
    broken = parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _HARMLESS_BOZO)
    if not posts and (broken or not parsed.get("version")):
        # Like feedparser, carry on past damage while items can be read; fail only when none can.
        reason = parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed document found"
        raise FetchError(Outcome.MALFORMED, f"{url}: {reason}")
    return posts


def _looks_like_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _entry_post(entry, feed_url: str, account_id: str) -> Post | None:
    link = _absolute(feed_url, entry.get("link"))
    platform_id = entry.get("id") or link or entry.get("title")
    if not platform_id:
        return None
    html = _entry_html(entry)
    source = entry.get("source") or {}
    repost = RepostRef(handle=source.get("title") or source.get("href"), url=source.get("href")) if (
        source.get("href") or source.get("title")) else None
    return Post(
        account_id=account_id,
        platform="rss",
        platform_id=str(platform_id),
        url=link,
        created_at=_struct_time(entry.get("published_parsed") or entry.get("updated_parsed")),
        title=_plain(entry.get("title", "")),
        text=_plain(html),
        media=_entry_media(entry, html, link or feed_url),
        repost_of=repost,
    )


def _entry_html(entry) -> str:
    contents = entry.get("content") or []
    if contents:
        return "\n".join(c.get("value", "") for c in contents)
    return entry.get("summary", "")


def _entry_media(entry, html: str, base: str) -> list[Media]:
    found: list[Media] = []
    for item in entry.get("media_content", []):
        if item.get("medium", "image") == "image" or item.get("type", "").startswith("image/"):
            found.append(Media(_absolute(base, item.get("url")), alt=entry.get("media_description", "") or ""))
    for item in entry.get("media_thumbnail", []):
        found.append(Media(_absolute(base, item.get("url")), kind="video_thumbnail"))
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and link.get("type", "").startswith("image/"):
            found.append(Media(_absolute(base, link.get("href"))))
    found.extend(html_images(html, base))
    return _unique_media(found)


def html_images(html: str, base: str) -> list[Media]:
    """`<img>` elements of an HTML fragment, with their alt text, resolved against `base`."""
    if "<img" not in html:
        return []
    soup = BeautifulSoup(html, "html.parser")
    return [Media(_absolute(base, img.get("src")), alt=(img.get("alt") or "").strip())
            for img in soup.find_all("img") if img.get("src") and not img["src"].startswith("data:")]


def _unique_media(media: list[Media]) -> list[Media]:
    seen: dict[str, Media] = {}
    for item in media:
        if not item.url:
            continue
        kept = seen.setdefault(item.url, item)
        if not kept.alt and item.alt:
            kept.alt = item.alt
    return list(seen.values())


def _parse_json_feed(body: bytes, url: str, account_id: str) -> list[Post]:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(Outcome.MALFORMED, f"{url}: invalid JSON Feed ({exc})") from exc
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise FetchError(Outcome.MALFORMED, f"{url}: JSON document has no 'items' list")
    return [post for item in items if isinstance(item, dict) and (post := _json_item_post(item, url, account_id))]


def _json_item_post(item: dict, feed_url: str, account_id: str) -> Post | None:
    link = _absolute(feed_url, item.get("url") or item.get("external_url"))
    platform_id = item.get("id") or link
    if platform_id is None:
        return None
    html = item.get("content_html") or ""
    text = item.get("content_text") or _plain(html) or _plain(item.get("summary") or "")
    media = [Media(_absolute(feed_url, item[key])) for key in ("image", "banner_image") if isinstance(item.get(key), str)]
    media += [Media(_absolute(feed_url, a.get("url")), alt=a.get("title") or "")
              for a in item.get("attachments") or [] if isinstance(a, dict) and str(a.get("mime_type", "")).startswith("image/")]
    media += html_images(html, link or feed_url)
    return Post(
        account_id=account_id,
        platform="jsonfeed",
        platform_id=str(platform_id),
        url=link,
        created_at=parse_iso(item.get("date_published") or item.get("date_modified")),
        title=_plain(item.get("title") or ""),
        text=text,
        media=_unique_media(media),
    )


def _absolute(base: str, href) -> str | None:
    return urljoin(base, href.strip()) if isinstance(href, str) and href.strip() else None


def _plain(html: str) -> str:
    """Readable text of an HTML fragment: paragraphs kept apart, whitespace folded."""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    return " ".join(text.split())


def _struct_time(value) -> datetime | None:
    return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc) if value else None


def parse_iso(value) -> datetime | None:
    """An ISO 8601 time as aware UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
