"""`preview-digest`: the digest as files, and screenshots in headless Chromium (skipped without it)."""
from __future__ import annotations

import pytest

from schoolaudit.cli import main
from schoolaudit.preview import MARGIN, find_chromium


def test_preview_writes_html_text_and_screenshots(crawled_demo_config, tmp_path, capsys):
    demo_config = crawled_demo_config
    out = tmp_path / "preview"
    args = ["--config", str(demo_config), "preview-digest", "--out", str(out)]
    assert main(args + ["--no-screenshots"]) == 0
    html = (out / "digest-weekly.html").read_text()
    assert 'src="cid:' not in html and "images/thumb-" in html and list((out / "images").glob("*.jpg"))
    assert "Weekly social-media audit" in (out / "digest-weekly.txt").read_text()
    assert main(args[:2] + ["preview-digest", "--out", str(out), "--recipient", "nobody@example.org"]) == 2
    if not find_chromium():
        pytest.skip("Chromium is not installed")
    assert main(args + ["--kind", "weekly"]) == 0
    for name, width in (("desktop", 1280), ("phone", 390)):
        png = (out / f"digest-weekly-{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == width
        # the whole page, not a fixed height: as tall as the page, give or take the margin kept below it
        page_height = _page_height(out / "digest-weekly.html", width)
        assert page_height > 2400 and abs(int.from_bytes(png[20:24], "big") - page_height) <= MARGIN


def _page_height(page, width: int) -> int:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": width, "height": 800})
        tab.goto(page.resolve().as_uri())
        height = tab.evaluate("document.documentElement.scrollHeight")
        browser.close()
    return height
