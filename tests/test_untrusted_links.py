"""A post's address comes from a stranger's feed: only an http(s) address becomes a link, in reports,
digests (HTML and text), .eml files and previews; digests carry a Content-Security-Policy."""
from __future__ import annotations

import email
import re
from email import policy as email_policy

import pytest

from reports.render import web_link
from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.digest import KINDS, DigestBuilder, Recipient
from schoolaudit.pipeline import Pipeline
from schoolaudit.reporting import ReportBuilder

HOSTILE_URL = "javascript:alert(document.domain)"
DATA_URL = "data:text/html,<script>alert(1)</script>"
LINK_TO_SCRIPT = re.compile(r"""href\s*=\s*["']?\s*(javascript|data|vbscript):""", re.IGNORECASE)
CSP = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\''


@pytest.mark.parametrize("url", [HOSTILE_URL, " JavaScript:alert(1)", "java\tscript:alert(1)", DATA_URL,
                                 "vbscript:msgbox(1)", "https://x.example/a b", "//evil.example/", "", None])
def test_only_web_addresses_are_links(url):
    assert web_link(url) is None


@pytest.mark.parametrize("url", ["https://www.example.org/news/1", "HTTP://example.org/?a=1&b=2"])
def test_web_addresses_stay_links(url):
    assert web_link(url) == url


@pytest.fixture
def hostile_links(site_dir, demo_config):
    """The demo board crawled after two feed entries with findings got a script and a data: address."""
    feed = site_dir / "feeds" / "cedar-heights-ss.atom"
    text = feed.read_text()
    text = text.replace("https://www.example.org/cedar-heights/news/prom-fundraiser", HOSTILE_URL)
    feed.write_text(text.replace("https://www.example.org/cedar-heights/news/field-trip", DATA_URL.replace("<", "&lt;")
                                 .replace(">", "&gt;")))
    app = load_app(demo_config)
    Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
    yield app
    app.close()


def _shown_not_linked(page: str) -> None:
    assert "javascript:alert(document.domain)" in page  # the address reached the page ...
    assert not LINK_TO_SCRIPT.search(page)  # ... as text, not as a link


def test_reports_show_script_addresses_as_text(hostile_links, tmp_path):
    index = ReportBuilder(hostile_links.settings, hostile_links.registry, hostile_links.store).write_board_report(tmp_path)
    for page in (index, tmp_path / "accounts" / "cedar-heights-news.html"):
        html = page.read_text()
        _shown_not_linked(html)
        assert CSP in html
    assert re.search(r'<a href="https://www\.example\.org/[^"]+" rel="noopener noreferrer">', index.read_text())


def test_digest_html_and_text_show_script_addresses_as_text_under_a_csp(hostile_links):
    builder = DigestBuilder(hostile_links.settings, hostile_links.registry, hostile_links.store)
    digest = builder.weekly(Recipient("board@example.org", "Board", "board", KINDS), builder.next_range("weekly"),
                            hostile_links.store.last_digest("weekly"))
    _shown_not_linked(digest.html)
    assert CSP in digest.html
    assert "Original post (not a web address, not linked): javascript:alert(document.domain)" in digest.text


def test_eml_files_and_preview_show_script_addresses_as_text(hostile_links, demo_config, tmp_path):
    assert main(["--config", str(demo_config), "run", "weekly", "--dry-run", str(tmp_path / "eml")]) == 0
    board = [m for m in (email.message_from_bytes(f.read_bytes(), policy=email_policy.default)
                         for f in sorted((tmp_path / "eml").glob("*.eml"))) if "Cedar" in m.get_body(("html",)).get_content()]
    assert board
    for message in board:
        html = message.get_body(("html",)).get_content()
        _shown_not_linked(html)
        assert CSP in html
    out = tmp_path / "preview"
    assert main(["--config", str(demo_config), "preview-digest", "--out", str(out), "--no-screenshots"]) == 0
    preview = (out / "digest-weekly.html").read_text()
    _shown_not_linked(preview)
    assert CSP in preview
