"""Text in images: read on this machine, in reading order, audited like the post's own text."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image

from auditors.image_analysis import ImageSettings, analyse_bytes
from auditors.image_text import TextReader, reading_order
from flyers import draw_flyer
from records.findings import FindingQuery
from schoolaudit.app import load_app
from schoolaudit.cli import main
from schoolaudit.pipeline import Pipeline

from conftest import add_feed_account

ONLY_TEXT = ImageSettings(explicit=False, turned=False)
FLYER_LINES = ["Wine & cheese night", "Tickets $20 at the door", "Friday 7 pm, school gym"]


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


def _box(left: float, top: float, width: float, height: float) -> np.ndarray:
    return np.array([[left, top], [left + width, top], [left + width, top + height], [left, top + height]],
                    dtype=np.float32)


def test_reading_order_is_lines_top_to_bottom_and_left_to_right_within_a_line():
    pieces = [(_box(600, 102, 200, 40), "$20"), (_box(50, 300, 300, 40), "Friday"),
              (_box(40, 100, 400, 44), "Tickets"), (_box(60, 20, 500, 60), "Wine night")]
    assert reading_order(pieces) == ["Wine night", "Tickets $20", "Friday"]


def test_a_flyer_is_read_line_by_line(tmp_path):
    flyer = draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES)
    analysis = analyse_bytes(flyer.read_bytes(), ONLY_TEXT)
    assert analysis.text == "\n".join(FLYER_LINES)
    assert analysis.faces == []


def test_light_text_on_a_dark_poster_is_read_too(tmp_path):
    flyer = draw_flyer(tmp_path / "dark.jpg", ["Vote Maria Lopez", "for council"], background=(20, 60, 120),
                       ink=(255, 255, 255))
    assert analyse_bytes(flyer.read_bytes(), ONLY_TEXT).text == "Vote Maria Lopez\nfor council"


def test_only_images_that_look_like_text_reach_the_recogniser(reader, monkeypatch, tmp_path):
    recognised = []
    recognise = reader.engine.text_rec
    monkeypatch.setattr(reader.engine, "text_rec", lambda *args: recognised.append(1) or recognise(*args))
    plain = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    assert not reader.looks_like_text(plain) and reader.read(plain) == "" and not recognised
    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES))
    assert reader.looks_like_text(flyer) and reader.read(flyer) and recognised


def test_text_reading_can_be_switched_off(tmp_path):
    flyer = draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES)
    settings = ImageSettings.from_rules({"text": {"enabled": False}})
    assert settings.text is False and settings.params != ImageSettings().params
    assert analyse_bytes(flyer.read_bytes(), settings).text == ""


def _flyer_feed(site_dir, image_name: str) -> str:
    item_date = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    feed = site_dir / "feeds" / "art-club.xml"
    feed.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Art club</title><link>https://www.example.org/art</link>
<description>Art club news</description>
  <item><guid>art-1</guid><title>Our poster</title><link>https://www.example.org/art/poster</link>
  <pubDate>{item_date}</pubDate>
  <description><![CDATA[See the poster for the details. <img src="../images/{image_name}" alt="Poster">]]></description></item>
</channel></rss>""", encoding="utf-8")
    return "feeds/art-club.xml"


def test_a_post_whose_only_violation_is_in_its_flyer_is_flagged_in_report_and_digest(
        demo_config, demo_site, site_dir, tmp_path):
    draw_flyer(site_dir / "images" / "flyer.jpg", FLYER_LINES)
    add_feed_account(demo_config, "birchwood-art", f"{demo_site.url}/{_flyer_feed(site_dir, 'flyer.jpg')}")
    app = load_app(demo_config)
    Pipeline(app.settings, app.policy, app.store).run([app.registry.get("birchwood-art")], show_progress=False)
    findings = app.store.findings(FindingQuery(account_ids=("birchwood-art",)))
    from schoolaudit.reporting import ReportBuilder

    html = ReportBuilder(app.settings, app.registry, app.store).write_account_report("birchwood-art", tmp_path).read_text()
    app.close()
    assert [(f.category, f.location, f.evidence) for f in findings] == \
        [("substances", "image_text:0", "Wine & cheese night")]
    assert "the text in image 1" in html and "Wine &amp; cheese night" in html
    out = tmp_path / "preview"
    assert main(["--config", str(demo_config), "preview-digest", "--out", str(out), "--no-screenshots"]) == 0
    assert 'Found: "Wine & cheese night" (in the text in image 1)' in (out / "digest-weekly.txt").read_text()


def test_without_the_ocr_package_the_images_are_still_audited(monkeypatch):
    from auditors import image_text
    from auditors.base import CategoryPolicy, Policy
    from auditors.image_auditors import BUNDLED_RULES, image_settings
    from schoolaudit.config import read_toml

    def missing():
        raise image_text.ModelMissing("rapidocr_onnxruntime is not installed")

    monkeypatch.setattr(image_text, "check_available", missing)
    policy = Policy(categories={"student_photo": CategoryPolicy("student_photo", "No pictures of students.", "high")})
    settings = image_settings(policy, read_toml(BUNDLED_RULES))
    assert settings.text is False and settings.fine_side == 1600  # faces still looked for, text not read
