"""A real HTTP server on 127.0.0.1 that misbehaves on purpose, for the crawler's fault tests.

    server = FaultServer({"/feed.xml": feed(rss(3)), "/flaky.xml": fail_first(2, feed(rss(1)))})
    with server:
        ... server.url + "/flaky.xml" ...
        server.hits["/flaky.xml"]     # how many requests that path saw
        server.requests                # (path, headers) of every request

A route is a function `(handler) -> None` that writes the whole answer itself, so it can stall,
trickle, lie about Content-Length or send a gzip bomb. The helpers below build the usual ones;
`feed` answers conditional requests (ETag from the body) with 304. Unknown paths answer 404,
`/robots.txt` too unless a route gives one. Threaded; `bytes_sent` counts what went on the wire.
"""
from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import Counter
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from schoolaudit.loopback import LoopbackServer

Route = Callable[[BaseHTTPRequestHandler], None]


class FaultServer(LoopbackServer):
    def __init__(self, routes: dict[str, Route] | None = None):
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: Counter = Counter()
        self.requests: list[tuple[str, dict]] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = urlsplit(self.path).path
                with server._lock:
                    server.hits[path] += 1
                    server.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(path) or server.routes.get(self.path)
                try:
                    (route or not_found)(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: that is the point of several routes

            def handle(self):
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass  # a client that hung up mid-request

            def write(self, data: bytes) -> None:
                self.wfile.write(data)
                with server._lock:
                    server.bytes_sent += len(data)

            def send_header(self, keyword, value):
                super().send_header(keyword, value)
                with server._lock:
                    server.bytes_sent += len(keyword) + len(str(value)) + 4

            def log_message(self, *args):
                pass

        return Handler


# -- answers -----------------------------------------------------------------------------------

def answer(handler, status: int, body: bytes = b"", headers: dict | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.write(body)


def not_found(handler) -> None:
    answer(handler, 404, b"not found", {"Content-Type": "text/plain"})


def static(status: int, body: bytes | str, content_type: str = "text/plain", headers: dict | None = None) -> Route:
    data = body.encode() if isinstance(body, str) else body
    return lambda h: answer(h, status, data, {"Content-Type": content_type, **(headers or {})})


def feed(body: bytes | str | Callable[[], bytes | str], content_type: str = "application/rss+xml") -> Route:
    """A feed with an ETag (hash of the body) and Last-Modified; 304 when the client already has it.

    `body` may be a function, read on every request, so a test can change the feed between runs.
    """
    def route(handler):
        data = body() if callable(body) else body
        data = data.encode() if isinstance(data, str) else data
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        answer(handler, 200, data, {"Content-Type": content_type, "ETag": etag,
                                    "Last-Modified": "Mon, 02 Mar 2026 10:00:00 GMT"})
    return route


def fail_first(times: int, then: Route, status: int = 500, headers: dict | None = None) -> Route:
    """`status` for the first `times` requests, then `then`."""
    count = {"n": 0}
    lock = threading.Lock()

    def route(handler):
        with lock:
            count["n"] += 1
            failing = count["n"] <= times
        if failing:
            answer(handler, status, b"try again", {"Content-Type": "text/plain", **(headers or {})})
        else:
            then(handler)
    return route


def retry_after_date(seconds: float) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds), usegmt=True)


def slow_body(body: bytes, seconds_per_byte: float = 0.2) -> Route:
    """Headers at once, then the body one byte at a time (each read is quick; the whole is not)."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            handler.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(seconds_per_byte)
    return route


def truncated(body: bytes, declared_extra: int = 1000) -> Route:
    """Content-Length larger than what is sent, then the connection is closed."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body) + declared_extra))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.write(body)
        handler.close_connection = True
    return route


def gzip_bomb(decompressed_bytes: int) -> Route:
    """A small gzip body that decompresses to `decompressed_bytes` zeros, served as a feed."""
    data = gzip.compress(b"\0" * decompressed_bytes, compresslevel=9)
    return lambda h: answer(h, 200, data, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})


def endless(chunk: bytes = b"<item>" * 1000, seconds: float = 30.0) -> Route:
    """A body with no Content-Length that keeps coming (until the client hangs up or `seconds` pass)."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            handler.write(chunk)
    return route


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: answer(h, status, b"", {"Location": location})


def stall(event: threading.Event, then: Route, seconds: float = 60.0) -> Route:
    """Wait (up to `seconds`) until `event` is set, then answer with `then`."""
    def route(handler):
        event.wait(seconds)
        then(handler)
    return route


# -- documents ---------------------------------------------------------------------------------

def rss(count: int, prefix: str = "post", skip: tuple[int, ...] = (), image: str | None = None,
        base: str = "https://school.example.org", words: int = 20) -> str:
    """An RSS 2.0 feed of `count` items (newest first), item i dated i hours before 2026-03-02 12:00."""
    items = []
    start = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    for i in range(count):
        if i in skip:
            continue
        date = format_datetime(start - timedelta(hours=i), usegmt=True)
        body = " ".join(["Students", "enjoyed", "the", "library", "reading", "week"] * (words // 6 + 1))[:words * 8]
        picture = f'<enclosure url="{image}" type="image/png" length="0"/>' if image else ""
        items.append(f"""<item><title>{prefix} {i}</title><link>{base}/{prefix}-{i}</link>
<guid>{base}/{prefix}-{i}</guid><pubDate>{date}</pubDate><description>{prefix} {i}: {body}</description>{picture}</item>""")
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{prefix}</title><link>{base}/</link><description>news</description>
{''.join(items)}
</channel></rss>"""


# -- a configuration folder for a board whose accounts live on the server -------------------------

def write_config(root, accounts: dict[str, str], platform: str = "rss", **crawl) -> Path:
    """A configuration folder in `root/config`: one club account per (id -> URL), [crawl] overridden.

    Tests keep retries fast: `retry_backoff_seconds` defaults to 0.01 here, unless given.
    """
    import re

    from schoolaudit.demo import write_demo_config

    config = write_demo_config(Path(root), "http://127.0.0.1")
    entries = "".join(f'''
[[accounts]]
id = "{account_id}"
name = "{account_id}"
kind = "club"
school = "lakeside"
platform = "{platform}"
url = "{url}"
''' for account_id, url in accounts.items())
    (config / "accounts.toml").write_text(f'''[board]
id = "test-board"
name = "Test Board"

[[schools]]
id = "lakeside"
name = "Lakeside Public School"
{entries}''')
    # The example's recipients name the example's schools; this board has only one, and one mailbox.
    (config / "recipients.toml").write_text('[[recipients]]\nemail = "communications@example.org"\nscope = "board"\n'
                                            'digests = ["nightly", "weekly", "alerts"]\n')
    crawl = {"retry_backoff_seconds": 0.01, **crawl}
    settings = (config / "settings.toml").read_text()
    for key, value in crawl.items():
        literal = str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, str) else str(value)
        line = f"{key} = {literal}"
        settings, found = re.subn(rf"(?m)^{key} = .*$", line, settings)
        if not found:
            settings = settings.replace("[crawl]\n", f"[crawl]\n{line}\n", 1)
    (config / "settings.toml").write_text(settings)
    return config
