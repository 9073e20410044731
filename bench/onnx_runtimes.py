"""onnxruntime against OpenVINO on the three image models, one thread, the same inputs and decisions.

    nice .venv/bin/python bench/onnx_runtimes.py [IMAGES_DIR] --openvino-site DIR [--rounds 5]

DIR: a site-packages holding the `openvino` wheel (a venv of its own, so the project's stays as it is),
searched after this venv's packages (numpy, onnxruntime, Pillow come from here). On the 63 reference
photos of eval_images.py, each decoded and reduced as `analyse_bytes` does: the input each model gets
first for each photo (faces: the coarse pass; explicit: open_nsfw's 224 x 224; text: the gate's copy)
is timed on both runtimes in turns (CPU ms, fastest of `rounds`, median over photos and the median
photo's input), then each photo is analysed on one runtime and then the other: face boxes (at the
detector's threshold), explicit score, text gate open/closed; the gate also on the 35 flyers and pages.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.eval_images import drawn_flyers, fastest_run_ms, pin_to_one_core, real_text_images  # noqa: E402


class OpenVinoSession:
    """An ONNX model compiled by OpenVINO's CPU plugin on one thread (latency hint), called as an
    onnxruntime session is (`run`, `get_inputs`, `get_outputs`)."""

    def __init__(self, model: str | Path, precision: str = "f32", shape: tuple[int, ...] | None = None):
        import openvino as ov

        self.ort_view = _ort_view(model)
        core = ov.Core()
        network = core.read_model(str(model))
        if shape:  # compiled for inputs of this one shape (else any shape: dynamic dimensions)
            network.reshape(shape)
        self.compiled = core.compile_model(network, "CPU", {
            "INFERENCE_NUM_THREADS": 1, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
            "INFERENCE_PRECISION_HINT": precision})
        self.request = self.compiled.create_infer_request()

    def get_inputs(self):
        return self.ort_view.get_inputs()

    def get_outputs(self):
        return self.ort_view.get_outputs()

    def run(self, output_names, input_feed, run_options=None):
        results = self.request.infer(input_feed)
        return [results[index] for index in range(len(self.compiled.outputs))] if output_names is None else \
            [results[self.compiled.output(name)] for name in output_names]


def _ort_view(model):
    """An onnxruntime session on `model` for its input and output names and types only."""
    import onnxruntime as ort

    return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])


class Recorder:
    """Wraps a session: keeps the first input it is given (one `Recorder` per photo)."""

    def __init__(self, session):
        self.session, self.first = session, None

    def __getattr__(self, name):
        return getattr(self.session, name)

    def run(self, output_names, input_feed, run_options=None):
        if self.first is None:
            self.first = {k: v.copy() for k, v in input_feed.items()}
        return self.session.run(output_names, input_feed, run_options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=(
        "Example: nice .venv/bin/python bench/onnx_runtimes.py --openvino-site /tmp/ov/lib/python3.11/site-packages"))
    parser.add_argument("images", nargs="?", type=Path, default=REPO.parent / "shared" / "images")
    parser.add_argument("--openvino-site", type=Path, required=True,
                        help="a site-packages holding openvino, searched after this venv's own")
    parser.add_argument("--precision", default="f32", help="OpenVINO's inference precision hint (f32, bf16)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.append(str(args.openvino_site))
    pin_to_one_core()

    import numpy as np
    import onnxruntime
    import openvino

    from auditors.image_analysis import ImageSettings, _models, open_image, small_copy

    settings = ImageSettings()
    detector, scorer, reader = _models(settings)
    ort_sessions = {"faces": detector.session, "explicit": scorer.session, "text": reader.detector.session.session}
    models = {"faces": detector.session._model_path, "explicit": scorer.session._model_path,
              "text": reader.detector.session.session._model_path}
    ov_sessions = {name: OpenVinoSession(path, args.precision) for name, path in models.items()}

    def use(sessions):
        detector.session, scorer.session, reader.detector.session.session = (
            sessions["faces"], sessions["explicit"], sessions["text"])

    def analyse(image, size):
        small = small_copy(image)
        faces = detector.detect(image, size, small)
        return faces, scorer.score(small), reader.looks_like_text(small)

    print(f"onnxruntime {onnxruntime.__version__}, openvino {openvino.__version__} ({args.precision})")
    with open(args.images / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    decoded = [(row["file"], *open_image((args.images / row["file"]).read_bytes(), settings.max_pixels,
                                         settings.decode_side)) for row in rows]
    inputs = {name: [] for name in models}
    differences = {"faces": [], "least_iou": [], "explicit": [], "gate": []}
    largest = {name: 0.0 for name in models}
    for name, image, size in decoded:
        recorders = {k: Recorder(s) for k, s in ort_sessions.items()}
        use(recorders)
        ort_found = analyse(image, size)
        for key, recorder in recorders.items():
            inputs[key].append((name, recorder.first))
        use(ov_sessions)
        ov_found = analyse(image, size)
        if len(ort_found[0]) != len(ov_found[0]):
            differences["faces"].append(f"{name}: {len(ort_found[0])} -> {len(ov_found[0])} faces")
        else:
            differences["least_iou"].append((least_overlap(ort_found[0], ov_found[0]), name))
        differences["explicit"].append((abs(ort_found[1] - ov_found[1]), name, ort_found[1], ov_found[1]))
        if ort_found[2] != ov_found[2]:
            differences["gate"].append(f"{name}: {ort_found[2]} -> {ov_found[2]}")
        for key in models:  # raw outputs on the recorded input
            feed = inputs[key][-1][1]
            for a, b in zip(ort_sessions[key].run(None, feed), ov_sessions[key].run(None, feed)):
                largest[key] = max(largest[key], float(np.max(np.abs(a.astype(np.float64) - b))))
    with tempfile.TemporaryDirectory() as work:
        flyers = drawn_flyers(args.images, Path(work)) + real_text_images(args.images)
        for _, path, _ in flyers:
            small = small_copy(open_image(path.read_bytes(), settings.max_pixels, settings.decode_side)[0])
            use(ort_sessions)
            ort_open = reader.looks_like_text(small)
            use(ov_sessions)
            if ort_open != reader.looks_like_text(small):
                differences["gate"].append(f"{path.name}: {ort_open} -> {not ort_open}")
    use(ort_sessions)
    print(f"decisions on {len(decoded)} photos and {len(flyers)} flyers and pages, onnxruntime -> openvino:")
    print(f"  photos whose face count differs: {len(differences['faces'])}", *differences["faces"], sep="\n    ")
    iou, name = min(differences["least_iou"])
    moved = sum(value < 1 for value, _ in differences["least_iou"])
    print(f"  elsewhere boxes moved on {moved} photos; least IoU of a box with its match {iou:.3f} ({name})")
    worst = max(differences["explicit"])
    print(f"  explicit: largest score difference {worst[0]:.4f} ({worst[1]}: {worst[2]:.4f} -> {worst[3]:.4f}); "
          f"mean {statistics.mean(d[0] for d in differences['explicit']):.4f}")
    print(f"  text gate differing: {len(differences['gate'])}", *differences["gate"], sep="\n    ")
    print("  largest raw output difference: " + ", ".join(f"{k} {v:.2e}" for k, v in largest.items()))

    print(f"CPU ms per model run (fastest of {args.rounds}), onnxruntime / openvino in turns:")
    totals = {"ort": 0.0, "ov": 0.0, "static": 0.0}
    for key in models:
        times = []
        for name, feed in inputs[key]:
            times.append((fastest_run_ms(ort_sessions[key], feed, args.rounds),
                          fastest_run_ms(ov_sessions[key], feed, args.rounds)))
        sizes = sorted(((feed_size(feed), i) for i, (_, feed) in enumerate(inputs[key])))
        middle = sizes[len(sizes) // 2][1]
        ort_median, ov_median = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
        static = OpenVinoSession(models[key], args.precision, next(iter(inputs[key][middle][1].values())).shape)
        static_ms = fastest_run_ms(static, inputs[key][middle][1], args.rounds)
        totals["static"] += static_ms
        totals["ort"] += times[middle][0]
        totals["ov"] += times[middle][1]
        shape = "x".join(map(str, next(iter(inputs[key][middle][1].values())).shape))
        print(f"  {key}: median over photos {ort_median:.1f} / {ov_median:.1f} ({ort_median / ov_median:.2f}x); "
              f"median photo's input ({inputs[key][middle][0]}, {shape}) {times[middle][0]:.1f} / "
              f"{times[middle][1]:.1f} ({times[middle][0] / times[middle][1]:.2f}x); openvino compiled for that "
              f"shape alone {static_ms:.1f}")
    print(f"  three models on the median photo's inputs: {totals['ort']:.1f} / {totals['ov']:.1f} "
          f"({totals['ort'] / totals['ov']:.2f}x); openvino compiled for each shape {totals['static']:.1f} "
          f"({totals['ort'] / totals['static']:.2f}x)")
    return 0


def least_overlap(faces: list, others: list) -> float:
    """The least, over `faces`, of the best overlap (IoU) with any of `others`."""
    return min((max(face.overlap(other) for other in others) for face in faces), default=1.0)


def feed_size(feed) -> int:
    return max(value.size for value in feed.values())


if __name__ == "__main__":
    sys.exit(main())
