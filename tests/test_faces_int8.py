"""The int8 face model: it is the default, it is the file the NOTICE names, and it agrees with fp32."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from auditors import faces
from auditors.faces import FaceDetector
from auditors.image_analysis import ImageSettings

ASTRONAUT = Path(__file__).resolve().parent / "fixtures" / "images" / "astronaut.jpg"


def test_model_files_match_their_digests():
    assert faces.model_digest(faces.MODEL_PATH) == faces.MODEL_SHA256
    assert faces.model_digest(faces.FP32_MODEL_PATH) == faces.FP32_MODEL_SHA256
    assert faces.model_file() == faces.MODEL_PATH and faces.model_file("fp32") == faces.FP32_MODEL_PATH


def test_int8_and_fp32_find_the_same_face():
    image = Image.open(ASTRONAUT)
    (int8,) = FaceDetector().detect(image)
    (fp32,) = FaceDetector(precision="fp32").detect(image)
    assert int8.score >= 0.9 and fp32.score >= 0.9
    assert int8.overlap(fp32) > 0.8, (int8, fp32)


def test_model_precision_is_part_of_the_cache_key():
    settings = ImageSettings()
    assert settings.face_model == "int8"
    assert replace(settings, face_model="fp32").params != settings.params
    assert ImageSettings.from_rules({"detector": {"model": "fp32"}}).face_model == "fp32"


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        FaceDetector(precision="fp16")


def test_overlap_is_intersection_over_union():
    box = faces.Face(10, 10, 20, 20, 0.9)
    assert box.overlap(box) == 1.0
    assert box.overlap(faces.Face(40, 40, 20, 20, 0.9)) == 0.0
    assert box.overlap(faces.Face(20, 10, 20, 20, 0.9)) == 200 / 600  # half of each: 200 shared of 600
    empty = faces.Face(0, 0, 0, 0, 0.9)
    assert empty.overlap(empty) == 0.0  # two empty boxes: no union, not a division by zero
