"""Text in images (posters, flyers, slides), read on the board's own CPU.

The models are PP-OCRv4 text detection and recognition as ONNX files shipped inside the
`rapidocr-onnxruntime` wheel (Apache-2.0; the models are PaddleOCR's, Apache-2.0), run on
onnxruntime: nothing is downloaded. It brings the `opencv-python` build of cv2, the only cv2
schoolaudit installs (nothing else here uses OpenCV).

Reading costs far more than finding faces, so `TextReader.read` first runs the text detector on a
small copy of the image (`gate_side`); only an image where it finds text is read at `read_side`.
Lines come back in reading order (top to bottom, and left to right within a line), joined by
newlines; pieces the recogniser is unsure of (`min_score`) are left out.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "PP-OCRv4 det+rec (rapidocr-onnxruntime 1.4.4)"


class ModelMissing(RuntimeError):
    """The OCR package (rapidocr-onnxruntime and its bundled models) is not installed."""


def check_available() -> None:
    try:
        import rapidocr_onnxruntime  # noqa: F401  (present or not: the models ship inside it)
    except ImportError as exc:
        raise ModelMissing(f"{exc.name or exc} is not installed; run `pip install -e .`") from exc


class TextReader:
    """The text in a decoded Pillow image, or "" when it holds none."""

    def __init__(self, threads: int = 1, gate_side: int = 320, read_side: int = 1280, min_score: float = 0.6):
        check_available()
        from rapidocr_onnxruntime import RapidOCR

        threads = max(1, int(threads))
        self.engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, use_cls=False,
                               det_limit_type="max", det_limit_side_len=read_side, print_verbose=False)
        self.gate_side, self.read_side, self.min_score = gate_side, read_side, min_score

    def looks_like_text(self, image) -> bool:
        """True when the text detector finds at least one line on a small copy of the image."""
        boxes, _elapsed = self.engine.text_det(_bgr(image, self.gate_side))
        return boxes is not None and len(boxes) > 0

    def read(self, image) -> str:
        if not self.looks_like_text(image):
            return ""
        found, _elapsed = self.engine(_bgr(image, self.read_side), use_cls=False)
        pieces = [(np.asarray(box, dtype=np.float32), text.strip()) for box, text, score in (found or [])
                  if float(score) >= self.min_score and text.strip()]
        return "\n".join(reading_order(pieces))


def reading_order(pieces: list[tuple[np.ndarray, str]]) -> list[str]:
    """Lines of text from (4x2 box, text) pieces: pieces whose vertical centres lie within half a
    line height of each other form one line, read left to right; lines top to bottom."""
    placed = sorted(((float(box[:, 1].mean()), float(np.ptp(box[:, 1])), float(box[:, 0].min()), text)
                     for box, text in pieces))
    lines: list[list[tuple[float, float, float, str]]] = []
    for piece in placed:
        centre, height = piece[0], piece[1]
        if lines:
            last = lines[-1]
            line_centre = sum(p[0] for p in last) / len(last)
            if abs(centre - line_centre) <= max(height, last[0][1]) / 2:
                last.append(piece)
                continue
        lines.append([piece])
    return [" ".join(p[3] for p in sorted(line, key=lambda p: p[2])) for line in lines]


def _bgr(image, max_side: int) -> np.ndarray:
    """The image as an OpenCV-style BGR array, scaled down to `max_side` when larger."""
    from PIL import Image

    if image.mode != "RGB":
        image = image.convert("RGB")
    longest = max(image.size)
    if longest > max_side:
        factor = max_side / longest
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                             Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
