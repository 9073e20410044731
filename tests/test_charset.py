"""One reading of a Content-Type header's charset (crawler.sniff.charset_of), and the three
decoders that use it: web pages (html_charset), other bodies (Fetched.text), the fast feed reading."""
from __future__ import annotations

import httpx
import pytest

from crawler.http import Fetched
from crawler.sniff import charset_of, html_charset
from crawler.sources.lean_feed import lean_parse

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>Caf\xc3\xa9</title><link>https://example.org/news/1</link></item></channel></rss>"""


@pytest.mark.parametrize("content_type, charset", [
    ("text/html; charset=utf-8", "utf-8"),
    ("text/html; charset=UTF-8", "utf-8"),
    ('text/html; charset="utf-8"', "utf-8"),
    ("text/html; charset='ISO-8859-1'", "iso-8859-1"),
    ("text/html; charset = windows-1252 ", "windows-1252"),
    ("text/html;charset=utf-8;format=flowed", "utf-8"),
    ("text/plain; format=flowed; Charset=Shift_JIS", "shift_jis"),
    ("text/html; charset=bogus", "bogus"),  # a label all the same; `codec` says it names no encoding
    ("text/html", None),
    ("", None),
    ("text/html; charset=", None),
    ('text/html; charset=""', None),
    ("text/html; charset", None),
    ("text/html; xcharset=utf-16", None),
    ("charset=utf-8", None),  # no media type: the first part is the type, never a parameter
])
def test_charset_of(content_type, charset):
    assert charset_of(content_type) == charset


def _fetched(body: bytes, content_type: str) -> Fetched:
    return Fetched("https://example.org/", 200, httpx.Headers({"content-type": content_type}), body)


def test_a_body_whose_charset_no_codec_has_is_read_as_utf8():
    assert _fetched("café".encode(), "text/html; charset=bogus").text() == "café"


@pytest.mark.parametrize("label", ["hex", "rot13", "base64", "zlib", "idna", "undefined", "unicode-escape"])
def test_a_codec_that_decodes_no_text_is_no_charset(label):
    """A server names the charset: Python's transforms and special codecs raised LookupError or
    UnicodeError from the decoders."""
    assert _fetched("café".encode(), f"text/html; charset={label}").text() == "café"
    page = f"<html><head><meta charset='{label}'></head><body>café</body></html>".encode()
    assert html_charset(page, f"text/html; charset={label}") == "utf-8"


def test_a_quoted_upper_case_charset_decodes_the_body():
    assert _fetched("café".encode("cp1252"), "text/html; charset='WINDOWS-1252'").text() == "café"


def test_a_utf16_header_decides_a_page_but_a_utf16_meta_does_not():
    page = "<html><head><meta charset='utf-16'></head><body>été</body></html>"
    assert html_charset(page.encode("utf-16-le"), "text/html; charset=UTF-16LE") == "utf-16-le"
    assert html_charset(page.encode(), "text/html") == "utf-8"


@pytest.mark.parametrize("content_type", ["application/rss+xml", 'application/rss+xml; charset="UTF-8"',
                                          "application/rss+xml; charset = utf8", "application/rss+xml; charset=",
                                          "application/rss+xml; charset=UTF_8"])
def test_the_fast_feed_reading_takes_a_utf8_header_in_any_spelling(content_type):
    assert lean_parse(FEED, "https://example.org/feed.xml", content_type) is not None


@pytest.mark.parametrize("content_type", ["application/rss+xml; charset='ISO-8859-1'",
                                          "application/rss+xml; charset = windows-1252", "text/xml; charset=bogus"])
def test_the_fast_feed_reading_leaves_other_charsets_to_feedparser(content_type):
    assert lean_parse(FEED, "https://example.org/feed.xml", content_type) is None
