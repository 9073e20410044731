"""Parsing helpers shared by every source: times, HTML to text, images, JSON bodies, paging.

One place for each: a source module only maps its platform's fields onto `Post`, `Media` and
`RepostRef`, and calls these for the parts every platform has in common.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from feedparser import datetimes as feedparser_datetimes

from crawler.http import Fetched, HttpClient
from crawler.result import FetchError, FetchResult
from records.model import Media, Outcome

#: Pages followed at most per account and fetch, whatever `limit` asks.
MAX_PAGES = 20

# Images that are not content: tracking pixels, feed-flare buttons, author avatars.
_NOISE_IMAGE = re.compile(
    r"(?:[/.\-_]pixel[./\-_?]|rss-pixel|/tracking/|/p\.php\?|feeds\.feedburner\.com/~|/~ff/|/~r/"
    r"|gravatar\.com/avatar/|/beacon[./?]|doubleclick\.net|/wp-includes/images/smilies/)",
    re.IGNORECASE,
)
_SLASH_DATE = re.compile(r"^\s*(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")

# Entry HTML is only turned into text and escaped wherever it is shown, and image URLs are resolved
# by the sources (against the xml:base in effect), so feedparser's HTML sanitising and URI
# rewriting, half its time, are skipped.
FEEDPARSER_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}


# -- times ---------------------------------------------------------------------------------------

def parse_time(value) -> datetime | None:
    """A time from an API or a feed as aware UTC: ISO 8601 / RFC 3339 (also `+0000` offsets),
    `2020/1/10 14:33:00`, then feedparser's readers (RFC 822 with its variants: `ET`/`PT` zones,
    `13 Feb, 2012`, long month names; asctime, W3C-DTF, Perforce, Greek, Hungarian, Korean), a
    written date (`March 6, 2016`), or epoch seconds. None when absent, unreadable or out of range."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    parsed = _common_rfc822(text) or _iso(text) or _slashed(text) or _feedparser_date(text) or _written(text)
    if parsed is None:
        return None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None  # a year-9999 time with an offset that crosses into year 10000


_COMMON_RFC822 = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                            r"(\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC?|Z|([+-])(\d{2})(\d{2}))")


def _common_rfc822(text: str) -> datetime | None:
    """The one RFC 822 form nearly every feed writes (`Mon, 02 Mar 2026 12:00:00 GMT`, or `+0100`), read
    directly: what feedparser's reader gives for it, at a quarter of its time (no other reader takes a
    text that starts with a day name). Any other form, or a date that does not exist, is left to them."""
    match = _COMMON_RFC822.fullmatch(text)
    if not match:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    try:
        stamp = datetime(int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second),
                         tzinfo=timezone.utc)
        offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes)) if sign else timedelta(0)
        return stamp + offset if sign == "-" else stamp - offset
    except (ValueError, OverflowError):
        return None


def _iso(text: str) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    # Python reads at most 6 fractional digits; Bluesky and Go servers send up to 9.
    candidate = re.sub(r"(\.\d{6})\d+", r"\1", candidate)
    if not _ISO_SHAPE.match(candidate):
        return None  # fromisoformat also reads "20240101" and "2013-01-27-01" (as an offset)
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


_ISO_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}.*)?$")
_RFC822_SHAPE = re.compile(r"^(?:[A-Za-z]{3,9},?\s*)?\d{1,2}\s+[A-Za-z]{3,9}\.?,?\s+\d{2,4}\s+\d{1,2}:\d")
_COMPACT_ISO = re.compile(r"^-?\d{2}(?:-?\d{2,3}){0,2}$")  # 031231, 03-12-31, -0312, 03335


def _feedparser_readers(text: str):
    """feedparser's date readers, in its own order, except its loose ISO 8601 reader, which reads
    `10000-01-01` as 1 November 2010 and `2013-xx-27` as 1 November 2013: it only gets the
    compact two-digit-year forms that nothing else reads."""
    readers = [r for r in feedparser_datetimes._date_handlers if r is not feedparser_datetimes._parse_date_iso8601]
    return readers + [feedparser_datetimes._parse_date_iso8601] if _COMPACT_ISO.match(text) else readers


def _feedparser_date(text: str) -> datetime | None:
    text = re.sub(r",(?=[^\s,])", ", ", text)  # "Fri,24 Nov 2023"
    for reader in _feedparser_readers(text):
        try:
            parsed = reader(text)
            if parsed and len(parsed) == 9:
                return datetime(*parsed[:6], tzinfo=timezone.utc)
        except (KeyError, OverflowError, ValueError, AttributeError, TypeError, IndexError):
            continue
    return None


def _slashed(text: str) -> datetime | None:
    match = _SLASH_DATE.match(text)
    if not match:
        return None
    parts = [int(p) if p else 0 for p in match.groups()]
    try:
        return datetime(*parts[:3], parts[3], parts[4], parts[5])
    except ValueError:
        return None


_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}
_WRITTEN = re.compile(r"\b(?:(\d{1,2})\.?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})|([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}))\b")


def _written(text: str) -> datetime | None:
    """A date written out in English on a web page (the day only; times there lack a zone). An
    RFC 822 date that feedparser could not read is broken (`1:2:3:4`, `+zz:00`), not guessed at."""
    if _RFC822_SHAPE.match(text):
        return None
    match = _WRITTEN.search(text)
    if not match:
        return None
    day, month, year = (match.group(1), match.group(2), match.group(3)) if match.group(1) else \
        (match.group(5), match.group(4), match.group(6))
    number = _MONTHS.get(month.lower())
    try:
        return datetime(int(year), number, int(day)) if number else None
    except ValueError:
        return None


# -- HTML ----------------------------------------------------------------------------------------

_BLOCKS = ("p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "td", "th",
           "figcaption", "figure", "section", "article", "header", "footer", "pre", "hr", "img", "dt", "dd", "table")


def _soup(html: str):
    """The parsed fragment. bs4 is imported here, at the first HTML met: its import (soupsieve's
    selectors) costs a quarter of a second, which a crawl of plain-text feeds never needs."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def html_to_text(html) -> str:
    """Readable text of an HTML fragment: tags dropped, entities decoded, whitespace folded.
    Words split over inline tags (Mastodon's `@<span>user</span>`, its `invisible` URL pieces)
    stay joined; block elements (paragraphs, list items, line breaks) are kept apart by a space."""
    if not isinstance(html, str) or not html:
        return ""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    soup = _soup(html)
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    for tag in soup.find_all(_BLOCKS):  # words meet across inline tags (`@<span>user</span>`), not blocks
        tag.insert_before(" ")
        tag.insert_after(" ")
    return " ".join(soup.get_text("").split())


def absolute(base: str | None, href) -> str | None:
    """`href` resolved against `base`; None for an empty or non-string href."""
    if not isinstance(href, str) or not href.strip():
        return None
    href = href.strip()
    try:
        return urljoin(base, href) if base else href
    except ValueError:  # "http://[broken": one bad URL never costs the post it is in
        return None


def _img_src(img) -> str | None:
    for attribute in ("src", "data-src", "data-lazy-src", "data-original"):
        value = img.get(attribute)
        if isinstance(value, str) and value.strip() and not value.strip().startswith("data:"):
            return value
    srcset = img.get("srcset") or img.get("data-srcset")
    if isinstance(srcset, str) and srcset.strip():
        return srcset.split(",")[0].split()[0]
    return None


def html_images(html: str, base: str) -> list[Media]:
    """`<img>` elements of an HTML fragment, with their alt text, resolved against `base`.
    Lazy-loading attributes count; tracking pixels, 1×1 images and inline data: images do not."""
    if not isinstance(html, str) or "<img" not in html:
        return []
    soup = _soup(html)
    found = []
    for img in soup.find_all("img"):
        src = _img_src(img)
        if not src or img.get("width") in ("0", "1") or img.get("height") in ("0", "1"):
            continue
        url = absolute(base, src)
        if url and not is_noise_image(url):
            found.append(Media(url, alt=" ".join((img.get("alt") or "").split())))
    return unique_media(found)


def is_noise_image(url: str) -> bool:
    """Tracking pixels, feed buttons and avatars: images that are not part of a post."""
    return bool(_NOISE_IMAGE.search(url))


def unique_media(media: list[Media]) -> list[Media]:
    """Media in first-seen order, one per URL, keeping the first non-empty alt text."""
    seen: dict[str, Media] = {}
    for item in media:
        if not item.url:
            continue
        kept = seen.setdefault(item.url, item)
        if not kept.alt and item.alt:
            kept.alt = item.alt
    return list(seen.values())


def with_quote(text: str, quoted_text: str) -> str:
    """A post's own text followed by the text it quotes, as a reader sees both."""
    quoted_text = (quoted_text or "").strip()
    if not quoted_text:
        return text
    return f"{text}\n\n> {quoted_text}" if text else f"> {quoted_text}"


# -- accounts and collected posts ------------------------------------------------------------------

def user_name(target: str, pattern: str, what: str) -> str:
    """The user name in `name`, `@name` or a profile URL (`https://host/name/...`), checked against `pattern`."""
    target = target.strip()
    if target.startswith(("http://", "https://")):
        target = urlsplit(target).path.strip("/").split("/")[0]
    target = target.lstrip("@")
    if not re.fullmatch(pattern, target or ""):
        raise FetchError(Outcome.NOT_FOUND, f"{target!r}: not {what}")
    return target


class Collector:
    """The posts of one fetch, gathered page by page: each platform id once, in order, up to `limit`."""

    def __init__(self, limit: int):
        self.limit = limit
        self.posts: list = []
        self._seen: set[str] = set()

    def add(self, posts) -> None:
        for post in posts:
            if post is not None and post.platform_id not in self._seen:
                self._seen.add(post.platform_id)
                self.posts.append(post)

    @property
    def full(self) -> bool:
        return len(self.posts) >= self.limit

    @property
    def wanted(self) -> int:
        """How many more posts would fill the limit (at least 1: a page is never asked for 0)."""
        return max(1, self.limit - len(self.posts))

    def result(self) -> FetchResult:
        return FetchResult(self.posts[:self.limit])

    def newest(self) -> FetchResult:
        """The newest `limit` posts, for documents that may list oldest first (feeds)."""
        return FetchResult(newest_first(self.posts)[:self.limit])


def newest_first(posts: list) -> list:
    """Posts by date, newest first, so that a limit keeps the latest of an oldest-first feed;
    undated posts keep their order after the dated ones."""
    return sorted(posts, key=lambda post: (post.created_at is None,
                                           -post.created_at.timestamp() if post.created_at else 0))


# -- JSON API bodies and paging ------------------------------------------------------------------

def json_body(fetched: Fetched, what: str = "JSON"):
    """The decoded JSON of a response; `malformed` naming the URL (redacted, as every FetchError) when it is not."""
    return json_document(fetched.content, fetched.url, what)


def json_document(body: bytes, url: str, what: str = "JSON"):
    """The decoded JSON of a body; `malformed` naming the URL (redacted, as every FetchError) when it is not."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(Outcome.MALFORMED, f"{url}: not {what} ({exc.__class__.__name__}: "
                                            f"{str(exc)[:80]})", url) from None


def link_header(value: str | None) -> dict[str, str]:
    """RFC 8288 `Link` header as rel -> URL (`<a>; rel="next", <b>; rel="prev"`)."""
    links: dict[str, str] = {}
    for match in re.finditer(r"<([^>]*)>((?:\s*;\s*[^,;]+)*)", value or ""):
        target, params = match.groups()
        rel = re.search(r"""rel\s*=\s*"?([^";]+)"?""", params)
        for name in (rel.group(1).split() if rel else []):
            links.setdefault(name.lower(), target)
    return links


def with_query(url: str, **params) -> str:
    """`url` with `params` set in its query (None removes one)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query, safe=",:(){}/@")))


async def get_json(client: HttpClient, url: str, *, headers: dict | None = None, trusted: bool = False,
                   robots: bool = True, what: str = "JSON"):
    """GET an API URL (never conditional: pages change) and decode it; `trusted` and `robots` as for the client."""
    fetched = await client.get(url, conditional=False, headers=headers, trusted=trusted, robots=robots)
    return json_body(fetched, what), fetched
