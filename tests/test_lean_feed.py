"""The fast RSS reading (crawler.sources.lean_feed) gives the posts feedparser gives, or leaves the
document to feedparser."""
from __future__ import annotations

from pathlib import Path

import pytest

from crawler.result import FetchError
from crawler.sources.feed import _media_alts, feed_posts, parse_feed_page, tolerant_parse
from crawler.sources.lean_feed import lean_parse
from schoolaudit.demo import SITE_DIR

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://example.org/news/feed.xml"
CONTENT_TYPES = ("application/rss+xml", "", "text/xml; charset=utf-8")

#: Everything the fast reading reads: relative links, a guid that is not a link, entities, CDATA,
#: HTML in the description, content:encoded, enclosures, media elements, a next page, ignored elements.
RICH = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:m="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Cedar &amp; Pine</title><link>/school/</link><description>news</description>
<atom:link rel="self" href="feed.xml" type="application/rss+xml"/><atom:link rel="next" href="?page=2"/>
<item><title>Bake sale &amp; book fair</title><link>/news/1</link><guid isPermaLink="false">post-1</guid>
  <pubDate>Mon, 02 Mar 2026 12:00:00 GMT</pubDate><dc:creator>Office</dc:creator><category>Events</category>
  <description><![CDATA[<p>Our <b>bake sale</b> <img src="/img/cake.jpg" alt="cake"></p>]]></description>
  <content:encoded><![CDATA[<p>More: <img src="pie.jpg"></p>]]></content:encoded>
  <enclosure url="/img/poster.png" type="image/png" length="100"/>
  <m:content url="http://cdn.example.org/a.jpg" medium="image"><m:title>A</m:title></m:content>
  <m:thumbnail url="thumb.jpg"/></item>
<item><title>  Spaces around  </title><link>https://example.org/news/2</link>
  <guid>https://example.org/news/2</guid><description>Plain &lt;i&gt;escaped&lt;/i&gt; text</description></item>
<item><link>https://example.org/news/3</link><description>Only a description</description></item>
</channel></rss>"""


def _both(body: bytes, content_type: str):
    """(the fast reading's posts or None when it declines, feedparser's posts), for `body` at BASE."""
    alts, body = _media_alts(body)

    def posts(parsed):
        try:
            return feed_posts(parsed, BASE, BASE, "acct", alts)
        except FetchError as exc:
            return str(exc)

    lean = lean_parse(body, BASE, content_type)
    return (None if lean is None else posts(lean)), posts(tolerant_parse(body, BASE, content_type))


def _feed_files(*roots: Path) -> list[Path]:
    return [path for root in roots for path in sorted(root.rglob("*")) if path.is_file()
            and path.suffix in (".xml", ".rss", ".rdf", ".atom", ".txt", "")]


def _accepted_agree(files: list[Path]) -> int:
    accepted = 0
    for path in files:
        for content_type in CONTENT_TYPES:
            lean, tolerant = _both(path.read_bytes(), content_type)
            if lean is not None:
                accepted += 1
                assert lean == tolerant, f"{path} ({content_type or 'no content type'})"
    return accepted


def test_fixture_feeds_read_the_same_where_the_fast_reading_accepts_them():
    assert _accepted_agree(_feed_files(FIXTURES, SITE_DIR)) >= 3 * len(CONTENT_TYPES)


def test_shared_fixture_feeds_read_the_same(shared_dir):
    assert _accepted_agree(_feed_files(shared_dir / "fixtures")) > 0


def test_rich_feed_reads_the_same():
    lean, tolerant = _both(RICH, "application/rss+xml")
    assert lean == tolerant
    posts, next_url = lean
    assert [p.platform_id for p in posts] == ["post-1", "https://example.org/news/2", "https://example.org/news/3"]
    assert next_url == "https://example.org/news/feed.xml?page=2"
    assert [m.url for m in posts[0].media] == ["http://cdn.example.org/a.jpg", "https://example.org/news/thumb.jpg",
                                               "https://example.org/img/poster.png", "https://example.org/news/pie.jpg"]


@pytest.mark.parametrize("change", [
    (b"<description>news</description>", b"<description>news&nbsp;</description>"),  # undefined entity
    (b"</channel></rss>", b"</channel>"),  # truncated
    (b'encoding="UTF-8"', b'encoding="iso-8859-1"'),
    (b"<dc:creator>Office</dc:creator>", b"<dc:date>2026-03-02</dc:date>"),  # an element feedparser maps
    (b"<title>Bake sale &amp; book fair</title>", b"<title>Bake <b>sale</b></title>"),  # markup in a text element
    # a permalink guid in place of the link: feedparser takes it as the link too
    (b"<link>https://example.org/news/3</link>", b"<guid>https://example.org/news/3</guid>"),
])
def test_what_the_fast_reading_declines_feedparser_reads(change):
    body = RICH.replace(*change)
    lean, tolerant = _both(body, "application/rss+xml")
    assert lean is None
    posts, _ = parse_feed_page(body, BASE, "acct", {"content-type": "application/rss+xml"})
    assert posts == tolerant[0] and len(posts) == 3


def test_an_item_without_a_guid_reads_the_same():
    lean, tolerant = _both(RICH.replace(b"<guid>https://example.org/news/2</guid>", b""), "application/rss+xml")
    assert lean is not None and lean == tolerant
