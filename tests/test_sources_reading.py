"""Reading right what others publish (issue 10): each case a real shape that a source misread.

Sources are called through `Source.parse` (bytes in, posts out) unless the case is about HTTP
(next pages, a body labelled gzip), which runs the source against a server on 127.0.0.1.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from localserver import LocalServer
from test_sources_http import asked, fetch

from crawler import sniff
from crawler.result import FetchError
from crawler.sources import source_class
from crawler.sources.common import parse_time
from crawler.sources.graph import graph_error
from records.model import Outcome

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = FIXTURES / "feedparser" / "corpus"
sys.path.append(str(Path(__file__).resolve().parents[1] / "bench"))  # last: bench/records.py must not hide records
import feedparser_corpus  # noqa: E402  (the bench's reading of a corpus file's declared expectations)
WORDS = ("Students from the grade six classes planted forty trees along the river path on Saturday "
         "morning with help from parents, teachers and the town's parks department. ")


def rss(items: str, extra: str = "") -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>School news</title>'
            f'<link>https://school.example/</link><description>News</description>{extra}{items}'
            f'</channel></rss>').encode()


def feed_posts(body: bytes, url: str = "https://school.example/feed", headers: dict | None = None):
    return source_class("rss").parse(body, "acc", url, headers)


# -- challenge pages ----------------------------------------------------------------------------

@pytest.mark.parametrize("marker", [
    '<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>',
    '<script src="/_Incapsula_Resource?SWJIYLWA=719d34d31c8e3a6e6fffd425f7e032f3"></script>',
])
def test_a_long_article_carrying_a_protection_script_is_read(marker):
    article = f"<html><head><title>Tree day</title>{marker}</head><body><article><h1>Tree day</h1>" \
              + "".join(f"<p>{WORDS}</p>" for _ in range(40)) + "</article></body></html>"
    assert sniff.barrier(article.encode(), "https://school.example/news/trees") is None


def test_a_short_challenge_page_is_blocked():
    challenge = (b'<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div>Checking your '
                 b'browser</div><script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script>'
                 b'</body></html>')
    found = sniff.barrier(challenge, "https://school.example/")
    assert found is not None and found.outcome == Outcome.BLOCKED


# -- website main text --------------------------------------------------------------------------

def test_an_article_page_keeps_its_main_text_not_a_stray_news_block_or_teasers():
    page = ("<html><head><title>Tree day</title></head><body>"
            "<nav><a href='/'>Home</a> <a href='/about'>About our school</a></nav>"
            "<header class='site-header'>Springfield Elementary menu</header>"
            "<div class='content'><h1>Tree day</h1>" + "".join(f"<p>{WORDS}</p>" for _ in range(6)) + "</div>"
            "<div class='news'><a href='/news'>More news</a></div>"
            "<section class='related'><article><h3><a href='/a'>Bake sale</a></h3><p>Friday.</p></article>"
            "<article><h3><a href='/b'>Concert</a></h3><p>Monday.</p></article></section>"
            "<footer>Copyright Springfield School Board, 12 Main Street</footer></body></html>")
    posts = source_class("website").parse(page.encode(), "acc", "https://school.example/news/trees")
    assert len(posts) == 1
    assert posts[0].text.count("planted forty trees") == 6
    assert "Copyright" not in posts[0].text and "About our school" not in posts[0].text
    assert "Bake sale" not in posts[0].text


def website_text(body: str) -> str:
    posts = source_class("website").parse(f"<html><head><title>Tree day</title></head><body>{body}</body></html>".encode(),
                                          "acc", "https://school.example/news/trees")
    assert len(posts) == 1
    return posts[0].text


def test_main_text_in_a_block_whose_class_names_furniture_it_wraps_or_lacks_is_kept():
    story = "".join(f"<p>{WORDS}</p>" for _ in range(4))
    text = website_text(f"<div class='sidebar-and-content-body'><div class='entry-content no-share'>{story}</div>"
                        f"<aside>Links to other schools</aside></div><footer>Copyright Springfield School Board</footer>")
    assert text.count("planted forty trees") == 4 and "other schools" not in text and "Copyright" not in text


def test_a_menu_of_long_links_does_not_outscore_a_story_written_in_divs():
    menu = "".join(f"<li><a href='/p{n}'>Parent information evening for grade {n} families</a></li>" for n in range(12))
    story = "".join(f"<div class='para'>{WORDS}</div>" for _ in range(3))
    text = website_text(f"<ul class='pages'>{menu}</ul><div class='text'>{story}</div>")
    assert text.count("planted forty trees") == 3 and "Parent information evening" not in text


def test_the_story_keeps_paragraphs_beside_its_best_block():
    story = "".join(f"<p>{WORDS}</p>" for _ in range(4))
    text = website_text(f"<div class='page'><p>The whole school joined the planting on the river path.</p>"
                        f"<div class='body'>{story}</div><p>Thanks to the parks department for the trees.</p>"
                        f"<div class='links'><a href='/a'>Older news</a></div></div>")
    assert "joined the planting" in text and "Thanks to the parks department" in text and "Older news" not in text


def test_a_news_listing_is_still_its_items():
    items = "".join(f"<article><h2><a href='/n/{n}'>Story {n}</a></h2><time datetime='2025-03-0{n}'></time>"
                    f"<p>{WORDS}</p></article>" for n in range(1, 4))
    page = f"<html><body><nav>Home About</nav><main>{items}</main><footer>Board</footer></body></html>"
    posts = source_class("website").parse(page.encode(), "acc", "https://school.example/news/")
    assert [p.url for p in posts] == [f"https://school.example/n/{n}" for n in range(1, 4)]


# -- charset and base -----------------------------------------------------------------------------

def test_meta_charset_decides_when_the_server_names_none():
    page = ('<html><head><meta charset="iso-8859-1"><title>Rentrée</title></head><body><main><p>Les élèves '
            'de troisième année ont visité le musée. ' + WORDS + '</p></main></body></html>').encode("latin-1")
    post = source_class("website").parse(page, "acc", "https://ecole.example/", {"Content-Type": "text/html"})[0]
    assert post.title == "Rentrée" and "Les élèves de troisième année ont visité le musée" in post.text


def test_content_location_is_the_base_of_relative_links():
    body = rss("<item><title>A</title><link>posts/1</link><description>&lt;img src='img/1.jpg'&gt;</description></item>")
    post = feed_posts(body, "https://school.example/feed?format=rss",
                      {"Content-Location": "https://school.example/blog/feed.xml"})[0]
    assert post.url == "https://school.example/blog/posts/1"
    assert [m.url for m in post.media] == ["https://school.example/blog/img/1.jpg"]


def test_a_plain_body_labelled_gzip_is_read():
    body = rss("<item><title>A</title><link>https://school.example/a</link></item>")
    with LocalServer({"/feed": (200, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}, body)}) as server:
        result = fetch("rss", server.url + "/feed")
    assert [p.url for p in result.posts] == ["https://school.example/a"]


# -- feed items ---------------------------------------------------------------------------------

def test_an_empty_feed_with_nbsp_is_empty_not_malformed():
    assert feed_posts(rss("", "<copyright>&nbsp;Springfield&nbsp;Board</copyright>")) == []


def test_a_cut_off_feed_says_where_its_xml_breaks_in_words():
    with pytest.raises(FetchError) as failure:
        feed_posts(b'<?xml version="1.0"?>\n<rss version="2.0">\n<channel>\n<title>School news</title>\n')
    assert failure.value.outcome == Outcome.MALFORMED
    assert "broken XML at line 5, column 0: no element found" in str(failure.value)
    assert "<unknown>" not in str(failure.value)


def test_an_item_with_only_a_description_is_kept():
    posts = feed_posts(rss("<item><description>Picture day is Tuesday.</description></item>"
                           "<item><description>No school Friday.</description></item>"))
    assert [p.text for p in posts] == ["Picture day is Tuesday.", "No school Friday."]
    assert len({p.platform_id for p in posts}) == 2


def test_a_bad_image_url_costs_neither_the_item_nor_the_page():
    item = ("<item><title>Art show</title><link>https://school.example/art</link><description>"
            "&lt;img src='http://[broken/a.jpg'&gt;&lt;img src='/b.jpg' alt='Paintings'&gt; Come see</description></item>")
    post = feed_posts(rss(item))[0]
    assert post.title == "Art show" and [m.url for m in post.media] == ["https://school.example/b.jpg"]
    page = b"<html><body><main><p>Art show</p><img src='http://[broken/a.jpg'><img src='/b.jpg'></main></body></html>"
    assert [m.url for m in source_class("website").parse(page, "acc", "https://school.example/")[0].media] == [
        "https://school.example/b.jpg"]


def test_a_year_10000_date_keeps_the_entry_undated():
    posts = feed_posts(rss("<item><title>A</title><link>https://school.example/a</link>"
                           "<pubDate>Sat, 01 Jan 10000 00:00:00 GMT</pubDate></item>"
                           "<item><title>B</title><link>https://school.example/b</link>"
                           "<pubDate>10000-01-01T00:00:00Z</pubDate></item>"))
    assert [(p.title, p.created_at) for p in posts] == [("A", None), ("B", None)]


@pytest.mark.parametrize("text, expected", [
    ("Mon, 26 January 2004 16:31:00 ET", "2004-01-26T21:31:00+00:00"),
    ("Mon, 26 January 2004 16:31:00 PT", "2004-01-27T00:31:00+00:00"),
    ("Mon, 13 Feb, 2012 06:28:00 UTC", "2012-02-13T06:28:00+00:00"),
])
def test_feed_dates_with_us_zones_and_extra_commas(text, expected):
    post = feed_posts(rss(f"<item><title>A</title><link>https://school.example/a</link><pubDate>{text}</pubDate></item>"))[0]
    assert post.created_at.isoformat() == expected


def test_feedparser_date_table():
    """feedparser's own date tests (tests/fixtures/feedparser/date_parsers_table.py.txt, BSD-2-Clause):
    every input that one of its readers reads comes out the same, and every one refused stays None."""
    table = _date_table(FIXTURES / "feedparser" / "date_parsers_table.py.txt")
    # One input both ways: w3dtf refuses "22013", the ISO reader takes "03335" (the same shape) as a day of the year.
    wrong = [(text, expected, parse_time(text)) for reader, text, expected in table
             if (reader, text) != ("_parse_date_w3dtf", "22013")
             and (tuple(parse_time(text).timetuple())[:6] if parse_time(text) else None) != (
                 tuple(expected)[:6] if expected else None)]
    assert len(table) > 60 and wrong == []


def test_the_common_rfc822_form_is_read_as_feedparser_reads_it():
    """parse_time reads `Mon, 02 Mar 2026 12:00:00 GMT` (and numeric zones) without feedparser's readers:
    every such date, real or not (31 February, hour 24, year 9999 past midnight UTC), comes out as
    their reading of it does."""
    from crawler.sources.common import _common_rfc822, _feedparser_date

    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    zones = ("GMT", "UT", "UTC", "Z", "+0000", "-0500", "+0530", "+1400", "-1200", "-0030")
    texts = [f"{days[(d + m) % 7]}, {d:02d} {month} 2024 {hour} {zone}"
             for m, month in enumerate(months) for d in (1, 9, 29, 30, 31) for zone in zones
             for hour in ("00:00:00", "23:59:59", "24:00:00")]
    texts += ["Fri, 31 Dec 9999 23:00:00 -0500", "Mon, 1 Jan 0001 00:30:00 +0100", "Thu, 2 Jul 2026 08:05:09 GMT",
              "Sat, 00 Jan 2000 00:00:00 GMT", "Sun, 29 Feb 2023 12:00:00 GMT", "Mon, 02 Mar 2026 12:60:00 GMT"]
    expected = {text: _feedparser_date(text) for text in texts}
    assert sum(value is None for value in expected.values()) > 50  # dates that do not exist are among them
    assert {text: parse_time(text) for text in texts} == expected
    fast = [text for text in texts if _common_rfc822(text) is not None]  # read without feedparser's readers
    assert len(fast) > 1000 and all(_common_rfc822(text) == expected[text] for text in fast)


def test_feedparser_corpus_sample():
    """A sample of feedparser's wellformed/illformed corpus (tests/fixtures/feedparser/corpus,
    BSD-2-Clause) read as bench/feedparser_corpus.py reads the whole of it: every entry field a
    file declares that we keep comes out as declared, and nothing crashes."""
    files = sorted(CORPUS.rglob("*.xml"))
    verdicts = {path.relative_to(CORPUS).as_posix(): feedparser_corpus.check(path, CORPUS) for path in files}
    assert len(files) > 40 and {name: found for name, found in verdicts.items() if found[0] != "ok"} == {}


def _date_table(path: Path) -> list[tuple[str, str, tuple | None]]:
    cases = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple) and len(node.elts) == 3 and isinstance(node.elts[0], ast.Name) \
                and node.elts[0].id.startswith("_parse_date"):
            cases.append((node.elts[0].id, ast.literal_eval(node.elts[1]), ast.literal_eval(node.elts[2])))
    return cases


def test_an_atom_entry_whose_only_link_is_a_pdf_links_to_the_pdf():
    body = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            b'<entry><id>tag:school.example,2024:menu</id><title>Lunch menu</title>'
            b'<link rel="alternate" type="application/pdf" href="/menu.pdf"/><updated>2024-01-01T00:00:00Z</updated>'
            b'</entry></feed>')
    post = feed_posts(body)[0]
    assert post.url == "https://school.example/menu.pdf" and post.platform_id == "tag:school.example,2024:menu"


# -- paging and limits ----------------------------------------------------------------------------

def _dated_items(numbers) -> str:
    return "".join(f"<item><title>Post {n}</title><link>https://school.example/p/{n}</link>"
                   f"<pubDate>Mon, {n:02d} Jun 2025 10:00:00 GMT</pubDate></item>" for n in numbers)


def test_an_oldest_first_feed_longer_than_the_limit_gives_the_newest_posts():
    with LocalServer({"/feed": (200, {"Content-Type": "application/rss+xml"}, rss(_dated_items(range(1, 21))))}) as server:
        result = fetch("rss", server.url + "/feed", limit=3)
    assert [p.title for p in result.posts] == ["Post 20", "Post 19", "Post 18"]


def test_a_failing_next_page_keeps_page_one():
    page1 = rss(_dated_items(range(1, 4)), '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="next" '
                                           'href="{base}/feed?page=2"/>').decode()
    routes = {"/feed": (200, {"Content-Type": "application/rss+xml"}, page1),
              "/feed?page=2": (500, {}, "server error")}
    with LocalServer(routes) as server:
        result = fetch("rss", server.url + "/feed", limit=10)
    assert [p.title for p in result.posts] == ["Post 3", "Post 2", "Post 1"]


def test_a_next_page_on_another_host_is_not_followed():
    page2 = rss(_dated_items(range(4, 6)))
    with LocalServer({"/feeds/posts/default": (200, {"Content-Type": "application/rss+xml"}, page2)}) as other:
        elsewhere = other.url.replace("127.0.0.1", "localhost") + "/feeds/posts/default?start-index=26"
        page1 = rss(_dated_items(range(1, 4)), '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="next" '
                                               f'href="{elsewhere}"/>')
        with LocalServer({"/feed": (200, {"Content-Type": "application/rss+xml"}, page1)}) as server:
            result = fetch("rss", server.url + "/feed", limit=10)
    assert len(result.posts) == 3 and [r.path for r in asked(server)] == ["/feed"] and asked(other) == []


# -- Graph API ------------------------------------------------------------------------------------

def test_graph_unknown_error_code_1_is_temporary_not_a_refused_token():
    error = graph_error({"message": "An unknown error occurred", "type": "OAuthException", "code": 1,
                         "error_subcode": 1357045}, "https://graph.facebook.com/v19.0/page/posts")
    assert error.outcome == Outcome.ERROR and "token" not in error.detail.split("(")[0]
    expired = graph_error({"message": "Session has expired", "type": "OAuthException", "code": 190}, "x")
    assert expired.outcome == Outcome.AUTH_MISSING
