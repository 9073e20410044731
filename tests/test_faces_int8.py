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


def _iou(a, b) -> float:
    ax2, ay2, bx2, by2 = a.x + a.w, a.y + a.h, b.x + b.w, b.y + b.h
    w = max(0, min(ax2, bx2) - max(a.x, b.x))
    h = max(0, min(ay2, by2) - max(a.y, b.y))
    return w * h / (a.w * a.h + b.w * b.h - w * h)


def test_model_files_match_their_digests():
    assert faces.model_digest(faces.MODEL_PATH) == faces.MODEL_SHA256
    assert faces.model_digest(faces.FP32_MODEL_PATH) == faces.FP32_MODEL_SHA256
    assert faces.model_file() == faces.MODEL_PATH and faces.model_file("fp32") == faces.FP32_MODEL_PATH


def test_int8_and_fp32_find_the_same_face():
    image = Image.open(ASTRONAUT)
    (int8,) = FaceDetector().detect(image)
    (fp32,) = FaceDetector(precision="fp32").detect(image)
    assert int8.score >= 0.9 and fp32.score >= 0.9
    assert _iou(int8, fp32) > 0.8, (int8, fp32)


def test_model_precision_is_part_of_the_cache_key():
    settings = ImageSettings()
    assert settings.face_model == "int8"
    assert replace(settings, face_model="fp32").params != settings.params
    assert ImageSettings.from_rules({"detector": {"model": "fp32"}}).face_model == "fp32"


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        FaceDetector(precision="fp16")
