"""What a response body really is, whatever its Content-Type says.

`kind` tells a feed (RSS / Atom / RDF / JSON) from an HTML page, an image or other bytes by the
first bytes of the body. `barrier` recognises HTML that stands between the crawler and the
content: a bot-protection challenge (Cloudflare "Just a moment...", Incapsula, Sucuri, DDoS-Guard,
PerimeterX, a page that is little more than a captcha) is `blocked`; a page that is little more
than a login form (a password field on a short page, or on a login URL) is `login_wall`. Both are
judged by a marker and by the page being short: Cloudflare and Imperva put their scripts on the
normal pages they protect too, and a school's home page with a staff-login box or a contact
form's captcha is long enough to pass. `html_text` decodes an HTML page as a browser does;
`charset_of` is the one reading of a Content-Type header's charset, for every decoder.
"""
from __future__ import annotations

import codecs
import re
from urllib.parse import urlsplit

from crawler.result import FetchError
from records.model import Outcome

_HEAD = 4096
_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF")

#: Markers of bot-protection challenge pages; one on a short page is decisive.
CHALLENGE_MARKERS = (
    "<title>just a moment...</title>", "cf-browser-verification", "cf_chl_opt", "/cdn-cgi/challenge-platform/",
    "attention required! | cloudflare", "_incapsula_resource", "sucuri website firewall", "ddos-guard",
    "checking your browser before accessing", "px-captcha", "enable javascript and cookies to continue",
)
_CAPTCHA = re.compile(r"g-recaptcha|h-captcha|cf-turnstile|captcha-delivery|data-sitekey", re.IGNORECASE)
_PASSWORD = re.compile(r"<input[^>]*type\s*=\s*[\"']?password", re.IGNORECASE)
_LOGIN_PATH = re.compile(r"(^|/)(log-?in|sign-?in|signin|auth|sso|session|account/login|users/sign_in|wp-login\.php)"
                         r"(/|\.|$|\?)", re.IGNORECASE)
_SCRIPT_STYLE = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
SHORT_PAGE_WORDS = 150


def kind(content: bytes, content_type: str = "") -> str:
    """'feed', 'json', 'html', 'image', 'xml' or 'other', from the body first, the header second."""
    head = content[:_HEAD].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head[:1] in (b"{", b"["):
        return "json"
    if any(marker in head for marker in _FEED_MARKERS):
        return "feed"
    if head.startswith((b"<!doctype html", b"<html")) or (b"<html" in head and b"<body" in content[:65536].lower()):
        return "html"
    if content.startswith(_IMAGE_MAGIC):
        return "image"
    if head.startswith(b"<?xml"):
        return "xml"
    if "html" in content_type and b"<" in head[:1]:
        return "html"
    return "other"


def visible_words(html: str) -> int:
    return len(_TAG.sub(" ", _SCRIPT_STYLE.sub(" ", html)).split())


def barrier(content: bytes, url: str) -> FetchError | None:
    """A `blocked` or `login_wall` FetchError when the HTML page is a challenge or a login form."""
    html = content[:512 * 1024].decode("utf-8", errors="replace")
    lowered = html.lower()
    marker = next((m for m in CHALLENGE_MARKERS if m in lowered), None)
    short = visible_words(html) < SHORT_PAGE_WORDS
    if marker and short:
        return FetchError(Outcome.BLOCKED, f"{url}: a bot-protection challenge page ({marker!r}) instead of content")
    if short and _CAPTCHA.search(html):
        return FetchError(Outcome.BLOCKED, f"{url}: a captcha page instead of content")
    if _PASSWORD.search(html) and (short or _LOGIN_PATH.search(urlsplit(url).path)):
        return FetchError(Outcome.LOGIN_WALL, f"{url}: a login form instead of content")
    return None


_BOM = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def charset_of(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header value, unquoted and in lower case; None when
    there is none or it is empty. Whether it names an encoding is `codec`'s question."""
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").strip().lower() or None
    return None


#: Python text codecs that are no page's charset: they refuse bytes, or decode a syntax rather than text.
NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


def codec(label: str | None) -> str | None:
    """Python's codec for an encoding label, mapped as browsers map it (latin-1 and ascii are
    windows-1252, gb2312 is gbk); None for a label no codec has."""
    if not label:
        return None
    label = label.strip().lower()
    if label in ("iso-8859-1", "latin1", "latin-1", "ascii", "us-ascii", "iso8859-1"):
        return "cp1252"
    if label in ("gb2312", "gb_2312-80"):
        return "gbk"
    try:
        found = codecs.lookup(label)
    except LookupError:
        return None
    # Python also names transforms and special codecs ("hex", "rot13", "idna", "undefined") that a
    # server's header or a page's <meta> may name: they decode no text, so they are no charset.
    return None if not getattr(found, "_is_text_encoding", True) or found.name in NOT_CHARSETS else found.name


def html_charset(content: bytes, content_type: str = "") -> str:
    """The encoding of an HTML page as a browser picks it: a byte-order mark, the charset of the
    Content-Type header, a `<meta charset>` (or http-equiv) in the first 4 KB, else UTF-8 when the
    bytes are UTF-8, else windows-1252."""
    for mark, name in _BOM:
        if content.startswith(mark):
            return name
    header = codec(charset_of(content_type))
    if header:
        return header
    meta = _META_CHARSET.search(content[:_HEAD])
    declared = codec(meta.group(1).decode("ascii", "replace")) if meta else None
    if declared:
        # bytes that spell out a <meta> in ASCII are no UTF-16: browsers read such a page as UTF-8
        return "utf-8" if declared.startswith("utf-16") else declared
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def html_text(content: bytes, content_type: str = "") -> str:
    """An HTML page's text, decoded with `html_charset`."""
    return content.decode(html_charset(content, content_type), errors="replace")
