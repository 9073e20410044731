"""Thumbnails for reports and e-mail: every face is made unrecognisable, the rest stays."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from auditors.faces import FaceDetector
from schoolaudit.thumbnails import blurred_thumbnail

ASTRONAUT = Path(__file__).resolve().parent / "fixtures" / "images" / "astronaut.jpg"


def _gray(data: bytes | Image.Image) -> np.ndarray:
    image = Image.open(io.BytesIO(data)) if isinstance(data, bytes) else data
    return np.asarray(image.convert("L"), dtype=np.float32)


def _detail(pixels: np.ndarray) -> float:
    """Mean edge strength: high for a face's eyes, nose and mouth, near zero once blurred."""
    return float(np.abs(np.diff(pixels, axis=0)).mean() + np.abs(np.diff(pixels, axis=1)).mean())


@pytest.fixture(scope="module")
def face():
    (found,) = FaceDetector().detect(Image.open(ASTRONAUT))
    return found


def _reference(max_side: int) -> Image.Image:
    original = Image.open(ASTRONAUT).convert("RGB")
    factor = max_side / max(original.size)
    return original.resize((round(original.width * factor), round(original.height * factor)), Image.Resampling.LANCZOS)


def test_face_region_differs_strongly_from_the_original(face):
    data = blurred_thumbnail(ASTRONAUT, [face], max_side=320)
    assert data[:3] == b"\xff\xd8\xff"  # JPEG
    thumb, reference = _gray(data), _gray(_reference(320))
    assert thumb.shape == reference.shape == (320, 320)
    scale = 320 / 512
    x0, y0 = int(face.x * scale), int(face.y * scale)
    x1, y1 = int((face.x + face.w) * scale), int((face.y + face.h) * scale)
    inside_thumb, inside_ref = thumb[y0:y1, x0:x1], reference[y0:y1, x0:x1]
    assert np.abs(inside_thumb - inside_ref).mean() > 15  # pixels changed a lot
    assert _detail(inside_thumb) < 0.25 * _detail(inside_ref)  # and the features are gone
    # far from the face (lower left: the flag and the suit) the picture is unchanged
    outside = (slice(240, 320), slice(0, 80))
    assert np.abs(thumb[outside] - reference[outside]).mean() < 6


def test_a_mild_blur_would_not_pass_the_same_check(face):
    """The check above is meaningful: a light blur keeps too much of the face."""
    reference = _reference(320)
    light = reference.filter(ImageFilter.GaussianBlur(1))
    scale = 320 / 512
    box = (slice(int(face.y * scale), int((face.y + face.h) * scale)),
           slice(int(face.x * scale), int((face.x + face.w) * scale)))
    assert _detail(_gray(light)[box]) > 0.25 * _detail(_gray(reference)[box])


def test_faces_given_as_scan_image_dicts_or_lists(face):
    as_dict = blurred_thumbnail(ASTRONAUT, [{"box": face.box, "score": face.score}])
    as_list = blurred_thumbnail(ASTRONAUT, [face.box])
    assert _gray(as_dict).shape == _gray(as_list).shape == (320, 320)
    assert np.abs(_gray(as_dict) - _gray(as_list)).mean() < 1


def test_without_faces_given_it_detects_them(face):
    detected = _gray(blurred_thumbnail(ASTRONAUT, None, max_side=256))
    given = _gray(blurred_thumbnail(ASTRONAUT, [face], max_side=256))
    assert detected.shape == (256, 256)
    assert np.abs(detected - given).mean() < 1


def test_no_faces_means_only_resized(tmp_path):
    path = tmp_path / "wide.png"
    Image.linear_gradient("L").resize((1000, 500)).convert("RGB").save(path)
    thumb = Image.open(io.BytesIO(blurred_thumbnail(path, [], max_side=320)))
    assert thumb.size == (320, 160)


def test_small_image_is_not_enlarged(face):
    thumb = Image.open(io.BytesIO(blurred_thumbnail(ASTRONAUT, [face], max_side=1024)))
    assert thumb.size == (512, 512)


def test_without_a_detector_the_whole_thumbnail_is_blurred(monkeypatch):
    from auditors import faces as faces_module
    from auditors import image_analysis

    def missing(settings):
        raise faces_module.ModelMissing("onnxruntime is not installed")

    monkeypatch.setattr(image_analysis, "_models", missing)
    thumb, reference = _gray(blurred_thumbnail(ASTRONAUT, None)), _gray(_reference(320))
    assert _detail(thumb) < 0.3 * _detail(reference)


def test_unreadable_image_raises_a_clear_error(tmp_path):
    from auditors.image_analysis import ImageRejected

    path = tmp_path / "x.jpg"
    path.write_bytes(b"nope")
    with pytest.raises(ImageRejected, match="not a readable image"):
        blurred_thumbnail(path, [])


@pytest.mark.parametrize("face_px", [32, 48])
def test_a_small_face_in_a_phone_photo_is_blurred_too(tmp_path, face_px):
    """Faces of 32 and 48 px in a 12 MP photo: only the finer passes find them, and the thumbnail must hide them."""
    astronaut = Image.open(ASTRONAUT).convert("RGB")
    factor = face_px / 119  # the astronaut's face box is 119 px high on the 512 px original
    small = astronaut.resize((round(512 * factor),) * 2, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (4032, 3024), (120, 140, 160))
    canvas.paste(small, (1800, 1400))
    path = tmp_path / "phone.jpg"
    canvas.save(path, quality=90)
    thumb = _gray(blurred_thumbnail(path, None, max_side=2016))  # half size: the face is face_px / 2 here
    reference = _gray(canvas.resize((2016, 1512), Image.Resampling.LANCZOS))
    face = (slice(700 + round(59 * factor / 2), 700 + round(178 * factor / 2)),
            slice(900 + round(180 * factor / 2), 900 + round(275 * factor / 2)))
    assert _detail(thumb[face]) < 0.4 * _detail(reference[face])
