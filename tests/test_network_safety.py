"""The crawler's network side under attack or damage, against real local servers (issue 10).

Untrusted hops: the board's configuration names the first request only. To make 127.0.0.1 count
as internal, these crawls run with `allow_private_addresses = false`: the configured server
(on 127.0.0.1) is still read, while every URL it names (a second server, also on 127.0.0.1,
plays the board's internal network) must be refused without a single request reaching it.
"""
from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import smtplib
import socket
import time
from pathlib import Path

import pytest

import crawler.addresses
from crawler import secrets
from crawler.http import ClientSettings, HttpClient
from crawler.result import FetchError
from faultserver import FaultServer, answer, feed, redirect, rss, static, write_config
from records.model import Outcome
from schoolaudit.app import load_app
from schoolaudit.mail import _safe_error
from schoolaudit.pipeline import Pipeline

STRICT = ClientSettings(timeout=2, retries=0, per_host_delay=0)
INTERNAL_FEED = rss(2, "internal", base="https://intranet.example")


def crawl(tmp_path: Path, accounts: dict[str, str], platform: str = "rss", api_base: str | None = None, **settings):
    """One pipeline run over `accounts` (id -> URL); the results by account id, and the app (closed)."""
    config = write_config(tmp_path, accounts, platform=platform, **settings)
    if api_base:
        _use_api_base(config, api_base)
    app = load_app(config)
    try:
        summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
        texts = [row[0] for row in app.store.db.execute("SELECT text FROM posts")]
    finally:
        app.close()
    return {r.account.id: r for r in summary.results}, texts


def _use_api_base(config: Path, api_base: str) -> None:
    path = config / "accounts.toml"
    path.write_text(path.read_text().replace('platform = "', f'api_base = "{api_base}"\nplatform = "'))


@pytest.fixture
def internal():
    """The board's internal network: anything that reaches it is a leak."""
    with FaultServer({"/feed.xml": feed(INTERNAL_FEED), "/robots.txt": static(200, "User-agent: *\nAllow: /\n"),
                      "/wp-json/wp/v2/posts": static(200, "[]", "application/json"),
                      "/statuses": static(200, "[]", "application/json")}) as server:
        yield server


def _next_page_feed(next_url: str) -> str:
    return rss(1, "public").replace("<channel>", f'<channel><atom:link xmlns:atom="http://www.w3.org/2005/Atom" '
                                                 f'rel="next" href="{next_url}"/>', 1)


def test_feed_hops_to_an_internal_address_are_refused_and_nothing_internal_is_stored(tmp_path, internal, caplog):
    # A redirect there ends the fetch. A next page is asked only of the feed's own host, and there
    # it is an untrusted hop like any other: refused without a request, keeping page 1.
    routes = {"/redirecting.xml": redirect(internal.url + "/feed.xml"),
              "/paged.xml": feed(_next_page_feed(internal.url + "/feed.xml")),
              "/same-host.xml": feed(_next_page_feed("/internal.xml")),
              "/internal.xml": feed(INTERNAL_FEED)}
    caplog.set_level(logging.INFO, logger="crawler.sources.feed")
    with FaultServer(routes) as board:
        results, texts = crawl(tmp_path, {"redirect": board.url + "/redirecting.xml",
                                          "next-page": board.url + "/paged.xml",
                                          "same-host": board.url + "/same-host.xml"}, allow_private_addresses=False)
    assert results["redirect"].outcome == "blocked", results["redirect"].detail
    assert "internal address" in results["redirect"].detail
    assert results["next-page"].outcome == results["same-host"].outcome == "ok"
    refused = [r.getMessage() for r in caplog.records if "next page" in r.getMessage()]
    assert len(refused) == 1 and "/internal.xml" in refused[0] and "internal address" in refused[0]
    assert internal.hits["/feed.xml"] == 0 and board.hits["/internal.xml"] == 0
    assert len(texts) == 2 and all(text.startswith("public 0") for text in texts)  # page 1 of each, once


def test_a_robots_txt_redirect_to_an_internal_address_is_refused(tmp_path, internal):
    with FaultServer({"/robots.txt": redirect(internal.url + "/robots.txt"), "/feed.xml": feed(rss(1))}) as board:
        results, _ = crawl(tmp_path, {"club": board.url + "/feed.xml"}, allow_private_addresses=False)
    assert results["club"].outcome == "blocked" and "robots.txt" in results["club"].detail
    assert internal.hits["/robots.txt"] == 0 and board.hits["/feed.xml"] == 0


def test_links_a_web_page_names_to_an_internal_address_are_refused(tmp_path, internal):
    page = """<html><head><title>Lakeside</title>{head}</head><body><main><p>Welcome to Lakeside.</p></main></body></html>"""
    routes = {
        "/wordpress": static(200, page.format(head=""), "text/html",
                             {"Link": f'<{internal.url}/wp-json/>; rel="https://api.w.org/"'}),
        "/alternate": static(200, page.format(head=f'<link rel="alternate" type="application/rss+xml" '
                                                   f'href="{internal.url}/feed.xml">'), "text/html"),
    }
    with FaultServer(routes) as board:
        results, texts = crawl(tmp_path, {"wordpress": board.url + "/wordpress", "alternate": board.url + "/alternate"},
                               platform="website", allow_private_addresses=False)
    assert {r.outcome for r in results.values()} == {"ok"}  # the page itself, read instead
    assert internal.hits["/wp-json/wp/v2/posts"] == 0 and internal.hits["/feed.xml"] == 0
    assert texts and not any("internal" in text for text in texts)


def test_a_mastodon_next_page_at_an_internal_address_is_refused(tmp_path, internal):
    status = {"id": "1", "url": "https://social.example/@school/1", "created_at": "2026-03-01T10:00:00Z",
              "content": "<p>Hello</p>", "account": {"acct": "school"}}
    routes = {"/api/v1/accounts/lookup": static(200, json.dumps({"id": "7"}), "application/json"),
              "/api/v1/accounts/7/statuses": static(200, json.dumps([status]), "application/json",
                                                    {"Link": f'<{internal.url}/statuses?max_id=1>; rel="next"'})}
    with FaultServer(routes) as board:
        results, texts = crawl(tmp_path, {"school": "@school@social.example"}, platform="mastodon",
                               api_base=board.url, allow_private_addresses=False, posts_per_account=5)
    assert results["school"].outcome == "blocked" and "internal address" in results["school"].detail
    assert internal.hits["/statuses"] == 0 and board.hits["/api/v1/accounts/7/statuses"] == 1


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    """Resolved once: a DNS answer that changes between check and connect changes nothing."""
    lookups = []
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "school.test":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.255.255.1"  # a rebinding DNS server
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(crawler.addresses, "is_internal", lambda address: address == "10.255.255.1")
    with FaultServer({"/news": static(200, "news")}) as server:
        port = server.url.rsplit(":", 1)[1]
        url = f"http://school.test:{port}/news"

        async def fetch():
            async with HttpClient("https://board.example/contact", settings=STRICT) as client:
                return await client.get(url, robots=False)

        fetched = asyncio.run(fetch())
    assert fetched.content == b"news" and lookups == ["school.test"]
    assert server.requests[0][1]["host"] == f"school.test:{port}"  # the Host header names the host


# -- invalid URLs ----------------------------------------------------------------------------------

def test_an_image_url_with_an_invalid_port_is_one_images_failure_not_the_runs(tmp_path, caplog):
    routes = {"/bad-port.xml": feed(rss(2, "club", image="http://images.example:99999/x.png")),
              "/good.xml": feed(rss(1, "other"))}
    with FaultServer(routes) as board:
        results, texts = crawl(tmp_path, {"club": board.url + "/bad-port.xml", "other": board.url + "/good.xml"})
    assert {account: r.outcome for account, r in results.items()} == {"club": "ok", "other": "ok"}
    assert len(texts) == 3
    assert "invalid URL" in caplog.text


@pytest.mark.parametrize("url, reason", [
    ("http://host:99999/x.png", "out of range"),
    ("ftp://host/x.png", "only http and https"),
    ("http://a\u2488b.example/", "idna"),
    ("http://exa mple.org/", "no valid host"),
    ("http://host.example/" + "a" * 9000, "longer than"),
])
def test_invalid_urls_are_a_malformed_outcome(url, reason):
    async def fetch():
        async with HttpClient("https://board.example/contact", settings=STRICT) as client:
            return await client.get(url)

    with pytest.raises(FetchError) as failed:
        asyncio.run(fetch())
    assert failed.value.outcome == Outcome.MALFORMED and reason in failed.value.detail.lower()


# -- truncated bodies ------------------------------------------------------------------------------

def test_a_truncated_gzip_feed_is_malformed_and_marks_nothing_removed(tmp_path):
    whole = gzip.compress(rss(6, "news").encode())
    state = {"body": whole}

    def route(handler):
        answer(handler, 200, state["body"], {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})

    with FaultServer({"/feed.xml": route}) as board:
        config = write_config(tmp_path, {"club": board.url + "/feed.xml"})
        app = load_app(config)
        pipeline = Pipeline(app.settings, app.policy, app.store)
        assert pipeline.run(app.registry.accounts, show_progress=False).results[0].outcome == "ok"
        state["body"] = whole[:len(whole) // 2]  # a complete HTTP answer whose gzip stream stops half-way
        result = pipeline.run(app.registry.accounts, show_progress=False).results[0]
        removed = app.store.db.execute("SELECT count(*) FROM posts WHERE removed_at IS NOT NULL").fetchone()[0]
        empty = app.store.db.execute("SELECT count(*) FROM posts WHERE text = ''").fetchone()[0]
        app.close()
    assert result.outcome == "malformed" and "truncated" in result.detail
    assert removed == 0 and empty == 0


# -- images: how many, and for how long ------------------------------------------------------------

def _gallery(count: int, base: str) -> str:
    images = "".join(f'&lt;img src="{base}/img{i}.png" alt="photo {i}"&gt;' for i in range(count))
    return rss(1, "gallery").replace("<description>gallery 0:", f"<description>{images}gallery 0:", 1)


def test_a_post_keeps_at_most_max_images_per_post(tmp_path):
    with FaultServer() as board:
        board.routes["/gallery.xml"] = feed(_gallery(30, board.url))
        results, _ = crawl(tmp_path, {"club": board.url + "/gallery.xml"}, max_images_per_post=4)
    assert results["club"].outcome == "ok"
    assert sum(board.hits[f"/img{i}.png"] for i in range(30)) == 4


def test_image_downloads_stop_at_the_accounts_deadline(tmp_path):
    def slow_image(handler):
        time.sleep(0.4)
        answer(handler, 404, b"")

    with FaultServer() as board:
        board.routes.update({f"/img{i}.png": slow_image for i in range(20)})
        board.routes["/gallery.xml"] = feed(_gallery(20, board.url))
        # The account's deadline: 3 x 0.5 s timeouts + 0 s of Retry-After = 1.5 s, about 4 images' worth.
        results, texts = crawl(tmp_path, {"club": board.url + "/gallery.xml"}, timeout_seconds=0.5,
                               max_retry_after_seconds=0, retries=0)
    assert results["club"].outcome == "ok" and len(texts) == 1  # the post is kept
    assert sum(board.hits[f"/img{i}.png"] for i in range(20)) <= 5


# -- secrets ---------------------------------------------------------------------------------------

TOKEN = "xtok-7Hq2Lw9Zp4Rk"


def test_a_token_an_api_error_echoes_is_not_stored_and_a_crlf_token_is_stripped(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_X_BEARER_TOKEN", TOKEN + "\r\n")  # an env file written on Windows
    echo = {"errors": [{"title": "Unauthorized", "type": "about:blank",
                        "detail": f"Bearer {TOKEN} is not valid (urlencoded {TOKEN}, "
                                  f"base64 {base64.b64encode(TOKEN.encode()).decode()})"}]}
    with FaultServer({"/users/by/username/school": static(200, json.dumps(echo), "application/json")}) as api:
        config = write_config(tmp_path, {"school": "school"}, platform="x")
        _use_api_base(config, api.url)
        app = load_app(config)
        result = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False).results[0]
        database = app.settings.database
        app.close()
    assert result.outcome == "error" and "Unauthorized" in result.detail
    assert api.requests[0][1]["authorization"] == f"Bearer {TOKEN}"
    stored = database.read_bytes()
    assert TOKEN.encode() not in stored and base64.b64encode(TOKEN.encode()) not in stored
    assert TOKEN not in result.detail


def test_every_encoding_of_a_secret_is_redacted(monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_FACEBOOK_TOKEN", "EAAB/token+value==\r\n")
    monkeypatch.setenv("SCHOOLAUDIT_SMTP_USER", "audit-bot")
    monkeypatch.setenv("SCHOOLAUDIT_SMTP_PASSWORD", "s3cret-Pa55word")
    plain = base64.b64encode(b"\0audit-bot\0s3cret-Pa55word").decode()
    inside = base64.b64encode(b"xBearer EAAB/token+value==").decode()  # the token at an odd offset
    text = (f"raw EAAB/token+value== url EAAB%2Ftoken%2Bvalue%3D%3D plain {plain} "
            f"login {base64.b64encode(b'audit-bot').decode()} {base64.b64encode(b's3cret-Pa55word').decode()} "
            f"nested {inside} ?access_token=abc")
    redacted = secrets.redact(text)
    for leak in ("EAAB/token", "EAAB%2Ftoken", plain, "YXVkaXQtYm90", "czNjcmV0LVBhNTV3b3Jk", "abc",
                 base64.b64encode(b"token+value").decode()[:8]):
        assert leak not in redacted, leak
    assert secrets.token("SCHOOLAUDIT_FACEBOOK_TOKEN") == "EAAB/token+value=="


def test_an_smtp_server_echoing_the_auth_plain_blob_is_redacted_in_the_delivery_error(monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_SMTP_USER", "audit-bot")
    monkeypatch.setenv("SCHOOLAUDIT_SMTP_PASSWORD", "s3cret-Pa55word")
    blob = base64.b64encode(b"\0audit-bot\0s3cret-Pa55word").decode()
    error = _safe_error(smtplib.SMTPAuthenticationError(535, f"5.7.8 AUTH PLAIN {blob} rejected".encode()))
    assert blob not in error and "535" in error


def test_log_records_are_redacted(monkeypatch, caplog):
    monkeypatch.setenv("SCHOOLAUDIT_INSTAGRAM_TOKEN", "IGQ-secret-token")
    previous = logging.getLogRecordFactory()
    secrets.install_log_redaction()
    try:
        logging.getLogger("crawler.test").warning("request to %s failed", "https://x/?q=IGQ-secret-token")
    finally:
        logging.setLogRecordFactory(previous)
    assert "request to" in caplog.text and "IGQ-secret-token" not in caplog.text


# -- windows -----------------------------------------------------------------------------------------

def test_a_website_read_another_way_after_a_failure_marks_nothing_removed(tmp_path):
    wp_posts = [{"id": n, "link": f"https://school.example.org/?p={n}", "date_gmt": "2026-02-01T10:00:00",
                 "title": {"rendered": f"Post {n}"}, "content": {"rendered": f"<p>Post {n} text</p>"}} for n in (1, 2)]
    api = {"answer": static(200, json.dumps(wp_posts), "application/json")}
    page = """<html><head><title>Lakeside</title></head><body><article><h2><a href="/news/a">News A</a></h2>
    <time datetime="2026-01-01T00:00:00Z">1 January</time><p>An older item on the page.</p></article>
    <article><h2><a href="/news/b">News B</a></h2><time datetime="2026-03-01T00:00:00Z">1 March</time>
    <p>A newer item: the API's posts fall between the two.</p></article></body></html>"""
    with FaultServer() as board:
        board.routes["/site"] = static(200, page, "text/html", {"Link": f'<{board.url}/wp-json/>; rel="https://api.w.org/"'})
        board.routes["/wp-json/wp/v2/posts"] = lambda handler: api["answer"](handler)
        config = write_config(tmp_path, {"school": board.url + "/site"}, platform="website", retries=0)
        app = load_app(config)
        pipeline = Pipeline(app.settings, app.policy, app.store)
        assert pipeline.run(app.registry.accounts, show_progress=False).results[0].posts_new == 2
        api["answer"] = static(500, "database error")  # the API fails one night: the page's items answer instead
        assert pipeline.run(app.registry.accounts, show_progress=False).results[0].outcome == "ok"
        removed = app.store.db.execute("SELECT count(*) FROM posts WHERE removed_at IS NOT NULL").fetchone()[0]
        app.close()
    assert removed == 0
