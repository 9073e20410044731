"""Rebuild `retinaface-mnet025-int8.onnx` from the fp32 model beside it (offline tool, not used at run time).

    python auditors/models/quantize_retinaface.py [IMAGES_DIR]   # default: ../shared/images

Needs `onnx` and `onnxruntime` (1.30) in the Python that runs it; `onnx` is not a schoolaudit
dependency, so use a scratch venv (`python -m venv /tmp/q && /tmp/q/bin/pip install onnx
onnxruntime==1.30.0 pillow numpy`).

What it does, in order:
1. upgrade the graph from opset 11 to 17 (per-channel DequantizeLinear needs >= 13) and turn the
   exporter's Constant and Identity-of-weight nodes into initializers (the quantiser wants conv
   weights and biases as initializers); the fp32 maths is unchanged;
2. `quant_pre_process` (shape inference and ORT's basic fusions);
3. static QDQ quantisation: uint8 activations (asymmetric), int8 weights per channel, MinMax
   calibration. Left in fp32: the whole first backbone stage (`fx/stage1`, strides 2 to 8: int8
   there loses small faces in crowds) and the class/box/landmark heads (int8 there moved scores on
   no-face images). Everything else (stages 2-3, FPN, SSH context modules) runs in int8;
4. the input becomes the image's own uint8 pixels (BGR planes, N x 3 x H x W), made float with the
   mean subtracted in the graph by one per-channel DequantizeLinear (zero points 104, 117, 123, scale
   1): the detector so never builds a float copy of a 3 MP image in numpy (on one core the same time
   on a quiet machine, up to 70 ms less a 12 MP photo on a loaded one), and onnxruntime reads and
   writes the 36 MB of floats once, not twice as a Cast then a Sub did (on the 2016 px fine pass
   30 to 40 ms less). The first conv sees the very floats it saw before ((pixel - zero point) x 1 is
   exact), so every score is the same to the bit (folding the mean into its bias, also exact in real
   numbers, moved int8 scores by up to 20/255 and lost a 32 px face in the mosaic);
5. the class head's two logits (background, face) of every prior, fp32 as the head computes them, become
   a fourth output, `face_logits`: the `conf` output is quantised to steps of 1/255 after its softmax, so
   the faint places the detector ranks as mosaic candidates tie by the thousand there; their logits do
   not (`auditors/faces.py`, `_candidates`). The other three outputs are unchanged, bit for bit.

Calibration uses ONLY the public-domain / CC0 photos of the shared test set (listed below by name:
scikit-image and darknet samples), each at two scales. No photo is stored in the repository; only
the derived model is. The output is deterministic for the same inputs and onnxruntime version.
"""
from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # quantize_qdq beside it
from quantize_qdq import built, opset17, pre_processed, quantize  # noqa: E402

SOURCE = HERE / "retinaface-mnet025.onnx"
TARGET = HERE / "retinaface-mnet025-int8.onnx"
CALIBRATION = ("astronaut", "cameraman_gray", "cat_chelsea", "coffee_cup", "rocket_launchpad", "text_page",
               "brick_wall", "hubble_deep_field", "dog_bicycle", "eagle", "giraffe_zebra", "horses_field",
               "beach_kites_tiny_people", "person_back_dog_horse")
SCALES = (640, 1280)  # longer side; images are only ever scaled down
KEEP_FP32 = r"_head|/fx/stage1"
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)


def _network_input(path: Path, max_side: int) -> np.ndarray:
    from PIL import Image

    image = Image.open(path).convert("RGB")
    if max(image.size) > max_side:
        factor = max_side / max(image.size)
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)[:, :, ::-1] - MEAN_BGR
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])


def _opset17_with_initializers(source: Path, target: Path) -> None:
    """`opset17`, then the exporter's Constant nodes and Identity-of-weight nodes made initializers (the
    quantiser wants conv weights and biases as initializers)."""
    import onnx

    opset17(source, target)
    model = onnx.load(str(target))
    inits = {t.name: t for t in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = onnx.helper.get_attribute_value(node.attribute[0])
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
            inits[tensor.name] = tensor
        elif node.op_type == "Identity" and node.input[0] in inits:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(inits[node.input[0]])
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
            inits[tensor.name] = tensor
        else:
            nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def pixels_in(path: Path, mean_bgr: np.ndarray, channel_axis: int = 1) -> None:
    """Rewrite the model at `path` to take uint8 BGR pixels, `mean_bgr` (whole numbers) taken off in its
    graph (step 4 of the module's doc); `channel_axis`: 1 for N x 3 x H x W, 3 for N x H x W x 3."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    pixels = graph.input[0].name
    graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.UINT8
    # (pixel - zero point) x scale, per channel: pixel - mean, in one pass over the image
    graph.initializer.append(numpy_helper.from_array(np.asarray(mean_bgr).astype(np.uint8), "mean_bgr"))
    graph.initializer.append(numpy_helper.from_array(np.ones(3, np.float32), "unit_scale"))
    centre = helper.make_node("DequantizeLinear", [pixels, "unit_scale", "mean_bgr"], [f"{pixels}_centred"],
                              name="pixels_minus_mean", axis=channel_axis)
    for node in graph.node:
        node.input[:] = [centre.output[0] if name == pixels else name for name in node.input]
    graph.node.insert(0, centre)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


#: the class head's logits before the quantised softmax (step 5), and the output that gives them
CLASS_LOGITS, LOGITS_OUTPUT = "/class_head/Concat_3_output_0", "face_logits"


def logits_out(path: Path) -> None:
    """Rewrite the model at `path` to give its class head's fp32 logits as an output (step 5 of the module's doc)."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    graph = model.graph
    graph.node.append(helper.make_node("Identity", [CLASS_LOGITS], [LOGITS_OUTPUT], name="face_logits_out"))
    graph.output.append(helper.make_tensor_value_info(LOGITS_OUTPUT, onnx.TensorProto.FLOAT,
                                                      ["batch_size", "priors", 2]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main(argv: list[str]) -> int:
    import onnx

    images = Path(argv[0]) if argv else HERE.parents[2] / "shared" / "images"
    files = [images / f"{name}.jpg" for name in CALIBRATION]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"quantize_retinaface: missing calibration images: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        upgraded, prepared = Path(tmp) / "op17.onnx", Path(tmp) / "pre.onnx"
        _opset17_with_initializers(SOURCE, upgraded)
        pre_processed(upgraded, prepared)
        names = [n.name for n in onnx.load(str(prepared)).graph.node]
        quantize(prepared, TARGET, [{"input": _network_input(f, s)} for f in files for s in SCALES], per_channel=True,
                 nodes_to_exclude=[n for n in names if re.search(KEEP_FP32, n)])
    pixels_in(TARGET, MEAN_BGR)
    logits_out(TARGET)
    print(built(TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
