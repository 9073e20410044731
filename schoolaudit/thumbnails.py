"""Thumbnails for reports and e-mail, with every detected face made unrecognisable.

A digest must never re-distribute a student's face, so each face box (expanded by `pad` of its
size on every side) is pixelated to a few blocks and then blurred, on the thumbnail itself.
`faces` are boxes in the coordinates of the full, upright image, as the image auditors report them
(`auditors.faces.Face`, `{"box": [x, y, w, h]}` dicts as `scan-image` prints, or `[x, y, w, h]`).
With `faces=None` the faces are detected here (at a lower score than the auditors use); if the
detector cannot run, the whole thumbnail is blurred rather than risk showing a face.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

#: Detector score from which a box is blurred when the thumbnail detects faces itself.
BLUR_FACE_SCORE = 0.5


def _boxes(faces: Iterable) -> list[tuple[float, float, float, float]]:
    boxes = []
    for face in faces:
        if hasattr(face, "box"):
            box = face.box
        elif isinstance(face, dict):
            box = face["box"]
        else:
            box = face
        x, y, w, h = (float(v) for v in box)
        boxes.append((x, y, w, h))
    return boxes


def _detect(data: bytes) -> list | None:
    """Faces found here, or None when the detector cannot run."""
    try:
        from auditors.image_analysis import ImageSettings, analyse_bytes

        # a lower score than the auditors' 0.8: blurring a non-face costs nothing, missing a face does
        analysis = analyse_bytes(data, ImageSettings(explicit=False, text=False, face_score=BLUR_FACE_SCORE))
    except Exception as exc:  # missing runtime or model: the caller blurs everything
        log.warning("thumbnail: face detection unavailable (%s); blurring the whole image", exc)
        return None
    return analysis.faces


def obscure(image, box: tuple[int, int, int, int]):
    """Pixelate then blur one region of a Pillow RGB image, in place."""
    from PIL import Image, ImageFilter

    left, top, right, bottom = box
    if right - left < 1 or bottom - top < 1:
        return image
    region = image.crop(box)
    side = max(region.width, region.height)
    blocks = max(1, min(6, side // 4))
    small = region.resize((max(1, region.width * blocks // side), max(1, region.height * blocks // side)),
                          Image.Resampling.BILINEAR)
    region = small.resize(region.size, Image.Resampling.NEAREST)
    region = region.filter(ImageFilter.GaussianBlur(radius=max(2.0, side / 5)))
    image.paste(region, box)
    return image


def blurred_thumbnail(image_path: str | Path, faces: Iterable | None = None, max_side: int = 320, *,
                      pad: float = 0.3, quality: int = 80, max_pixels: int | None = None) -> bytes:
    """A JPEG thumbnail (longer side at most `max_side`) with every face in `faces` obscured.

    Raises `auditors.image_analysis.ImageRejected` when the image cannot be read (not an image,
    truncated, or above the pixel limit).
    """
    from PIL import Image, ImageFilter

    from auditors.image_analysis import DEFAULT_MAX_PIXELS, open_image

    data = Path(image_path).read_bytes()
    image, (full_w, full_h) = open_image(data, max_pixels or DEFAULT_MAX_PIXELS, max_side)
    if faces is None:
        faces = _detect(data)
    scale_source = image.width / full_w if full_w else 1.0
    longest = max(image.size)
    if longest > max_side:
        factor = max_side / longest
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                             Image.Resampling.LANCZOS)
        scale = scale_source * factor
    else:
        scale = scale_source
    image = image.copy()
    if faces is None:
        image = image.filter(ImageFilter.GaussianBlur(radius=max(4.0, max(image.size) / 20)))
    else:
        for x, y, w, h in _boxes(faces):
            grow_x, grow_y = w * pad, h * pad
            left = max(0, int((x - grow_x) * scale))
            top = max(0, int((y - grow_y) * scale))
            right = min(image.width, int(round((x + w + grow_x) * scale)) + 1)
            bottom = min(image.height, int(round((y + h + grow_y) * scale)) + 1)
            obscure(image, (left, top, right, bottom))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()
