"""Text in images (posters, flyers, slides), read on the board's own CPU.

The models are PaddleOCR's PP-OCRv6 small text detection and recognition (Apache-2.0) as ONNX
files shipped inside the `rapidocr` 3.10.0 wheel (Apache-2.0), run on onnxruntime. They are passed
to it by path, so its model-download code is never reached. It depends on `opencv-python-headless`,
the only cv2 schoolaudit installs (no libGL needed on a server; nothing else here uses OpenCV).

Reading costs far more than finding faces, so `TextReader.read` first runs the text detector on a
small copy of the image (`gate_side`); only an image where it finds text is read at `read_side`.
Lines come back in reading order (`reading_order`), joined by newlines; pieces the recogniser is
unsure of (`min_score`) are left out.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "PP-OCRv6 small det+rec (rapidocr 3.10.0)"
DETECTOR_FILE, RECOGNISER_FILE = "PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"


class ModelMissing(RuntimeError):
    """The OCR package (rapidocr and the models inside its wheel) is not installed."""


def model_files() -> tuple[Path, Path]:
    """(detector, recogniser) ONNX files inside the installed rapidocr wheel, or `ModelMissing`."""
    try:
        import rapidocr
    except ImportError as exc:
        raise ModelMissing(f"{exc.name or exc} is not installed; run `pip install -e .`") from exc
    folder = Path(rapidocr.__file__).parent / "models"
    files = folder / DETECTOR_FILE, folder / RECOGNISER_FILE
    for file in files:
        if not file.is_file():
            raise ModelMissing(f"{file} is missing: the installed rapidocr is not 3.10.0; run `pip install -e .`")
    return files


def check_available() -> None:
    model_files()


class TextReader:
    """The text in a decoded Pillow image, or "" when it holds none."""

    def __init__(self, threads: int = 1, gate_side: int = 320, read_side: int = 1280, min_score: float = 0.6):
        detector, recogniser = model_files()
        from rapidocr import RapidOCR

        threads = max(1, int(threads))
        self.engine = RapidOCR(params={
            "Global.log_level": "error",  # not a warning for each photo with no text
            "Global.use_cls": False, "Global.text_score": min_score,
            "Det.model_path": str(detector), "Det.limit_type": "max", "Det.limit_side_len": read_side,
            "Rec.model_path": str(recogniser),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1})
        self.gate_side, self.read_side, self.min_score = gate_side, read_side, min_score

    def looks_like_text(self, image) -> bool:
        """True when the text detector finds at least one line on a small copy of the image."""
        found = self.engine(_bgr(image, self.gate_side), use_det=True, use_cls=False, use_rec=False)
        return found.boxes is not None and len(found.boxes) > 0

    def read(self, image) -> str:
        if not self.looks_like_text(image):
            return ""
        found = self.engine(_bgr(image, self.read_side), use_det=True, use_cls=False, use_rec=True)
        if found.boxes is None or found.txts is None:
            return ""
        pieces = [(np.asarray(box, dtype=np.float32), text.strip())
                  for box, text, score in zip(found.boxes, found.txts, found.scores)
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
