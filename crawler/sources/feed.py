"""RSS, Atom and JSON Feed.

feedparser reads RSS 0.9x/1.0/2.0 and Atom, including malformed feeds (it marks them `bozo` and
carries on: bad declarations, BOMs, CR-only lines, GBK declared as gb2312); JSON Feed, which
feedparser 6.0 does not read, is parsed here from its JSON. Images come from media:content /
media:thumbnail, image enclosures and `<img>` in the HTML, resolved against the feed's URL; the
alt text of a media:content is its nested media:description. An RSS `<source>` element marks an
item taken from another channel: a repost. Paged feeds (`link rel="next"`, JSON Feed `next_url`)
are followed until `limit` posts, on the feed's own host only (Blogger names page 2 on
www.blogger.com once a feed passes 25 posts); a next page that fails keeps the posts already read.
Relative links resolve against the Content-Location header when there is one, and the charset of
the Content-Type header reaches feedparser. An item is kept whenever it has any of an id, a link,
a title, a description or a date (RSS 2.0 needs only one of title and description; feedparser keeps
an item that gives only a date, and so does a reader's list). HTML that a publisher wrapped in CDATA
twice (`<![CDATA[<p>…</p>]]&gt;` once the feed's own CDATA is read) is read as the HTML inside.
"""
from __future__ import annotations

import codecs
import hashlib
import html as htmllib
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from xml.sax import SAXParseException

import feedparser

from crawler.http import Fetched, HttpClient
from crawler.result import FetchError, FetchResult
from records.model import Account, Media, Outcome, Post, RepostRef
from crawler.sources.base import Source, document_base, response_headers
from crawler.sources.lean_feed import lean_parse
from crawler.sources.common import (
    FEEDPARSER_OPTIONS, MAX_PAGES, Collector, absolute, html_images, html_to_text, is_noise_image, json_document,
    parse_time, unique_media,
)

log = logging.getLogger(__name__)

FEED_TYPES = ("rss", "atom", "jsonfeed")

__all__ = ["FeedSource", "parse_feed", "parse_feed_page", "html_images", "looks_like_feed"]

# feedparser's warnings that do not mean the document is damaged.
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class FeedSource(Source):
    platform = "rss"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        return parse_feed_page(body, url, account_id, headers)[0]

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        # The target is a feed: an HTML answer there is a login wall or an error page.
        fetched = await self.client.get(account.target, trusted=True, expect="feed")
        if fetched.not_modified:
            return FetchResult([], not_modified=True)
        platform = account.platform if account.platform in FEED_TYPES else None
        return (await read_feed(self.client, fetched, account.id, limit, platform)).with_validators(fetched)


async def read_feed(client: HttpClient, fetched: Fetched, account_id: str, limit: int,
                    platform: str | None = None) -> FetchResult:
    """The posts of a fetched feed and of its next pages, until `limit`; `platform` relabels them."""
    collected = Collector(limit)
    feed_host = urlsplit(fetched.url).netloc
    for number in range(MAX_PAGES):
        try:
            posts, next_url = parse_feed_page(fetched.content, fetched.url, account_id, fetched.headers)
        except FetchError as exc:
            if number == 0:
                raise
            log.info("%s: next page %s not readable (%s); keeping the %d posts read", account_id, fetched.url,
                     exc.detail, len(collected.posts))
            break
        for post in posts:
            post.platform = platform or post.platform
        collected.add(posts)
        if collected.full or not next_url or next_url == fetched.url or urlsplit(next_url).netloc != feed_host:
            break
        try:
            fetched = await client.get(next_url, conditional=False)  # a URL the feed named: untrusted
        except FetchError as exc:
            log.info("%s: next page %s failed (%s); keeping the %d posts read", account_id, next_url, exc.detail,
                     len(collected.posts))
            break
    return collected.newest()


def parse_feed(body: bytes, url: str, account_id: str, headers: Mapping[str, str] | None = None) -> list[Post]:
    """Posts of an RSS, Atom or JSON Feed document; raise `malformed` when it is none of them."""
    return parse_feed_page(body, url, account_id, headers)[0]


def parse_feed_page(body: bytes, url: str, account_id: str,
                    headers: Mapping[str, str] | None = None) -> tuple[list[Post], str | None]:
    """Posts of one feed document and the URL of its next page (RFC 5005 / JSON Feed), if any."""
    headers = response_headers(headers)
    content_type = headers.get("content-type", "")
    base = document_base(url, headers)
    if _looks_like_json(body, content_type):
        return _parse_json_feed(body, base, account_id)
    alts, body = _media_alts(body)
    parsed = lean_parse(body, base, content_type) or tolerant_parse(body, base, content_type)
    return feed_posts(parsed, url, base, account_id, alts)


def tolerant_parse(body: bytes, base: str, content_type: str):
    """feedparser's reading of any RSS or Atom document, damaged or not."""
    return feedparser.parse(body, response_headers={"content-location": base,
                                                    "content-type": content_type or "application/xml"},
                            **FEEDPARSER_OPTIONS)


def feed_posts(parsed, url: str, base: str, account_id: str, alts: dict) -> tuple[list[Post], str | None]:
    """The posts and next page of a feed as read by `lean_parse` or `tolerant_parse`; raise `malformed`
    when neither an item nor a feed was found in it."""
    platform = "atom" if str(parsed.get("version", "")).startswith("atom") else "rss"
    site_host = urlsplit(parsed.feed.get("link") or base).netloc
    posts = []
    for entry in parsed.entries:
        try:
            post = _entry_post(entry, base, account_id, platform, alts, site_host)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            post = None  # one unreadable item never stops the others
        if post:
            posts.append(post)
    exception = parsed.get("bozo_exception")
    # An HTML entity such as `&nbsp;` is undefined in XML, yet every reader knows it: no damage.
    broken = parsed.get("bozo") and not isinstance(exception, _HARMLESS_BOZO) \
        and "undefined entity" not in str(exception)
    if not posts and (broken or not parsed.get("version")):
        # Like feedparser, carry on past damage while items can be read; fail only when none can.
        raise FetchError(Outcome.MALFORMED, f"{url}: {_damage_in_words(exception)}")
    next_url = next((absolute(base, link.get("href")) for link in parsed.feed.get("links", [])
                     if link.get("rel") == "next"), None)
    return posts, next_url


def _damage_in_words(exception) -> str:
    """Why a feed could not be read, for a reader: where its XML breaks, not the parser's `<unknown>:5:0:`."""
    if isinstance(exception, SAXParseException):
        return f"broken XML at line {exception.getLineNumber()}, column {exception.getColumnNumber()}: " \
               f"{exception.getMessage()}"
    return str(exception) if exception else "no RSS, Atom or JSON Feed document found"


def looks_like_feed(body: bytes, content_type: str = "") -> bool:
    """Whether a response is a feed rather than a web page (used by the website source)."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if _looks_like_json(body, content_type):
        return b'"items"' in body[:200000] or b"jsonfeed.org" in body[:2000]
    if content_type in ("application/rss+xml", "application/atom+xml", "application/rdf+xml"):
        return True
    return head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


def _looks_like_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


# -- Media RSS alt text --------------------------------------------------------------------------

_MEDIA_CONTENT = re.compile(rb"<media:content\b((?:[^>/]|/(?!>))*)>(.*?)</media:content\s*>", re.DOTALL)
_MEDIA_DESCRIPTION = re.compile(rb"<media:description\b[^>]*>(.*?)</media:description\s*>", re.DOTALL)
_URL_ATTRIBUTE = re.compile(rb"""\burl\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _media_alts(body: bytes) -> tuple[dict[str, str], bytes]:
    """Alt text per media:content URL, and the body with those nested descriptions renamed.

    feedparser folds every media:description into the entry's description or content, which
    loses which image it describes and, in Mastodon's account RSS, replaces the post text."""
    if b"media:description" not in body or b"media:content" not in body:
        return {}, body
    encoding = _declared_encoding(body)
    alts: dict[str, str] = {}

    def rewrite(match: re.Match) -> bytes:
        attributes, inner = match.groups()
        url = _URL_ATTRIBUTE.search(attributes)
        description = _MEDIA_DESCRIPTION.search(inner)
        if url and description:
            raw_url = (url.group(1) or url.group(2) or b"").decode(encoding, "replace")
            text = description.group(1).decode(encoding, "replace")
            alts[htmllib.unescape(raw_url).strip()] = _html_text(htmllib.unescape(_unwrap_cdata(text)))
        inner = inner.replace(b"<media:description", b"<media:x-alt").replace(b"</media:description", b"</media:x-alt")
        return b"<media:content" + attributes + b">" + inner + b"</media:content>"

    return alts, _MEDIA_CONTENT.sub(rewrite, body)


def _declared_encoding(body: bytes) -> str:
    match = re.search(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", body[:400])
    name = match.group(1).decode("ascii") if match else "utf-8"
    try:
        return codecs.lookup("gbk" if name.lower() == "gb2312" else name).name
    except LookupError:
        return "utf-8"


# -- RSS / Atom entries --------------------------------------------------------------------------

def _entry_post(entry, feed_url: str, account_id: str, platform: str, alts: dict, site_host: str) -> Post | None:
    link = _permalink(entry, feed_url, site_host)
    html = _entry_html(entry)
    created_at = _entry_time(entry)
    platform_id = entry.get("id") or link or entry.get("title") or _content_id(html, created_at)
    if not platform_id:
        return None
    source = entry.get("source") or {}
    repost = RepostRef(handle=source.get("title") or source.get("href"), url=source.get("href")) if (
        source.get("href") or source.get("title")) else None
    return Post(
        account_id=account_id,
        platform=platform,
        platform_id=str(platform_id),
        url=link,
        created_at=created_at,
        title=_html_text(entry.get("title", "")),
        text=_html_text(html),
        media=_entry_media(entry, html, feed_url, alts),
        repost_of=repost,
    )


def _content_id(html: str, created_at: datetime | None) -> str | None:
    """An id for an item with neither id, link nor title: its description, else its date."""
    if html.strip():
        return "description:" + hashlib.sha256(html.encode("utf-8", "replace")).hexdigest()[:24]
    return "date:" + created_at.isoformat() if created_at else None


_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\](?:>|&gt;)", re.DOTALL)


def _unwrap_cdata(html: str) -> str:
    return _CDATA.sub(r"\1", html) if "<![CDATA[" in html else html


def _html_text(html) -> str:
    return html_to_text(_unwrap_cdata(html) if isinstance(html, str) else html)


def _permalink(entry, feed_url: str, site_host: str) -> str | None:
    """The entry's page: `feedburner:origLink` when proxied, else rel=alternate (of any type: a
    PDF is still what a reviewer opens; feedparser takes an id such as `tag:…` as the link when no
    HTML one is there); a link-blog entry whose alternate leaves the site but has a rel=related
    page on the site uses that page."""
    link = absolute(feed_url, entry.get("feedburner_origlink") or _alternate(entry))
    if link and site_host and urlsplit(link).netloc != site_host:
        for candidate in entry.get("links", []):
            href = absolute(feed_url, candidate.get("href"))
            if candidate.get("rel") == "related" and href and urlsplit(href).netloc == site_host:
                return href
    return _unwrap_redirect(link)


def _alternate(entry) -> str | None:
    links = [link for link in entry.get("links", []) if link.get("rel", "alternate") == "alternate" and link.get("href")]
    html = [link for link in links if str(link.get("type", "text/html")) in ("text/html", "application/xhtml+xml")]
    if html or links:
        return (html or links)[0]["href"]
    link = entry.get("link")
    return link if isinstance(link, str) and re.match(r"^(https?:|/|\.|[^:]*$)", link) else None


def _unwrap_redirect(link: str | None) -> str | None:
    """Google Alerts wraps every link in `https://www.google.com/url?...&url=<target>`."""
    if not link:
        return link
    parts = urlsplit(link)
    if parts.netloc.endswith("google.com") and parts.path == "/url":
        target = (parse_qs(parts.query).get("url") or parse_qs(parts.query).get("q") or [None])[0]
        if target and target.startswith(("http://", "https://")):
            return target
    return link


def _entry_time(entry) -> datetime | None:
    """published, else updated, else created, read from the raw string by `parse_time` (feedparser's
    own reading takes `2020/1/10 14:33:00` for 1 November and `10000-01-01` for 2010)."""
    for key in ("published", "updated", "created"):
        parsed = parse_time(entry.get(key))
        if parsed:
            return parsed
    return None


def _entry_html(entry) -> str:
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    if contents:
        return "\n".join(c.get("value", "") for c in contents)
    return entry.get("summary", "")


def _html_base(entry) -> str | None:
    """The base URL in effect for the entry's HTML (its xml:base, else the document's URL)."""
    details = [c for c in entry.get("content") or [] if c.get("value")] or [entry.get("summary_detail") or {}]
    return details[0].get("base") or None


def _is_image(item: dict) -> bool:
    medium, mime = item.get("medium", ""), item.get("type", "")
    if medium or mime:
        return medium == "image" or mime.startswith("image/")
    return bool(re.search(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", item.get("url", ""), re.IGNORECASE))


def _entry_media(entry, html: str, feed_url: str, alts: dict) -> list[Media]:
    found: list[Media] = []
    has_video = any(str(item.get("medium", "")) == "video" or str(item.get("type", "")).startswith("video/")
                    or "shockwave" in str(item.get("type", "")) for item in entry.get("media_content", []))
    for item in entry.get("media_content", []):
        url = absolute(feed_url, item.get("url"))
        if url and _is_image(item):
            found.append(Media(url, alt=alts.get(item.get("url", "").strip(), "")))
    for item in entry.get("media_thumbnail", []):
        url = absolute(feed_url, item.get("url"))
        if url:
            found.append(Media(url, kind="video_thumbnail" if has_video else "image"))
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            found.append(Media(absolute(feed_url, link.get("href"))))
    found.extend(html_images(html, _html_base(entry) or feed_url))
    return unique_media([m for m in found if m.url and not is_noise_image(m.url)])


# -- JSON Feed -----------------------------------------------------------------------------------

def _parse_json_feed(body: bytes, url: str, account_id: str) -> tuple[list[Post], str | None]:
    document = json_document(body, url, "JSON Feed")
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise FetchError(Outcome.MALFORMED, f"{url}: JSON document has no 'items' list")
    posts = [post for item in items if isinstance(item, dict) and (post := _json_item_post(item, url, account_id))]
    next_url = document.get("next_url")
    return posts, absolute(url, next_url) if isinstance(next_url, str) else None


def _json_item_post(item: dict, feed_url: str, account_id: str) -> Post | None:
    link = absolute(feed_url, item.get("url") or item.get("external_url"))
    platform_id = item.get("id") or link
    if platform_id is None or isinstance(platform_id, (dict, list)):
        return None
    html = item.get("content_html") if isinstance(item.get("content_html"), str) else ""
    text = item.get("content_text") if isinstance(item.get("content_text"), str) else ""
    text = " ".join(text.split()) or html_to_text(html) or html_to_text(item.get("summary") or "")
    media = [Media(absolute(feed_url, item[key])) for key in ("image", "banner_image") if isinstance(item.get(key), str)]
    media += [Media(absolute(feed_url, a.get("url")), alt=a.get("title") or "")
              for a in item.get("attachments") or [] if isinstance(a, dict) and str(a.get("mime_type", "")).startswith("image/")]
    media += html_images(html, feed_url)  # relative to the document, as feed readers resolve them
    return Post(
        account_id=account_id,
        platform="jsonfeed",
        platform_id=str(platform_id),
        url=link,
        created_at=parse_time(item.get("date_published") or item.get("date_modified")),
        title=html_to_text(item.get("title") if isinstance(item.get("title"), str) else ""),
        text=text,
        media=unique_media([m for m in media if m.url and not is_noise_image(m.url)]),
    )
