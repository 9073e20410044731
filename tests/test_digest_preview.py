"""`preview-digest`: the digest as files, and screenshots in headless Chromium (skipped without it)."""
from __future__ import annotations

import pytest

from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.pipeline import Pipeline
from schoolaudit.preview import find_chromium


def test_preview_writes_html_text_and_screenshots(demo_config, tmp_path, capsys):
    app = load_app(demo_config)
    Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
    app.close()
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
