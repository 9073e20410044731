"""Looking at an image once: decode safely, find faces, score explicitness, cache by sha256.

`ImageAnalyser.analyse(paths)` returns one `ImageAnalysis` per path, in order. Each distinct
image (by sha256) is analysed at most once: first the in-process cache, then the persistent
SQLite cache (`records.image_cache`), then the models, in a process pool sized to the machine
(`os.cpu_count()`, one onnxruntime thread per worker) when there are several images to do.

Outcomes are always values, never exceptions: an image that cannot be read, is not an image,
is truncated, or is larger than the pixel limit (decompression bombs are refused from the header,
before any pixel is decoded) comes back with no faces, no score and an `error` string.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

from auditors import explicit_image, faces as faces_module, image_text
from auditors.c_heap import huge_pages_for_new_processes
from auditors.faces import Face
from records.image_cache import ImageCache

log = logging.getLogger(__name__)

#: Same default as the crawler's media limit: a 40-megapixel image is far beyond any post.
DEFAULT_MAX_PIXELS = 40_000_000
_ORIENTATION_TAG = 0x0112


class ImageRejected(Exception):
    """The image cannot be analysed; str() says why in one line."""


@dataclass(frozen=True)
class ImageSettings:
    """Thresholds and limits for image analysis (from `config/rules/student_photo_image.toml`)."""

    face_score: float = 0.8  # RetinaFace score at or above which a box is a face
    nms: float = 0.4
    coarse_side: int = faces_module.DEFAULT_COARSE_SIDE  # detection looks first at this longer side; 0 = at max_side only
    max_side: int = faces_module.DEFAULT_MAX_SIDE  # detection runs at most at this longer side
    fine_side: int = faces_module.DEFAULT_FINE_SIDE  # large photos: decoded to at least this side, looked at as decoded (up to 2048 px); 0 = as others
    fine_score: float = 0.6  # score threshold in the fine pass
    turned: bool = True  # turned passes (90/180/270 degrees) on images where no face was found
    face_model: str = "int8"  # "int8" (default, faster) or "fp32" (the original RetinaFace weights)
    max_pixels: int = DEFAULT_MAX_PIXELS
    identifiable_px: int = 24  # a face box this big (longer side, original pixels) can be recognised
    explicit_threshold: float = 0.5  # open_nsfw score at or above which an image is flagged
    explicit_high: float = 0.8  # at or above: the policy's severity; between: "possibly explicit", medium
    explicit: bool = True  # score explicitness at all
    text: bool = True  # read the text in images that look like they hold some (OCR)
    workers: int = 0  # processes; 0 = os.cpu_count()
    text_threads: int = 1  # onnxruntime threads reading text (a worker of schoolaudit.workers gives it its cores)

    @classmethod
    def from_rules(cls, rules: dict) -> "ImageSettings":
        detector, explicit = rules.get("detector", {}), rules.get("explicit", {})
        default = cls()
        return cls(
            face_score=float(detector.get("face_score", default.face_score)),
            nms=float(detector.get("nms", default.nms)),
            coarse_side=int(detector.get("coarse_side", default.coarse_side)),
            max_side=int(detector.get("max_side", default.max_side)),
            fine_side=int(detector.get("fine_side", default.fine_side)),
            fine_score=float(detector.get("fine_score", default.fine_score)),
            turned=bool(detector.get("turned", default.turned)),
            face_model=str(detector.get("model", default.face_model)),
            max_pixels=int(detector.get("max_pixels", default.max_pixels)),
            identifiable_px=int(detector.get("identifiable_px", default.identifiable_px)),
            explicit_threshold=float(explicit.get("threshold", default.explicit_threshold)),
            explicit_high=float(explicit.get("high", default.explicit_high)),
            explicit=bool(explicit.get("enabled", default.explicit)),
            text=bool(rules.get("text", {}).get("enabled", default.text)),
            workers=int(rules.get("workers", {}).get("processes", default.workers)),
            text_threads=int(rules.get("workers", {}).get("text_threads", default.text_threads)),
        )

    @property
    def params(self) -> str:
        """Digest of everything that changes an analysis: the cache key beside the sha256."""
        raw = json.dumps([*faces_module.model_identity(self.face_model), faces_module.PASSES_VERSION,
                          self.face_score, self.nms,
                          self.coarse_side, self.max_side, self.fine_side, self.fine_score, self.turned,
                          self.max_pixels, SMALL_COPY_SIDE, explicit_image.MODEL_NAME if self.explicit else None,
                          [image_text.MODEL_NAME, image_text.READING_VERSION] if self.text else None])
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def decode_side(self) -> int:
        """The longer side an image is decoded at: enough for every detection pass."""
        return max(self.max_side, self.fine_side)

    @property
    def processes(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


@dataclass
class ImageAnalysis:
    sha256: str | None
    width: int = 0
    height: int = 0
    faces: list[Face] = field(default_factory=list)
    explicit: float | None = None
    text: str = ""  # the text read in the image, in reading order, one line per line
    error: str | None = None
    cached: bool = False

    def identifiable(self, min_px: int) -> list[Face]:
        return [f for f in self.faces if f.size >= min_px]

    def labels(self, settings: ImageSettings) -> list[str]:
        """What this image would be flagged for on a school account, without caption context."""
        found = []
        if self.faces:
            found.append("student_photo")
        if self.explicit is not None and self.explicit >= settings.explicit_threshold:
            found.append("explicit")
        return found

    def to_dict(self) -> dict:
        data = asdict(self)
        data["faces"] = [f.to_dict() for f in self.faces]
        data.pop("cached")
        return data

    @classmethod
    def from_dict(cls, data: dict, cached: bool = False) -> "ImageAnalysis":
        return cls(data.get("sha256"), int(data.get("width", 0)), int(data.get("height", 0)),
                   [Face.from_dict(f) for f in data.get("faces", [])], data.get("explicit"),
                   str(data.get("text") or ""), data.get("error"), cached)


def check_available(explicit: bool = True, face_model: str = "int8") -> None:
    """Raise `faces.ModelMissing` / `explicit_image.ModelMissing` when a model cannot run here."""
    faces_module.check_available(face_model)
    if explicit:
        explicit_image.check_available()


def open_image(data: bytes, max_pixels: int, max_side: int | None = None):
    """(RGB Pillow image, (width, height) of the full upright image) or `ImageRejected`.

    The pixel limit is checked on the header, before decoding. JPEGs are decoded at a reduced
    scale when `max_side` allows it (much faster on camera-size photos). EXIF orientation is
    applied, so boxes match the picture as people see it.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # our own limit (below) is checked on the header and names it; Pillow's warning is noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ImageRejected(f"empty image ({width}x{height})")
            if width * height > max_pixels:
                raise ImageRejected(f"{width}x{height} pixels exceeds the {max_pixels}-pixel limit")
            orientation = image.getexif().get(_ORIENTATION_TAG, 1)
            full = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
            if max_side and image.format == "JPEG" and max(width, height) > max_side:
                factor = max_side / max(width, height)
                image.draft("RGB", (int(width * factor) + 1, int(height * factor) + 1))
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode != "RGB":
                image = image.convert("RGBA").convert("RGB") if "A" in image.mode or image.mode == "P" \
                    else image.convert("RGB")
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:  # over twice Pillow's own limit: refused in open()
        raise ImageRejected(f"refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected("not a readable image (no image format Pillow knows)") from None
    except Exception as exc:  # Pillow raises many kinds for undecodable data
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise ImageRejected(f"not a readable image ({type(exc).__name__}{': ' + detail if detail else ''})") from None
    return image, full


# --- the models, loaded once per process ------------------------------------------------------

_MODELS: dict = {}


#: Held while the models load: a worker's image threads start together, and each would load its own copy
_LOADING = threading.Lock()


def _models(settings: ImageSettings):
    """(face detector, explicit scorer or None, text reader or None) for `settings`, loaded once per process."""
    key = (settings.params, settings.text_threads)  # the threads change the sessions, not what they find
    if (models := _MODELS.get(key)) is not None:
        return models
    with _LOADING:
        if key not in _MODELS:
            _MODELS.clear()
            detector = faces_module.FaceDetector(settings.face_score, settings.nms, settings.max_side, threads=1,
                                                 precision=settings.face_model, fine_side=settings.fine_side,
                                                 fine_score=settings.fine_score, turned=settings.turned,
                                                 coarse_side=settings.coarse_side)
            scorer = explicit_image.ExplicitScorer(threads=1) if settings.explicit else None
            reader = _text_reader(settings.text_threads) if settings.text else None
            _MODELS[key] = (detector, scorer, reader)
        return _MODELS[key]


def _text_reader(threads: int) -> image_text.TextReader | None:
    try:
        return image_text.TextReader(threads=threads)
    except image_text.ModelMissing as exc:
        log.warning("text in images not read: %s", exc)
        return None


class _Stopwatch:
    """CPU milliseconds of this process per stage (on a shared machine, wall time measures the
    neighbours too), kept only when the bench asks for them."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings, self.stage, self.start = timings, None, 0.0

    def __call__(self, stage: str) -> "_Stopwatch":
        self.stage = stage
        return self

    def __enter__(self):
        self.start = time.process_time()

    def __exit__(self, *_):
        if self.timings is not None:
            self.timings[self.stage] = (time.process_time() - self.start) * 1000


def analyse_bytes(data: bytes, settings: ImageSettings, sha256: str | None = None,
                  timings: dict[str, float] | None = None) -> ImageAnalysis:
    """Analyse one image's bytes in this process (models loaded on first use). With `timings`,
    the milliseconds of each stage (decode, small copy, faces, explicit, text) are put there: for the bench."""
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    stopwatch = _Stopwatch(timings)
    try:
        with stopwatch("decode"):
            image, (width, height) = open_image(data, settings.max_pixels, settings.decode_side)
    except ImageRejected as exc:
        return ImageAnalysis(sha256, error=str(exc))
    detector, scorer, reader = _models(settings)
    with stopwatch("small copy"):
        small = small_copy(image)
    with stopwatch("faces"):
        found = detector.detect(image, (width, height), small)
    score = text = None
    if scorer:
        with stopwatch("explicit"):
            score = scorer.score(small)
    if reader:
        with stopwatch("text"):
            text = reader.read(image, small)
    return ImageAnalysis(sha256, width, height, found, None if score is None else round(score, 4), text or "")


#: The explicit scorer (256 px), the text gate (320 px) and the face passes at 640 px and less look at
#: one copy of a large image, its longer side from this up to twice this: on a 12 MP photo (decoded at
#: 2016 px) a whole-factor box reduction of 4 ms, where each shrinking the decoded image itself cost
#: them 10, 8 and 10 to 15 ms.
SMALL_COPY_SIDE = 640


def small_copy(image):
    """`image` reduced by a whole factor to a longer side of `SMALL_COPY_SIDE` up to twice it; itself
    when smaller."""
    factor = max(image.size) // SMALL_COPY_SIDE
    return image.reduce(factor) if factor > 1 else image


def _job(path: str, sha256: str | None, settings: ImageSettings) -> dict:
    """Worker entry point: read and analyse one file; always returns a dict, never raises."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return ImageAnalysis(sha256, error=f"cannot read file ({exc.strerror or type(exc).__name__})").to_dict()
    try:
        return analyse_bytes(data, settings, sha256).to_dict()
    except Exception as exc:  # a model failure on one image must not stop the others
        log.exception("image analysis failed for %s", path)
        return ImageAnalysis(sha256, error=f"analysis failed ({type(exc).__name__}: {exc})").to_dict()


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


class ImageAnalyser:
    """Analyses images once each, with a cache and a process pool; see the module docstring."""

    def __init__(self, settings: ImageSettings | None = None, cache: ImageCache | None = None):
        self.settings = settings or ImageSettings()
        self.cache = cache if cache is not None else ImageCache(None)
        self._pool: ProcessPoolExecutor | None = None
        self.analysed = 0  # images that went through the models (not the cache)
        self._counting = threading.Lock()  # `analyse` runs on several threads in a worker

    def analyse(self, paths: Sequence[str | Path], sha256s: Sequence[str | None] | None = None) -> list[ImageAnalysis]:
        paths = [str(p) for p in paths]
        sha256s = list(sha256s) if sha256s is not None else [None] * len(paths)
        results: list[ImageAnalysis | None] = [None] * len(paths)
        todo: dict[str, list[int]] = {}  # sha256 -> indices still to analyse
        params = self.settings.params
        for i, (path, sha) in enumerate(zip(paths, sha256s)):
            if not sha:
                try:
                    sha = _file_sha256(path)
                except OSError as exc:
                    results[i] = ImageAnalysis(None, error=f"cannot read file ({exc.strerror or type(exc).__name__})")
                    continue
            found = self.cache.get(sha, params)
            if found is not None:
                results[i] = ImageAnalysis.from_dict(found, cached=True)
            else:
                todo.setdefault(sha, []).append(i)
        if todo:
            jobs = [(paths[indices[0]], sha) for sha, indices in todo.items()]
            with self._counting:
                self.analysed += len(jobs)
            for (path, sha), data in zip(jobs, self._run(jobs)):
                if not str(data.get("error") or "").startswith("cannot read file"):
                    self.cache.put(sha, params, data)
                for i in todo[sha]:
                    results[i] = ImageAnalysis.from_dict(data)
        return results  # type: ignore[return-value]

    def _run(self, jobs: list[tuple[str, str]]) -> list[dict]:
        if len(jobs) < 2 or self.settings.processes < 2:
            return [_job(path, sha, self.settings) for path, sha in jobs]
        pool = self._get_pool()
        futures = [pool.submit(_job, path, sha, self.settings) for path, sha in jobs]
        out = []
        for (path, sha), future in zip(jobs, futures):
            try:
                out.append(future.result())
            except BrokenProcessPool:
                # A worker died (e.g. killed for memory): report, do not retry in this process.
                self._pool = None
                out.append(ImageAnalysis(sha, error="analysis worker crashed on this image").to_dict())
            except Exception as exc:
                out.append(ImageAnalysis(sha, error=f"analysis failed ({type(exc).__name__})").to_dict())
        return out

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: never fork a process that may hold onnxruntime's threads
            huge_pages_for_new_processes()  # a model run's large tensors faulted in 2 MB at a time (c_heap)
            self._pool = ProcessPoolExecutor(max_workers=self.settings.processes, mp_context=get_context("spawn"),
                                             initializer=_worker_init)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
