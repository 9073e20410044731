"""Flyers drawn at test time with Pillow's own font: text in pixels, for the OCR tests."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def draw_flyer(path: Path, lines: list[str], size: tuple[int, int] = (1080, 1350),
               background=(250, 240, 200), ink=(30, 30, 90), font: str | None = None) -> Path:
    """A poster with `lines` in large type, one under the other (the first line a heading), in
    Pillow's own font or the TrueType file `font`."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    top = size[1] // 9
    for index, line in enumerate(lines):
        points = 64 if index == 0 else 44
        face = ImageFont.truetype(font, points) if font else ImageFont.load_default(points)
        draw.text((size[0] // 14, top), line, font=face, fill=ink)
        top += size[1] // 8
    image.save(path, quality=88)
    return path
