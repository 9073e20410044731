"""The int8 text detector: it is the default, it is the file the NOTICE names, and it gates and reads as fp32."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from auditors import image_text
from auditors.image_text import TextReader, stacked_lines
from flyers import draw_flyer

ASTRONAUT = Path(__file__).resolve().parent / "fixtures" / "images" / "astronaut.jpg"
FLYER_LINES = ["Bake sale", "All proceeds to the library", "Thursday after school"]
#: drawn flyers that must open the gate and be read alike by both detectors (tests/flyers.draw_flyer options)
FLYERS = {"plain": {}, "small type": {"points": (30, 22)}, "turned -20": {"angle": -20},
          "light on dark": {"background": (20, 60, 120), "ink": (255, 255, 255)}}


@pytest.fixture(scope="module")
def readers() -> tuple[TextReader, TextReader]:
    return TextReader(), TextReader(detector_precision="fp32")


def test_the_int8_detector_is_the_file_its_digest_names():
    digest = hashlib.sha256(image_text.INT8_DETECTOR_PATH.read_bytes()).hexdigest()
    assert digest == image_text.INT8_DETECTOR_SHA256
    assert digest[:12] in image_text.MODEL_NAME  # a new file is a new cache key
    assert image_text.model_files()[0] == image_text.INT8_DETECTOR_PATH
    assert image_text.model_files("fp32")[0].name == image_text.DETECTOR_FILE


def test_the_readers_default_detector_is_the_int8_one(readers):
    int8, fp32 = readers
    assert Path(int8.engine.cfg.Det.model_path) == image_text.INT8_DETECTOR_PATH
    assert Path(fp32.engine.cfg.Det.model_path).name == image_text.DETECTOR_FILE


@pytest.mark.parametrize("how", FLYERS.values(), ids=FLYERS.keys())
def test_int8_and_fp32_open_the_gate_on_the_same_lines_and_read_the_same_text(readers, tmp_path, how):
    int8, fp32 = readers
    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES, **how))
    lines8, lines32 = stacked_lines(int8.gate_boxes(flyer)), stacked_lines(fp32.gate_boxes(flyer))
    assert len(lines8) == len(lines32) >= 2
    # a line 10 to 20 px high at the gate's 320 px: int8 boxes move by whole pixels, up to 3 on the bench's flyers
    assert sorted(line.height for line in lines8) == pytest.approx(sorted(line.height for line in lines32), abs=4)
    assert int8.read(flyer) == fp32.read(flyer) == "\n".join(FLYER_LINES)


def test_int8_keeps_the_gate_closed_where_fp32_does(readers):
    int8, fp32 = readers
    photo = Image.open(ASTRONAUT)  # a portrait with a flag's stripes and a badge: boxes, but no stacked lines
    plain = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    for image in (photo, plain):
        assert not fp32.looks_like_text(image) and not int8.looks_like_text(image)


def test_int8_gives_the_probability_map_of_fp32_within_a_few_hundredths(readers, tmp_path):
    int8, fp32 = readers
    flyer = Image.open(draw_flyer(tmp_path / "flyer.jpg", FLYER_LINES))
    batch, _ = fp32.detector_input(flyer, fp32.gate_side)
    map8, map32 = int8.detector.session(batch), fp32.detector.session(batch)
    assert map8.shape == map32.shape and map8.dtype == np.float32
    assert float(np.abs(map8 - map32).mean()) < 0.02
    assert float(((map8 > 0.3) != (map32 > 0.3)).mean()) < 0.02  # the text pixels (rapidocr's threshold 0.3)


def test_an_unknown_detector_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        image_text.model_files("fp16")
