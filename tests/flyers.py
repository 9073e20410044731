"""Flyers drawn at test time with Pillow: text in pixels, for the OCR tests and bench/eval_images.py."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def draw_flyer(path: Path, lines: list[str], size: tuple[int, int] = (1080, 1350),
               background=(250, 240, 200), ink=(30, 30, 90), font: str | None = None,
               points: tuple[int, int] = (64, 44), angle: float = 0.0, photo: Path | None = None,
               columns: tuple[list[str], list[str]] | None = None, fine_print: tuple[str, int] | None = None) -> Path:
    """A poster with `lines` one under the other (the first a heading, in `points[0]`, the others
    in `points[1]`), in Pillow's own font or the TrueType file `font`; the text turned by `angle`
    degrees; on a plain `background` or on the photo `photo` (text outlined in the background
    colour, as posters over photos are). With `columns`, two columns of lines follow the first
    line side by side, and the other lines come under them. `fine_print` (text, points) is a last
    line in small type at the foot (a sponsor's offer, a price)."""
    image = Image.open(photo).convert("RGB").resize(size) if photo else Image.new("RGB", size, background)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step, margin = size[1] // 9, size[0] // 14

    def write(x: int, y: int, text: str, size_pt: int) -> None:
        draw.text((x, y), text, font=_font(font, size_pt), fill=ink, stroke_width=3 if photo else 0,
                  stroke_fill=background)

    write(margin, step, lines[0], points[0])
    top = step * 2
    if columns:
        for column, x in zip(columns, (margin, size[0] // 2 + margin // 2)):
            for row, text in enumerate(column):
                write(x, top + row * step * 3 // 4, text, points[1])
        top += max(len(c) for c in columns) * step * 3 // 4 + step // 2
    for line in lines[1:]:
        write(margin, top, line, points[1])
        top += step
    if fine_print:
        write(margin, size[1] - step, *fine_print)
    if angle:
        left, upper, right, lower = layer.getbbox()  # turned about the text's own middle: it stays on the page
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, center=((left + right) / 2, (upper + lower) / 2))
    image.paste(layer, (0, 0), layer)
    image.save(path, quality=88)
    return path


def _font(font: str | None, points: int):
    return ImageFont.truetype(font, points) if font else ImageFont.load_default(points)
