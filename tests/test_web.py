"""The review app over HTTP (Starlette's TestClient) on the demo board: every route, every scope rule.

One demo board is crawled and audited for the whole module (a real pipeline against the local
demo server); each test signs in as one of its people.
"""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from records import people
from records.model import DigestRange
from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.web import create_app
from schoolaudit.web.passwords import hash_password

from conftest import WEB_PASSWORD as PASSWORD, build_web_board

OTHER_SCHOOL_ACCOUNTS = {"cedar-heights-news", "cedar-robotics", "cedar-music", "pinecrest-news",
                         "pinecrest-athletics", "mrdsb-news"}
BIRCHWOOD_ACCOUNTS = {"birchwood-ps-news", "birchwood-council", "birchwood-library"}


def add_user(config, email, role, scope):
    """`schoolaudit users add` as a person types it, the password on standard input."""
    result = subprocess.run([sys.executable, "-m", "schoolaudit.cli", "--config", str(config), "users", "add", email,
                             "--role", role, "--scope", scope], input=PASSWORD + "\n", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def board(tmp_path_factory, _crawled_demo_template):
    """The demo board after one run, with an admin, a Birchwood reviewer and a Birchwood viewer."""
    config = build_web_board(tmp_path_factory.mktemp("web"), _crawled_demo_template)
    assert "reviewer of school:birchwood-ps" in add_user(config, "rev@b.org", "reviewer", "school:birchwood-ps")
    return config


@pytest.fixture(scope="module")
def app(board):
    return create_app(board)


def signed_in(app, email, client=("10.1.1.1", 5000)) -> TestClient:
    browser = TestClient(app, client=client)
    response = browser.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    return browser


_sessions: dict[tuple[int, str], TestClient] = {}


def session(app, email) -> TestClient:
    """A signed-in browser shared by the tests (signing in costs an argon2 hash check)."""
    key = (id(app), email)
    if key not in _sessions:
        _sessions[key] = signed_in(app, email)
    return _sessions[key]


def csrf(browser: TestClient, path: str = "/") -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get(path).text).group(1)


def findings_of(browser, **params) -> list[dict]:
    response = browser.get("/findings.json", params=params)
    assert response.status_code == 200
    return response.json()["findings"]


def cli_findings(board) -> dict[int, dict]:
    from io import StringIO
    import contextlib
    buffer = StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["--config", str(board), "findings", "--json", "--status", "all"]) == 0
    return {row["id"]: row for row in json.loads(buffer.getvalue())}


# -- signing in ------------------------------------------------------------------------------------

def test_login_sets_an_httponly_samesite_cookie_and_redirects_home(app):
    browser = TestClient(app)
    response = browser.post("/login", data={"email": "rev@b.org", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert browser.get("/").status_code == 200


def test_wrong_password_is_refused_and_signin_is_rate_limited(app, board):
    store = load_app(board).store
    people.add_user(store, "locked@b.org", "viewer", "board", hash_password(PASSWORD))
    store.close()
    browser = TestClient(app, client=("10.9.9.9", 1))
    for _ in range(5):
        response = browser.post("/login", data={"email": "locked@b.org", "password": "wrong"})
        assert response.status_code == 401 and "do not match" in response.text
    response = browser.post("/login", data={"email": "locked@b.org", "password": PASSWORD})
    assert response.status_code == 429 and "Too many failed attempts" in response.text
    # another person on another machine still signs in
    signed_in(app, "rev@b.org", client=("10.9.9.10", 1))


def test_pages_need_signing_in(app):
    browser = TestClient(app)
    for path in ("/", "/findings", "/findings/1", "/accounts", "/runs", "/reasons", "/findings/1/images/0.jpg"):
        response = browser.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert browser.get("/findings.json").status_code == 401
    assert browser.post("/findings/1/decision", data={"action": "dismiss"}).status_code == 403


def test_next_after_signin_stays_on_this_site(app):
    browser = TestClient(app)
    for target, expected in (("/findings?status=all", "/findings?status=all"), ("//evil.example/", "/"),
                             ("https://evil.example/", "/")):
        response = browser.post("/login", data={"email": "rev@b.org", "password": PASSWORD, "next": target},
                                follow_redirects=False)
        assert response.headers["location"] == expected


def test_logout_needs_the_token_and_ends_the_session(app):
    browser = signed_in(app, "rev@b.org")
    assert browser.post("/logout").status_code == 403
    assert browser.post("/logout", data={"csrf_token": csrf(browser)}, follow_redirects=False).status_code == 303
    assert browser.get("/findings.json").status_code == 401


# -- scope -----------------------------------------------------------------------------------------

def test_findings_json_holds_only_the_persons_scope(app):
    admin = findings_of(session(app, "admin@b.org"), status="all")
    mine = findings_of(session(app, "rev@b.org"), status="all")
    assert {f["account"] for f in admin} & OTHER_SCHOOL_ACCOUNTS, "the demo board has findings elsewhere"
    assert mine and {f["account"] for f in mine} <= BIRCHWOOD_ACCOUNTS
    assert {f["school"] for f in mine} == {"birchwood-ps"}
    assert set(mine[0]) >= {"id", "account", "school", "category", "severity", "status", "evidence", "post_url"}
    # the times of every JSON document: ISO 8601 in the board's timezone, with its offset (README: JSON output)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[45]:00", f["first_seen"]) for f in mine)
    assert len(mine) == len([f for f in admin if f["school"] == "birchwood-ps"])


def test_findings_json_filters_like_the_page(app):
    admin = session(app, "admin@b.org")
    everything = findings_of(admin, status="all")
    category = everything[0]["category"]
    assert {f["category"] for f in findings_of(admin, status="all", category=category)} == {category}
    assert {f["account"] for f in findings_of(admin, status="all", account="cedar-robotics")} <= {"cedar-robotics"}
    assert {f["school"] for f in findings_of(admin, status="all", school="pinecrest-es")} <= {"pinecrest-es"}
    # a reviewer asking for another school's findings gets none, not the other school's
    assert findings_of(session(app, "rev@b.org"), status="all", school="cedar-heights-ss") == []


def test_another_schools_finding_image_and_decision_are_404(app, board):
    admin, reviewer = session(app, "admin@b.org"), session(app, "rev@b.org")
    theirs = [f for f in findings_of(admin, status="all") if f["account"] in OTHER_SCHOOL_ACCOUNTS][0]
    assert reviewer.get(f"/findings/{theirs['id']}").status_code == 404
    assert reviewer.get(f"/findings/{theirs['id']}/images/0.jpg").status_code == 404
    response = reviewer.post(f"/findings/{theirs['id']}/decision",
                             data={"action": "dismiss", "csrf_token": csrf(reviewer)})
    assert response.status_code == 404
    assert reviewer.get("/findings/999999").status_code == 404
    assert cli_findings(board)[theirs["id"]]["status"] == theirs["status"]


def test_accounts_and_queue_pages_show_only_the_scope(app):
    reviewer = session(app, "rev@b.org")
    accounts = reviewer.get("/accounts").text
    assert "Birchwood School Council" in accounts
    assert "Cedar Heights" not in accounts and "Pinecrest" not in accounts
    queue = reviewer.get("/findings?status=all").text
    assert "Cedar Heights" not in queue and "Pinecrest" not in queue
    assert reviewer.get("/runs").status_code == 404
    assert reviewer.post("/accounts/cedar-robotics/audit", data={"csrf_token": csrf(reviewer)}).status_code == 404


# -- pages -----------------------------------------------------------------------------------------

def test_every_page_renders_for_the_admin(app):
    admin = session(app, "admin@b.org")
    for path, words in (("/", "to review"), ("/findings", "Findings to review"), ("/accounts", "Last good check"),
                        ("/runs", "audit"), ("/reasons", "Consent on file"),
                        ("/findings?status=all&severity=high&page=2", "Findings to review")):
        response = admin.get(path)
        assert response.status_code == 200 and words in response.text, path


def test_security_headers_and_csrf_meta_on_every_page(app):
    response = session(app, "rev@b.org").get("/findings")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"
    assert '<meta name="csrf-token" content="' in response.text


def test_accounts_page_says_in_plain_words_what_failed(app):
    text = session(app, "admin@b.org").get("/accounts").text
    assert "the feed or page is gone (404) (since today)" in text
    assert "the site sent something we could not read" in text


def test_untrusted_text_is_escaped(app):
    reviewer = session(app, "rev@b.org")
    finding = next(f for f in findings_of(reviewer) if "<script>" in f["evidence"])
    page = reviewer.get(f"/findings/{finding['id']}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
    assert "<b>wine</b>" not in reviewer.get("/findings").text


def test_finding_page_shows_the_post_the_clause_and_a_blurred_thumbnail(app):
    admin = session(app, "admin@b.org")
    photos = [f for f in findings_of(admin, status="all", category="student_photo")]
    page = admin.get(f"/findings/{photos[0]['id']}").text
    assert "The procedure says" in page and "open the original" in page
    image = re.search(r'src="(/findings/\d+/images/\d+\.jpg)"', page).group(1)
    response = admin.get(image)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8"


# -- decisions -------------------------------------------------------------------------------------

def test_decision_needs_a_valid_csrf_token(app, board):
    reviewer = session(app, "rev@b.org")
    finding = findings_of(reviewer)[0]
    for data in ({"action": "dismiss"}, {"action": "dismiss", "csrf_token": "forged"}):
        assert reviewer.post(f"/findings/{finding['id']}/decision", data=data).status_code == 403
    assert cli_findings(board)[finding["id"]]["status"] == "open"


def test_decision_records_the_signed_in_person(app, board):
    reviewer = session(app, "rev@b.org")
    finding = findings_of(reviewer)[-1]
    response = reviewer.post(f"/findings/{finding['id']}/decision", follow_redirects=False,
                             data={"action": "confirm", "reason": "", "note": "asked to take it down",
                                   "by": "someone.else", "csrf_token": csrf(reviewer)})
    assert response.status_code == 303
    row = cli_findings(board)[finding["id"]]
    assert row["status"] == "confirmed" and row["reviewed_by"] == "rev@b.org" and row["note"] == "asked to take it down"
    page = reviewer.get(f"/findings/{finding['id']}").text
    assert "asked to take it down" in page and "rev@b.org" in page
    reviewer.post(f"/findings/{finding['id']}/decision", data={"action": "reopen", "csrf_token": csrf(reviewer)})
    assert cli_findings(board)[finding["id"]]["status"] == "open"


def test_a_viewer_reads_but_cannot_decide(app, board):
    viewer = session(app, "view@b.org")
    finding = findings_of(viewer)[0]
    assert viewer.get(f"/findings/{finding['id']}").status_code == 200
    response = viewer.post(f"/findings/{finding['id']}/decision", data={"action": "dismiss", "csrf_token": csrf(viewer)})
    assert response.status_code == 403
    assert cli_findings(board)[finding["id"]]["status"] == "open"


@pytest.mark.parametrize("action, data", [("decision", {"action": "dismiss"}), ("assign", {"assignee": "view@b.org"}),
                                          ("escalate", {"note": "look"})])
def test_every_action_on_a_finding_is_403_to_a_viewer_and_404_outside_the_scope(app, board, action, data):
    admin, viewer, reviewer = session(app, "admin@b.org"), session(app, "view@b.org"), session(app, "rev@b.org")
    before = findings_of(admin, status="all")
    ours = findings_of(viewer)[0]
    theirs = [f for f in before if f["account"] in OTHER_SCHOOL_ACCOUNTS][0]
    assert viewer.post(f"/findings/{ours['id']}/{action}", data={**data, "csrf_token": csrf(viewer)}).status_code == 403
    assert reviewer.post(f"/findings/{theirs['id']}/{action}",
                         data={**data, "csrf_token": csrf(reviewer)}).status_code == 404
    assert findings_of(admin, status="all") == before


def test_bulk_dismiss_skips_what_is_out_of_scope_and_undo_restores(app, board):
    admin, reviewer = session(app, "admin@b.org"), session(app, "rev@b.org")
    mine = [f["id"] for f in findings_of(reviewer)][:2]
    theirs = next(f["id"] for f in findings_of(admin) if f["account"] in OTHER_SCHOOL_ACCOUNTS)
    response = reviewer.post("/findings/bulk", data={"ids": [*mine, theirs], "action": "dismiss",
                                                     "reason": "Public event", "note": "", "csrf_token": csrf(reviewer)})
    assert "2 finding(s) dismissed" in response.text
    rows = cli_findings(board)
    assert [rows[i]["status"] for i in mine] == ["dismissed", "dismissed"] and rows[theirs]["status"] == "open"
    response = reviewer.post("/undo", data={"csrf_token": csrf(reviewer)})
    assert "Undone: 2 decision(s)" in response.text
    assert [cli_findings(board)[i]["status"] for i in mine] == ["open", "open"]


def test_assign_and_escalate_are_kept_in_the_history(app):
    reviewer = session(app, "rev@b.org")
    finding = findings_of(reviewer)[0]["id"]
    token = csrf(reviewer)
    reviewer.post(f"/findings/{finding}/assign", data={"assignee": "rev@b.org", "csrf_token": token})
    reviewer.post(f"/findings/{finding}/escalate", data={"note": "the board should see this", "csrf_token": token})
    assert finding in [f["id"] for f in findings_of(reviewer, assigned="me")]
    page = reviewer.get(f"/findings/{finding}").text
    assert "escalated to the board" in page and "the board should see this" in page and "assigned to rev@b.org" in page
    assert reviewer.post(f"/findings/{finding}/assign", data={"assignee": "stranger@x.org",
                                                              "csrf_token": token}).status_code == 403


def test_reasons_are_edited_by_an_admin_only(app):
    admin, reviewer = session(app, "admin@b.org"), session(app, "rev@b.org")
    assert reviewer.get("/reasons").status_code == 403
    admin.post("/reasons", data={"reasons": "Consent on file\nStaff member, not a student\n",
                                 "csrf_token": csrf(admin)})
    assert "Staff member, not a student" in reviewer.get(f"/findings/{findings_of(reviewer)[0]['id']}").text


def test_audit_now_is_for_admins(app):
    reviewer = session(app, "rev@b.org")
    response = reviewer.post("/accounts/birchwood-council/audit", data={"csrf_token": csrf(reviewer)})
    assert response.status_code == 403


def test_audit_log_is_append_only_and_exported(app, board, tmp_path):
    session(app, "admin@b.org")
    # the events this test reads are made here: under xdist the tests that make them may run in another worker
    TestClient(app).post("/login", data={"email": "nobody@b.org", "password": "wrong"})
    reviewer = session(app, "rev@b.org")
    finding = findings_of(reviewer)[0]["id"]
    for action in ("dismiss", "reopen"):
        reviewer.post(f"/findings/{finding}/decision", data={"action": action, "csrf_token": csrf(reviewer)})
    store = load_app(board).store
    entries = list(store.db.query("SELECT event FROM audit_log"))
    assert {"sign_in", "sign_in_failed", "decision", "user_added"} <= {e["event"] for e in entries}
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE audit_log SET actor = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM audit_log")
    store.close()
    out = tmp_path / "export.json"
    assert main(["--config", str(board), "export", "--format", "json", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert any(e["event"] == "decision" and e["actor"] == "rev@b.org" for e in document["audit_log"])


# -- users -----------------------------------------------------------------------------------------

def test_users_add_checks_role_scope_and_password(board, capsys, monkeypatch):
    import io
    for argv, stdin, message in (
            (["users", "add", "x@b.org", "--role", "reviewer", "--scope", "school:nowhere"], PASSWORD, "unknown school"),
            (["users", "add", "x@b.org", "--role", "reviewer", "--scope", "board"], "short", "at least 8"),
            (["users", "add", "rev@b.org", "--role", "reviewer", "--scope", "board"], PASSWORD, "already a user"),
            (["users", "add", "x@b.org", "--role", "reviewer"], PASSWORD, "needs --scope")):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin + "\n"))
        assert main(["--config", str(board), *argv]) == 2
        assert message in capsys.readouterr().out
    assert main(["--config", str(board), "users", "list"]) == 0
    assert "rev@b.org" in capsys.readouterr().out


def test_users_invite_and_remove(board, capsys):
    assert main(["--config", str(board), "users", "invite", "--role", "viewer"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"principal\.birchwood@example\.org\s+viewer\s+school:birchwood-ps\s+password: \S+", out)
    assert main(["--config", str(board), "users", "remove", "principal.birchwood@example.org"]) == 0
    assert main(["--config", str(board), "users", "remove", "principal.birchwood@example.org"]) == 2


def test_demo_ends_with_a_user_who_can_sign_in(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    match = re.search(r"sign in as (\S+) with password (\S+) after `schoolaudit --config (\S+) web`", out)
    assert match, out
    browser = TestClient(create_app(match.group(3)))
    response = browser.post("/login", data={"email": match.group(1), "password": match.group(2)},
                            follow_redirects=False)
    assert response.status_code == 303
    assert browser.get("/findings.json").json()["findings"]


def test_digests_link_each_finding_to_its_page_behind_sign_in(app, board):
    from schoolaudit.digest import DigestBuilder, Recipient

    from dataclasses import replace

    loaded = load_app(board)
    settings = replace(loaded.settings, web=replace(loaded.settings.web, base_url="https://review.example.org/"))
    digest = DigestBuilder(settings, loaded.registry, loaded.store).nightly(
        Recipient("p@b.org", "", "school:birchwood-ps", ("nightly",)), DigestRange("nightly", 0, 10**9))
    loaded.close()
    linked = {int(i) for i in re.findall(r'href="https://review\.example\.org/findings/(\d+)"', digest.html)}
    assert linked and linked == set(digest.finding_ids)
    assert f"review: https://review.example.org/findings/{digest.finding_ids[0]}" in digest.text
    response = TestClient(app).get(f"/findings/{digest.finding_ids[0]}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")



def test_a_javascript_post_address_is_never_a_link_on_the_finding_page(board, app):
    admin = session(app, "admin@b.org")
    finding = findings_of(admin)[0]
    loaded = load_app(board)
    with sqlite3.connect(loaded.settings.database) as db:
        (key, url) = db.execute("SELECT p.key, p.url FROM posts p JOIN findings f ON f.post_key = p.key WHERE f.id = ?",
                                [finding["id"]]).fetchone()
        db.execute("UPDATE posts SET url = 'javascript:alert(1)' WHERE key = ?", [key])
    try:
        page = admin.get(f"/findings/{finding['id']}").text
        assert 'href="javascript:' not in page and "not a web address, not linked" in page
    finally:
        with sqlite3.connect(loaded.settings.database) as db:
            db.execute("UPDATE posts SET url = ? WHERE key = ?", [url, key])
        loaded.close()


def test_the_csrf_token_of_any_page_works_with_the_cookie_set_at_sign_in(board, app):
    # A client that keeps only the sign-in's cookie (a script) must be able to use a page's token.
    browser = TestClient(app, client=("10.1.1.9", 5000))
    response = browser.post("/login", data={"email": "admin@b.org", "password": PASSWORD}, follow_redirects=False)
    cookie = response.cookies["schoolaudit_session"]
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get("/").text).group(1)
    fresh = TestClient(app, client=("10.1.1.9", 5000), cookies={"schoolaudit_session": cookie})
    finding = findings_of(fresh)[0]
    answer = fresh.post(f"/findings/{finding['id']}/decision", follow_redirects=False,
                        data={"action": "confirm", "reason": "", "note": "", "csrf_token": token})
    assert answer.status_code == 303
    fresh.post(f"/findings/{finding['id']}/decision", follow_redirects=False,
               data={"action": "reopen", "reason": "", "note": "", "csrf_token": token})
