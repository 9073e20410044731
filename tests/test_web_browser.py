"""The review app in a real browser: Playwright driving Debian's Chromium against `schoolaudit web`'s
server (uvicorn on 127.0.0.1). One server and one browser for the module; `.ci/run` installs Chromium.
"""
from __future__ import annotations

import shutil
import socket
import threading

import pytest

from conftest import WEB_PASSWORD, build_web_board

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does it)", allow_module_level=True)
from playwright import sync_api  # noqa: E402  (in the [test] extra: never skipped when Chromium is here)


@pytest.fixture(scope="module")
def server(tmp_path_factory, _crawled_demo_template):
    """`schoolaudit web` on a free loopback port, serving a fresh demo board; yields its base URL."""
    import uvicorn

    from schoolaudit.web import create_app

    config = build_web_board(tmp_path_factory.mktemp("browser"), _crawled_demo_template)
    app = create_app(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not uv.started:
        thread.join(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", config
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        yield chromium
        chromium.close()


def sign_in(browser, base: str, email: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/findings")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", WEB_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/findings")
    return page


def statuses(page, base: str) -> dict[int, str]:
    data = page.request.get(f"{base}/findings.json?status=all").json()
    return {f["id"]: f["status"] for f in data["findings"]}


def test_keyboard_decision_and_undo(server, browser):
    base, _ = server
    page = sign_in(browser, base, "admin@b.org")
    rows = page.locator("li.finding")
    assert rows.count() > 2
    page.keyboard.press("j")
    second = int(rows.nth(1).get_attribute("data-href").rsplit("/", 1)[1])
    assert "selected" in rows.nth(1).get_attribute("class")
    with page.expect_navigation():
        page.keyboard.press("d")
    assert f"Finding #{second}: dismissed" in page.locator(".flash").inner_text()
    assert statuses(page, base)[second] == "dismissed"
    with page.expect_navigation():
        page.keyboard.press("u")
    assert "Undone: 1 decision(s)" in page.locator(".flash").inner_text()
    assert statuses(page, base)[second] == "open"
    page.close()


def test_bulk_dismiss_with_a_reason(server, browser):
    base, _ = server
    page = sign_in(browser, base, "admin@b.org")
    boxes = page.locator("li.finding input[type=checkbox]")
    ids = [int(boxes.nth(n).get_attribute("value")) for n in (0, 1)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("#bulk select[name=action]", "dismiss")
    page.select_option("#bulk select[name=reason]", "Public event")
    with page.expect_navigation():
        page.click("#bulk button[type=submit]")
    assert "2 finding(s) dismissed" in page.locator(".flash").inner_text()
    after = statuses(page, base)
    assert [after[i] for i in ids] == ["dismissed", "dismissed"]
    page.goto(f"{base}/findings/{ids[0]}")
    assert "Public event" in page.locator("table.plain").inner_text()
    page.close()


def test_a_reviewer_is_denied_another_school(server, browser):
    base, config = server
    admin = sign_in(browser, base, "admin@b.org")
    theirs = [f for f in admin.request.get(f"{base}/findings.json?school=cedar-heights-ss").json()["findings"]]
    admin.close()
    page = sign_in(browser, base, "view@b.org")
    assert "Cedar Heights" not in page.content()
    response = page.goto(f"{base}/findings/{theirs[0]['id']}")
    assert response.status == 404 and "Not found" in page.locator("h1").inner_text()
    page.close()
