"""`schoolaudit fetch PLATFORM TARGET`: one account, JSON lines out, one-line failures."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from localserver import LocalServer

from schoolaudit.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
KEYS = ["id", "url", "created_at", "text", "images", "repost_of"]
TOKEN = "EAAB-very-secret-page-token"


def _facebook_routes():
    def posts(request):
        name = "p2" if request.query.get("after") else "p1"
        return 200, {"Content-Type": "application/json"}, (FIXTURES / f"facebook/pyfb-page-feed-default-fields-{name}.json").read_bytes()
    return {"/FacebookforDevelopers/posts": posts}


def test_fetch_facebook_end_to_end(monkeypatch, capsys):
    monkeypatch.setenv("SCHOOLAUDIT_FACEBOOK_TOKEN", TOKEN)
    with LocalServer(_facebook_routes()) as server:
        code = main(["fetch", "facebook", "https://www.facebook.com/FacebookforDevelopers",
                     "--api-base", server.url, "--limit", "7"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 7 and all(list(line)[:6] == KEYS for line in lines)
    first = lines[0]
    assert first["id"] == "19292868552_10158349356748553"
    assert first["url"] == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert first["created_at"] == "2021-07-09T19:09:52+00:00"
    assert first["text"].startswith("Singaporean logistics company Ninja Van")
    assert first["images"][0]["url"].startswith("https://scontent-ssn1-1.xx.fbcdn.net/") and first["repost_of"] is None
    shared = lines[1]  # a link share: a repost of the linked site
    assert shared["repost_of"]["handle"] == "engineering.fb.com" and shared["kind"] == "repost"
    pages = [r for r in server.requests if r.path.endswith("/posts")]  # (robots.txt may come first)
    assert [r.query.get("after") for r in pages] == [None, "after"]  # second page asked of the API base
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in pages)
    assert not any(TOKEN in r.raw_query for r in pages) and TOKEN not in out


def test_fetch_graph_error_is_one_redacted_line(monkeypatch, capsys):
    monkeypatch.setenv("SCHOOLAUDIT_FACEBOOK_TOKEN", TOKEN)
    error = {"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",
                       "code": 190, "error_subcode": 463, "fbtrace_id": "A1"}}
    with LocalServer({"/school/posts": (200, {}, json.dumps(error))}) as server:
        code = main(["fetch", "facebook", "school", "--api-base", server.url])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("schoolaudit: fetch failed: auth_missing: ") and err.count("\n") == 1
    assert "Session has expired" in err and TOKEN not in err


def test_fetch_without_token_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLAUDIT_")}
    done = subprocess.run([sys.executable, "-m", "schoolaudit.cli", "fetch", "x", "springfieldhs"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("schoolaudit: fetch failed: auth_missing: x: set the environment variable "
                           "SCHOOLAUDIT_X_BEARER_TOKEN to read this platform\n")


def test_fetch_mastodon_prints_repost_and_alt_text(capsys):
    boost = json.loads((FIXTURES / "mastodon/mpy-status-reblog-wrapper.json").read_bytes())
    media = json.loads((FIXTURES / "mastodon/mpy-status-2-media-alt.json").read_bytes())
    routes = {
        "/api/v1/accounts/lookup": (200, {}, json.dumps({"id": "5"})),
        "/api/v1/accounts/5/statuses": (200, {"Content-Type": "application/json"}, json.dumps([boost, media])),
    }
    with LocalServer(routes) as server:
        code = main(["fetch", "mastodon", "@school@maple.example", "--api-base", server.url])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(lines) == 2
    assert lines[0]["repost_of"]["handle"] == "@mastodonpy_test_2@localhost:3000"
    assert lines[0]["text"] == "rootin tooting and shootin"
    assert lines[1]["images"] == [
        {"url": media["media_attachments"][0]["url"], "alt": "John Lennon doing a funny walk"},
        {"url": media["media_attachments"][1]["url"], "alt": "hololives #1 detective, watson ameliachan"},
    ]
    assert lines[1]["sensitive"] is True


def test_fetch_unreachable_feed_fails_in_one_line(capsys):
    with LocalServer({}) as server:
        code = main(["fetch", "rss", server.url + "/missing.xml"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("schoolaudit: fetch failed: not_found: ") and err.count("\n") == 1
