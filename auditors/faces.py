"""Face detection on the board's own CPU: RetinaFace MobileNet-0.25 (ONNX) run with onnxruntime.

The model lives in `auditors/models/` (MIT; origin in `auditors/models/NOTICE`), so nothing is
downloaded, ever. By default the detector runs `retinaface-mnet025-int8.onnx`, a static int8 (QDQ)
quantisation of the 1.7 MB fp32 `retinaface-mnet025.onnx` made by `models/quantize_retinaface.py`:
the first backbone stage and the heads stay fp32, the rest runs in int8 (about 1.4x faster per
image on one core, same recall and no-face precision on the bench). `precision="fp32"` runs the
original. Pre-processing (Pillow), prior-box
decoding and non-maximum suppression (numpy) are done here, without OpenCV.

`FaceDetector.detect(image)` takes a decoded Pillow image and returns `Face` boxes in the
coordinates of the original image (pass `original_size` when the image was decoded at a reduced
scale). A box is `[x, y, w, h]` in pixels; `Face.size` is its longer side.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

_MODELS_DIR = Path(__file__).resolve().parent / "models"
#: the default model (int8), and the fp32 original it was quantised from
MODEL_PATH = _MODELS_DIR / "retinaface-mnet025-int8.onnx"
MODEL_SHA256 = "7648000b3f9587226cb83c1f9bb8f5601b268b05420757ce92688e53cf45f7d1"
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

# RetinaFace MobileNet-0.25 priors (biubug6/Pytorch_Retinaface cfg_mnet).
_STRIDES = (8, 16, 32)
_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
_VARIANCE = (0.1, 0.2)
_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)

#: Images are scaled down to this longer side before detection (faces smaller than ~8 px at
#: this scale are not found anyway; bigger inputs only cost time).
DEFAULT_MAX_SIDE = 1280
#: The turned passes run at this longer side: a quarter of pass 1's cost each.
TURNED_SIDE = 640
#: At `fine_side`, boxes under this many pixels are kept from `fine_score`, larger ones from `score_threshold`.
SMALL_BOX = 48
#: Photos from 1.5 x DEFAULT_MAX_SIDE are looked at this longer side: 1920 keeps a 4032 or 4000 px
#: JPEG's decoding at half scale (Pillow's draft), and finds faces of 64 px and more there.
DEFAULT_FINE_SIDE = 1920


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
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ModelMissing(f"onnxruntime is not installed ({exc}); run `pip install -e .`") from exc
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
    - an image up to 1.5 x `max_side` (1280 px) is looked at scaled to `max_side` (every face of
      about 24 px and more there); a larger photo (a 12 MP phone photo) at `fine_side` (1920 px),
      keeping boxes from `fine_score`: faces of 64 px and more at the back of a classroom, for
      about the cost of a pass at 1280 px plus the explicit score;
    - when a large photo shows no face there, once more at `max_side` (a face too close for the
      finer scale's largest anchors);
    - when still no face is found and `turned` is on, the image turned 90, 180 and 270 degrees at
      `TURNED_SIDE` (children lying down, upside-down faces: close, so large).
    """

    def __init__(self, score_threshold: float = 0.8, nms_threshold: float = 0.4,
                 max_side: int = DEFAULT_MAX_SIDE, threads: int = 1, model_path: Path | None = None,
                 precision: str = "int8", fine_side: int = 0, fine_score: float = 0.6,
                 turned: bool = False):
        if model_path is None:
            check_available(precision)
            model_path = model_file(precision)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model_path), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.max_side = int(max_side)
        self.fine_side = int(fine_side)
        self.fine_score = float(fine_score)
        self.turned = bool(turned)

    def detect(self, image, original_size: tuple[int, int] | None = None) -> list[Face]:
        """Faces in a Pillow image, boxes in `original_size` coordinates (default: the image's)."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        full_w, full_h = original_size or image.size
        boxes, scores = np.empty((0, 4), np.float32), np.empty(0, np.float32)
        if self.fine_side and max(full_w, full_h) >= 1.5 * self.max_side:
            boxes, scores = self._pass(image, self.fine_side, self.fine_score, small_only=True)
        if not len(boxes):
            boxes, scores = self._pass(image, self.max_side, self.score_threshold)
        if self.turned and not len(boxes):
            boxes, scores = self._turned_passes(image)
        return self._faces(boxes, scores, (full_w, full_h))

    def _turned_passes(self, image) -> tuple[np.ndarray, np.ndarray]:
        """Boxes found in the image turned by 90, 180 and 270 degrees, turned back to the image."""
        from PIL import Image

        found_boxes, found_scores = [np.empty((0, 4), np.float32)], [np.empty(0, np.float32)]
        for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270):
            boxes, scores = self._pass(image.transpose(turn), TURNED_SIDE, self.score_threshold)
            found_boxes.append(_turn_back(boxes, turn))
            found_scores.append(scores)
        return np.concatenate(found_boxes), np.concatenate(found_scores)

    def _pass(self, image, max_side: int, threshold: float, small_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) boxes x1,y1,x2,y2 normalised to 0..1 and their scores, on `image` at `max_side`.
        With `small_only`, `threshold` holds only for boxes under `SMALL_BOX` px at that scale;
        larger ones need the usual `score_threshold` (a large box at 0.6 is rarely a face)."""
        from PIL import Image

        longest = max(image.size)
        if longest > max_side:
            factor = max_side / longest
            image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                                 Image.Resampling.BILINEAR)
        width, height = image.size
        pixels = np.asarray(image)  # H x W x RGB, uint8
        batch = np.empty((1, 3, height, width), dtype=np.float32)  # N x BGR x H x W, minus the mean
        for channel, (source, mean) in enumerate(zip((2, 1, 0), _MEAN_BGR)):
            np.subtract(pixels[:, :, source], mean, out=batch[0, channel], casting="unsafe")
        loc, conf, _landmarks = self.session.run(None, {self.input_name: batch})
        scores = conf[0, :, 1]
        selected = np.nonzero(scores >= threshold)[0]
        priors = _priors(height, width)[selected]
        deltas = loc[0, selected]
        centres = priors[:, :2] + deltas[:, :2] * _VARIANCE[0] * priors[:, 2:]
        sizes = priors[:, 2:] * np.exp(deltas[:, 2:] * _VARIANCE[1])
        corners = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).clip(0.0, 1.0)
        kept = scores[selected]
        if small_only:
            small = np.maximum(sizes[:, 0] * width, sizes[:, 1] * height) < SMALL_BOX
            keep = small | (kept >= self.score_threshold)
            corners, kept = corners[keep], kept[keep]
        return corners.astype(np.float32), kept.astype(np.float32)

    def _faces(self, boxes: np.ndarray, scores: np.ndarray, full: tuple[int, int]) -> list[Face]:
        """One `Face` per box kept by non-maximum suppression, in `full` pixel coordinates."""
        if not len(boxes):
            return []
        full_w, full_h = full
        corners = boxes * np.array([full_w, full_h, full_w, full_h], dtype=np.float32)
        faces = []
        for i in nms(corners, scores, self.nms_threshold):
            x1, y1, x2, y2 = corners[i]
            x, y = int(round(x1)), int(round(y1))
            w, h = int(round(x2)) - x, int(round(y2)) - y
            if w > 0 and h > 0:
                faces.append(Face(x, y, w, h, float(scores[i])))
        return faces


def _turn_back(boxes: np.ndarray, turn) -> np.ndarray:
    """Normalised boxes found in an image turned by `turn` (a Pillow transpose), in the upright image."""
    from PIL import Image

    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    if turn == Image.Transpose.ROTATE_90:  # counter-clockwise: upright (x, y) went to (y, 1 - x)
        back = (1 - y2, x1, 1 - y1, x2)
    elif turn == Image.Transpose.ROTATE_270:  # clockwise: upright (x, y) went to (1 - y, x)
        back = (y1, 1 - x2, y2, 1 - x1)
    else:
        back = (1 - x2, 1 - y2, 1 - x1, 1 - y1)
    return np.stack(back, axis=1).astype(np.float32)


def model_digest(path: Path = MODEL_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
