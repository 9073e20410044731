"""Build `ppocrv6-det-small-int8.onnx` from the fp32 PP-OCRv6 small text detector in the rapidocr wheel (offline tool,
not used at run time).

    python auditors/models/quantize_ppocr.py [IMAGES_DIR]   # default: ../shared/images

Needs `onnx` beside the project's own packages (onnxruntime 1.30, rapidocr 3.10.0: the fp32 file and the
detector's input step); `onnx` is not a schoolaudit dependency, so use a scratch venv (`python -m venv
/tmp/q && /tmp/q/bin/pip install -e . onnx`).

What it does, in order:
1. upgrade the graph from opset 11 to 17, as for the other int8 models here; the fp32 maths is unchanged;
2. `plain_convs`: drop the exporter's 147 Identity nodes and fold each convolution's bias, a separate Add
   of a per-channel constant, into the convolution (77 of the 85 Conv and ConvTranspose nodes). Unfolded,
   every int8 convolution went out to fp32 for its Add and back (Add, QuantizeLinear and DequantizeLinear:
   27 of the 73 ms of a profiled run); folded, onnxruntime fuses bias and Relu into each QLinearConv. In
   fp32 the same boxes on every bench image;
3. `quant_pre_process` (shape inference and ORT's basic fusions);
4. static QDQ quantisation: uint8 activations (asymmetric), int8 weights per tensor (symmetric), MinMax
   calibration; every convolution, Add, Mul, Relu, HardSigmoid, pool, Concat and Resize in int8. Left in
   fp32: the exact GELUs (Div, Erf: not quantisable), the two ConvTranspose layers and the Sigmoid at the
   end (the probability map stays continuous, as the box threshold and scores read it; quantised, the
   ConvTransposes ran in fp32 anyway, between a DequantizeLinear and a QuantizeLinear).
   Tried on the bench (bare gate on the 63 reference photos at 320 px, one core; the fp32 model 22 ms):
   convolutions only, unfolded, 18 ms; folded 16.3 ms; all ops, per channel 15.3 ms (one flyer's text
   changed: "Show code" read "ShoW Code", its boxes moved); all ops per tensor 14.7 ms, no text changed;
   the GELUs' Muls in fp32 (one fused Gelu), QOperator instead of QDQ, the head (last conv) in fp32:
   no faster or slower (16.6 ms). Entropy and percentile calibration fail on inputs of several sizes.

Calibration uses ONLY the public-domain / CC0 photos of the shared test set (named in
quantize_retinaface.CALIBRATION) and six flyers drawn here by tests/flyers.py (our own text, on plain
colours and on brick_wall.jpg, one of those photos), each as the text reader feeds the detector: its
gate's copy at 320 px and the reading's at 640 px. No image is stored in the repository; only the
derived model is. The output is deterministic for the same inputs, fonts (Debian's DejaVu and
Liberation) and onnxruntime version.
"""
from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # quantize_retinaface beside it; the repository's auditors, tests
from quantize_qdq import built, opset17, pre_processed, quantize  # noqa: E402
from quantize_retinaface import CALIBRATION  # noqa: E402  the same public-domain photos

from auditors.image_text import INT8_DETECTOR_PATH  # noqa: E402

TARGET = INT8_DETECTOR_PATH
FONTS = Path("/usr/share/fonts/truetype")
#: (lines, font under FONTS or None for Pillow's own, tests/flyers.draw_flyer options); "photo" is a file of IMAGES_DIR
FLYERS = (
    (["Parent evening", "Tuesday 6:30 pm in room 12", "Bring your questions"], None, {}),
    (["Lost and found", "Coats, hats and lunch boxes", "Collect them by Friday"], "dejavu/DejaVuSans.ttf",
     {"angle": 12, "background": (200, 230, 255), "ink": (10, 10, 10)}),
    (["Science week", "Robots, rockets and slime", "Open to all grades"], "liberation/LiberationSerif-Regular.ttf",
     {"points": (28, 20), "background": (40, 40, 40), "ink": (255, 255, 0)}),
    (["Car wash", "Saturday 9 to 1", "Proceeds to the band"], "dejavu/DejaVuSans-Bold.ttf",
     {"photo": "brick_wall.jpg", "background": (255, 255, 255), "ink": (20, 20, 20)}),
    (["Winter concert", "Thank you to our sponsors"], None,
     {"columns": (["Choir", "Strings", "Brass"], ["7 pm", "Main hall", "Free entry"])}),
    (["Field trip forms", "Due back on Monday", "Signed by a parent"], "dejavu/DejaVuSerif.ttf",
     {"angle": -15, "fine_print": ("Questions? Ask at the front office", 18)}),
)
SIDES = (320, 640)  # the gate's copy, the reading's (DETECT_SIDE)
#: op types run in int8 (step 4): all but the GELUs' Div and Erf, the ConvTransposes and the Sigmoid
INT8_OPS = ("Conv", "Relu", "Add", "Mul", "HardSigmoid", "MaxPool", "Concat", "Resize", "GlobalAveragePool")


def plain_convs(path: Path) -> None:
    """Rewrite the model at `path` without Identity nodes, each conv's bias Add folded into it (step 2)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    outputs = {o.name for o in graph.output}
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity" and n.output[0] not in outputs}

    def source(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    nodes = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] in alias)]
    for node in nodes:
        node.input[:] = [source(name) for name in node.input]
    consumers = collections.defaultdict(list)
    for node in nodes:
        for name in node.input:
            consumers[name].append(node)
    constants = {t.name: t for t in graph.initializer}
    folded = set()
    for conv in (n for n in nodes if n.op_type in ("Conv", "ConvTranspose") and len(n.input) == 2
                 and n.output[0] not in outputs):
        users = consumers[conv.output[0]]
        if len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        (other,) = [name for name in add.input if name != conv.output[0]] or [None]
        channels = _output_channels(conv, numpy_helper.to_array(constants[conv.input[1]]).shape)
        bias = numpy_helper.to_array(constants[other]) if other in constants else None
        if bias is None or bias.size != channels or bias.shape[-3:] not in ((channels, 1, 1), (channels,)):
            continue
        graph.initializer.append(numpy_helper.from_array(bias.reshape(-1).astype(np.float32), f"{conv.name}_bias"))
        conv.input.append(f"{conv.name}_bias")
        conv.output[0] = add.output[0]
        folded.add(id(add))
    nodes = [n for n in nodes if id(n) not in folded]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _output_channels(conv, weights_shape: tuple[int, ...]) -> int:
    """A Conv's weights are (out, in / groups, ...), a ConvTranspose's (in, out / groups, ...)."""
    if conv.op_type == "Conv":
        return weights_shape[0]
    return weights_shape[1] * next((a.i for a in conv.attribute if a.name == "group"), 1)


def calibration_batches(images: Path, work: Path) -> list[np.ndarray]:
    """The detector's inputs for every calibration photo and flyer at each of SIDES, as the text reader makes them."""
    from auditors.image_analysis import ImageSettings, open_image, small_copy
    from auditors.image_text import TextReader
    from tests.flyers import draw_flyer

    flyers = []
    for index, (lines, font, how) in enumerate(FLYERS):
        how = {**how, **({"photo": images / how["photo"]} if "photo" in how else {})}
        font_path = str(FONTS / font) if font and (FONTS / font).is_file() else None
        flyers.append(draw_flyer(work / f"flyer{index}.jpg", lines, font=font_path, **how))
    reader, settings = TextReader(detector_precision="fp32"), ImageSettings()
    batches = []
    for file in [images / f"{name}.jpg" for name in CALIBRATION] + flyers:
        image = open_image(file.read_bytes(), settings.max_pixels, settings.decode_side)[0]
        for side in SIDES:
            batches.append(reader.detector_input(small_copy(image) if side == reader.gate_side else image, side)[0])
    return batches


def main(argv: list[str]) -> int:
    from auditors.image_text import model_files

    images = Path(argv[0]) if argv else HERE.parents[2] / "shared" / "images"
    missing = [str(f) for f in [images / f"{name}.jpg" for name in CALIBRATION] if not f.is_file()]
    if missing:
        print(f"quantize_ppocr: missing calibration images: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        feeds = [{"x": batch} for batch in calibration_batches(images, Path(tmp))]
        upgraded, prepared = Path(tmp) / "op17.onnx", Path(tmp) / "pre.onnx"
        opset17(model_files("fp32")[0], upgraded)
        plain_convs(upgraded)
        pre_processed(upgraded, prepared)
        quantize(prepared, TARGET, feeds, per_channel=False, op_types_to_quantize=list(INT8_OPS))
    print(built(TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
