"""What a cheap check in front of the explicit model or the text gate would skip, and what it would lose.

    nice .venv/bin/python bench/image_pregates.py [IMAGES_DIR] [--json]

Issue 15 asks for 20 ms of CPU per typical image, where the explicit model and the text gate (the
text detector on a 320 px copy) each cost about as much as the faces and run on every image. This
bench measures whether either can be skipped on the images where it cannot matter, on the reference
photos (../shared/images), the animal photos and the flyers and pages of bench/eval_images.py, each
decoded and reduced as `analyse_bytes` does (its small copy), one core:
- explicit: the share of skin-coloured pixels in a 64 px copy (Kovac's RGB rule, on the image as it is
  and after a grey-world colour balance, the usual remedy for coloured light); for each share under
  which the model would not run: the photos, animals and flyers skipped, the highest explicit score
  among them (no explicit image is at hand: how many such images a check would skip is not measured);
- text: checks that could close the way to the gate on a photo with no text: the share of thin
  high-contrast strokes (black-hat or top-hat of 5 px at 320 px), the text detector on a smaller copy
  (its highest text probability), and text lines found the classic way (morphological gradient,
  characters joined along the line, the gate's own stacked-lines rule on their boxes); each at a
  threshold of half the least value among the images the gate opens on (the lines: found or not):
  the photos it would skip, the images the gate opens on that it would lose (each would lose its
  reading), its ms, and the ms per photo of check and gate together against the gate alone.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np  # and OpenCV (cv2), installed with rapidocr: its morphology in the text checks

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditors.faces import scaled_down  # noqa: E402
from auditors.image_analysis import ImageSettings, open_image, small_copy  # noqa: E402
from bench.eval_images import (ANIMALS_DIR, IMAGE_DIRS, drawn_flyers, pin_to_one_core,  # noqa: E402
                               real_text_images)

#: skin shares under which the explicit model would not run
SKIN_SHARES = (0.01, 0.03, 0.05)
#: the text detector's smaller copies tried in front of the gate's 320 px one
DETECTOR_SIDES = (160, 192, 224)
#: a thin stroke: this much darker or lighter than a 5 px closing or opening of the grey image
STROKE_CONTRAST = 48


def cpu_ms(function, *args):
    """(result, CPU ms of one call)."""
    start = time.process_time()
    result = function(*args)
    return result, (time.process_time() - start) * 1000


def skin_share(image, balanced: bool) -> float:
    """Share of a 64 px copy's pixels that Kovac's rule (R > 95, G > 40, B > 20, R - G > 15, R > B, a
    spread over 15) takes for skin; `balanced`: after a grey-world balance (each channel to the mean)."""
    copy = image.copy()
    copy.thumbnail((64, 64))
    pixels = np.asarray(copy.convert("RGB"), dtype=np.float32)
    if balanced:
        means = pixels.reshape(-1, 3).mean(axis=0)
        pixels = np.clip(pixels * (means.mean() / np.maximum(means, 1)), 0, 255)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    spread = pixels.max(axis=-1) - pixels.min(axis=-1)
    skin = (red > 95) & (green > 40) & (blue > 20) & (spread > 15) & (red - green > 15) & (red > blue)
    return float(skin.mean())


def grey_320(image):
    return scaled_down(image.convert("L"), 320, reducing_gap=2.0)


def stroke_share(image) -> float:
    """Share of the 320 px grey copy's pixels on a thin stroke (`STROKE_CONTRAST`)."""
    import cv2

    pixels, kernel = np.asarray(grey_320(image)), np.ones((5, 5), np.uint8)
    strokes = np.maximum(cv2.morphologyEx(pixels, cv2.MORPH_BLACKHAT, kernel),
                         cv2.morphologyEx(pixels, cv2.MORPH_TOPHAT, kernel))
    return float((strokes >= STROKE_CONTRAST).mean())


def classic_lines(image) -> float:
    """1.0 when text lines found the classic way stand stacked as the gate asks (`stacked_lines`), else 0.0."""
    import cv2

    from auditors.image_text import stacked_lines

    pixels = np.asarray(grey_320(image))
    edges = (cv2.morphologyEx(pixels, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) >= 48).astype(np.uint8)
    joined = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((3, 7), np.uint8))  # letters into lines
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        (x, y), (width, height), angle = cv2.minAreaRect(contour)
        length, thickness = max(width, height), min(width, height)
        if not 3 <= thickness <= 60:
            continue
        turn = np.deg2rad(angle if width >= height else angle + 90)
        along = np.array([np.cos(turn), np.sin(turn)]) * length / 2
        across = np.array([-np.sin(turn), np.cos(turn)]) * thickness / 2
        centre = np.array([x, y])
        boxes.append(np.array([centre - along - across, centre + along - across,
                               centre + along + across, centre - along + across], dtype=np.float32))
    return 1.0 if stacked_lines(boxes) else 0.0


def detector_peak(reader, side: int):
    """The text detector's highest text probability on a copy of at most `side` px."""
    def peak(image) -> float:
        batch, _ = reader.detector_input(image, side)
        return float(np.asarray(reader.detector.session(batch)).max())
    return peak


def images(folder: Path, work: Path) -> list[tuple[str, Path]]:
    """(kind, file): the reference photos, the animal photos, the flyers and pages."""
    rows = list(csv.DictReader((folder / "labels.csv").open(encoding="utf-8")))
    found = [("photo", folder / row["file"]) for row in rows]
    found += [("animal", path) for path in sorted(ANIMALS_DIR.glob("*.jpg"))]
    return found + [("flyer", path) for _, path, _ in drawn_flyers(folder, work) + real_text_images(folder)]


def measure(folder: Path, work: Path) -> list[dict]:
    """Per image: kind, name, the gate's answer and ms, the explicit score and ms, each check's value and ms."""
    from auditors.explicit_image import ExplicitScorer
    from auditors.image_text import TextReader

    settings = ImageSettings()
    scorer, reader = ExplicitScorer(threads=1), TextReader(threads=1)
    checks = {"skin": lambda image: skin_share(image, False), "skin, balanced": lambda image: skin_share(image, True),
              "strokes": stroke_share, "classic lines": classic_lines,
              **{f"detector at {side} px": detector_peak(reader, side) for side in DETECTOR_SIDES}}
    measured, every = [], images(folder, work)
    for kind, path in every[:1] + every:  # the first once more first: onnxruntime's first runs cost more
        small = small_copy(open_image(path.read_bytes(), settings.max_pixels, settings.decode_side)[0])
        opens, gate_ms = cpu_ms(reader.looks_like_text, small)
        score, explicit_ms = cpu_ms(scorer.score, small)
        values = {name: cpu_ms(check, small) for name, check in checks.items()}
        measured.append({"kind": kind, "name": path.name, "gate": opens, "gate_ms": gate_ms, "explicit": score,
                         "explicit_ms": explicit_ms, "values": values})
    return measured[1:]


def explicit_figures(measured: list[dict]) -> dict:
    photos = [m for m in measured if m["kind"] == "photo"]
    figures = {}
    for check in ("skin", "skin, balanced"):
        check_ms = statistics.median(m["values"][check][1] for m in photos)
        for share in SKIN_SHARES:
            skipped = [m for m in measured if m["values"][check][0] < share]
            skipped_photos = [m for m in skipped if m["kind"] == "photo"]
            saved = sum(m["explicit_ms"] for m in skipped_photos) / len(photos) - check_ms  # the check runs on all
            figures[f"{check} under {share:.0%}"] = {
                "photos skipped": f"{len(skipped_photos)}/{len(photos)}",
                "animals skipped": sum(m["kind"] == "animal" for m in skipped),
                "flyers skipped": sum(m["kind"] == "flyer" for m in skipped),
                "highest score skipped": round(max((m["explicit"] for m in skipped), default=0.0), 4),
                "check ms": round(check_ms, 2), "ms saved per photo (mean, check paid)": round(saved, 1)}
    return figures


def text_figures(measured: list[dict]) -> dict:
    photos = [m for m in measured if m["kind"] == "photo"]
    opening = [m for m in measured if m["gate"]]
    gate_ms = statistics.median(m["gate_ms"] for m in photos)
    figures = {"gate opens on": f"{len(opening)} ({sum(m['kind'] == 'photo' for m in opening)} photos)",
               "gate ms (median photo)": round(gate_ms, 1)}
    if not opening:  # no image to keep: a check's threshold is set from the images the gate opens on
        return figures
    for check in [name for name in measured[0]["values"] if not name.startswith("skin")]:
        threshold = min(m["values"][check][0] for m in opening) / 2 if check != "classic lines" else 0.5
        skipped = [m for m in photos if not m["gate"] and m["values"][check][0] < threshold]
        lost = [m["name"] for m in opening if m["values"][check][0] < threshold]
        check_ms = statistics.median(m["values"][check][1] for m in photos)
        figures[check] = {"threshold": round(threshold, 4), "photos skipped": f"{len(skipped)}/{len(photos)}",
                          "lost": lost, "check ms": round(check_ms, 1),
                          "check and gate ms per photo": round(check_ms + gate_ms * (1 - len(skipped) / len(photos)), 1)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/image_pregates.py --json")
    parser.add_argument("images", nargs="?", default=str(next((d for d in IMAGE_DIRS if d.is_dir()), IMAGE_DIRS[0])),
                        help="folder with labels.csv and the photos (default: ../shared/images)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    folder = Path(args.images)
    if not (folder / "labels.csv").is_file():
        print(f"image_pregates: {folder / 'labels.csv'} not found", file=sys.stderr)
        return 2
    pin_to_one_core()
    with tempfile.TemporaryDirectory() as work:
        measured = measure(folder, Path(work))
    figures = {"explicit": explicit_figures(measured), "text": text_figures(measured)}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for part, rows in figures.items():
            for name, row in rows.items():
                print(f"{part}: {name}: {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
