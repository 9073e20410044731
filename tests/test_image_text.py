"""Text in images: read on this machine, in reading order, audited like the post's own text."""
from __future__ import annotations

import email
import json
from email import policy as email_policy
from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image

from auditors.image_analysis import ImageSettings, analyse_bytes
from auditors.image_text import DETECT_SIDE, MIN_READ_SIDE, TextReader, reading_order, stacked_lines
from flyers import draw_flyer
from records.findings import FindingQuery
from schoolaudit.app import load_app
from schoolaudit.cli import main

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


def test_columns_are_read_one_after_the_other_between_heading_and_footer():
    heading, footer = (_box(200, 20, 600, 60), "Spring fair"), (_box(50, 420, 600, 40), "Everyone welcome")
    left = [(_box(50, 120 + 60 * row, 300, 40), text) for row, text in enumerate(["When:", "Friday", "6 pm"])]
    right = [(_box(550, 145 + 60 * row, 300, 40), text) for row, text in enumerate(["Where:", "School gym"])]
    expected = ["Spring fair", "When:", "Friday", "6 pm", "Where:", "School gym", "Everyone welcome"]
    assert reading_order([footer, *right, heading, *left]) == expected
    aligned = [(_box(550, 120 + 60 * row, 300, 40), text) for row, text in enumerate(["Where:", "School gym"])]
    assert reading_order([*aligned, footer, *left, heading]) == expected
    left_footer = (_box(50, 420, 250, 40), "Everyone welcome")  # under the left column only: still after both
    assert reading_order([*aligned, left_footer, *left, heading]) == expected


def test_a_two_column_flyer_is_read_column_by_column_by_scan_image(tmp_path, capsys):
    flyer = draw_flyer(tmp_path / "columns.jpg", ["Spring fair", "Everyone welcome"],
                       columns=(["When:", "Friday May 3", "6 to 8 pm"], ["Where:", "School gym", "12 Maple Street"]))
    assert main(["scan-image", str(flyer), "--workers", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == \
        "Spring fair\nWhen:\nFriday May 3\n6 to 8 pm\nWhere:\nSchool gym\n12 Maple Street\nEveryone welcome"


def test_turned_text_is_read_line_by_line():
    # the detector's boxes on a flyer turned 20 degrees: each line's box overlaps the next one's height
    boxes = [[[139, 51], [688, 256], [660, 331], [111, 126]], [[95, 185], [509, 339], [490, 389], [76, 235]],
             [[45, 319], [487, 484], [467, 537], [25, 372]]]
    pieces = [(np.array(box, dtype=np.float32), text) for box, text in zip(boxes, FLYER_LINES)]
    assert reading_order(pieces[::-1]) == FLYER_LINES


def test_a_flyer_is_read_line_by_line(tmp_path):
    flyer = draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES)
    analysis = analyse_bytes(flyer.read_bytes(), ONLY_TEXT)
    assert analysis.text == "\n".join(FLYER_LINES)
    assert analysis.faces == []


def test_a_flyer_photographed_at_12_mp_is_gated_on_the_small_copy_and_read(tmp_path):
    flyer = draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES, size=(4032, 3024), points=(240, 170))
    assert analyse_bytes(flyer.read_bytes(), ONLY_TEXT).text == "\n".join(FLYER_LINES)


def test_light_text_on_a_dark_poster_is_read_too(tmp_path):
    flyer = draw_flyer(tmp_path / "dark.jpg", ["Vote Maria Lopez", "for council"], background=(20, 60, 120),
                       ink=(255, 255, 255))
    assert analyse_bytes(flyer.read_bytes(), ONLY_TEXT).text == "Vote Maria Lopez\nfor council"


def test_only_images_that_look_like_text_reach_the_recogniser(reader, monkeypatch, tmp_path):
    recognised = []
    engine = reader.engine

    def counting_engine(image, **steps):
        recognised.extend([1] if steps.get("use_rec") else [])
        return engine(image, **steps)

    monkeypatch.setattr(reader, "engine", counting_engine)
    plain = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    assert not reader.looks_like_text(plain) and reader.read(plain) == "" and not recognised
    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES))
    assert reader.looks_like_text(flyer) and reader.read(flyer) and recognised


def test_the_gate_asks_for_two_stacked_lines_of_similar_height():
    heading, line = _box(40, 100, 400, 44), _box(40, 170, 300, 40)
    assert len(stacked_lines([heading, line])) == 2
    assert len(stacked_lines([heading, line, _box(40, 300, 200, 0)])) == 2  # a flat box is no line
    assert stacked_lines([heading]) == []  # a stray word or a banner
    assert stacked_lines([heading, _box(500, 102, 300, 40)]) == []  # two pieces of one row
    assert stacked_lines([heading, _box(40, 170, 300, 15)]) == []  # a caption under a sign's big letters
    assert stacked_lines([_box(40, 100, 60, 50), _box(40, 170, 60, 50)]) == []  # faces, bricks: not lines
    turned = [[[139, 51], [688, 256], [660, 331], [111, 126]], [[95, 185], [509, 339], [490, 389], [76, 235]]]
    assert len(stacked_lines([np.array(box, dtype=np.float32) for box in turned])) == 2


def test_a_photo_with_one_printed_line_is_not_read(reader, tmp_path):
    # a banner across a photo: the detector finds a line (the gate used to open on it), not a flyer
    photo = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
    banner = Image.open(draw_flyer(tmp_path / "banner.jpg", ["Go Tigers go!"], size=(1600, 300)))
    photo.paste(banner.crop((0, 0, 1600, 300)), (0, 700))
    assert reader.gate_boxes(photo) and not reader.looks_like_text(photo) and reader.read(photo) == ""


def test_large_type_is_read_on_a_smaller_copy(reader, monkeypatch, tmp_path):
    sides = []
    engine = reader.engine

    def recording_engine(image, **steps):
        sides.extend([max(image.shape[:2])] if steps.get("use_rec") else [])
        return engine(image, **steps)

    monkeypatch.setattr(reader, "engine", recording_engine)
    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES))  # 1350 px high, lines of 44 to 64 pt
    assert reader.read(flyer) == "\n".join(FLYER_LINES) and sides == [MIN_READ_SIDE]


def test_small_type_is_read_in_full_where_its_lines_were_found_on_a_smaller_copy(reader, monkeypatch, tmp_path):
    """The detector's memory grows with the area it sees: it finds the lines on a copy of at most DETECT_SIDE,
    and the recogniser reads them in the image at the side the small type asks for."""
    found_at, read_at = [], []
    detector, engine = reader.engine.text_det.session, reader.engine

    def recording_detector(batch):
        found_at.append(max(batch.shape[2:]))
        return detector(batch)

    def recording_engine(image, **steps):
        read_at.extend([max(image.shape[:2])] if steps.get("use_rec") else [])
        return engine(image, **steps)

    monkeypatch.setattr(reader.engine.text_det, "session", recording_detector)
    monkeypatch.setattr(reader, "engine", recording_engine)
    # 18 pt: read at read_side with either detector (22 pt lines measure 10 px at the gate's 320 px with the fp32
    # detector, 13 with the int8 one, which so reads them at 984 px)
    flyer = Image.open(draw_flyer(tmp_path / "small.jpg", FLYER_LINES, points=(26, 18)))
    assert reader.read(flyer) == "\n".join(FLYER_LINES)
    assert read_at == [reader.read_side] and max(found_at) == DETECT_SIDE


def test_threads_sharing_a_reader_take_turns(reader, tmp_path):
    """rapidocr keeps each call's options on its engine: a gate's look (no recogniser) beside a reading
    must not leave the reading without its text."""
    from concurrent.futures import ThreadPoolExecutor

    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES)).convert("RGB")
    alone = reader.read_all(flyer, MIN_READ_SIDE), len(reader.gate_boxes(flyer))
    looks: list[int] = []

    def look_while(reading) -> None:
        while not reading.done():
            looks.append(len(reader.gate_boxes(flyer)))

    with ThreadPoolExecutor(2) as threads:  # the other thread looks again and again while one reads
        readings = []
        for _ in range(3):
            readings.append(threads.submit(reader.read_all, flyer, MIN_READ_SIDE))
            threads.submit(look_while, readings[-1]).result()
    assert [reading.result() for reading in readings] == [alone[0]] * 3
    assert looks and set(looks) == {alone[1]}


def test_the_gate_waits_for_a_reading_in_another_thread(reader, tmp_path):
    """A look beside a reading adds its run to the worker's memory peak: it starts when the reading ends."""
    import threading

    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES)).convert("RGB")
    alone = len(reader.gate_boxes(flyer))
    looked: list[int] = []
    with reader._turn:  # as a reading in another thread holds it
        look = threading.Thread(target=lambda: looked.append(len(reader.gate_boxes(flyer))), daemon=True)
        look.start()
        look.join(timeout=1.0)
        assert look.is_alive() and not looked
    look.join(timeout=60)
    assert looked == [alone] and alone >= 2


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
        demo_config, demo_site, site_dir, tmp_path, capsys):
    """Through the real paths: the local server serves the feed and the flyer, the nightly job
    crawls and audits and writes its digest (.eml), `audit` renders the account's HTML report."""
    draw_flyer(site_dir / "images" / "flyer.jpg", FLYER_LINES)
    registry = demo_config / "accounts.toml"  # the demo board's schools, and the art club as its only account
    registry.write_text(registry.read_text().partition("[[accounts]]")[0])
    add_feed_account(demo_config, "birchwood-art", f"{demo_site.url}/{_flyer_feed(site_dir, 'flyer.jpg')}")
    assert main(["--config", str(demo_config), "run", "nightly", "--dry-run", str(tmp_path / "eml")]) == 0
    nightly = [message for message in (email.message_from_bytes(f.read_bytes(), policy=email_policy.default)
                                       for f in sorted((tmp_path / "eml").glob("*.eml")))
               if message["Subject"].startswith("[schoolaudit] 1 new finding")]  # the nightly digest
    assert [m["To"] for m in nightly] == ["Communications office <communications@example.org>"]
    assert 'Found: "Wine & cheese night" (in the text in image 1)' in nightly[0].get_body(("plain",)).get_content()
    assert "Wine &amp; cheese night" in nightly[0].get_body(("html",)).get_content()
    assert main(["--config", str(demo_config), "audit", "birchwood-art", "--out", str(tmp_path / "report")]) == 0
    html = (tmp_path / "report" / "accounts" / "birchwood-art.html").read_text()
    assert "the text in image 1" in html and "Wine &amp; cheese night" in html
    app = load_app(demo_config)
    findings = app.store.findings(FindingQuery(account_ids=("birchwood-art",)))
    app.close()
    assert [(f.category, f.location, f.evidence) for f in findings] == \
        [("substances", "image_text:0", "Wine & cheese night")]


def test_one_opencv_is_installed_and_it_is_the_headless_build():
    """rapidocr's cv2 is opencv-python-headless (no libGL); a second OpenCV package would overwrite cv2/."""
    from importlib import metadata

    import cv2  # noqa: F401  (imports: no display libraries needed)

    names = sorted({d.metadata["Name"].lower() for d in metadata.distributions() if d.metadata["Name"]})
    assert [name for name in names if name.startswith("opencv")] == ["opencv-python-headless"]


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


def test_a_changed_way_of_reading_is_part_of_the_cache_key(monkeypatch):
    from auditors import image_text

    before = ImageSettings().params
    monkeypatch.setattr(image_text, "READING_VERSION", image_text.READING_VERSION + " and more")
    assert ImageSettings().params != before


@pytest.mark.parametrize("how", [{}, {"angle": -20}, {"points": (30, 22)}])
def test_the_gate_finds_the_lines_rapidocrs_engine_finds_on_the_same_copy(reader, tmp_path, how):
    """The gate runs the text detector alone, fed in one resize: the same stacked lines, of the same
    height within a pixel, as the whole engine on the gate's copy."""
    from auditors.image_text import _bgr

    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES, **how))
    engine_boxes = reader.engine(_bgr(flyer, reader.gate_side), use_det=True, use_cls=False, use_rec=False).boxes
    engine_lines, gate_lines = stacked_lines(list(engine_boxes)), stacked_lines(reader.gate_boxes(flyer))
    assert len(gate_lines) == len(engine_lines) >= 2
    assert sorted(round(line.height) for line in gate_lines) == pytest.approx(
        sorted(round(line.height) for line in engine_lines), abs=1)


def test_the_detectors_input_is_rapidocrs_normalisation_of_the_bgr_copy(reader):
    """What rapidocr's own pre-processing (its `normalize`, then `permute`) makes of the BGR copy resized to the
    network's sides."""
    colours = Image.fromarray(np.random.default_rng(7).integers(0, 256, (200, 300, 3), dtype=np.uint8))
    batch, (width, height) = reader.detector_input(colours, 160)
    assert (width, height) == (160, 107) and batch.shape == (1, 3, 96, 160) and batch.dtype == np.float32
    preprocess = reader.detector.get_preprocess()
    bgr = np.asarray(colours.resize((160, 96), Image.Resampling.BILINEAR, reducing_gap=2.0))[:, :, ::-1]
    expected = preprocess.permute(preprocess.normalize(bgr))[None]
    assert np.allclose(batch, expected, atol=1e-5)
