"""A school's own web site: its feed, its WordPress REST API, or the news items of its page.

TARGET is the page (usually the home or news page). In order, the source uses
1. the page itself when it is a feed;
2. the WordPress REST API (`/wp-json/wp/v2/posts?_embed`) when the site advertises it
   (`Link: <…/wp-json/>; rel="https://api.w.org/"` or the same `<link>`), or at `api_base`;
3. the first feed the page names in `<link rel="alternate" type="application/rss+xml">`
   (Atom and JSON Feed too; comment feeds skipped);
4. else the news items of the HTML: `<article>` elements, or blocks classed post / entry /
   news / article, each with its heading, link, `<time>`, text and images, when they hold at
   least half of the page's main text (a news listing). Otherwise (an article page whose sidebar
   has a teaser `<article>` or a small block classed `news`) the page is one post: its main text,
   without navigation, header, footer, sidebars, share bars and comment forms.
WordPress gives the featured image with its `alt_text` besides the images in the content.
A page is decoded as a browser decodes it (`sniff.html_text`: BOM, header charset, `<meta
charset>`), and relative links resolve against `<base href>`, else Content-Location, else its URL.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import re

from bs4 import BeautifulSoup

from collections.abc import Mapping

from crawler import sniff
from crawler.http import Fetched
from crawler.result import FetchError, FetchResult
from records.model import Account, Media, Outcome, Post
from crawler.sources.base import Source, document_base, response_headers
from crawler.sources.common import (
    MAX_PAGES, Collector, absolute, get_json, html_images, html_to_text, json_document, link_header, newest_first,
    parse_time, unique_media, with_query,
)
from crawler.sources.feed import looks_like_feed, parse_feed, read_feed

log = logging.getLogger(__name__)

WP_API_REL = "https://api.w.org/"
WP_PAGE_SIZE = 100
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
              "application/rdf+xml"}
ITEM_CLASSES = {"post", "hentry", "h-entry", "entry", "article", "news", "news-item", "newsitem", "news-post",
                "blog-post", "post-item", "story", "fspostelement", "fslistitem", "ui-article"}


#: class / id words of page furniture: never a post's text.
BOILERPLATE = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|menubar|footer|sidebar|side-bar|breadcrumbs?|cookies?|consent|share|"
    r"sharing|social|socials|related|ads?|advert\w*|banner|newsletter|subscribe|pagination|pager|skip|"
    r"masthead|toolbar|comments?|comment-form|respond|disqus|popup|modal|search|login|tags|tagcloud|author-bio)"
    r"(?:$|[-_\s])", re.IGNORECASE)
#: a class that qualifies a block (`no-share`, `with-sidebar`, `has-ads`) says what it lacks or sits beside.
QUALIFIED = re.compile(r"(?:^|[-_\s])(?:no|has|with|without)[-_][\w-]*", re.IGNORECASE)
FURNITURE_TAGS = ("nav", "footer", "aside", "form", "header", "menu", "button", "select", "iframe", "svg")
FURNITURE_ROLES = {"navigation", "contentinfo", "banner", "complementary", "search", "menu", "menubar", "dialog"}
LISTING_SHARE = 0.5  # items holding at least this share of the main text make the page a listing
STORY_CHARS = 1500  # an item this long is a whole story, not a teaser
# Readability's sibling rule: a sibling of the best-scoring block belongs to the story when it scores
# a fifth of that block, or is a paragraph of this much text with few links.
SIBLING_SHARE = 0.2
SIBLING_PARAGRAPH = 80
SCORED_CANDIDATES = 10  # the best-scoring blocks whose link density is weighed (a menu scores high on text alone)
#: blocks that start a new line: a `<div>` with none of them inside holds text as a paragraph does.
TEXT_BLOCKS = ("p", "div", "ul", "ol", "li", "table", "section", "article", "blockquote", "pre", "h1", "h2", "h3",
               "h4", "h5", "h6", "dl", "form", "figure", "header", "footer", "aside", "nav")


class WebsiteSource(Source):
    platform = "website"

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        """A feed, a WordPress REST answer (a list of posts, or one) or an HTML page."""
        headers = response_headers(headers)
        content_type = headers.get("content-type", "")
        kind = sniff.kind(body, content_type)
        if kind == "json" and not looks_like_feed(body, "application/json"):
            document = json_document(body, url, "WordPress REST JSON")
            return [post for item in (document if isinstance(document, list) else [document])
                    if (post := wp_post(item, account_id))]
        if looks_like_feed(body, content_type) and kind != "html":
            return parse_feed(body, url, account_id, headers)
        return page_posts(sniff.html_text(body, content_type), document_base(url, headers), account_id)

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        page = await self.client.get(account.target, trusted=True)
        if page.not_modified:
            return FetchResult([], not_modified=True)
        if looks_like_feed(page.content, page.content_type) and "html" not in page.content_type:
            return (await read_feed(self.client, page, account.id, limit, "website")).with_validators(page)
        html = sniff.html_text(page.content, page.headers.get("content-type", ""))
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
        posts = newest_first(page_posts(html, document_base(page.url, page.headers), account.id))
        return FetchResult(posts[:limit], complete_window=complete).with_validators(page)

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
    """The news items of an HTML page, when they make up its main text; else the page as one post."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    base = absolute(page_url, (soup.find("base") or {}).get("href")) or page_url
    title = html_to_text(str(soup.title.string or "")) if soup.title and soup.title.string else ""
    _drop_furniture(soup)
    main = main_content(soup)
    main_text = html_to_text(str(main))
    posts = _listing(soup, base, account_id)
    if posts and _is_listing(posts, main_text):
        return posts
    if not main_text and not title:
        raise FetchError(Outcome.MALFORMED, f"{page_url}: no feed, WordPress API, news items or text on the page")
    return [Post(account_id=account_id, platform="website", platform_id=page_url, url=page_url, created_at=None,
                 title=title, text=main_text, media=html_images(str(main), base))]


def _is_listing(posts: list[Post], main_text: str) -> bool:
    """Items make a news listing when they hold most of the main text, or when two or more are
    whole stories (a blog's home page, with link posts between them); teasers and a lone small
    block classed `news` are neither."""
    sizes = [len(post.title) + len(post.text) for post in posts]
    return sum(sizes) >= LISTING_SHARE * len(main_text) or sum(size >= STORY_CHARS for size in sizes) >= 2


def _listing(soup, base: str, account_id: str) -> list[Post]:
    """Posts of the page's `<article>` elements, else of its outermost blocks classed as items."""
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
    return posts


def _drop_furniture(soup) -> None:
    """Remove navigation, header, footer, sidebars, share bars and forms, unless one holds the page's
    `<main>` or `<article>` or half of its text: then it wraps the page (themes wrap everything in a
    `<header>`, a `sidebar-and-content` div or an ASP.NET `<form>`)."""
    page_chars = len((soup.body or soup).get_text(" ", strip=True))
    doomed = []
    for tag in soup.find_all(True):
        if tag.name in ("html", "body", "main", "article"):
            continue
        words = QUALIFIED.sub(" ", " ".join(tag.get("class") or []) + " " + str(tag.get("id") or ""))
        if tag.name in FURNITURE_TAGS or str(tag.get("role", "")).lower() in FURNITURE_ROLES \
                or BOILERPLATE.search(words) or str(tag.get("aria-hidden", "")).lower() == "true":
            inside_item = tag.name in ("header", "footer") and tag.find_parent(["article", "main"])
            wrapper = tag.find(["main", "article"]) or len(tag.get_text(" ", strip=True)) * 2 >= page_chars
            if not inside_item and not wrapper:
                doomed.append(tag)
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()


def main_content(soup):
    """The element that holds the page's main text: `<main>` (or role=main), the longest
    `<article>`, else the element whose paragraphs hold the most text with those of its siblings
    that belong to the same story (as Readability scores and joins them)."""
    marked = soup.find("main") or soup.find(attrs={"role": "main"})
    if marked and len(marked.get_text(" ", strip=True)) > 200:
        return marked
    articles = soup.find_all("article")
    if articles:
        longest = max(articles, key=lambda tag: len(tag.get_text(" ", strip=True)))
        if len(longest.get_text(" ", strip=True)) > 500:
            return longest
    scores: dict[int, tuple[float, object]] = {}
    for paragraph in _paragraphs(soup):
        length = len(paragraph.get_text(" ", strip=True))
        if length < 25:
            continue
        for depth, parent in enumerate(list(paragraph.parents)[:3]):
            if parent.name in (None, "[document]", "html"):
                break
            score, _ = scores.get(id(parent), (0.0, parent))
            scores[id(parent)] = (score + length / (depth + 1), parent)
    if not scores:
        return marked or soup.body or soup
    leading = sorted(scores.values(), key=lambda pair: pair[0], reverse=True)[:SCORED_CANDIDATES]
    best_score, best = max(((score * (1 - _link_density(tag)), tag) for score, tag in leading), key=lambda pair: pair[0])
    return _with_siblings(soup, best, {key: score for key, (score, _) in scores.items()}, best_score)


def _paragraphs(soup) -> list:
    """Paragraph-like blocks: `<p>`, `<pre>`, cells, quotes, list items, and a `<div>` that holds its
    text directly (Readability reads such a div as a paragraph)."""
    return [tag for tag in soup.find_all(["p", "pre", "td", "blockquote", "li", "div"])
            if tag.name != "div" or not tag.find(TEXT_BLOCKS)]


def _link_density(tag) -> float:
    """The share of a block's text that is link text."""
    text = len(tag.get_text(" ", strip=True))
    linked = sum(len(a.get_text(" ", strip=True)) for a in tag.find_all("a"))
    return min(1.0, linked / text) if text else 1.0


def _with_siblings(soup, root, scores: dict[int, float], root_score: float):
    """`root`, or a copy of it beside its siblings that score close to it (weighed by link density,
    as the root was) or are story paragraphs."""
    if root.parent is None:
        return root
    threshold = max(10.0, root_score * SIBLING_SHARE)
    kept = [sibling for sibling in root.parent.find_all(True, recursive=False)
            if sibling is root or _is_story_paragraph(sibling)
            or scores.get(id(sibling), 0.0) * (1 - _link_density(sibling)) >= threshold]
    if len(kept) == 1:
        return root
    joined = soup.new_tag("div")
    for sibling in kept:
        joined.append(copy.copy(sibling))
    return joined


def _is_story_paragraph(tag) -> bool:
    """A `<p>` of long text with few links, or of a short link-free sentence."""
    if tag.name != "p":
        return False
    text = tag.get_text(" ", strip=True)
    if len(text) > SIBLING_PARAGRAPH:
        return _link_density(tag) < 0.25
    return bool(text) and not tag.find("a") and bool(re.search(r"\.(\s|$)", text))


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
