"""Score the image auditors against a labelled photo set (default: ../shared/images/labels.csv).

    .venv/bin/python bench/eval_images.py [IMAGES_DIR] [--threshold 0.8] [--face-model int8|fp32] [--json]

Reports, on the rows that are not marked EDGE in the notes column:
- image recall: share of images with >= 1 face (by eye) where the detector found >= 1 face;
- no-face precision: share of images with 0 faces where it found none;
- face-count error (mean |found - counted|) on images with 1..30 faces (larger counts are rough);
- explicit: the highest open_nsfw score on the (all safe) photos, and how many reach the threshold.
EDGE rows (drawn, CGI and painted faces) are listed apart: every detector "sees" faces there.
Timing is milliseconds per image on one core (process pinned to one CPU, one onnxruntime thread),
image bytes already read: decode, faces, explicit and total, median and 90th percentile.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditors.image_analysis import ImageSettings, timed_analyse  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="?", default=str(REPO.parent / "shared" / "images"),
                        help="folder with labels.csv and the photos (default: ../shared/images)")
    parser.add_argument("--threshold", type=float, default=None, help="face score threshold (default: the config's 0.8)")
    parser.add_argument("--max-side", type=int, default=None, help="detection resolution (longer side; default 1280)")
    parser.add_argument("--face-model", choices=("int8", "fp32"), default=None,
                        help="face model precision (default: int8, the quantised model)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    folder = Path(args.images)
    labels = folder / "labels.csv"
    if not labels.is_file():
        print(f"eval_images: {labels} not found", file=sys.stderr)
        return 2
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    except (AttributeError, OSError):
        pass
    settings = ImageSettings()
    if args.threshold is not None:
        settings = replace(settings, face_score=args.threshold)
    if args.max_side is not None:
        settings = replace(settings, max_side=args.max_side)
    if args.face_model is not None:
        settings = replace(settings, face_model=args.face_model)
    rows = list(csv.DictReader(labels.open(encoding="utf-8")))
    # warm up: load the models and let onnxruntime settle its shapes once
    timed_analyse((folder / rows[0]["file"]).read_bytes(), settings)

    results, timings = [], {"decode": [], "faces": [], "explicit": [], "total": []}
    for row in rows:
        data = (folder / row["file"]).read_bytes()
        analysis, ms = timed_analyse(data, settings)
        if analysis.error:
            print(f"eval_images: {row['file']}: {analysis.error}", file=sys.stderr)
            continue
        for stage, value in ms.items():
            timings[stage].append(value)
        timings["total"].append(sum(ms.values()))
        results.append((row, analysis))

    main_rows = [(r, a) for r, a in results if not r["notes"].startswith("EDGE")]
    edge_rows = [(r, a) for r, a in results if r["notes"].startswith("EDGE")]
    with_faces = [(r, a) for r, a in main_rows if int(r["faces"]) > 0]
    no_faces = [(r, a) for r, a in main_rows if int(r["faces"]) == 0]
    countable = [(r, a) for r, a in with_faces if int(r["faces"]) <= 30]
    missed = [r["file"] for r, a in with_faces if "student_photo" not in a.labels(settings)]
    false_hits = [f"{r['file']} ({len(a.faces)}, max {max(f.score for f in a.faces):.2f})"
                  for r, a in no_faces if a.faces]
    minors = [(r, a) for r, a in with_faces if r["has_minors"] == "yes"]
    explicit_scores = sorted(((a.explicit or 0.0, r["file"]) for r, a in results), reverse=True)
    figures = {
        "images": len(results),
        "face_threshold": settings.face_score,
        "face_model": settings.face_model,
        "recall_face_images": round(sum(1 for r, a in with_faces if a.faces) / max(1, len(with_faces)), 3),
        "face_images": len(with_faces),
        "precision_no_face_images": round(sum(1 for r, a in no_faces if not a.faces) / max(1, len(no_faces)), 3),
        "no_face_images": len(no_faces),
        "count_mae_le30": round(statistics.mean(abs(len(a.faces) - int(r["faces"])) for r, a in countable), 2)
        if countable else None,
        "count_images_le30": len(countable),
        "identifiable_images": sum(1 for r, a in with_faces if a.identifiable(settings.identifiable_px)),
        "minor_images_hit": f"{sum(1 for r, a in minors if a.faces)}/{len(minors)}",
        "missed": missed,
        "false_positives": false_hits,
        "edge": {r["file"]: len(a.faces) for r, a in edge_rows},
        "explicit_max": [round(explicit_scores[0][0], 3), explicit_scores[0][1]] if explicit_scores else None,
        "explicit_flagged": [f for s, f in explicit_scores if s >= settings.explicit_threshold],
        "ms_per_image_one_core": {stage: {"median": round(statistics.median(v), 1), "p90": round(percentile(v, 0.9), 1)}
                                  for stage, v in timings.items() if v},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"images: {figures['images']} ({len(main_rows)} scored, {len(edge_rows)} EDGE apart), "
          f"face model {settings.face_model}, face score >= {settings.face_score}, detection at <= {settings.max_side} px")
    print(f"recall on face images:       {figures['recall_face_images']:.3f}  ({len(with_faces)} images"
          + (f"; missed {', '.join(missed)}" if missed else "") + ")")
    print(f"precision on no-face images: {figures['precision_no_face_images']:.3f}  ({len(no_faces)} images"
          + (f"; false faces in {', '.join(false_hits)}" if false_hits else "") + ")")
    print(f"face-count error (MAE):      {figures['count_mae_le30']}  ({len(countable)} images with 1..30 faces)")
    print(f"images with children hit:    {figures['minor_images_hit']}")
    print(f"with an identifiable face (>= {settings.identifiable_px} px): {figures['identifiable_images']}/{len(with_faces)}")
    print("EDGE (drawn/CGI/painted, not scored): "
          + ", ".join(f"{name}: {n} faces" for name, n in figures["edge"].items()))
    print(f"explicit: highest score {figures['explicit_max'][0]} ({figures['explicit_max'][1]}), "
          f"{len(figures['explicit_flagged'])} images >= {settings.explicit_threshold}")
    print("ms per image, one core (median / p90): " + ", ".join(
        f"{stage} {v['median']} / {v['p90']}" for stage, v in figures["ms_per_image_one_core"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
