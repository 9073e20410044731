"""Faults against a real local HTTP server: each account ends in the right recorded outcome, the
others still complete, and `schoolaudit accounts status` shows it."""
from __future__ import annotations

import sqlite3

import pytest

from faultserver import (
    FaultServer, endless, fail_first, feed, gzip_bomb, redirect, retry_after_date, rss, slow_body, static,
    truncated, write_config,
)
from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.pipeline import Pipeline

LOGIN_PAGE = """<!doctype html><html><head><title>Sign in</title></head><body>
<form method="post" action="/session"><label>Email <input type="email" name="user"></label>
<label>Password <input type="password" name="password"></label><button>Sign in</button></form></body></html>"""
CHALLENGE_PAGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head><body>
<div id="challenge"><noscript>Enable JavaScript and cookies to continue</noscript></div>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>"""
SCHOOL_PAGE = """<!doctype html><html><head><title>Lakeside PS</title></head><body><h1>Lakeside news</h1>
<p>Welcome to Lakeside Public School.</p></body></html>"""
ROBOTS = "User-agent: *\nDisallow: /private/\n"



def faults() -> dict:
    """account id: (path, route, expected outcome, words expected in the detail); fresh routes each time."""
    return {
        "good": ("/good.xml", feed(rss(3, "good")), "ok", ""),
        "flaky-500": ("/flaky.xml", fail_first(2, feed(rss(2, "flaky"))), "ok", ""),
        "rate-limited-briefly": ("/brief-429.xml", fail_first(1, feed(rss(1, "brief")), 429, {"Retry-After": "0"}),
                                 "ok", ""),
        "retry-after-date": ("/date-503.xml", fail_first(1, feed(rss(1, "dated")), 503,
                                                         {"Retry-After": retry_after_date(-5)}), "ok", ""),
        "rate-limited-long": ("/long-429.xml", static(429, "slow down", headers={"Retry-After": "3600"}),
                              "rate_limited", "3600"),
        "always-500": ("/down.xml", static(500, "oops"), "error", "HTTP 500"),
        "slow-body": ("/slow.xml", slow_body(rss(1, "slow").encode(), 0.05), "timeout", "within"),
        "truncated": ("/truncated.xml", truncated(rss(2, "cut").encode()), "malformed", "truncated"),
        "gzip-bomb": ("/bomb.xml", gzip_bomb(50_000_000), "malformed", "once decompressed"),
        "redirect-loop": ("/loop-a.xml", redirect("/loop-b.xml"), "error", "redirect loop"),
        "html-not-feed": ("/page.xml", static(200, SCHOOL_PAGE, "text/html"), "malformed", "HTML page"),
        "login-wall": ("/members.xml", static(200, LOGIN_PAGE, "text/html"), "login_wall", "login form"),
        "challenge": ("/guarded.xml", static(403, CHALLENGE_PAGE, "text/html"), "blocked", "bot-protection"),
        "huge-declared": ("/huge.xml", static(200, b"<rss>" + b" " * 300_000, "application/rss+xml"), "malformed",
                          "exceeds"),
        "huge-streamed": ("/endless.xml", endless(seconds=10), "malformed", "exceeds"),
        "invalid-xml": ("/invalid.xml", static(200, "<rss><channel><item><title>unclosed", "application/rss+xml"),
                        "malformed", ""),
        "robots-disallowed": ("/private/feed.xml", feed(rss(1, "secret")), "blocked", "robots.txt"),
        "gone": ("/gone.xml", static(410, "gone"), "not_found", "HTTP 410"),
    }


FAULTS = faults()


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    """One crawl of every fault at once (module-wide: the tests below read it; only one runs again)."""
    tmp_path = tmp_path_factory.mktemp("faults")
    routes = {path: route for path, route, _, _ in faults().values()}
    routes["/loop-b.xml"] = redirect("/loop-a.xml")
    routes["/robots.txt"] = static(200, ROBOTS)
    with FaultServer(routes) as server:
        config = write_config(tmp_path, {account: server.url + path for account, (path, *_) in FAULTS.items()},
                              timeout_seconds=2.0, max_body_bytes=200_000, retries=2,
                              per_host_concurrency=4, concurrency=8)
        app = load_app(config)
        summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
        yield server, config, app, summary
        app.close()


def test_every_fault_ends_in_its_outcome_and_the_others_complete(fault_run):
    server, _, app, summary = fault_run
    results = {r.account.id: r for r in summary.results}
    assert set(results) == set(FAULTS)
    for account, (_, _, outcome, words) in FAULTS.items():
        assert results[account].outcome == outcome, (account, results[account].detail)
        assert words in results[account].detail, (account, results[account].detail)
    # The accounts that answered after retries have their posts, like the good one.
    posts = dict(app.store.db.execute("SELECT account_id, count(*) FROM posts GROUP BY account_id").fetchall())
    assert posts == {"good": 3, "flaky-500": 2, "rate-limited-briefly": 1, "retry-after-date": 1}
    # Every outcome is recorded in the database, not only returned.
    recorded = dict(app.store.db.execute("SELECT account_id, outcome FROM account_checks").fetchall())
    assert recorded == {account: outcome for account, (_, _, outcome, _) in FAULTS.items()}


def test_retries_are_counted_and_bounded(fault_run):
    server, *_ = fault_run
    assert server.hits["/flaky.xml"] == 3  # two 500s, then the feed
    assert server.hits["/brief-429.xml"] == 2
    assert server.hits["/down.xml"] == 3  # the first try and crawl.retries = 2 retries
    assert server.hits["/long-429.xml"] == 1  # a Retry-After beyond the cap is not waited for
    assert server.hits["/gone.xml"] == 1  # a 4xx is not retried
    assert server.hits["/private/feed.xml"] == 0  # disallowed by robots.txt: never requested
    assert server.hits["/robots.txt"] == 1  # once per host per run
    assert server.hits["/loop-a.xml"] == 1 and server.hits["/loop-b.xml"] == 1


def test_every_request_names_schoolaudit_and_the_contact_url(fault_run):
    server, _, app, _ = fault_run
    agents = {headers.get("user-agent") for _, headers in server.requests}
    assert agents == {f"schoolaudit/0.1 (+{app.settings.contact_url})"}


def test_accounts_status_shows_each_outcome_as_a_table(fault_run, capsys):
    _, config, _, _ = fault_run
    assert main(["--config", str(config), "accounts", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["ACCOUNT", "OUTCOME", "CHECKED"]
    rows = {line.split()[0]: line.split(maxsplit=5) for line in lines[1:len(FAULTS) + 1]}
    assert set(rows) == set(FAULTS)
    for account, (_, _, outcome, words) in FAULTS.items():
        assert rows[account][1] == outcome
        assert words in rows[account][-1]
    assert rows["good"][4] == "3" and rows["gone"][4] == "-"
    assert lines[-1].startswith(f"{len(FAULTS)} accounts: 4 ok, {len(FAULTS) - 4} could not be checked (")
    assert "2 blocked, 2 error, 1 login_wall, 6 malformed" in lines[-1]


def test_a_second_crawl_of_unchanged_feeds_is_answered_by_304(fault_run):
    server, _, app, first = fault_run
    before = app.store.db.execute("SELECT count(*) FROM post_versions").fetchone()[0]
    requests_before = len(server.requests)
    second = Pipeline(app.settings, app.policy, app.store).run([app.registry.get("good")], show_progress=False)
    (result,) = second.results
    assert result.outcome == "ok" and result.detail == "not modified since the last crawl"
    assert result.posts_new == result.posts_changed == result.findings_new == 0
    (path, headers), = server.requests[requests_before + 1:]  # after this run's robots.txt
    assert path == "/good.xml" and headers["if-none-match"]
    assert app.store.db.execute("SELECT count(*) FROM post_versions").fetchone()[0] == before


def test_validators_of_a_body_that_failed_to_parse_are_not_remembered(fault_run):
    server, _, app, _ = fault_run
    remembered = {url for (url,) in app.store.db.execute("SELECT url FROM http_validators")}
    assert remembered == {server.url + "/good.xml", server.url + "/flaky.xml", server.url + "/brief-429.xml",
                          server.url + "/date-503.xml"}


def test_a_malformed_feed_is_fetched_in_full_again_once_repaired(tmp_path):
    body = {"text": "<rss><channel><item><title>broken"}
    with FaultServer({"/feed.xml": feed(lambda: body["text"])}) as server:
        config = write_config(tmp_path, {"club": server.url + "/feed.xml"})
        app = load_app(config)
        pipeline = Pipeline(app.settings, app.policy, app.store)
        assert pipeline.run(app.registry.accounts, show_progress=False).results[0].outcome == "malformed"
        body["text"] = rss(2, "fixed")
        result = pipeline.run(app.registry.accounts, show_progress=False).results[0]
        assert result.outcome == "ok" and result.posts_new == 2
        feed_requests = [headers for path, headers in server.requests if path == "/feed.xml"]
        assert "if-none-match" not in feed_requests[1]
        app.close()


def test_a_removed_post_is_marked_and_restored(tmp_path):
    skipped: dict = {"items": ()}
    with FaultServer({"/feed.xml": feed(lambda: rss(4, "news", skip=skipped["items"]))}) as server:
        config = write_config(tmp_path, {"club": server.url + "/feed.xml"})
        app = load_app(config)
        pipeline = Pipeline(app.settings, app.policy, app.store)

        def removed() -> dict:
            return dict(app.store.db.execute("SELECT url, removed_at FROM posts").fetchall())

        pipeline.run(app.registry.accounts, show_progress=False)
        assert len(removed()) == 4 and not any(removed().values())
        skipped["items"] = (1,)  # news 1 disappears while news 0 and 2 (around it) are still served
        pipeline.run(app.registry.accounts, show_progress=False)
        gone = removed()
        assert gone["https://school.example.org/news-1"] is not None
        assert [url for url, at in gone.items() if at] == ["https://school.example.org/news-1"]
        last_seen = app.store.db.execute("SELECT last_seen FROM posts WHERE url LIKE '%news-1'").fetchone()[0]
        assert last_seen < gone["https://school.example.org/news-1"]
        skipped["items"] = ()  # it comes back
        pipeline.run(app.registry.accounts, show_progress=False)
        assert not any(removed().values())
        app.close()


def test_an_unused_shared_host_is_asked_for_robots_once_even_when_accounts_run_together(tmp_path):
    routes = {f"/f{i}.xml": feed(rss(1, f"f{i}")) for i in range(6)}
    routes["/robots.txt"] = static(200, "User-agent: schoolaudit\nCrawl-delay: 0\nDisallow: /nothing\n")
    with FaultServer(routes) as server:
        config = write_config(tmp_path, {f"club-{i}": f"{server.url}/f{i}.xml" for i in range(6)},
                              per_host_concurrency=3)
        app = load_app(config)
        summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
        assert {r.outcome for r in summary.results} == {"ok"}
        assert server.hits["/robots.txt"] == 1
        app.close()
