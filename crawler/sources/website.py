"""A school's own web site: its feed, its WordPress REST API, or the news items of its page.

TARGET is the page (usually the home or news page). In order, the source uses
1. the page itself when it is a feed;
2. the WordPress REST API (`/wp-json/wp/v2/posts?_embed`) when the site advertises it
   (`Link: <…/wp-json/>; rel="https://api.w.org/"` or the same `<link>`), or at `api_base`;
3. the first feed the page names in `<link rel="alternate" type="application/rss+xml">`
   (Atom and JSON Feed too; comment feeds skipped);
4. else the news items of the HTML: `<article>` elements, or blocks classed post / entry /
   news / article, each with its heading, link, `<time>`, text and images. A page with no such
   items is one post: the page itself.
WordPress gives the featured image with its `alt_text` besides the images in the content.
"""
from __future__ import annotations

import hashlib
import logging
import re

from bs4 import BeautifulSoup

from crawler.http import Fetched
from crawler.result import FetchError, FetchResult
from records.model import Account, Media, Outcome, Post
from crawler.sources.base import Source
from crawler.sources.common import (
    MAX_PAGES, Collector, absolute, get_json, html_images, html_to_text, link_header, parse_time, unique_media, with_query,
)
from crawler.sources.feed import looks_like_feed, read_feed

log = logging.getLogger(__name__)

WP_API_REL = "https://api.w.org/"
WP_PAGE_SIZE = 100
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
              "application/rdf+xml"}
ITEM_CLASSES = {"post", "hentry", "h-entry", "entry", "article", "news", "news-item", "newsitem", "news-post",
                "blog-post", "post-item", "story", "fspostelement", "fslistitem", "ui-article"}


class WebsiteSource(Source):
    platform = "website"

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        page = await self.client.get(account.target, trusted=True)
        if page.not_modified:
            return FetchResult([], not_modified=True)
        if looks_like_feed(page.content, page.content_type) and "html" not in page.content_type:
            return (await read_feed(self.client, page, account.id, limit, "website")).with_validators(page)
        html = page.text()
        configured = self.base_url(account)
        api_root = configured or wordpress_api_root(page, html)
        # After a failure, another way answers: its window is not the one earlier runs stored, so no removals.
        complete = True
        if api_root:
            try:
                return (await self._wordpress(api_root, account, limit, trusted=bool(configured))).with_validators(page)
            except FetchError as exc:
                log.info("%s: WordPress API not usable (%s); trying feeds", account.id, exc)
                complete = False
        for feed_url in discover_feeds(html, page.url):
            try:
                fetched = await self.client.get(feed_url)  # named by the page: untrusted
                if fetched.not_modified:
                    return FetchResult([], not_modified=True)
                result = await read_feed(self.client, fetched, account.id, limit, "website")
                result.complete_window = result.complete_window and complete
                return result.with_validators(page, fetched)
            except FetchError as exc:
                log.info("%s: feed %s not usable (%s)", account.id, feed_url, exc)
                complete = False
        return FetchResult(page_posts(html, page.url, account.id)[:limit], complete_window=complete).with_validators(page)

    async def _wordpress(self, root: str, account: Account, limit: int, trusted: bool) -> FetchResult:
        """The posts of the REST API at `root` (`trusted` when the configuration named it)."""
        endpoint = wordpress_endpoint(root, "wp/v2/posts")
        size = min(WP_PAGE_SIZE, max(1, limit))
        collected = Collector(limit)
        for number in range(1, MAX_PAGES + 1):
            items, fetched = await get_json(self.client, with_query(endpoint, _embed="1", per_page=size, page=number),
                                            trusted=trusted, what="WordPress REST JSON")
            if not isinstance(items, list):
                raise FetchError(Outcome.MALFORMED, f"{fetched.url}: expected a list of WordPress posts")
            collected.add(wp_post(item, account.id) for item in items)
            total = fetched.headers.get("x-wp-totalpages", "")
            last = number >= int(total) if total.isdigit() else len(items) < size
            if not items or last or collected.full:
                break
        return collected.result()


def wordpress_api_root(page: Fetched, html: str) -> str | None:
    """The REST API root a WordPress site advertises in a Link header or a `<link>` element."""
    root = link_header(page.headers.get("link")).get(WP_API_REL)
    if not root:
        match = re.search(r"""<link[^>]+rel=["']https://api\.w\.org/["'][^>]*>""", html)
        href = re.search(r"""href=["']([^"']+)["']""", match.group(0)) if match else None
        root = href.group(1) if href else None
    return absolute(page.url, root.replace("&amp;", "&")) if root else None


def wordpress_endpoint(root: str, route: str) -> str:
    """`route` under a REST root, for both `/wp-json/` and `/?rest_route=/` roots."""
    if "rest_route=" in root:
        return with_query(root, rest_route="/" + route)
    return root.rstrip("/") + "/" + route


def wp_post(item, account_id: str) -> Post | None:
    """One WordPress REST post (with `_embed`) as a Post; None when it has no id."""
    if not isinstance(item, dict) or item.get("id") is None:
        return None
    try:
        rendered = lambda key: (item.get(key) or {}).get("rendered", "") if isinstance(item.get(key), dict) else ""  # noqa: E731
        content = rendered("content")
        link = item.get("link") if isinstance(item.get("link"), str) else None
        created = parse_time(item["date_gmt"] + "Z") if isinstance(item.get("date_gmt"), str) else parse_time(item.get("date"))
        modified = parse_time(item["modified_gmt"] + "Z") if isinstance(item.get("modified_gmt"), str) else None
        media = _featured_media(item) + html_images(content, link or "")
        return Post(
            account_id=account_id,
            platform="website",
            platform_id=str(item["id"]),
            url=link,
            created_at=created,
            title=html_to_text(rendered("title")),
            text=html_to_text(content) or html_to_text(rendered("excerpt")),
            media=unique_media(media),
            edited_at=modified if modified and created and modified > created else None,
        )
    except (AttributeError, TypeError, ValueError, KeyError):
        return None  # one unreadable post never stops the others


def _featured_media(item: dict) -> list[Media]:
    embedded = item.get("_embedded") if isinstance(item.get("_embedded"), dict) else {}
    found = []
    for media in embedded.get("wp:featuredmedia") or []:
        if isinstance(media, dict) and isinstance(media.get("source_url"), str) and \
                str(media.get("media_type", "image")) == "image":
            found.append(Media(media["source_url"], alt=" ".join(str(media.get("alt_text") or "").split())))
    return found


def discover_feeds(html: str, page_url: str) -> list[str]:
    """Feed URLs a page names in `<link rel="alternate">`, resolved, comment feeds last-dropped."""
    soup = BeautifulSoup(html, "html.parser")
    base = absolute(page_url, (soup.find("base") or {}).get("href")) or page_url
    feeds = []
    for link in soup.find_all("link", href=True):
        rel = [r.lower() for r in (link.get("rel") or [])]
        kind = str(link.get("type", "")).lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            url = absolute(base, link["href"])
            title = str(link.get("title", "")).lower()
            if url and "comment" not in title and "/comments/" not in url and url not in feeds:
                feeds.append(url)
    return feeds


def page_posts(html: str, page_url: str, account_id: str) -> list[Post]:
    """The news items of an HTML page; the page itself as one post when it has none."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    base = absolute(page_url, (soup.find("base") or {}).get("href")) or page_url
    items = soup.find_all("article") or [
        tag for tag in soup.find_all(True, class_=True)
        if {c.lower() for c in tag.get("class", [])} & ITEM_CLASSES
        and not any({c.lower() for c in parent.get("class", []) or []} & ITEM_CLASSES for parent in tag.parents
                    if getattr(parent, "get", None))
    ]
    posts, seen = [], set()
    for item in items:
        post = _item_post(item, base, account_id)
        if post and post.platform_id not in seen:
            seen.add(post.platform_id)
            posts.append(post)
    if posts:
        return posts
    body = soup.find("main") or soup.body or soup
    title = html_to_text(str(soup.title.string or "")) if soup.title and soup.title.string else ""
    text = html_to_text(str(body))
    if not text and not title:
        raise FetchError(Outcome.MALFORMED, f"{page_url}: no feed, WordPress API, news items or text on the page")
    return [Post(account_id=account_id, platform="website", platform_id=page_url, url=page_url, created_at=None,
                 title=title, text=text, media=html_images(str(body), base))]


def _item_post(item, base: str, account_id: str) -> Post | None:
    heading = next((found for level in ("h1", "h2", "h3", "h4") if (found := item.find(level))), None)
    title = html_to_text(str(heading)) if heading else ""
    anchor = (heading.find("a", href=True) if heading else None) or next(
        (a for a in item.find_all("a", href=True) if not a["href"].startswith(("#", "javascript:", "mailto:"))), None)
    link = absolute(base, anchor["href"]) if anchor else None
    text = html_to_text(str(item))
    if title and text.startswith(title):
        text = text[len(title):].strip()
    if not (title or text):
        return None
    time_tag = item.find("time") or item.find(class_=re.compile(r"date|published|posted", re.IGNORECASE))
    created = parse_time(time_tag.get("datetime") or time_tag.get_text(" ", strip=True)) if time_tag else None
    platform_id = link or item.get("id") or "html:" + hashlib.sha256(f"{title}|{text[:200]}".encode()).hexdigest()[:16]
    return Post(account_id=account_id, platform="website", platform_id=str(platform_id), url=link,
                created_at=created, title=title, text=text, media=html_images(str(item), base))
