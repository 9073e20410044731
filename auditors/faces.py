"""Face detection on the board's own CPU: RetinaFace MobileNet-0.25 (ONNX) run with onnxruntime.

The model lives in `auditors/models/` (MIT; origin in `auditors/models/NOTICE`), so nothing is
downloaded, ever. By default the detector runs `retinaface-mnet025-int8.onnx`, a static int8 (QDQ)
quantisation of the 1.7 MB fp32 `retinaface-mnet025.onnx` made by `models/quantize_retinaface.py`:
the first backbone stage and the heads stay fp32, the rest runs in int8 (about 1.4x faster per
image on one core, same recall and no-face precision on the bench). `precision="fp32"` runs the
original. The int8 model takes the image's uint8 pixels (less the mean colour, in the graph) and gives
its class head's logits beside the scores (the mosaic's candidates are ranked by them).
Pre-processing (Pillow), prior-box
decoding and non-maximum suppression (numpy) are done here, without OpenCV.

`FaceDetector.detect(image)` takes a decoded Pillow image and returns `Face` boxes in the
coordinates of the original image (pass `original_size` when the image was decoded at a reduced
scale). A box is `[x, y, w, h]` in pixels; `Face.size` is its longer side.
"""
from __future__ import annotations


import hashlib
import importlib.util
import math
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from auditors.onnx_session import lean_session

_MODELS_DIR = Path(__file__).resolve().parent / "models"
#: the default model (int8), and the fp32 original it was quantised from
MODEL_PATH = _MODELS_DIR / "retinaface-mnet025-int8.onnx"
MODEL_SHA256 = "075f2312895e2c34d6f99852f0e96b435505bf82c68ff556999980b9b42e7019"
MODEL_NAME = "retinaface-mnet025-int8"
FP32_MODEL_PATH = _MODELS_DIR / "retinaface-mnet025.onnx"
FP32_MODEL_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"
FP32_MODEL_NAME = "retinaface-mnet025"
PRECISIONS = ("int8", "fp32")


def model_file(precision: str = "int8") -> Path:
    """Path of the model for `precision` ("int8", the default, or "fp32")."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown face-model precision {precision!r} (expected one of {', '.join(PRECISIONS)})")
    return MODEL_PATH if precision == "int8" else FP32_MODEL_PATH


def model_identity(precision: str = "int8") -> tuple[str, str]:
    """(name, sha256) of the model for `precision`: part of the analysis cache key."""
    model_file(precision)
    return (MODEL_NAME, MODEL_SHA256) if precision == "int8" else (FP32_MODEL_NAME, FP32_MODEL_SHA256)

#: Passes on inputs this large (a 1280 x 400 image and more: +40 MB at 1280 px) take turns with the
#: other memory-heavy runs of the process (`onnx_session.lean_session`)
HEAVY_INPUT = 1280 * 400 * 3

# RetinaFace MobileNet-0.25 priors (biubug6/Pytorch_Retinaface cfg_mnet).
_STRIDES = (8, 16, 32)
_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
_VARIANCE = (0.1, 0.2)
_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)

#: What the passes below do, in the analysis cache key: a change here must not reuse old analyses.
PASSES_VERSION = ("10: coarse_side then max_side, fine as decoded up to 2048 px, mosaic of 72 candidates ranked "
                  "by face logit from 0.0055 at 16 px anchors 72 px apart in windows twice their box, landmark "
                  "check, turned at 400 px, a large photo's close and turned at 256 px from one copy; passes at "
                  "640 px and less from the small copy")
#: Images are scaled down to this longer side before detection (faces smaller than ~8 px at
#: this scale are not found anyway; bigger inputs only cost time).
DEFAULT_MAX_SIDE = 1280
#: Images are first looked at this longer side: a third of a 1280 px pass on a typical 1024 x 520
#: image. Where that finds faces, none under `COARSE_SMALL_FACE` px there, it decides: the image has
#: an identifiable face, and more faces would change no finding. Anywhere else (no face: a lone face
#: under about 36 px of a 1280 px photo is under the model's reach at 640 px and scores no more than
#: the background; small faces: counts of group photos) the image is looked at `max_side` too.
DEFAULT_COARSE_SIDE = 640
COARSE_SMALL_FACE = 24
#: The turned passes (90, 180 and 270 degrees) look at one copy of this longer side. A turned face that
#: matters is close, so large: 400 px costs 0.7 of 480 and still finds the 40 px upside-down face of a
#: 640 px image (tests) that 320 px loses; on the bench's turned photos 320 to 480 px found as many as
#: 640 (320 px added a false face on the animal photos).
TURNED_PASS_SIDE = 400
#: A large photo (a 12 MP phone photo, the fine passes' path) with no face found there is looked at once
#: more upright (the close pass: a face too close for the fine pass's largest anchors, 30 % of the
#: photo's side and more, 77 px here; the fine pass's boxes of CONFIRM_BOX px are 32 px and more here)
#: and then turned, all at one copy of this longer side: the four passes cost 0.4 of 400 px. On a 4032
#: px photo the astronaut upside down is found from a face of 240 px (200 px at 400 on a brick wall).
#: The bench's photos of 1 to 6 faces enlarged to 4032 px and turned 180, 90 and 270 degrees: 400 px
#: found 21, 22 and 22 of 22, 240 px 21, 21 and 22 (a street scene's small faces at 90, lost at 256
#: too, kept at 288); its animal photos enlarged: 400 px put faces on 5 of 14, 240 px on 3, 256 px no
#: more than 400, 288 and 320 px one more (a horse's face filling the photo); no-face photos the same.
LARGE_CLOSE_AND_TURNED_SIDE = 256
#: In the fine pass, boxes under this many pixels are kept from `fine_score`, larger ones from `score_threshold`.
SMALL_BOX = 48
#: Photos from 1.5 x DEFAULT_MAX_SIDE are decoded to at least this longer side (a JPEG decodes cheaply
#: at 1/2, 1/4 and 1/8 scale: a 4032 px phone photo at 2016 px) and looked at as decoded, up to
#: FINE_MAX_SIDE. At 2016 px the finest anchors put every 32 px face of the bench's 12 MP scenes among
#: the 64 best mosaic candidates; at 1600 px (where the photo was scaled to before, a 37 ms resize)
#: a quarter of them scored no more than the background (1/255 or 2/255) and were never looked at.
DEFAULT_FINE_SIDE = 1600
#: Larger decoded photos (the half-scale decode of a 16 MP photo, a PNG) are scaled down to this side.
FINE_MAX_SIDE = 2048
#: Boxes of the fine pass this big (px of its input: the model's largest anchors) count only where the
#: pass at LARGE_CLOSE_AND_TURNED_SIDE finds a face around their centre: at 2048 px the chest under a 500 px face
#: scored 0.9, where 256 px (a face of 640 px: one box, the face; a test), 400, 640 and 1600 px see none.
CONFIRM_BOX = 256
#: The mosaic pass on large photos: up to MOSAIC_CELLS windows where a finest anchor of 16 px scored at
#: least CANDIDATE_SCORE in the fine pass (one per CANDIDATE_SPACING px square of its input), each scaled
#: to a MOSAIC_CELL px square (MOSAIC_GAP apart); 64 cells of 80 px are about a third of a 1280 px pass.
MOSAIC_CELLS = 72
MOSAIC_CELL = 80
MOSAIC_GAP = 8
#: A narrow 32 px face (21 to 25 px wide) of a 12 MP photo is 16 px tall at the fine pass's 2016 px: the
#: 16 px anchors, not the 32 px ones (which score the edges of larger faces), tell it from its background.
#: With exact int8 sums (`onnx_session`) on scene seeds 7-13 and 21-34, candidates from both anchors at
#: 3/255 and 40 px apart found 229 to 232 of 252 such faces (ties broken in another order), from the 16
#: px anchor at 2/255 and 72 px apart 238, in as many windows (58 a photo with faces, 41 a background):
#: at 2/255 a background's places tie by the hundred, and 72 px apart they take fewer windows each.
#: The faces still missed but one score 0 or 1/255 there (bench/README.md).
CANDIDATE_SPACING = 72
#: The int8 model's scores are steps of 1/255 (most of a plain photo scores 0 or 1/255 at the 16 px
#: anchors), so candidates are ranked, and taken from this score, by the face's logit (`FaceDetector._run`),
#: which does not tie: from 2/255 and 64 cells as before, 238 of the 252 faces above; from 0.0055 (1.4/255)
#: and 72 cells 240 (24 px faces 209, not 208), in 65 windows a photo with faces and 48 a background (58
#: and 41 before); 80 cells 240 too, 0.0045 no more; ranked so but from 2/255, 64 cells lost a 64 px face
#: (bench/README.md).
CANDIDATE_SCORE = 0.0055
#: A window is FACE_IN_WINDOW times the box the fine pass regressed at its anchor (px of its input),
#: within MIN_WINDOW..MAX_WINDOW: the face then shows at about 40 px in its cell. A fixed window of 40
#: px (the 2x half-scale decode: a 32 px face at 32 px) scored a narrow 32 px face 0.59 and 0.67 on
#: scene seeds 10 and 11 (0.96 at 40 px), and cut 48 and 64 px faces the fine pass scored 0.1 to 0.45.
FACE_IN_WINDOW = 2.0
MIN_WINDOW, MAX_WINDOW = 32.0, 80.0
#: Candidates within this many times a found face's box (centred on it) are that face's edges: in the
#: bench's scenes a fifth of the best 70 were, and pushed a 32 px face out of the 64 windows.
NEAR_FOUND = 1.5
#: A face found in the mosaic must be found again in a window this many times its size centred on it
#: (so at about 40 px in the cell, as in the mosaic: at 2.5 times, 32 px, the narrow face scored 0.59).
VERIFY_WINDOW = 2.0
#: (mouth - nose) / (nose - eyes) along the face: at most 1.6 on the bench's 502 faces (99% under
#: 1.52); a dog's muzzle puts its nose high above the mouth (1.9 to 2.2 on two of the bench's dogs).
MAX_MUZZLE = 1.7


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    w: int
    h: int
    score: float

    @property
    def box(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    @property
    def size(self) -> int:
        """The longer side of the box, in pixels of the original image."""
        return max(self.w, self.h)

    def overlap(self, other: "Face") -> float:
        """Intersection over union of the two boxes (0: apart, 1: the same box)."""
        w = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        h = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        union = self.w * self.h + other.w * other.h - w * h
        return w * h / union if union else 0.0

    def to_dict(self) -> dict:
        return {"box": self.box, "score": round(self.score, 4)}

    @classmethod
    def from_dict(cls, data: dict) -> "Face":
        x, y, w, h = (int(v) for v in data["box"])
        return cls(x, y, w, h, float(data["score"]))


class ModelMissing(RuntimeError):
    """The model runtime (onnxruntime, numpy) or the model file is not available here."""


def check_available(precision: str = "int8") -> None:
    """Raise `ModelMissing` with a reason when the detector cannot run on this machine."""
    if importlib.util.find_spec("onnxruntime") is None:  # found, not imported: a start-up pays for it only on use
        raise ModelMissing("onnxruntime is not installed; run `pip install -e .`")
    path = model_file(precision)
    if not path.is_file():
        raise ModelMissing(f"face model {path} is missing")


@lru_cache(maxsize=16)
def _priors(height: int, width: int) -> np.ndarray:
    """(N, 4) priors as (cx, cy, w, h), normalised, in the order the network emits them."""
    rows = []
    for stride, sizes in zip(_STRIDES, _MIN_SIZES):
        fh, fw = math.ceil(height / stride), math.ceil(width / stride)
        ys, xs = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        cx = ((xs.ravel() + 0.5) * stride / width).astype(np.float32)
        cy = ((ys.ravel() + 0.5) * stride / height).astype(np.float32)
        per_size = [np.stack([cx, cy, np.full_like(cx, s / width), np.full_like(cy, s / height)], axis=1)
                    for s in sizes]
        # order: for each cell (row-major), each anchor size
        rows.append(np.stack(per_size, axis=1).reshape(-1, 4))
    return np.concatenate(rows, axis=0)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression on (N, 4) x1,y1,x2,y2 boxes; indices kept, best first."""
    order = scores.argsort()[::-1]
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    keep = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= threshold]
    return keep


class FaceDetector:
    """RetinaFace MobileNet-0.25 on onnxruntime's CPU provider (int8 model unless told otherwise).

    `detect` looks once at the right scale, and again only where that found nothing:
    - an image up to 1.5 x `max_side` (1280 px) is looked at scaled to `coarse_side` (640 px), and
      where that found no face, or small ones, at `max_side` (every face of about 20 px and more
      there); a larger photo (a 12 MP phone photo) as decoded, at least `fine_side` (1600 px) and at
      most `FINE_MAX_SIDE`, keeping boxes from `fine_score`: faces of 48 px and more at the back of a
      classroom (boxes of `CONFIRM_BOX` px or more only where the close pass sees a face too);
    - in such a photo, the places that pass liked a little but not enough (its `MOSAIC_CELLS` best
      small candidates, none beside a face found) are cut out, each twice the size of the box the
      pass almost saw there, scaled to `MOSAIC_CELL` px (the face at about 40 px) and looked at
      together in one small mosaic: faces of 32 px, for a fraction of a pass;
    - when a large photo shows no face there, once more at `LARGE_CLOSE_AND_TURNED_SIDE` (a face too close for the
      finer scale's largest anchors);
    - when still no face (nor any face-like box) is found and `turned` is on, the image turned 90, 180
      and 270 degrees at `TURNED_PASS_SIDE` (children lying down, upside-down faces: close, so large); a
      large photo at `LARGE_CLOSE_AND_TURNED_SIDE`.
    Boxes whose five landmarks and shape are not a person's (a dog's long muzzle) are dropped.
    """

    def __init__(self, score_threshold: float = 0.8, nms_threshold: float = 0.4,
                 max_side: int = DEFAULT_MAX_SIDE, threads: int = 1, model_path: Path | None = None,
                 precision: str = "int8", fine_side: int = 0, fine_score: float = 0.6,
                 turned: bool = False, coarse_side: int = DEFAULT_COARSE_SIDE):
        if model_path is None:
            check_available(precision)
            model_path = model_file(precision)
        self.session = lean_session(model_path, threads, arena=True, heavy_from=HEAVY_INPUT)  # see auditors.onnx_session
        self.input_name = self.session.get_inputs()[0].name
        # the int8 model takes the image's own pixels (models/quantize_retinaface.py)
        self.takes_pixels = self.session.get_inputs()[0].type == "tensor(uint8)"
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.max_side = int(max_side)
        self.fine_side = int(fine_side)
        self.fine_score = float(fine_score)
        self.turned = bool(turned)
        self.coarse_side = int(coarse_side)

    def detect(self, image, original_size: tuple[int, int] | None = None, small=None) -> list[Face]:
        """Faces in a Pillow image, boxes in `original_size` coordinates (default: the image's). `small`:
        a copy of the image reduced by a whole factor, no shorter than `coarse_side` and `TURNED_PASS_SIDE`
        (`image_analysis.small_copy`): the passes at those sides or less and the turned passes are scaled from it,
        not from the image (on a 12 MP photo, decoded at 2016 px, each such resize cost 10 to 15 ms)."""
        image, small = (i if i is None or i.mode == "RGB" else i.convert("RGB") for i in (image, small))
        # a copy too small for a configured coarse_side is no use: those passes scale the image instead
        small = image if small is None or max(small.size) < max(self.coarse_side, TURNED_PASS_SIDE) else small
        full = original_size or image.size
        large = self.fine_side and max(full) >= 1.5 * self.max_side
        side = LARGE_CLOSE_AND_TURNED_SIDE if large else TURNED_PASS_SIDE
        # the copy of the close pass and the turned passes, scaled once
        upright = cache(lambda: scaled_down(small, side))
        passes = [lambda: self._coarse_pass(image, small)]
        if large:
            # the close pass may run in the fine passes (to confirm a large box): once at most
            close = cache(lambda: self._pass(upright(), None, self.score_threshold))
            passes = [lambda: self._fine_passes(image, close), close]
        boxes = 0
        for look in passes:  # each only where the ones before found no (person's) face
            found = look()
            faces, boxes = self._faces(found, full), boxes + len(found.scores)
            if faces:
                return faces
        if not self.turned or boxes:
            # boxes that were all animals' muzzles: turned, the same animal shows landmarks the check
            # cannot judge (an upside-down person seen upright with muzzle-like landmarks is lost)
            return []
        return self._faces(self._turned_passes(upright()), full)

    def _coarse_pass(self, image, small) -> "_Boxes":
        """Boxes at `coarse_side` (scaled from `small`) where that pass found faces, none under
        `COARSE_SMALL_FACE` px; else boxes at `max_side`."""
        if 0 < self.coarse_side < min(self.max_side, max(image.size)):
            scaled = scaled_down(small, self.coarse_side)
            found = _decode(self._run(scaled), scaled.size, self.score_threshold)
            people = found.take(found.person)
            sides = (people.sizes * np.array(scaled.size, np.float32)).max(axis=1)
            if len(sides) and sides.min() >= COARSE_SMALL_FACE:
                return found
        return self._pass(image, self.max_side, self.score_threshold)

    def _fine_passes(self, image, close) -> "_Boxes":
        """Boxes in the photo as decoded (at least `fine_side`), and in the mosaic of the places that pass found almost a face."""
        scaled = scaled_down(image, max(self.fine_side, FINE_MAX_SIDE))  # fine_side: the decode's least side
        outputs = self._run(scaled)
        found = _decode(outputs, scaled.size, self.fine_score)
        sides = np.maximum(found.sizes[:, 0] * scaled.width, found.sizes[:, 1] * scaled.height)
        kept = (sides < SMALL_BOX) | (found.scores >= self.score_threshold)
        found, huge = found.take(kept), sides[kept] >= CONFIRM_BOX
        if huge.any():  # a face this close is seen whole in the close pass; a chest or a sleeve is not
            found = found.take(~huge | close().contain(found.centres))
        chosen = _candidates(outputs, scaled.size, found, MOSAIC_CELLS)
        if not len(chosen):
            return found
        # each window FACE_IN_WINDOW times the box the fine pass almost saw there: its face at about
        # 40 px in the cell, where 32 px (a fixed 2x zoom on a 32 px face) lost a narrow face (0.6)
        almost = _boxes_at(outputs, scaled.size, chosen).sizes * np.array(scaled.size, np.float32)
        windows = np.clip(FACE_IN_WINDOW * almost.max(axis=1), MIN_WINDOW, MAX_WINDOW)  # px of scaled
        centres = _priors(scaled.height, scaled.width)[chosen, :2]
        mosaic = self._mosaic_pass(image, centres, windows * image.width / scaled.width)
        # a window beside a large face may show part of it as a small one
        mosaic = mosaic.take(~found.contain(mosaic.centres))
        # overlapping windows show one face more than once: it is verified once
        mosaic = mosaic.take(np.array(nms(mosaic.corners(), mosaic.scores, self.nms_threshold), dtype=int))
        if len(mosaic.scores):
            # a face is found again centred in a window VERIFY_WINDOW times its size; a texture seen as
            # a face rarely is
            sides = VERIFY_WINDOW * (mosaic.sizes * np.array(image.size, np.float32)).max(axis=1)
            again = self._mosaic_pass(image, mosaic.centres, sides)
            mosaic = mosaic.take(again.contain(mosaic.centres))
        return _Boxes.join([found, mosaic])

    def _mosaic_pass(self, image, centres: np.ndarray, windows: np.ndarray) -> "_Boxes":
        """Boxes (normalised) found in square windows of `image` around `centres` (normalised), of
        `windows` px each, cut out, scaled to `MOSAIC_CELL` px and looked at together in one image."""
        from PIL import Image

        pitch = MOSAIC_CELL + MOSAIC_GAP
        columns = math.ceil(math.sqrt(len(centres)))
        rows = math.ceil(len(centres) / columns)
        mosaic = Image.new("RGB", (columns * pitch, rows * pitch), tuple(int(v) for v in _MEAN_BGR[::-1]))
        cells = np.empty((len(centres), 4), np.float32)  # each window's left, top, width, height: normalised
        for index, ((cx, cy), window) in enumerate(zip(centres * np.array(image.size, np.float32), windows)):
            box = (round(cx - window / 2), round(cy - window / 2), round(cx + window / 2), round(cy + window / 2))
            cell = image.crop(box).resize((MOSAIC_CELL, MOSAIC_CELL), Image.Resampling.BILINEAR)
            mosaic.paste(cell, ((index % columns) * pitch, (index // columns) * pitch))
            cells[index] = (box[0] / image.width, box[1] / image.height,
                            (box[2] - box[0]) / image.width, (box[3] - box[1]) / image.height)
        found = _decode(self._run(mosaic), mosaic.size, self.score_threshold)
        # a box belongs to the cell its centre falls in; boxes on the gaps or on empty cells are dropped
        centre_px = found.centres * np.array(mosaic.size, np.float32)
        column, row = (centre_px // pitch).astype(int).T
        inside = ((centre_px % pitch) < MOSAIC_CELL).all(axis=1) & (row * columns + column < len(centres))
        found, column, row = found.take(inside), column[inside], row[inside]
        cell = cells[row * columns + column]
        in_cell = (centre_px[inside] - np.stack([column, row], axis=1) * pitch) / MOSAIC_CELL  # 0..1 in the cell
        sizes = found.sizes * np.array(mosaic.size, np.float32) / MOSAIC_CELL * cell[:, 2:]
        return _Boxes(cell[:, :2] + in_cell * cell[:, 2:], sizes, found.scores, found.person)

    def _turned_passes(self, small) -> "_Boxes":
        """Boxes found in the image turned by 90, 180 and 270 degrees, turned back to the image; `small`:
        the image at the turned passes' side (scaled once, then turned: not the other way round)."""
        from PIL import Image

        found = []
        for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270):
            found.append(self._pass(small.transpose(turn), None, self.score_threshold).turned_back(turn))
        return _Boxes.join(found)

    def _pass(self, image, max_side: int | None, threshold: float) -> "_Boxes":
        """Boxes from `threshold` on `image` scaled to at most `max_side` (None: a copy already at its side)."""
        scaled = image if max_side is None else scaled_down(image, max_side)
        return _decode(self._run(scaled), scaled.size, threshold)

    def _run(self, image) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The network's (loc, face score, landmarks, face logit) for every prior of a Pillow RGB image; the
        logit (the face's less the background's) as the int8 model gives it (its scores are steps of 1/255
        that tie by the thousand among faint places), else from the scores (fp32: not quantised)."""
        # N x BGR x H x W: the int8 model takes the pixels and subtracts the mean itself (numpy's
        # subtraction into a 36 MB float array slows most on a loaded machine); Pillow's split gives
        # each channel contiguous, faster than strided reads
        batch = np.empty((1, 3, image.height, image.width), dtype=np.uint8 if self.takes_pixels else np.float32)
        for plane, band, mean in zip(batch[0], reversed(image.split()), _MEAN_BGR):
            if self.takes_pixels:
                plane[...] = np.asarray(band)
            else:
                np.subtract(np.asarray(band), mean, out=plane, casting="unsafe")
        loc, conf, landmarks, *logits = self.session.run(None, {self.input_name: batch})
        if not logits:
            with np.errstate(divide="ignore"):  # a score of exactly 0 or 1: an infinite logit, in order still
                logits = [np.log(conf)]
        return loc[0], conf[0, :, 1], landmarks[0], logits[0][0, :, 1] - logits[0][0, :, 0]

    def _faces(self, found: "_Boxes", full: tuple[int, int]) -> list[Face]:
        """One `Face` per box that looks like a person's and survives non-maximum suppression."""
        if not len(found.scores):
            return []
        full_w, full_h = full
        corners = found.corners() * np.array([full_w, full_h, full_w, full_h], dtype=np.float32)
        kept = np.array(nms(corners, found.scores, self.nms_threshold))
        faces = []
        for i in kept[found.person[kept]]:
            x1, y1, x2, y2 = corners[i]
            x, y = int(round(x1)), int(round(y1))
            w, h = int(round(x2)) - x, int(round(y2)) - y
            if w > 0 and h > 0:
                faces.append(Face(x, y, w, h, float(found.scores[i])))
        return faces


@dataclass(frozen=True)
class _Boxes:
    """Boxes as centres and sizes normalised to 0..1 of one image, with whether each may be a person's."""

    centres: np.ndarray  # (N, 2) x, y
    sizes: np.ndarray  # (N, 2) w, h
    scores: np.ndarray  # (N,)
    person: np.ndarray  # (N,) bool: see `_person`

    @classmethod
    def join(cls, parts: list["_Boxes"]) -> "_Boxes":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("centres", "sizes", "scores", "person")))

    def take(self, keep: np.ndarray) -> "_Boxes":
        return _Boxes(self.centres[keep], self.sizes[keep], self.scores[keep], self.person[keep])

    def corners(self) -> np.ndarray:
        return np.concatenate([self.centres - self.sizes / 2, self.centres + self.sizes / 2], axis=1).clip(0.0, 1.0)

    def contain(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: which of the (N, 2) points lie inside any of these boxes."""
        left, top, right, bottom = self.corners().T
        x, y = points[:, :1], points[:, 1:]  # (N, 1) against (boxes,): 2-D, 5x faster than a 3-D test
        return ((left <= x) & (x <= right) & (top <= y) & (y <= bottom)).any(axis=1)

    def turned_back(self, turn) -> "_Boxes":
        """These boxes, found in an image turned by `turn` (a Pillow transpose), in the upright image."""
        from PIL import Image

        x, y = self.centres[:, 0], self.centres[:, 1]
        if turn == Image.Transpose.ROTATE_90:  # counter-clockwise: upright (x, y) went to (y, 1 - x)
            centres = np.stack([1 - y, x], axis=1)
        elif turn == Image.Transpose.ROTATE_270:  # clockwise: upright (x, y) went to (1 - y, x)
            centres = np.stack([y, 1 - x], axis=1)
        else:
            centres = np.stack([1 - x, 1 - y], axis=1)
        sizes = self.sizes if turn == Image.Transpose.ROTATE_180 else self.sizes[:, ::-1]
        return _Boxes(centres.astype(np.float32), np.ascontiguousarray(sizes), self.scores, self.person)


def _person(marks: np.ndarray) -> np.ndarray:
    """Which (N, 5, 2) landmark sets (eyes, nose, mouth corners; pixels) may be a person's face.
    Along the face's own vertical (perpendicular to the line between the eyes, so a tilted face
    counts like an upright one), a mouth much further below the nose than the nose below the eyes
    is an animal's muzzle. Faces tilted more than about 25 degrees are not judged (the landmarks of
    a tilted face are unreliable); profiles (the nose not between the eyes) only on twice the muzzle."""
    eyes = marks[:, 1] - marks[:, 0]
    across = ((marks[:, 2] - marks[:, 0]) * eyes).sum(axis=1) / np.maximum((eyes * eyes).sum(axis=1), 1e-6)
    limit = np.where((across > 0) & (across < 1), MAX_MUZZLE, 2 * MAX_MUZZLE)
    down = np.stack([-eyes[:, 1], eyes[:, 0]], axis=1) / np.maximum(np.linalg.norm(eyes, axis=1, keepdims=True), 1e-6)
    eyes_to_nose = ((marks[:, 2] - marks[:, :2].mean(axis=1)) * down).sum(axis=1)
    nose_to_mouth = ((marks[:, 3:].mean(axis=1) - marks[:, 2]) * down).sum(axis=1)
    upright = np.abs(eyes[:, 1]) < 0.5 * np.abs(eyes[:, 0])
    return ~(upright & (eyes_to_nose > 0) & (nose_to_mouth > limit * eyes_to_nose))


def scaled_down(image, max_side: int, reducing_gap: float | None = None):
    """`image` scaled down (bilinear) so that its longer side is at most `max_side`; with `reducing_gap`,
    Pillow first reduces by whole pixels (about half the time on a 12 MP photo, slightly other pixels)."""
    from PIL import Image

    if max(image.size) <= max_side:
        return image
    return image.resize(scaled_size(image.size, max_side), Image.Resampling.BILINEAR, reducing_gap=reducing_gap)


def scaled_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) of `size` scaled down (never up) to a longer side of at most `max_side`, each at least 1."""
    factor = min(1.0, max_side / max(size))
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def _decode(outputs, size: tuple[int, int], threshold: float) -> _Boxes:
    """The boxes scoring at least `threshold` among the network's `outputs` for an image of `size`."""
    return _boxes_at(outputs, size, np.nonzero(outputs[1] >= threshold)[0])


def _boxes_at(outputs, size: tuple[int, int], selected: np.ndarray) -> _Boxes:
    """The boxes the network's `outputs` for an image of `size` regress from the priors `selected`."""
    loc, scores, landmarks, _logits = outputs
    width, height = size
    priors = _priors(height, width)[selected]
    deltas = loc[selected]
    centres = priors[:, :2] + deltas[:, :2] * _VARIANCE[0] * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(deltas[:, 2:] * _VARIANCE[1])
    marks = priors[:, None, :2] + landmarks[selected].reshape(-1, 5, 2) * _VARIANCE[0] * priors[:, None, 2:]
    return _Boxes(centres.astype(np.float32), sizes.astype(np.float32), scores[selected].astype(np.float32),
                  _person(marks * np.array([width, height], np.float32)))


def _candidates(outputs, size: tuple[int, int], found: _Boxes, limit: int) -> np.ndarray:
    """Indices of the priors at up to `limit` places where the finest 16 px anchors scored at least
    `CANDIDATE_SCORE` (as a logit, see `FaceDetector._run`) but no box was kept: best first, one per
    `CANDIDATE_SPACING` square, none on or beside a kept box (within `NEAR_FOUND` times its size: the hair,
    chin and collar of a face found)."""
    _loc, _scores, _landmarks, logits = outputs
    width, height = size
    per_cell = len(_MIN_SIZES[0])
    finest = math.ceil(height / _STRIDES[0]) * math.ceil(width / _STRIDES[0]) * per_cell
    smallest = logits[:finest:per_cell]  # each finest cell's 16 px anchor (its 32 px one scores larger faces' parts)
    order = np.nonzero(smallest >= math.log(CANDIDATE_SCORE / (1 - CANDIDATE_SCORE)))[0]
    # best first; places that tie in reading order, the same on every run
    order = per_cell * order[np.argsort(-smallest[order], kind="stable")]
    points = _priors(height, width)[order, :2] * np.array([width, height], np.float32)
    near_found = _Boxes(found.centres, found.sizes * NEAR_FOUND, found.scores, found.person)
    apart = ~near_found.contain(points / np.array([width, height], np.float32))
    order, points = order[apart], points[apart]
    # the points lie on the finest priors' grid: a point closer than `spacing` on both axes to one chosen
    # before lies within `reach` cells of it, marked taken when that one was chosen
    stride = _STRIDES[0]
    reach = math.ceil(CANDIDATE_SPACING / 2 / stride) - 1
    taken = np.zeros((math.ceil(height / stride) + 2 * reach, math.ceil(width / stride) + 2 * reach), bool)
    chosen = []
    for prior, (column, row) in zip(order.tolist(), (points // stride).astype(int).tolist()):
        if len(chosen) >= limit:
            break
        if not taken[row + reach, column + reach]:
            chosen.append(prior)
            taken[row:row + 2 * reach + 1, column:column + 2 * reach + 1] = True
    return np.array(chosen, dtype=int)


def model_digest(path: Path = MODEL_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
