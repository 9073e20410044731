"""Every source parses the real captured responses in tests/fixtures/<platform>/ as recorded.

Beside each fixture, `<name>.expected.json` (feedparser style) holds what its parser must give:
the parser and document URL, the post count, counts of reposts / quotes / images, and for the
first posts their id, url, created_at, a text prefix, images (url + alt) and repost_of. A fixture
that must be rejected instead holds `"error": "<outcome>"`. Fixtures come unchanged from
MIT / BSD / Apache-licensed projects (tests/fixtures/SOURCES.md); the GPL and unlicensed captures
in ../shared/fixtures are checked in place by the last tests here, skipped when that folder is absent.

Regenerate a missing expected file with `python tests/test_sources_conformance.py FIXTURE URL`,
then read it against the fixture before committing it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from crawler.result import FetchError
from records.model import Post
from crawler.sources import source_class

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: fixture folder -> the platform whose source reads it (WordPress answers and pages are the website's)
FOLDERS = {"rss": "rss", "atom": "atom", "jsonfeed": "jsonfeed", "youtube": "youtube", "mastodon": "mastodon",
           "bluesky": "bluesky", "wordpress": "website", "html": "website", "facebook": "facebook",
           "instagram": "instagram", "x": "x"}
PLATFORMS = tuple(FOLDERS)
FIRST = 3  # posts described in full
PREFIX = 60  # characters of text compared


def parse_fixture(folder: str, body: bytes, url: str) -> list[Post]:
    """The posts the platform's source reads from one captured document, as `fetch` would."""
    return source_class(FOLDERS[folder]).parse(body, "acc", url)


def describe(posts: list[Post], parser: str, url: str) -> dict:
    """The expected-file form of a parse."""
    def one(post: Post) -> dict:
        return {
            "id": post.platform_id,
            "url": post.url,
            "created_at": post.created_at.isoformat() if post.created_at else None,
            "title": post.title[:PREFIX],
            "text": post.text[:PREFIX],
            "images": [{"url": m.url, "alt": m.alt, "kind": m.kind} for m in post.media[:5]],
            "repost_of": {"handle": post.repost_of.handle, "url": post.repost_of.url, "kind": post.repost_of.kind}
            if post.repost_of else None,
            "sensitive": post.sensitive,
        }
    return {
        "parser": parser,
        "url": url,
        "count": len(posts),
        "reposts": sum(1 for p in posts if p.repost_of and p.repost_of.kind == "repost"),
        "quotes": sum(1 for p in posts if p.repost_of and p.repost_of.kind == "quote"),
        "images": sum(len(p.media) for p in posts),
        "images_with_alt": sum(1 for p in posts for m in p.media if m.alt),
        "dated": sum(1 for p in posts if p.created_at),
        "ids_unique": len({p.platform_id for p in posts}) == len(posts),
        "posts": [one(p) for p in posts[:FIRST]],
    }


def _cases():
    for platform in PLATFORMS:
        for expected in sorted((FIXTURES / platform).glob("*.expected.json")):
            yield pytest.param(platform, expected, id=f"{platform}/{expected.name.removesuffix('.expected.json')}")


@pytest.mark.parametrize("platform, expected_path", list(_cases()))
def test_fixture_parses_as_expected(platform, expected_path):
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    body = expected_path.with_name(expected_path.name.removesuffix(".expected.json")).read_bytes()
    if "error" in expected:
        with pytest.raises(FetchError) as caught:
            parse_fixture(platform, body, expected["url"])
        assert caught.value.outcome.value == expected["error"]
        return
    assert describe(parse_fixture(platform, body, expected["url"]), expected["parser"], expected["url"]) == expected


def test_every_copied_fixture_has_an_expected_result():
    data = [p for platform in PLATFORMS for p in (FIXTURES / platform).glob("*")
            if not p.name.endswith((".expected.json", ".link.txt")) and "lookup" not in p.name]
    missing = [str(p.relative_to(FIXTURES)) for p in data if not p.with_name(p.name + ".expected.json").exists()]
    assert not missing


def test_every_copied_fixture_is_named_in_sources_md():
    listed = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    files = [p for platform in PLATFORMS for p in (FIXTURES / platform).glob("*") if not p.name.endswith(".expected.json")]
    assert files and all(f"{p.parent.name}/{p.name}" in listed for p in files)


# -- captures in ../shared that are not copied here (GPL-3.0 or no licence) ----------------------

def _shared(shared_dir, relative: str) -> bytes:
    path = shared_dir / "fixtures" / relative
    if not path.exists():
        pytest.skip(f"{relative} is not in ../shared")
    return path.read_bytes()


def test_shared_mastodon_account_rss_keeps_text_and_per_image_alt(shared_dir):
    posts = parse_fixture("rss", _shared(shared_dir, "mastodon/capy-mastodon-art-account.rss"),
                          "https://mastodon.art/@nuclearpasta.rss")
    assert len(posts) == 20
    first = posts[0]
    assert first.url == first.platform_id == "https://mastodon.art/@nuclearpasta/114495761108890085"
    assert first.text.startswith("Oh it's #WebcomicDay again!")  # not the image description
    assert first.media[0].alt == "Raiders ride giant lizards across the desert."
    assert len({m.alt for m in first.media}) == len(first.media) > 1  # each image its own alt


def test_shared_bluesky_reposts_and_quotes(shared_dir):
    posts = parse_fixture("bluesky", _shared(shared_dir, "bluesky/telsky-getAuthorFeed-reposts.json"),
                          "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed")
    assert all(posts) and len(posts) == 30
    reposts = [p for p in posts if p.repost_of and p.repost_of.kind == "repost"]
    assert len(reposts) == 28 and len({p.platform_id for p in posts}) == 30
    assert reposts[0].repost_of.handle == "@spooky.click" and reposts[0].text.startswith("Wow, it's crazy")
    assert reposts[0].created_at.isoformat() == "2024-11-03T22:49:09.107000+00:00"  # when it was reposted
    quoting = posts[1]  # a repost of a quote post: the quoted text follows
    assert "\n\n> With BlueArk" in quoting.text
    alts = [m.alt for p in posts for m in p.media if m.alt]
    assert any(alt.startswith("Screenshot of the Go template") for alt in alts)
    own = [p for p in posts if not p.repost_of]
    assert own and all(p.url.startswith("https://bsky.app/profile/benoist.dev/post/") for p in own)


@pytest.mark.parametrize("relative, url, count, host", [
    ("atom/capy-crystalwobsite-relative-images.atom", "https://crystalwobsite.gay/article_feed.atom", 10,
     "crystalwobsite.gay"),
    ("rss/capy-androidauthority-leading-whitespace.xml", "https://www.androidauthority.com/feed/", 10,
     "androidauthority"),
    ("jsonfeed/capy-npr-world-v1.json", "https://feeds.npr.org/1004/feed.json", 23, "npr.org"),
])
def test_shared_gpl_feeds_parse(shared_dir, relative, url, count, host):
    posts = parse_fixture(relative.split("/")[0], _shared(shared_dir, relative), url)
    assert len(posts) == count and all(p.created_at for p in posts)
    images = [m.url for p in posts for m in p.media]
    assert images and all(u.startswith(("http://", "https://")) for u in images)
    assert any(host in u for u in images)
    assert not any("pixel" in u for u in images)  # NPR's tracking pixel is not an image of the post


def test_shared_youtube_feed(shared_dir):
    posts = parse_fixture("youtube", _shared(shared_dir, "youtube/capy-digitalfoundry-videos.xml"),
                          "https://www.youtube.com/feeds/videos.xml?channel_id=UC9PBzalIcEQCsiIkq36PyUA")
    assert len(posts) == 15
    assert posts[0].platform_id == "W_S7iKZZdHw" and posts[0].url == "https://www.youtube.com/watch?v=W_S7iKZZdHw"
    assert posts[0].title.startswith("Digital Foundry Games of 2024")
    assert posts[0].text.startswith("As the holiday period begins")
    assert [(m.url, m.kind) for m in posts[0].media] == [("https://i4.ytimg.com/vi/W_S7iKZZdHw/hqdefault.jpg",
                                                          "video_thumbnail")]


if __name__ == "__main__":  # write an expected file: FIXTURE URL
    fixture, url = Path(sys.argv[1]).resolve(), sys.argv[2]
    platform = fixture.parent.name
    result = describe(parse_fixture(platform, fixture.read_bytes(), url), platform, url)
    fixture.with_name(fixture.name + ".expected.json").write_text(
        json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(fixture.name, result["count"])
