"""Text in images (posters, flyers, slides), read on the board's own CPU.

The models are PaddleOCR's PP-OCRv6 small text detection and recognition (Apache-2.0) as ONNX
files shipped inside the `rapidocr` 3.10.0 wheel (Apache-2.0), run on onnxruntime: the recogniser as
it is, the detector in int8 (auditors/models/ppocrv6-det-small-int8.onnx, built from the wheel's by
auditors/models/quantize_ppocr.py: 0.67x the bare gate's CPU, the same gate and text on the bench).
They are passed to it by path, so its model-download code is never reached. It depends on `opencv-python-headless`,
the only cv2 schoolaudit installs (no libGL needed on a server; nothing else here uses OpenCV).

Reading costs far more than finding faces, so `TextReader.read` first runs the text detector on a
small copy of the image (`gate_side`); only an image that shows what a flyer, poster, page or sign
has (`stacked_lines`: two lines of similar height one under the other), not a photo with a stray
word (a shirt's print, a banner, a logo), is read, at up to `read_side`: the lines are found on a
copy of at most `DETECT_SIDE` and recognised in the image at the side read. Lines come back in
reading order (`reading_order`), joined by newlines; pieces the recogniser is unsure of
(`min_score`) are left out.
"""
from __future__ import annotations

import logging
import statistics
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from auditors.onnx_session import lean_session

log = logging.getLogger(__name__)

DETECTOR_FILE, RECOGNISER_FILE = "PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"  # in the rapidocr wheel
INT8_DETECTOR_PATH = Path(__file__).resolve().parent / "models" / "ppocrv6-det-small-int8.onnx"
INT8_DETECTOR_SHA256 = "69362a194e3e640607532ce19af95b035846110e23d004b90efde52654e96aca"
MODEL_NAME = f"PP-OCRv6 small det int8 {INT8_DETECTOR_SHA256[:12]} + rec (rapidocr 3.10.0)"
DETECTOR_PRECISIONS = ("int8", "fp32")
#: How images are chosen and read, in the analysis cache key: a change here must not reuse old analyses.
READING_VERSION = ("5: gate on stacked lines (the detector alone, one resize), read at 960 to 1280 px, "
                   "lines found at up to 640 px, by the int8 detector")
#: The text detector finds the lines on a copy of the image at most this long, and the recogniser
#: reads them in the image at the side read: the detector's memory and time grow with the area it
#: sees (for a page: at 1280 px 350 MB and 1.9 s, at 960 px 165 MB, at 640 px 70 MB and 0.6 s),
#: and what is read stays the same (bench/eval_images.py --text-only: the same text on every flyer
#: and page, character accuracy 0.999, as when the lines were found at the side read).
DETECT_SIDE = 640
#: Finding lines in an input this large (the read's, not the gate's at 320 px) costs up to 100 MB: such
#: runs take turns with the process's other memory-heavy runs (`onnx_session.lean_session`)
HEAVY_INPUT = 400 * 400 * 3


class ModelMissing(RuntimeError):
    """The OCR package (rapidocr and the models inside its wheel) is not installed."""


def model_files(detector_precision: str = "int8") -> tuple[Path, Path]:
    """(detector, recogniser) ONNX files: the int8 detector of auditors/models or the wheel's fp32 one
    (`detector_precision`), the recogniser inside the installed rapidocr wheel; or `ModelMissing`."""
    if detector_precision not in DETECTOR_PRECISIONS:
        raise ValueError(f"unknown text detector precision {detector_precision!r} "
                         f"(one of {', '.join(DETECTOR_PRECISIONS)})")
    try:
        import rapidocr
    except ImportError as exc:
        raise ModelMissing(f"{exc.name or exc} is not installed; run `pip install -e .`") from exc
    folder = Path(rapidocr.__file__).parent / "models"
    files = INT8_DETECTOR_PATH if detector_precision == "int8" else folder / DETECTOR_FILE, folder / RECOGNISER_FILE
    if not files[0].is_file():
        raise ModelMissing(f"{files[0]} is missing: reinstall schoolaudit (`pip install -e .`)")
    for file in files[1:]:
        if not file.is_file():
            raise ModelMissing(f"{file} is missing: the installed rapidocr is not 3.10.0; run `pip install -e .`")
    return files


def check_available() -> None:
    model_files()


class TextReader:
    """The text in a decoded Pillow image, or "" when it holds none. `detector_precision` "fp32": the
    wheel's own detector (the int8 one's calibration and comparisons)."""

    def __init__(self, threads: int = 1, gate_side: int = 320, read_side: int = 1280, min_score: float = 0.6,
                 detector_precision: str = "int8"):
        detector, recogniser = model_files(detector_precision)
        from omegaconf import flag_override  # rapidocr's configuration library
        from rapidocr import RapidOCR

        self.engine = RapidOCR(params={
            "Global.log_level": "error",  # not a warning for each photo with no text
            "Global.use_cls": False, "Global.text_score": min_score,
            "Det.model_path": str(detector), "Det.limit_type": "max", "Det.limit_side_len": DETECT_SIDE,
            "Rec.model_path": str(recogniser), "Rec.rec_batch_num": 1})  # a line at a time: on a text page 260 MB peak instead of 339, 0.48 s CPU instead of 0.66, same text
        # our sessions (rapidocr takes ready sessions, but its config holds only plain values unless told)
        with flag_override(self.engine.cfg, "allow_objects", True):
            self.engine.cfg.Det.session = lean_session(detector, threads, arena=True, heavy_from=HEAVY_INPUT)
            self.engine.cfg.Rec.session = lean_session(recogniser, threads)
        # rapidocr loads each model on its first use; load both now, so an image's time is its own
        self.engine._load_det_model(), self.engine._load_rec_model()
        self.detector = self.engine.text_det  # the gate runs it alone (`gate_boxes`)
        self.gate_side, self.read_side, self.min_score = gate_side, read_side, min_score
        # rapidocr's engine keeps each call's options on itself (use_rec...): threads sharing it take turns.
        # The gate (the detector alone) waits for a reading too: beside one, its run added to the worker's
        # peak (two threads on the 64 shared photos twice over: 308-311 MB with it, 305-338 gate-free and
        # 316-343 with no lock at all, the same CPU per image); a reading runs on every core of the worker,
        # so while the gate waits the threads still want 2.4-2.5 of 2 cores (2.65-3.0 gate-free, 2.7-3.1 with no lock)
        self._turn = threading.Lock()

    def looks_like_text(self, image) -> bool:
        """True when the text detector finds stacked lines (`stacked_lines`) on a small copy of the image."""
        return bool(self._gate(image))

    def read(self, image, small=None) -> str:
        """The text of `image`, gated on `small` (a copy of it of at least `gate_side`, when one was
        made for other steps too) or on the image itself."""
        lines = self._gate(image if small is None else small)
        return self.read_all(image, self._side_for(image, lines)) if lines else ""

    def read_all(self, image, side: int | None = None) -> str:
        """The text, read at `side` (default `read_side`) without the gate (bench/eval_images.py
        measures what the gate misses)."""
        scaled = _bgr(image, side or self.read_side)
        with self._turn:
            found = self.engine(scaled, use_det=True, use_cls=False, use_rec=True)
        if found.boxes is None or found.txts is None:
            return ""
        pieces = [(np.asarray(box, dtype=np.float32), text.strip())
                  for box, text, score in zip(found.boxes, found.txts, found.scores)
                  if float(score) >= self.min_score and text.strip()]
        return "\n".join(reading_order(pieces))

    def gate_boxes(self, image) -> list[np.ndarray]:
        """The text detector's boxes (4x2) on a copy of the image at `gate_side`, in that copy's pixels.
        The detector alone, fed as rapidocr feeds it but in one resize, straight to the network's sides
        (multiples of 32), and in float32: 1 to 2 ms less per photo than its engine, which also resized
        twice, normalised in float64 and cut out every box for a recogniser the gate does not run (the
        same gate on every reference photo and flyer, bench/eval_images.py --text-only)."""
        batch, (width, height) = self.detector_input(image, self.gate_side)
        detector = self.detector
        with self._turn:
            boxes, _ = detector.postprocess_op(detector.session(batch), (height, width))
        return list(detector.sorted_boxes(boxes)) if len(boxes) else []

    def detector_input(self, image, side: int) -> tuple[np.ndarray, tuple[int, int]]:
        """(the text detector's input batch for `image` at a longer side of at most `side`, that
        copy's (width, height)): one resize to the network's sides, normalised as rapidocr does."""
        from PIL import Image

        from auditors.faces import scaled_size

        preprocess = self.detector.get_preprocess()
        width, height = scaled_size(image.size, side)  # the boxes are in this copy's pixels
        network = max(32, round(width / 32) * 32), max(32, round(height / 32) * 32)
        if image.mode != "RGB":
            image = image.convert("RGB")
        # BGR planes of the uint8 pixels, as views: the float values are made once, in the batch itself
        planes = np.asarray(image.resize(network, Image.Resampling.BILINEAR, reducing_gap=2.0)).transpose(2, 0, 1)[::-1]
        # rapidocr's normalisation, (x / 255 - mean) / std, as one multiply and add per value (the same
        # float32 values as a float copy of the image normalised and then transposed, 2-4 ms less at 320 px)
        scale, offset = (1 / (255 * preprocess.std)).astype(np.float32), (preprocess.mean / preprocess.std).astype(np.float32)
        batch = np.empty((1, *planes.shape), dtype=np.float32)
        np.multiply(planes, scale[:, None, None], out=batch[0])
        batch[0] -= offset[:, None, None]
        return batch, (width, height)

    def _gate(self, image) -> list["_Line"]:
        return stacked_lines(self.gate_boxes(image))

    def _side_for(self, image, lines: list["_Line"]) -> int:
        """The longer side to read at: the gate's smallest line at `READ_LINE_PX` high, within
        `MIN_READ_SIDE`..`read_side` (and never above the image's own)."""
        gate_longest = min(self.gate_side, max(image.size))
        wanted = gate_longest * READ_LINE_PX / min(line.height for line in lines)
        return int(min(max(wanted, MIN_READ_SIDE), self.read_side, max(image.size)))


#: A detected box is a line of text when it is at least this many times as long as high: the
#: detector also boxes round things (faces, bricks, petals) as text, and those are under 1.8 on the
#: bench, flyers' lines 2.6 and more.
LINE_ASPECT = 2.5
#: Two lines are stacked when the taller is at most SIMILAR_HEIGHT times the other's height, and
#: their centres lie between STACK_NEAR and STACK_FAR line heights apart across the lines, with
#: the lines overlapping along them: one under the other, as in a flyer; not two pieces of one row.
SIMILAR_HEIGHT = 1.6
STACK_NEAR, STACK_FAR = 0.6, 4.0
#: The gate's smallest line is read at about this height (px): reading costs time with the image's
#: area, and large type reads as well smaller. Never below MIN_READ_SIDE, where small print under
#: the gate's notice stays legible.
READ_LINE_PX = 40
MIN_READ_SIDE = 960


class _Line(NamedTuple):
    """A detected text box in its own frame: turned text keeps its length and height."""
    centre: np.ndarray  # (2,) px
    along: np.ndarray  # (2,) unit vector along the line
    length: float
    height: float


def stacked_lines(boxes: list) -> list[_Line]:
    """The lines among the detector's (4x2, top-left corner clockwise) boxes, when at least two of
    them are stacked (see SIMILAR_HEIGHT); else []: the gate is closed."""
    lines = [line for line in map(_line, boxes) if 0 < line.height and line.length >= LINE_ASPECT * line.height]
    if any(_stacked(a, b) for i, a in enumerate(lines) for b in lines[i + 1:]):
        return lines
    return []


def _line(box) -> _Line:
    box = np.asarray(box, dtype=np.float32)
    along = box[1] - box[0]
    length = float(np.linalg.norm(along))
    return _Line(box.mean(axis=0), along / max(length, 1e-6), length, float(np.linalg.norm(box[3] - box[0])))


def _stacked(a: _Line, b: _Line) -> bool:
    low, high = sorted((a.height, b.height))
    if high > SIMILAR_HEIGHT * low:
        return False
    offset = b.centre - a.centre
    along = abs(float(offset @ a.along))
    across = abs(float(offset[0] * a.along[1] - offset[1] * a.along[0]))
    return STACK_NEAR * high <= across <= STACK_FAR * high and along <= (a.length + b.length) / 2


class _Piece(NamedTuple):
    left: float
    top: float
    right: float
    bottom: float
    text: str

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def centre(self) -> float:
        return (self.top + self.bottom) / 2


#: a gap between columns is at least this many line heights wide (wider than any word space)
GUTTER_HEIGHTS = 1.5


def reading_order(pieces: list[tuple[np.ndarray, str]]) -> list[str]:
    """Lines of text from (4x2 box from the top-left corner clockwise, text) pieces, as people read
    them: turned text first turned back (by the boxes' median slope); columns (two or more lines
    each side of a gutter) one after the other, left to right; headings and footers that span the
    columns where they stand; within a column lines top to bottom, each read left to right."""
    if not pieces:
        return []
    slope = float(np.median([np.arctan2(box[1, 1] - box[0, 1], box[1, 0] - box[0, 0]) for box, _ in pieces]))
    turn_back = np.array([[np.cos(slope), -np.sin(slope)], [np.sin(slope), np.cos(slope)]], dtype=np.float32)
    upright = [(box @ turn_back, text) for box, text in pieces]
    return _read([_Piece(float(box[:, 0].min()), float(box[:, 1].min()), float(box[:, 0].max()),
                         float(box[:, 1].max()), text) for box, text in upright])


def _read(pieces: list[_Piece]) -> list[str]:
    rows, out, start = _rows(pieces), [], 0
    while start < len(rows):
        end, gutter = _columns_from(rows, start)
        if gutter is None:
            out.append(_join(rows[start]))
            start += 1
            continue
        segment = [p for row in rows[start:end] for p in row]
        out += _read([p for p in segment if p.right <= gutter]) + _read([p for p in segment if p.left >= gutter])
        start = end
    return out


def _columns_from(rows: list[list[_Piece]], start: int) -> tuple[int, float | None]:
    """(end, gutter x) of the longest run of rows from `start` that stands in columns, else
    (start, None). A run does not end on a row lying below where one of its columns has ended:
    that row (a footer, say) is read after the columns."""
    for end in range(len(rows), start + 1, -1):
        segment = [p for row in rows[start:end - 1] for p in row]
        gutter = _gutter(segment + rows[end - 1])
        if gutter is not None and not _below_a_column(rows[end - 1], segment, gutter):
            return end, gutter
    return start, None


def _below_a_column(row: list[_Piece], above: list[_Piece], gutter: float) -> bool:
    """True when `row` lies on one side of the gutter, below all of the other side's text, and
    further below its own side's text than that side's lines are apart (a footer, not a last line)."""
    left, right = [p for p in above if p.right <= gutter], [p for p in above if p.left >= gutter]
    on_left, on_right = any(p.right <= gutter for p in row), any(p.left >= gutter for p in row)
    if on_left == on_right or not left or not right:
        return False
    own, other = (left, right) if on_left else (right, left)
    top = min(p.top for p in row)
    return top >= max(p.bottom for p in other) and \
        top - max(p.bottom for p in own) > 1.5 * _widest_line_gap(own)


def _widest_line_gap(pieces: list[_Piece]) -> float:
    rows = _rows(pieces)
    return max((min(p.top for p in b) - max(p.bottom for p in a) for a, b in zip(rows, rows[1:])), default=0.0)


def _rows(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Pieces whose vertical centres lie within half a line height of each other form one row;
    rows top to bottom."""
    rows: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: p.centre):
        if rows:
            last = rows[-1]
            row_centre = sum(p.centre for p in last) / len(last)
            if abs(piece.centre - row_centre) <= max(piece.height, last[0].height) / 2:
                last.append(piece)
                continue
        rows.append([piece])
    return rows


def _gutter(pieces: list[_Piece]) -> float | None:
    """The x in the middle of the widest empty vertical strip, at least `GUTTER_HEIGHTS` line
    heights wide, with two or more rows of text on each side; None when there is none."""
    best, best_width = None, GUTTER_HEIGHTS * _median_height(pieces)
    ordered = sorted(pieces, key=lambda p: p.left)
    reach = ordered[0].right if ordered else 0.0
    for piece in ordered[1:]:
        width = piece.left - reach
        if width >= best_width:
            middle = reach + width / 2
            left = [p for p in pieces if p.right <= middle]
            if len(_rows(left)) >= 2 and len(_rows([p for p in pieces if p.left >= middle])) >= 2:
                best, best_width = middle, width
        reach = max(reach, piece.right)
    return best


def _median_height(pieces: list[_Piece]) -> float:
    return statistics.median(p.height for p in pieces) if pieces else 0.0


def _join(row: list[_Piece]) -> str:
    return " ".join(p.text for p in sorted(row, key=lambda p: p.left))


def _bgr(image, max_side: int) -> np.ndarray:
    """The image as an OpenCV-style BGR array, scaled down to `max_side` when larger."""
    from auditors.faces import scaled_down

    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(scaled_down(image, max_side, reducing_gap=2.0))[:, :, ::-1])
