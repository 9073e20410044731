"""Signing in to the review app with the board's Microsoft Entra or Google Workspace account (OpenID Connect),
against a real provider on 127.0.0.1 (tests/oidcprovider.py): the app fetches its discovery document,
keys and tokens over HTTP; the browser's side of the round trip is followed by hand (or by Chromium).
"""
from __future__ import annotations

import re
import shutil
import socket
import threading
import time

import httpx
import pytest
from starlette.testclient import TestClient

from records import people
from schoolaudit.app import load_app
from schoolaudit.config import ConfigError
from schoolaudit.web import create_app

from conftest import WEB_PASSWORD, build_web_board
from oidcprovider import OidcProvider

CLIENT_ID = "schoolaudit-review-app"
CLIENT_SECRET = "client-secret-never-shown"
TENANT = "0b6c7e2a-3f41-4c55-9d1e-7a8b9c0d1e2f"


@pytest.fixture(scope="module")
def provider():
    with OidcProvider(CLIENT_ID, CLIENT_SECRET) as running:
        yield running


@pytest.fixture(scope="module")
def board(tmp_path_factory, _crawled_demo_template):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SCHOOLAUDIT_OIDC_CLIENT_SECRET", CLIENT_SECRET)
        yield build_web_board(tmp_path_factory.mktemp("oidc"), _crawled_demo_template)


@pytest.fixture(autouse=True)
def fresh_provider(provider):
    """Each test starts from a provider that signs in the board's admin with a correct token."""
    provider.next_person = {"email": "admin@b.org", "hd": "b.org"}
    provider.token_changes = {}


def configure(board, oidc: str | None, web: str = "password_sign_in = true") -> None:
    """settings.toml as the demo wrote it, with `web` as [web]'s password_sign_in line and `oidc` as its
    [web.oidc] table."""
    path, original = board / "settings.toml", board / "settings.toml.demo"
    if not original.exists():
        original.write_text(path.read_text())
    text = original.read_text().replace("\npassword_sign_in = true\n", f"\n{web}\n", 1)
    path.write_text(text + (f"\n[web.oidc]\n{oidc}\n" if oidc else ""))


def google(provider) -> str:
    return f'provider = "google"\nclient_id = "{CLIENT_ID}"\ndomain = "b.org"\nissuer = "{provider.issuer}"'


@pytest.fixture(scope="module")
def google_app(board, provider):
    configure(board, google(provider))
    return create_app(board)


def sign_in_with_provider(app, path="/auth/start") -> tuple[TestClient, httpx.Response]:
    """Click the sign-in button, let the provider send the browser back, and return the app's answer."""
    browser = TestClient(app, client=("10.3.3.3", 5000))
    to_provider = browser.get(path, follow_redirects=False)
    assert to_provider.status_code == 302, to_provider.text
    back = httpx.get(to_provider.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    return browser, browser.get(back.headers["location"], follow_redirects=False)


def audit_tail(board, count=1) -> list[dict]:
    app = load_app(board)
    try:
        return people.audit_entries(app.store)[-count:]
    finally:
        app.close()


def test_a_good_sign_in_lands_on_the_overview_with_a_session(google_app, provider, board):
    browser, answer = sign_in_with_provider(google_app)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    page = browser.get("/")
    assert page.status_code == 200 and "admin@b.org" in page.text and "Sign out" in page.text
    request = provider.authorize_requests[-1]
    assert request["code_challenge_method"] == "S256" and request["nonce"] and request["state"]
    assert request["hd"] == "b.org" and request["scope"] == "openid email profile"
    entry = audit_tail(board)[0]
    assert (entry["actor"], entry["event"], entry["detail"], entry["client"]) == \
        ("admin@b.org", "sign_in", "via google", "10.3.3.3")


def test_the_page_asked_for_is_shown_after_signing_in(google_app):
    browser, answer = sign_in_with_provider(google_app, "/auth/start?next=/findings%3Fstatus%3Dall")
    assert answer.headers["location"] == "/findings?status=all"
    assert browser.get("/findings?status=all").status_code == 200


def _now():
    return int(time.time())


REFUSALS = {
    "wrong issuer": ({"iss": "https://accounts.example.net"}, "iss"),
    "wrong audience": ({"aud": "another-app"}, "aud"),
    "another audience authorised for us": ({"aud": ["another-app"], "azp": CLIENT_ID}, "aud"),
    "wrong hd": ({"hd": "other-board.org"}, "is not an account of the b.org Workspace"),
    "no hd (a personal Gmail account)": ({"hd": None}, "is not an account of the b.org Workspace"),
    "bad nonce": ({"nonce": "not-the-one-sent"}, "nonce"),
    "no nonce": ({"nonce": None}, "nonce"),
    "expired token": ({"exp": _now() - 3600, "iat": _now() - 7200}, "expired"),
    "unverified e-mail": ({"email_verified": False}, "has not verified admin@b.org"),
    "no e-mail": ({"email": None}, "no e-mail address"),
}


@pytest.mark.parametrize("changes, reason", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_bad_id_token_is_refused_and_logged(google_app, provider, board, changes, reason):
    provider.token_changes = changes
    browser, answer = sign_in_with_provider(google_app)
    assert answer.status_code == 403 and "Sign in with Google did not sign you in" in answer.text
    assert reason in answer.text
    assert browser.get("/", follow_redirects=False).headers["location"].startswith("/login")
    entry = audit_tail(board)[0]
    assert entry["event"] == "sign_in_failed" and entry["detail"].startswith("via google: ")
    assert reason in entry["detail"] and entry["client"] == "10.3.3.3"


def test_an_unknown_email_is_refused_with_a_clear_page_and_logged(google_app, provider, board):
    provider.next_person = {"email": "stranger@b.org", "hd": "b.org"}
    browser, answer = sign_in_with_provider(google_app)
    assert answer.status_code == 403
    assert "stranger@b.org is not a user of this review app" in answer.text
    assert "schoolaudit users add" in answer.text
    assert browser.get("/", follow_redirects=False).status_code == 303
    entry = audit_tail(board)[0]
    assert (entry["actor"], entry["event"]) == ("stranger@b.org", "sign_in_failed")


def test_a_replayed_callback_is_refused(google_app, board):
    browser, answer = sign_in_with_provider(google_app)
    assert answer.status_code == 303
    replay = TestClient(google_app).get(answer.request.url, follow_redirects=False)
    assert replay.status_code == 403 and "state" in replay.text.lower()
    assert audit_tail(board)[0]["event"] == "sign_in_failed"


def test_the_client_secret_is_never_shown_or_stored(google_app, provider, board):
    provider.token_changes = {"aud": "another-app"}
    _, answer = sign_in_with_provider(google_app)
    login = TestClient(google_app).get("/login")
    assert CLIENT_SECRET not in answer.text + login.text
    assert all(CLIENT_SECRET not in str(entry) for entry in audit_tail(board, 1000))
    assert CLIENT_SECRET.encode() not in (board / "settings.toml").read_bytes()
    database = load_app(board).settings.database
    assert CLIENT_SECRET.encode() not in database.read_bytes()


def test_the_sign_in_page_offers_the_button_and_the_password(google_app):
    page = TestClient(google_app).get("/login?next=/accounts").text
    assert '<a class="button primary" href="/auth/start?next=%2Faccounts">Sign in with Google</a>' in page
    assert 'name="password"' in page


def test_entra_accepts_a_domain_verified_email_instead_of_email_verified(board, provider):
    """Entra sends no email_verified for work accounts; its optional claim xms_edov stands in for it."""
    configure(board, f'provider = "entra"\nclient_id = "{CLIENT_ID}"\ntenant = "{TENANT}"\n'
                     f'issuer = "{provider.issuer}"')
    app = create_app(board)
    assert "Sign in with Microsoft" in TestClient(app).get("/login").text
    provider.next_person = {"email": "ADMIN@b.org", "xms_edov": True}
    provider.token_changes = {"email_verified": None}
    assert sign_in_with_provider(app)[1].headers["location"] == "/"
    assert audit_tail(board)[0]["detail"] == "via entra"
    provider.next_person = {"email": "admin@b.org"}
    answer = sign_in_with_provider(app)[1]
    assert answer.status_code == 403 and "has not verified admin@b.org" in answer.text


def test_password_sign_in_can_be_turned_off(board, provider):
    configure(board, google(provider), web="password_sign_in = false")
    app = create_app(board)
    browser = TestClient(app)
    page = browser.get("/login").text
    assert "Sign in with Google" in page and 'name="password"' not in page
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = browser.post("/login", data={"email": "admin@b.org", "password": WEB_PASSWORD, "csrf_token": token},
                          follow_redirects=False)
    assert answer.status_code == 403 and "through the board" in answer.text
    assert browser.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("oidc, line_starting, message", [
    (f'provider = "entra"\nclient_id = "{CLIENT_ID}"\ntenant = "common"', "tenant",
     "web.oidc.tenant must be the board's Entra tenant id"),
    (f'provider = "google"\nclient_id = "{CLIENT_ID}"', "[web.oidc]", '[web.oidc] provider = "google" needs domain'),
    (f'provider = "google"\nclient_id = "{CLIENT_ID}"\ndomain = "b"', "domain",
     "web.oidc.domain must be the board's Google Workspace domain"),
    (f'provider = "okta"\nclient_id = "{CLIENT_ID}"', "provider", "must be one of entra, google, generic"),
    ('provider = "google"\ndomain = "b.org"', "[web.oidc]", "web.oidc needs 'client_id'"),
    (f'provider = "generic"\nclient_id = "{CLIENT_ID}"\nissuer = "http://sso.b.org"', "issuer",
     "web.oidc.issuer must be an https:// address"),
])
def test_a_bad_oidc_setting_is_a_one_line_error_naming_the_file_and_line(board, oidc, line_starting, message):
    configure(board, oidc)
    with pytest.raises(ConfigError) as error:
        create_app(board)
    lines = (board / "settings.toml").read_text().splitlines()
    line = max(n for n, text in enumerate(lines, 1) if text.startswith(line_starting))
    assert str(error.value).startswith(f"{board / 'settings.toml'}:{line}: ")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_client_secret_or_no_way_to_sign_in_is_a_config_error(board, provider, monkeypatch):
    configure(board, google(provider))
    monkeypatch.delenv("SCHOOLAUDIT_OIDC_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="SCHOOLAUDIT_OIDC_CLIENT_SECRET is not"):
        create_app(board)
    configure(board, None, web="password_sign_in = false")
    with pytest.raises(ConfigError, match="password_sign_in = false needs"):
        create_app(board)


def test_an_unreachable_provider_is_a_clear_refusal(board):
    with OidcProvider(CLIENT_ID, CLIENT_SECRET) as gone:
        configure(board, google(gone))
    app = create_app(board)
    answer = TestClient(app).get("/auth/start", follow_redirects=False)
    assert answer.status_code == 403 and "the sign-in provider could not be reached (ConnectError)" in answer.text
    assert audit_tail(board)[0]["event"] == "sign_in_failed"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does it)")
def test_signing_in_with_google_in_a_real_browser(board, provider):
    """Chromium clicks the button on a phone-sized and a desktop page, goes through the provider and lands
    on the page it asked for, signed in; the sign-in card fits the screen."""
    import uvicorn
    from playwright import sync_api

    configure(board, google(provider))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(board), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync"])
            for width in (1280, 390):  # one browser (its start is most of the time), a fresh context each
                page = browser.new_page(viewport={"width": width, "height": 800})
                page.goto(f"{base}/findings")
                button = page.get_by_role("link", name="Sign in with Google")
                box = button.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] >= 32
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                button.click()
                page.wait_for_url(f"{base}/findings")
                assert "Sign out" in page.locator("header").inner_text()
                assert page.request.get(f"{base}/findings.json").status == 200
                page.close()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
