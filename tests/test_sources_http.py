"""Each source against a real HTTP server on 127.0.0.1 serving captured responses (tests/fixtures)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from localserver import LocalServer

from crawler.http import HttpClient
from crawler.result import FetchError
from records.model import Account, Outcome
from crawler.sources import SOURCES, source_class

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHANNEL = "UC9PBzalIcEQCsiIkq36PyUA"


def fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def fetch(platform: str, target: str, api_base: str | None = None, limit: int = 50):
    """Run the platform's source for one account through the shared HTTP client."""
    account = Account(id="acc", name="Test", kind="school", platform=platform, target=target, api_base=api_base)

    async def go():
        async with quick_client() as client:
            return await source_class(platform)(client, api_base=api_base).fetch(account, limit=limit)
    return asyncio.run(go())


def quick_client() -> HttpClient:
    """The shared client, without the politeness delays and retries that only slow a local test."""
    try:
        from crawler.http import ClientSettings
    except ImportError:  # a client without per-host settings
        return HttpClient("https://board.example/contact", timeout=10)
    return HttpClient("https://board.example/contact",
                      settings=ClientSettings(timeout=10, retries=0, per_host_delay=0, obey_robots=False,
                                              allow_private_addresses=True))


def asked(server: LocalServer) -> list:
    """The requests a source made (robots.txt, which the client may read first, left out)."""
    return [r for r in server.requests if r.path != "/robots.txt"]


def test_every_platform_has_a_source():
    for platform in ("rss", "atom", "jsonfeed", "website", "youtube", "mastodon", "bluesky", "facebook",
                     "instagram", "x"):
        assert source_class(platform).platform in (platform, "rss")
    assert set(SOURCES) >= {"website", "youtube", "mastodon", "bluesky", "facebook", "instagram", "x"}


# -- feeds -----------------------------------------------------------------------------------------

def _atom_page(base_entries: range, next_path: str | None) -> str:
    entries = "".join(
        f"<entry><id>urn:post:{n}</id><title>Post {n}</title><link href='/posts/{n}'/>"
        f"<updated>2025-01-{n:02d}T10:00:00Z</updated><content type='html'>&lt;p&gt;Body {n}"
        f"&lt;img src='/img/{n}.jpg' alt='photo {n}'&gt;&lt;/p&gt;</content></entry>" for n in base_entries)
    link = f"<link rel='next' href='{next_path}'/>" if next_path else ""
    return f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>{link}{entries}</feed>"


def test_feed_source_reads_a_real_feed_and_follows_next_pages():
    routes = {
        "/wordpress.xml": (200, {"Content-Type": "application/rss+xml"}, fixture("rss/nnw-natasha-wordpress.xml")),
        "/paged.atom": (200, {"Content-Type": "application/atom+xml"}, _atom_page(range(1, 4), "/paged.atom?page=2")),
        "/paged.atom?page=2": (200, {"Content-Type": "application/atom+xml"}, _atom_page(range(4, 7), None)),
    }
    with LocalServer(routes) as server:
        real = fetch("rss", server.url + "/wordpress.xml", limit=4)
        paged = fetch("atom", server.url + "/paged.atom", limit=5)
    assert [p.platform_id for p in real.posts][:1] == ["https://www.natashatherobot.com/?p=6602"]
    assert len(real.posts) == 4 and all(p.platform == "rss" for p in real.posts)
    # oldest first over two pages: the newest five are kept, newest first
    assert [p.platform_id for p in paged.posts] == [f"urn:post:{n}" for n in range(6, 1, -1)]
    assert paged.posts[1].url == server.url + "/posts/5"
    assert [(m.url, m.alt) for m in paged.posts[0].media] == [(server.url + "/img/6.jpg", "photo 6")]


def test_feed_that_is_no_feed_is_malformed():
    with LocalServer({"/feed": (200, {"Content-Type": "text/plain"}, "this is not a feed")}) as server:
        with pytest.raises(FetchError) as caught:
            fetch("rss", server.url + "/feed")
    assert caught.value.outcome == Outcome.MALFORMED and server.url + "/feed" in caught.value.detail


# -- website ---------------------------------------------------------------------------------------

def test_website_discovers_its_relative_feed_link():
    routes = {
        "/": (200, {"Content-Type": "text/html"}, fixture("html/nnw-daringfireball-home-relative-feed-link.html")),
        "/feeds/main": (200, {"Content-Type": "application/atom+xml"}, fixture("atom/nnw-daringfireball.atom")),
    }
    with LocalServer(routes) as server:
        result = fetch("website", server.url + "/", limit=10)
    assert [r.path for r in asked(server)] == ["/", "/feeds/main"]
    assert len(result.posts) == 10 and all(p.platform == "website" for p in result.posts)
    assert result.posts[0].title.startswith("The Talk Show: ‘I Do Like Throwing a Baby")


def test_website_uses_the_wordpress_rest_api_with_paging():
    post = json.loads(fixture("wordpress/dartwp-post-1787-embed-gallery.json"))

    def posts(request):
        page = int(request.query.get("page", "1"))
        items = []
        for n in range(2):
            item = dict(post, id=1000 + 2 * (page - 1) + n, link=f"http://school.example/?p={1000 + 2 * (page - 1) + n}")
            items.append(item)
        return 200, {"Content-Type": "application/json", "X-WP-TotalPages": "3"}, json.dumps(items)

    routes = {
        "/": (200, {"Content-Type": "text/html", "Link": '<{base}/wp-json/>; rel="https://api.w.org/"'},
              "<html><head><link rel='alternate' type='application/rss+xml' href='/feed/'></head><body></body></html>"),
        "/wp-json/wp/v2/posts": posts,
    }
    with LocalServer(routes) as server:
        result = fetch("website", server.url + "/", limit=5)
    assert [p.platform_id for p in result.posts] == ["1000", "1001", "1002", "1003", "1004"]
    api = [r for r in server.requests if r.path == "/wp-json/wp/v2/posts"]
    assert [r.query["page"] for r in api] == ["1", "2", "3"] and all("_embed" in r.query for r in api)
    assert "/feed/" not in [r.path for r in server.requests]  # the API was enough
    first = result.posts[0]
    assert first.title == "Block: Gallery" and first.created_at.isoformat() == "2018-11-03T03:55:09+00:00"
    assert first.media[0].url == "http://localhost/wp-content/uploads/2008/06/img_8399.jpg"
    assert first.media[0].alt == "Boat Barco Texture"


def test_website_falls_back_to_the_news_items_of_the_page():
    page = fixture("html/nnw-furbo-wordpress-blog-listing.html").replace(b"http://furbo.org/feed/", b"/feed/")
    with LocalServer({"/": (200, {"Content-Type": "text/html; charset=utf-8"}, page)}) as server:
        result = fetch("website", server.url + "/")
    assert "/feed/" in [r.path for r in server.requests]  # tried, 404, then the HTML
    assert [p.title for p in result.posts][:2] == ["The Forensic Shit Show", "Strapped In"]
    assert result.posts[1].url == "http://furbo.org/2015/12/29/strapped-in/"
    assert [(m.url, m.alt) for m in result.posts[1].media] == [
        ("http://furbo.org/wp-content/uploads/2015/12/AppleWatchBands.jpeg", "Apple Watch Bands")]


def test_website_page_without_items_is_one_post():
    html = ("<html><head><title>Springfield High</title></head><body><main><h1>Welcome</h1>"
            "<p>Our students won the robotics cup.</p><img src='/team.jpg' alt='The robotics team'></main></body></html>")
    with LocalServer({"/": (200, {"Content-Type": "text/html"}, html)}) as server:
        result = fetch("website", server.url + "/")
    assert len(result.posts) == 1
    post = result.posts[0]
    assert post.title == "Springfield High" and "robotics cup" in post.text
    assert [(m.url, m.alt) for m in post.media] == [(server.url + "/team.jpg", "The robotics team")]


# -- youtube ---------------------------------------------------------------------------------------

def test_youtube_channel_id_and_handle():
    feed = (200, {"Content-Type": "application/atom+xml"}, fixture("youtube/fj-google-user-videos-2015.xml"))
    handle_page = (200, {"Content-Type": "text/html"},
                   f'<html><head><link rel="alternate" type="application/rss+xml" title="RSS" '
                   f'href="{{base}}/feeds/videos.xml?channel_id={CHANNEL}"></head></html>')
    routes = {f"/feeds/videos.xml?channel_id={CHANNEL}": feed, "/@springfield": handle_page}
    with LocalServer(routes) as server:
        by_id = fetch("youtube", CHANNEL, api_base=server.url)
        by_handle = fetch("youtube", "@springfield", api_base=server.url, limit=3)
    assert len(by_id.posts) == 15 and len(by_handle.posts) == 3
    video = by_id.posts[0]
    assert video.platform_id == "5shykyfmb28" and video.url == "http://www.youtube.com/watch?v=5shykyfmb28"
    assert video.title == "The Google app: Questions Title" and video.text.startswith("A question is the most powerful")
    assert [(m.url, m.kind) for m in video.media] == [("https://i2.ytimg.com/vi/5shykyfmb28/hqdefault.jpg",
                                                       "video_thumbnail")]


# -- mastodon --------------------------------------------------------------------------------------

def _mastodon_routes():
    account_id = "117020565966271181"
    link1 = fixture("mastodon/mpy-account-statuses-page1.json.link.txt").decode().strip().replace("http://localhost:3000", "{base}")
    link2 = fixture("mastodon/mpy-account-statuses-page2-max_id.json.link.txt").decode().strip().replace("http://localhost:3000", "{base}")

    def statuses(request):
        if request.query.get("max_id") == "117020580489281910":
            return 200, {"Content-Type": "application/json", "Link": link2}, fixture("mastodon/mpy-account-statuses-page2-max_id.json")
        return 200, {"Content-Type": "application/json", "Link": link1}, fixture("mastodon/mpy-account-statuses-page1.json")

    def lookup(request):
        if request.query.get("acct", "").startswith("mastodonpy_test"):
            return 200, {"Content-Type": "application/json"}, fixture("mastodon/mpy-accounts-lookup.json")
        return 404, {"Content-Type": "application/json"}, fixture("mastodon/mpy-accounts-lookup-404.json")

    return {"/api/v1/accounts/lookup": lookup, f"/api/v1/accounts/{account_id}/statuses": statuses}


def test_mastodon_lookup_then_pages_by_link_header():
    with LocalServer(_mastodon_routes()) as server:
        result = fetch("mastodon", "@mastodonpy_test@localhost:3000", api_base=server.url, limit=8)
    lookups = [r for r in server.requests if r.path.endswith("/lookup")]
    assert lookups[0].query["acct"] == "mastodonpy_test@localhost:3000"
    pages = [r.query for r in server.requests if r.path.endswith("/statuses")]
    assert len(pages) == 2 and pages[1]["max_id"] == "117020580489281910" and pages[1]["limit"] == "3"
    assert len(result.posts) == 8
    assert [p.text for p in result.posts[:2]] == ["Toot number 9!", "Toot number 8!"]
    assert result.posts[5].text == "Toot number 4!"  # first status of the second page
    assert all(p.sensitive for p in result.posts)


def test_mastodon_profile_url_and_unknown_account():
    with LocalServer(_mastodon_routes()) as server:
        result = fetch("mastodon", "https://localhost:3000/@mastodonpy_test", api_base=server.url, limit=2)
        with pytest.raises(FetchError) as caught:
            fetch("mastodon", "@nobody@localhost:3000", api_base=server.url)
    assert len(result.posts) == 2
    assert caught.value.outcome == Outcome.NOT_FOUND and "@nobody@localhost:3000" in caught.value.detail


def test_mastodon_boost_shows_the_boosted_post():
    wrapper = json.loads(fixture("mastodon/mpy-status-reblog-wrapper.json"))
    routes = {
        "/api/v1/accounts/lookup": (200, {}, json.dumps({"id": "7"})),
        "/api/v1/accounts/7/statuses": (200, {"Content-Type": "application/json"}, json.dumps([wrapper])),
    }
    with LocalServer(routes) as server:
        post = fetch("mastodon", "admin@localhost:3000", api_base=server.url).posts[0]
    assert post.text == "rootin tooting and shootin"
    assert post.url == "http://localhost:3000/users/admin/statuses/117020569768720055/activity"
    assert post.repost_of.kind == "repost" and post.repost_of.handle == "@mastodonpy_test_2@localhost:3000"


# -- bluesky ---------------------------------------------------------------------------------------

def test_bluesky_pages_by_cursor():
    first = fixture("bluesky/atprotodart-getAuthorFeed-2023.json")
    thread = json.loads(fixture("bluesky/marshalx-getPostThread-recordWithMedia.json"))
    second = json.dumps({"feed": [{"post": thread["thread"]["post"]}]})  # the last page: no cursor

    def author_feed(request):
        if request.query.get("actor") != "shinyakato.dev":
            return 400, {"Content-Type": "application/json"}, '{"error":"InvalidRequest","message":"Profile not found"}'
        body = second if request.query.get("cursor") else first
        return 200, {"Content-Type": "application/json"}, body

    with LocalServer({"/xrpc/app.bsky.feed.getAuthorFeed": author_feed}) as server:
        result = fetch("bluesky", "@shinyakato.dev", api_base=server.url, limit=100)
        with pytest.raises(FetchError) as caught:
            fetch("bluesky", "https://bsky.app/profile/nobody.example", api_base=server.url)
    cursors = [r.query.get("cursor") for r in server.requests if r.query.get("actor") == "shinyakato.dev"]
    assert cursors == [None, json.loads(first)["cursor"]]
    assert len(result.posts) == 26
    assert sum(1 for p in result.posts if p.repost_of and p.repost_of.kind == "repost") == 2
    quote = result.posts[-1]
    assert quote.repost_of.kind == "quote" and quote.repost_of.handle == "@test.marshal.dev"
    assert quote.url == "https://bsky.app/profile/test.marshal.dev/post/3kaheyt6vpc22"
    assert caught.value.outcome == Outcome.NOT_FOUND


def test_bluesky_unreadable_answer_is_malformed():
    with LocalServer({"/xrpc/app.bsky.feed.getAuthorFeed": (200, {}, "<html>maintenance</html>")}) as server:
        with pytest.raises(FetchError) as caught:
            fetch("bluesky", "school.example", api_base=server.url)
    assert caught.value.outcome == Outcome.MALFORMED and "getAuthorFeed" in caught.value.detail


# -- token platforms -------------------------------------------------------------------------------

def test_instagram_business_discovery(monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_INSTAGRAM_TOKEN", "ig-secret-token")
    monkeypatch.delenv("SCHOOLAUDIT_INSTAGRAM_USER_ID", raising=False)
    routes = {
        "/me": (200, {}, json.dumps({"id": "1", "instagram_business_account": {"id": "17841400"}})),
        "/17841400": (200, {}, fixture("instagram/pyfb-business-discovery-media-p1.json")),
    }
    with LocalServer(routes) as server:
        result = fetch("instagram", "@facebookfordevelopers", api_base=server.url, limit=2)
    discovery = [r for r in server.requests if r.path == "/17841400"][0]
    assert "business_discovery.username(facebookfordevelopers)" in discovery.query["fields"]
    assert all(r.headers.get("authorization") == "Bearer ig-secret-token" for r in asked(server))
    assert not any("ig-secret-token" in r.raw_query for r in server.requests)
    assert [p.url for p in result.posts] == ["https://www.instagram.com/p/CSr71Gzlqo4/",
                                             "https://www.instagram.com/p/CSpNPqgFxE0/"]
    assert result.posts[0].text.startswith("To attract new players")


def test_x_user_tweets_with_expansions(monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_X_BEARER_TOKEN", "x-secret")
    page = fixture("x/twarc-search-recent-page-100.jsonl")
    routes = {
        "/2/users/by/username/springfieldhs": (200, {}, json.dumps({"data": {"id": "42", "username": "springfieldhs"}})),
        "/2/users/42/tweets": (200, {"Content-Type": "application/json"}, page),
    }
    with LocalServer(routes) as server:
        result = fetch("x", "https://x.com/springfieldhs", api_base=server.url + "/2", limit=100)
    tweets = [r for r in server.requests if r.path == "/2/users/42/tweets"][0]
    assert "referenced_tweets.id" in tweets.query["expansions"] and "alt_text" in tweets.query["media.fields"]
    assert len(result.posts) == 100
    reposts = [p for p in result.posts if p.repost_of and p.repost_of.kind == "repost"]
    assert len(reposts) == 42 and not any(p.text.startswith("RT @") for p in reposts if p.text)


@pytest.mark.parametrize("status, outcome", [(401, Outcome.AUTH_MISSING), (403, Outcome.BLOCKED),
                                             (429, Outcome.RATE_LIMITED)])
def test_x_errors_map_to_outcomes(monkeypatch, status, outcome):
    monkeypatch.setenv("SCHOOLAUDIT_X_BEARER_TOKEN", "x-secret")
    routes = {"/2/users/by/username/springfieldhs": (status, {"Retry-After": "60"}, '{"title":"error"}')}
    with LocalServer(routes) as server:
        with pytest.raises(FetchError) as caught:
            fetch("x", "springfieldhs", api_base=server.url + "/2")
    assert caught.value.outcome == outcome and "x-secret" not in caught.value.detail


def test_x_unknown_user_is_not_found(monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_X_BEARER_TOKEN", "x-secret")
    body = json.dumps({"errors": [{"value": "nobody", "detail": "Could not find user with username: [nobody].",
                                   "title": "Not Found Error", "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    with LocalServer({"/2/users/by/username/nobody": (200, {}, body)}) as server:
        with pytest.raises(FetchError) as caught:
            fetch("x", "@nobody", api_base=server.url + "/2")
    assert caught.value.outcome == Outcome.NOT_FOUND and "Could not find user" in caught.value.detail
