"""The int8 explicit-image model against the fp32 one it was quantised from, on every image the bench has.

    nice .venv/bin/python bench/explicit_int8.py [IMAGES_DIR] [--json]

Images: the reference photos (../shared/images), the animal photos (bench/data/animals), the drawn
flyers and scanned pages of bench/eval_images.py, and its 12 MP synthetic scenes (with faces and
without), each decoded and reduced as `analyse_bytes` does before scoring. For each set: how many,
the largest and mean absolute difference of the two scores, how many decisions change at the
auditor's thresholds (`ImageSettings.explicit_threshold` and `explicit_high`), and the highest scores
of each model (none of these images is explicit: the upper tail says whether a threshold keeps its
meaning). Then each model's CPU ms on one core, pre-processing and run, median of 20 runs on the
median reference photo.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditors.explicit_image import ExplicitScorer  # noqa: E402
from auditors.faces import FaceDetector  # noqa: E402
from auditors.image_analysis import ImageSettings, open_image, small_copy  # noqa: E402
from bench.eval_images import ANIMALS_DIR, IMAGE_DIRS, drawn_flyers, pin_to_one_core, real_text_images  # noqa: E402
from bench.synthetic_scenes import make_scenes  # noqa: E402


def image_sets(folder: Path, work: Path) -> dict[str, list[Path]]:
    return {"reference photos": sorted(folder.glob("*.jpg")),
            "animals": sorted(ANIMALS_DIR.glob("*.jpg")),
            "flyers and pages": [path for _, path, _ in drawn_flyers(folder, work / "flyers") + real_text_images(folder)],
            "12 MP scenes": [scene.path for scene in make_scenes(folder, work / "scenes", FaceDetector())
                             + make_scenes(folder, work / "no-face", None, per_size=0)]}


def compare(paths: list[Path], models: dict[str, ExplicitScorer], settings: ImageSettings) -> dict:
    scores = {name: [] for name in models}
    for path in paths:
        image = small_copy(open_image(path.read_bytes(), settings.max_pixels, settings.decode_side)[0])
        for name, model in models.items():
            scores[name].append(model.score(image))
    fp32, int8 = scores["fp32"], scores["int8"]
    differences = [abs(a - b) for a, b in zip(fp32, int8)]
    return {"images": len(paths),
            "max_abs_difference": round(max(differences), 4),
            "mean_abs_difference": round(statistics.mean(differences), 4),
            "decisions_changed": {str(threshold): sum((a >= threshold) != (b >= threshold) for a, b in zip(fp32, int8))
                                  for threshold in (settings.explicit_threshold, settings.explicit_high)},
            "highest": [[path.name, round(a, 4), round(b, 4)]
                        for a, b, path in sorted(zip(fp32, int8, paths), key=lambda t: -max(t[0], t[1]))[:5]]}


def cpu_ms(model: ExplicitScorer, image, runs: int = 20) -> float:
    model.score(image)
    times = []
    for _ in range(runs):
        start = time.process_time()
        model.score(image)
        times.append((time.process_time() - start) * 1000)
    return round(statistics.median(times), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/explicit_int8.py ../shared/images --json")
    parser.add_argument("images", nargs="?", default=str(next((d for d in IMAGE_DIRS if d.is_dir()), IMAGE_DIRS[0])),
                        help="the reference photos (default: ../shared/images)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    folder = Path(args.images)
    if not folder.is_dir():
        print(f"explicit_int8: {folder} not found", file=sys.stderr)
        return 2
    pin_to_one_core()
    settings = ImageSettings()
    models = {precision: ExplicitScorer(precision=precision) for precision in ("fp32", "int8")}
    with tempfile.TemporaryDirectory() as work:
        figures = {name: compare(paths, models, settings) for name, paths in image_sets(folder, Path(work)).items()}
    photos = sorted(folder.glob("*.jpg"), key=lambda p: p.stat().st_size)
    median_photo = small_copy(open_image(photos[len(photos) // 2].read_bytes(), settings.max_pixels,
                                         settings.decode_side)[0])
    rounds = {name: [] for name in models}
    for _ in range(3):  # in turns: a shared machine's load weighs on both alike
        for name, model in models.items():
            rounds[name].append(cpu_ms(model, median_photo))
    figures["cpu_ms_one_core"] = {name: min(ms) for name, ms in rounds.items()}
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    for name, found in figures.items():
        if name == "cpu_ms_one_core":
            continue
        print(f"{name} ({found['images']}): |int8 - fp32| max {found['max_abs_difference']}, mean "
              f"{found['mean_abs_difference']}; decisions changed at "
              + ", ".join(f">= {t}: {n}" for t, n in found["decisions_changed"].items()))
        print("  highest (fp32, int8): " + "; ".join(f"{file} {a} {b}" for file, a, b in found["highest"]))
    print("CPU ms per score, one core (pre-processing and model): "
          + ", ".join(f"{name} {ms}" for name, ms in figures["cpu_ms_one_core"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
