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


class Runtimes:
    """The image models of `analyse_bytes`, run on onnxruntime's sessions or OpenVINO's in turn."""

    def __init__(self, settings, precision: str):
        from auditors.image_analysis import _models

        self.detector, self.scorer, self.reader = _models(settings)
        self.ort = {"faces": self.detector.session, "explicit": self.scorer.session,
                    "text": self.reader.detector.session.session}
        self.paths = {name: session._model_path for name, session in self.ort.items()}
        self.ov = {name: OpenVinoSession(path, precision) for name, path in self.paths.items()}

    def use(self, sessions: dict) -> None:
        self.detector.session, self.scorer.session, self.reader.detector.session.session = (
            sessions["faces"], sessions["explicit"], sessions["text"])

    def analyse(self, image, size) -> tuple[list, float, bool]:
        """The faces, the explicit score and the text gate of one decoded photo, as `analyse_bytes` finds them."""
        from auditors.image_analysis import small_copy

        small = small_copy(image)
        return self.detector.detect(image, size, small), self.scorer.score(small), self.reader.looks_like_text(small)


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

    import onnxruntime
    import openvino

    from auditors.image_analysis import ImageSettings

    settings = ImageSettings()
    runtimes = Runtimes(settings, args.precision)
    print(f"onnxruntime {onnxruntime.__version__}, openvino {openvino.__version__} ({args.precision})")
    inputs = compare_decisions(runtimes, args.images, settings)
    time_models(runtimes, inputs, args.precision, args.rounds)
    return 0


def compare_decisions(runtimes: Runtimes, images: Path, settings) -> dict[str, list]:
    """Analyse each reference photo on both runtimes and print where the decisions and raw outputs differ; the
    gate also on the flyers and pages. Returns each model's first input per photo, (photo, feed)."""
    import numpy as np

    from auditors.image_analysis import open_image, small_copy

    with open(images / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    decoded = [(row["file"], *open_image((images / row["file"]).read_bytes(), settings.max_pixels,
                                         settings.decode_side)) for row in rows]
    inputs = {name: [] for name in runtimes.paths}
    differences = {"faces": [], "least_iou": [], "explicit": [], "gate": []}
    largest = {name: 0.0 for name in runtimes.paths}
    for name, image, size in decoded:
        recorders = {k: Recorder(s) for k, s in runtimes.ort.items()}
        runtimes.use(recorders)
        ort_found = runtimes.analyse(image, size)
        for key, recorder in recorders.items():
            inputs[key].append((name, recorder.first))
        runtimes.use(runtimes.ov)
        ov_found = runtimes.analyse(image, size)
        if len(ort_found[0]) != len(ov_found[0]):
            differences["faces"].append(f"{name}: {len(ort_found[0])} -> {len(ov_found[0])} faces")
        else:
            differences["least_iou"].append((least_overlap(ort_found[0], ov_found[0]), name))
        differences["explicit"].append((abs(ort_found[1] - ov_found[1]), name, ort_found[1], ov_found[1]))
        if ort_found[2] != ov_found[2]:
            differences["gate"].append(f"{name}: {ort_found[2]} -> {ov_found[2]}")
        for key in runtimes.paths:  # raw outputs on the recorded input
            feed = inputs[key][-1][1]
            for a, b in zip(runtimes.ort[key].run(None, feed), runtimes.ov[key].run(None, feed)):
                largest[key] = max(largest[key], float(np.max(np.abs(a.astype(np.float64) - b))))
    with tempfile.TemporaryDirectory() as work:
        flyers = drawn_flyers(images, Path(work)) + real_text_images(images)
        for _, path, _ in flyers:
            small = small_copy(open_image(path.read_bytes(), settings.max_pixels, settings.decode_side)[0])
            runtimes.use(runtimes.ort)
            ort_open = runtimes.reader.looks_like_text(small)
            runtimes.use(runtimes.ov)
            if ort_open != runtimes.reader.looks_like_text(small):
                differences["gate"].append(f"{path.name}: {ort_open} -> {not ort_open}")
    runtimes.use(runtimes.ort)
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
    return inputs


def time_models(runtimes: Runtimes, inputs: dict[str, list], precision: str, rounds: int) -> None:
    """CPU ms per run of each model on both runtimes in turns (median over photos, and the median photo's input),
    and OpenVINO compiled for that one input's shape."""
    print(f"CPU ms per model run (fastest of {rounds}), onnxruntime / openvino in turns:")
    totals = {"ort": 0.0, "ov": 0.0, "static": 0.0}
    for key, path in runtimes.paths.items():
        times = [(fastest_run_ms(runtimes.ort[key], feed, rounds), fastest_run_ms(runtimes.ov[key], feed, rounds))
                 for _, feed in inputs[key]]
        sizes = sorted(((feed_size(feed), i) for i, (_, feed) in enumerate(inputs[key])))
        middle = sizes[len(sizes) // 2][1]
        photo, feed = inputs[key][middle]
        shape = next(iter(feed.values())).shape
        ort_median, ov_median = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
        static_ms = fastest_run_ms(OpenVinoSession(path, precision, shape), feed, rounds)
        totals["static"] += static_ms
        totals["ort"] += times[middle][0]
        totals["ov"] += times[middle][1]
        print(f"  {key}: median over photos {ort_median:.1f} / {ov_median:.1f} ({ort_median / ov_median:.2f}x); "
              f"median photo's input ({photo}, {'x'.join(map(str, shape))}) {times[middle][0]:.1f} / "
              f"{times[middle][1]:.1f} ({times[middle][0] / times[middle][1]:.2f}x); openvino compiled for that "
              f"shape alone {static_ms:.1f}")
    print(f"  three models on the median photo's inputs: {totals['ort']:.1f} / {totals['ov']:.1f} "
          f"({totals['ort'] / totals['ov']:.2f}x); openvino compiled for each shape {totals['static']:.1f} "
          f"({totals['ort'] / totals['static']:.2f}x)")


def least_overlap(faces: list, others: list) -> float:
    """The least, over `faces`, of the best overlap (IoU) with any of `others`."""
    return min((max(face.overlap(other) for other in others) for face in faces), default=1.0)


def feed_size(feed) -> int:
    return max(value.size for value in feed.values())


if __name__ == "__main__":
    sys.exit(main())
