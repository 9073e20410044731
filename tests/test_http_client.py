"""The polite client against real local servers: robots.txt, per-host limits, SSRF on redirects,
decompression limits, content sniffing, retries; and images stored once by sha256."""
from __future__ import annotations

import asyncio
import gzip
import io
import threading
import time
from datetime import datetime, timezone

import pytest
from PIL import Image

from crawler.http import ClientSettings, HttpClient, _Decoder
from crawler.media import MediaFetcher
from crawler.result import FetchError
from records.model import Media, Outcome, Post
from crawler.retry import parse_retry_after
from crawler.sniff import barrier, kind
from records.store import Store
from crawler.throttle import HostThrottle
from faultserver import FaultServer, answer, feed, redirect, rss, static

# The local servers of these tests are on 127.0.0.1: private addresses are allowed unless a test says otherwise.
FAST = ClientSettings(timeout=2, retries=2, backoff=0.01, per_host_delay=0, allow_private_addresses=True)
STRICT = ClientSettings(timeout=2, retries=0, per_host_delay=0)


def run(coroutine):
    return asyncio.run(coroutine)


async def _get(url: str, settings: ClientSettings = FAST, **kwargs):
    async with HttpClient("https://board.example/contact", settings=settings) as client:
        return await client.get(url, **kwargs)


# -- robots.txt --------------------------------------------------------------------------------

def test_robots_disallow_blocks_pages_but_not_api_calls():
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: schoolaudit\nDisallow: /private/\n"
    with FaultServer({"/robots.txt": static(200, robots), "/private/a": static(200, "a"),
                      "/public/b": static(200, "b")}) as server:
        async def crawl():
            async with HttpClient("https://board.example/contact", settings=FAST) as client:
                with pytest.raises(FetchError) as refused:
                    await client.get(server.url + "/private/a")
                public = await client.get(server.url + "/public/b")
                api = await client.get(server.url + "/private/a", robots=False)  # a platform's API
                return refused.value, public, api

        refused, public, api = run(crawl())
    assert refused.outcome == Outcome.BLOCKED and "disallowed by robots.txt" in refused.detail
    assert public.content == b"b" and api.content == b"a"
    assert server.hits["/robots.txt"] == 1 and server.hits["/private/a"] == 1


def test_robots_crawl_delay_becomes_the_hosts_minimum_delay():
    with FaultServer({"/robots.txt": static(200, "User-agent: *\nCrawl-delay: 0.05\n"),
                      "/a": static(200, "a")}) as server:
        async def crawl():
            async with HttpClient("https://board.example/contact", settings=FAST) as client:
                await client.get(server.url + "/a")
                return client.throttle.min_interval(server.url + "/a")

        assert run(crawl()) == 0.05


def test_an_unreachable_robots_txt_disallows_the_host_and_a_missing_one_allows_it():
    with FaultServer({"/robots.txt": static(503, "down"), "/a": static(200, "a")}) as down:
        with pytest.raises(FetchError) as refused:
            run(_get(down.url + "/a"))
    assert refused.value.outcome == Outcome.BLOCKED and "robots.txt unreachable" in refused.value.detail
    assert down.hits["/a"] == 0
    with FaultServer({"/a": static(200, "a")}) as missing:  # /robots.txt answers 404
        assert run(_get(missing.url + "/a")).content == b"a"


# -- per-host limits ---------------------------------------------------------------------------

def test_at_most_per_host_concurrency_requests_run_at_once_against_one_host():
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def slow(handler):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        answer(handler, 200, b"ok")

    with FaultServer({f"/p{i}": slow for i in range(8)}) as server:
        async def crawl():
            settings = ClientSettings(timeout=5, retries=0, per_host_concurrency=2, per_host_delay=0,
                                      allow_private_addresses=True)
            async with HttpClient("https://board.example/contact", settings=settings) as client:
                await asyncio.gather(*(client.get(f"{server.url}/p{i}") for i in range(8)))

        run(crawl())
    assert state["most"] == 2


def test_the_configured_delay_applies_to_remote_hosts_not_to_loopback():
    throttle = HostThrottle(concurrency=1, delay=0.5)
    assert throttle.min_interval("https://school.example.org/feed") == 0.5
    assert throttle.min_interval("http://127.0.0.1:8080/feed") == 0.0
    throttle.set_crawl_delay("http://127.0.0.1:8080/robots.txt", 3)
    assert throttle.min_interval("http://127.0.0.1:8080/other") == 3  # a host's own Crawl-delay always counts


# -- retries -----------------------------------------------------------------------------------

def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Mon, 02 Mar 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("Mon, 02 Mar 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_a_refused_connection_is_retried_then_reported():
    with FaultServer() as server:
        url = server.url
    with pytest.raises(FetchError) as failed:  # the server is gone: connection refused
        run(_get(url + "/feed.xml", robots=False))
    assert failed.value.outcome == Outcome.ERROR and "ConnectError" in failed.value.detail


# -- SSRF --------------------------------------------------------------------------------------

def test_a_redirect_from_a_configured_url_to_an_internal_one_is_refused():
    with FaultServer({"/secret": static(200, "internal data")}) as internal:
        with FaultServer({"/feed.xml": redirect(internal.url + "/secret")}) as configured:
            with pytest.raises(FetchError) as refused:  # the configuration names the first hop only
                run(_get(configured.url + "/feed.xml", STRICT, trusted=True))
    assert refused.value.outcome == Outcome.BLOCKED and "internal address" in refused.value.detail
    assert configured.hits["/feed.xml"] == 1 and internal.hits["/secret"] == 0


def test_an_internal_url_the_configuration_did_not_name_is_refused_before_any_request():
    with FaultServer({"/x": static(200, "x")}) as server:
        with pytest.raises(FetchError) as refused:
            run(_get(server.url + "/x", STRICT))
    assert refused.value.outcome == Outcome.BLOCKED and server.hits["/x"] == 0


# -- bodies ------------------------------------------------------------------------------------

def test_a_gzip_bomb_is_cut_at_the_limit_of_decompressed_bytes():
    bomb = gzip.compress(b"\0" * 20_000_000)
    decoder = _Decoder("gzip", "http://x/bomb")
    out = decoder.decode(bomb, 100_000)
    assert len(out) == 100_001  # one byte over the room is enough to know; no more is produced


def test_gzip_and_deflate_bodies_are_decompressed():
    text = rss(2, "zipped").encode()
    two_members = gzip.compress(text[:100]) + gzip.compress(text[100:])
    import zlib
    routes = {"/gz.xml": lambda h: answer(h, 200, two_members, {"Content-Encoding": "gzip"}),
              "/deflate.xml": lambda h: answer(h, 200, zlib.compress(text), {"Content-Encoding": "deflate"})}
    with FaultServer(routes) as server:
        assert run(_get(server.url + "/gz.xml")).content == text
        assert run(_get(server.url + "/deflate.xml")).content == text


def test_content_is_sniffed_not_taken_from_the_header():
    assert kind(rss(1).encode(), "text/html") == "feed"  # a feed served as text/html is still a feed
    assert kind(b"<!DOCTYPE html><html><body>hi</body></html>", "application/rss+xml") == "html"
    assert kind(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "text/plain") == "json"


def test_a_long_page_with_a_staff_login_box_or_a_contact_captcha_is_content():
    news = " ".join(["Our students read forty books this term and visited the public library."] * 30)
    page = f"""<html><body><form><input name=u><input type="password" name=p></form>
    <main><p>{news}</p></main><div class="g-recaptcha" data-sitekey="x"></div></body></html>"""
    assert barrier(page.encode(), "https://school.example.org/") is None
    short = '<html><body><form><input type="password"></form></body></html>'
    assert barrier(short.encode(), "https://school.example.org/").outcome == Outcome.LOGIN_WALL


def test_an_html_page_where_an_image_was_expected_is_refused():
    with FaultServer({"/img.png": static(200, "<!doctype html><html><body>Not here</body></html>",
                                         "image/png")}) as server:
        with pytest.raises(FetchError) as refused:
            run(_get(server.url + "/img.png", expect="image"))
    assert refused.value.outcome == Outcome.MALFORMED and "HTML page" in refused.value.detail


# -- images stored once ------------------------------------------------------------------------

def _png(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, "PNG")
    return buffer.getvalue()


def test_images_are_downloaded_once_and_identical_bytes_are_stored_once(tmp_path):
    red, blue = _png("red"), _png("blue")
    routes = {"/a.png": static(200, red, "image/png"), "/copy-of-a.png": static(200, red, "image/png"),
              "/b.png": static(200, blue, "image/png")}
    with FaultServer(routes) as server:
        store = Store(tmp_path / "db.sqlite")

        def post(number: int, *paths: str) -> Post:
            return Post("club", "rss", str(number), None, None, "text",
                        media=[Media(server.url + path) for path in paths])

        posts = [post(1, "/a.png", "/b.png"), post(2, "/a.png"), post(3, "/copy-of-a.png")]

        async def attach():
            async with HttpClient("https://board.example/contact", settings=FAST) as client:
                fetcher = MediaFetcher(client, store, tmp_path / "media")
                await fetcher.attach(posts)
                await fetcher.attach([post(4, "/a.png")])  # a later post: known URL, no request

        run(attach())
        store.close()
    files = sorted(p.name for p in (tmp_path / "media").rglob("*.png"))
    assert len(files) == 2  # red once (two URLs, three posts), blue once
    assert server.hits["/a.png"] == 1 and server.hits["/copy-of-a.png"] == 1
    assert posts[0].media[0].path == posts[1].media[0].path == posts[2].media[0].path
    assert posts[0].media[1].sha256 != posts[0].media[0].sha256


def test_requests_at_once_to_one_host_each_get_a_connection_and_keep_it(monkeypatch):
    """40 feeds, 4 at a time (the host's limit): each request has a connection of its own, and the 4
    kept-alive connections carry all 40, each request placed once (crawler.addresses.LinearPool
    overrides a private method of httpcore 1.0, whose own pool placed these 48 times: an httpcore
    that renamed it would fail here)."""
    from httpcore._async.connection_pool import AsyncPoolRequest

    placements = []
    assign = AsyncPoolRequest.assign_to_connection
    monkeypatch.setattr(AsyncPoolRequest, "assign_to_connection",
                        lambda self, connection: placements.append(connection) or assign(self, connection))
    connections = set()
    served = feed(rss(2))

    def counted(handler):
        connections.add(handler.client_address)
        served(handler)

    async def forty_gets(base):
        settings = ClientSettings(timeout=5, retries=0, per_host_delay=0, per_host_concurrency=4,
                                  allow_private_addresses=True)
        async with HttpClient("https://board.example/contact", settings=settings) as client:
            answers = await asyncio.gather(*(client.get(f"{base}/feed/{n}.xml", trusted=True, robots=False)
                                             for n in range(40)))
            return [answer.status for answer in answers]

    with FaultServer({f"/feed/{n}.xml": counted for n in range(40)}) as server:
        assert run(forty_gets(server.url)) == [200] * 40
    assert len(connections) == 4
    assert len(placements) == 40


def test_a_304_answer_keeps_its_connection_for_the_next_request():
    connections = set()
    unchanged = feed(rss(2))

    def counted(handler):
        connections.add(handler.client_address)
        unchanged(handler)

    class Known:  # the validators the store would give back: the feed is unchanged since the last run
        etag = None

        def validators(self, url):
            return {"etag": self.etag}

    async def five_conditional_gets(url):
        cache = Known()
        async with HttpClient("https://board.example/contact", cache=cache, settings=FAST) as client:
            cache.etag = (await client.get(url, trusted=True, robots=False)).headers["etag"]
            return [(await client.get(url, trusted=True, robots=False)).status for _ in range(5)]

    with FaultServer({"/feed.xml": counted}) as server:
        assert run(five_conditional_gets(server.url + "/feed.xml")) == [304] * 5
    assert len(connections) == 1, "every request after a 304 should reuse the one kept-alive connection"
