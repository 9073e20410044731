"""Score the image auditors against a labelled photo set (default: ../shared/images/labels.csv).

    nice .venv/bin/python bench/eval_images.py [IMAGES_DIR] [--threshold 0.8] [--face-model int8|fp32]
        [--coarse-side 640] [--against REF] [--no-scenes] [--scene-seed N] [--no-flyers | --text-only] [--json]

Reports, on the rows that are not marked EDGE in the notes column:
- image recall: share of images with >= 1 face (by eye) where the detector found >= 1 face;
- no-face precision: share of images with 0 faces where it found none;
- face-count error (mean |found - counted|) on images with 1..30 faces (larger counts are rough);
- false faces on the animal photos (pets, horses, birds; the reference set's and those in
  bench/data/animals), at the auditors' score and at the thumbnails' lower one, before and now;
- turned faces: the photos with 1..6 faces turned upside down and by 45 degrees, before and now;
- explicit: the highest open_nsfw score on the (all safe) photos, and how many reach the threshold.
EDGE rows (drawn, CGI and painted faces) are listed apart: every detector "sees" faces there.
Then, unless told not to:
- full-size photos (bench/synthetic_scenes.py: reference faces of 24..128 px pasted on 12 MP
  photos): recall by face size, boxes that are no face, and ms per image, for the detector as it
  was (one pass at 1280 px, no landmark check, no text) and as it is (finer, mosaic and turned
  passes, landmark check, text); the same photos with no face (their backgrounds alone, where every
  pass runs: fine, mosaic, close and turned): boxes found and ms per image, before and now;
- text in images: ms of the text step per photo where the gate (two stacked lines found by the
  text detector on a 320 px copy) closes and where it opens, per flyer; which photos open it, and
  how many opened the gate as it was (any one box); what the gate misses (photos and flyers where
  reading without it finds text); OCR character accuracy (1 - edit distance / length, reading order
  included) on flyers drawn with Pillow (tests/flyers.py: plain, small type, turned 7 and -20
  degrees, on a photo, with fine print at the foot, two columns), a real poster (../shared/images)
  and two scanned pages (bench/data/ocr, tesseract-ocr/test, Apache-2.0); on the 12 MP scenes, on
  how many the gate opens, now and as it was.
Timing is CPU milliseconds per image on one core (process pinned to one CPU, one onnxruntime
thread; CPU time, as a shared machine's neighbours lengthen wall time), image bytes already read:
decode, small copy (the one the explicit scorer, the text gate and the face passes at 640 px and less
share), faces, explicit, text and total, median and 90th percentile, and within faces the detector's
own steps ("faces: fine pass", mosaic, 640/1280 pass, turned, landmarks, nms); beside each step its limit,
the bare model on a fixed input of the size that step gives it for the median image (faces: the
coarse pass's input; explicit: open_nsfw's 224 x 224; text: the gate's copy).
With `--against REF` the image analysis of git revision REF (bench/old_code.py) runs beside this
one, image by image on the same core: its recall, precision and ms per step, and on the 12 MP
photos its recall by face size and time over "before", in the same run.
"""
from __future__ import annotations

import argparse
import atexit
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditors import faces as faces_module, image_analysis  # noqa: E402
from auditors.c_heap import huge_pages_for_new_processes  # noqa: E402
from auditors.image_analysis import ImageAnalysis, ImageSettings, analyse_bytes, small_copy  # noqa: E402
from auditors.image_text import MODEL_NAME  # noqa: E402
from bench.old_code import OldAnalyser  # noqa: E402
from bench.synthetic_scenes import FACE_SIZES, make_scenes, matched  # noqa: E402
from schoolaudit.thumbnails import BLUR_FACE_SCORE  # noqa: E402
from tests.flyers import draw_flyer  # noqa: E402

#: reference photos of animals (no person's face): false faces here are pets taken for people
ANIMAL_FILES = ("cat_chelsea.jpg", "dog_bicycle.jpg", "dogs_beach.jpg", "horses_field.jpg", "giraffe_zebra.jpg",
                "eagle.jpg", "person_back_dog_horse.jpg")
#: more animals, from public repositories (bench/data/animals/SOURCES.md)
ANIMALS_DIR = REPO / "bench" / "data" / "animals"
#: the detector as it was before the coarse, finer, mosaic and turned passes and the text reading
BEFORE = {"coarse_side": 0, "fine_side": 0, "turned": False, "text": False}
#: the reference photos, beside a clone or beside its worktrees folder
IMAGE_DIRS = (REPO.parent / "shared" / "images", REPO.parent.parent / "shared" / "images")
FONTS = Path("/usr/share/fonts/truetype")
FLYERS = (
    (["Wine & cheese night", "Tickets $20 at the door", "Friday 7 pm, school gym"], None, (250, 240, 200), (30, 30, 90)),
    (["Vote Maria Lopez", "for school council", "Election day: March 3"], "dejavu/DejaVuSans-Bold.ttf",
     (20, 60, 120), (255, 255, 255)),
    (["Spring raffle", "Win a basket of local wines", "Tickets 2 for $5"], "dejavu/DejaVuSerif.ttf",
     (255, 255, 255), (120, 0, 0)),
    (["Pizza Palace", "20% off for families", "Show code MAPLE20"], "liberation/LiberationSans-Bold.ttf",
     (255, 210, 0), (0, 0, 0)),
    (["Bake sale", "All proceeds to the library", "Thursday after school"], "dejavu/DejaVuSansCondensed.ttf",
     (230, 245, 230), (20, 90, 20)),
)
#: how each flyer is drawn again (tests/flyers.draw_flyer arguments); "photo" puts it on a reference photo
FLYER_VARIANTS = {"plain": {}, "small type": {"points": (30, 22)}, "turned 7": {"angle": 7},
                  "turned -20": {"angle": -20}, "on a photo": {"photo": True},
                  "fine print": {"fine_print": ("Sponsored by Pizza Palace: 10% off with this flyer", 16)}}
PHOTO_BACKGROUNDS = ("lake_landscape.jpg", "brick_wall.jpg", "mountains_valley.jpg", "car_trunk_groceries.jpg")
#: two-column flyers: heading, (left column, right column), footer; read heading, left, right, footer
COLUMN_FLYERS = (
    ("Spring fair", (["When:", "Friday May 3", "6 to 8 pm"], ["Where:", "School gym", "12 Maple Street"]),
     "Everyone welcome"),
    ("Book fair", (["Open:", "Monday to Friday", "8 am to 4 pm", "in the library"], ["Prices:", "Books from $2"]),
     "Cash or card"),
)
#: real images that hold text, with their text in reading order: ../shared/images (read by eye) and
#: bench/data/ocr (tesseract-ocr/test, Apache-2.0, with tesseract's ground truth)
SHARED_TEXT = {"poster_health_text.jpg": """Reduce your risk of coronavirus infection:
Clean hands with soap and water
or alcohol-based hand rub
Cover nose and mouth when coughing and
sneezing with tissue or flexed elbow
Avoid close contact with anyone with
cold or flu-like symptoms
Thoroughly cook meat and eggs
No unprotected contact with live wild
or farm animals
World Health
Organization"""}
SCANNED_PAGES = REPO / "bench" / "data" / "ocr"


def timed(data: bytes, settings: ImageSettings, as_before: bool = False):
    """(analysis, {stage: ms}) in this process; `as_before`: with `BEFORE` and no landmark check."""
    timings: dict[str, float] = {}
    if as_before:
        settings = replace(settings, **BEFORE)
    steps: dict[str, float] = {}
    with landmark_check(not as_before), own_models(settings), face_steps(steps):
        analysis = analyse_bytes(data, settings, timings=timings)
    return analysis, {**timings, **{f"{FACE_STEP_PREFIX}{step}": ms for step, ms in steps.items()}}


#: the face detector's steps, timed apart within the faces stage: (where, function, step); a step's time
#: is its own, without the steps it runs (the mosaic in the fine passes); inside the turned passes all is "turned"
FACE_STEPS = ((faces_module.FaceDetector, "_fine_passes", "fine pass"),
              (faces_module.FaceDetector, "_mosaic_pass", "mosaic"),
              (faces_module.FaceDetector, "_coarse_pass", "640/1280 pass"),
              (faces_module.FaceDetector, "_pass", "640/1280 pass"),
              (faces_module.FaceDetector, "_turned_passes", "turned"),
              (faces_module, "_person", "landmarks"),
              (faces_module.FaceDetector, "_faces", "nms"))
#: the faces stage's steps are reported as "faces: STEP", apart from the stages (the total counts them once)
FACE_STEP_PREFIX = "faces: "


def stage_total(ms: dict[str, float]) -> float:
    """The stages' ms summed, the faces stage's own steps left out (they are inside "faces")."""
    return sum(value for stage, value in ms.items() if not stage.startswith(FACE_STEP_PREFIX))


@contextmanager
def face_steps(steps: dict[str, float]):
    """The face detector with each of `FACE_STEPS` adding its own CPU ms to `steps`."""
    running: list[list] = []  # the steps running, innermost last: [step, start, ms of the steps inside it]

    def timed_step(function, step):
        def run(*args, **kwargs):
            frame = [running[-1][0] if running and running[-1][0] == "turned" else step, time.process_time(), 0.0]
            running.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                running.pop()
                spent = (time.process_time() - frame[1]) * 1000
                steps[frame[0]] = steps.get(frame[0], 0.0) + spent - frame[2]
                if running:
                    running[-1][2] += spent
        return run

    kept = [(owner, name, owner.__dict__[name]) for owner, name, _ in FACE_STEPS]
    for (owner, name, function), (_, _, step) in zip(kept, FACE_STEPS):
        setattr(owner, name, timed_step(function, step))
    try:
        yield
    finally:
        for owner, name, function in kept:
            setattr(owner, name, function)


#: the models of each settings the bench runs (by `ImageSettings.params`), kept between images
_MODELS_BY_SETTINGS: dict[str, dict] = {}


@contextmanager
def own_models(settings: ImageSettings):
    """The analysis with models kept for `settings`, as a worker keeps its own. A process keeps one
    set (image_analysis._MODELS) and builds it again when the settings change: before and now in
    turns would otherwise time fresh onnxruntime sessions on every image, whose first run at each
    input size costs more than the others (about 100 ms on a 12 MP photo's passes)."""
    kept = image_analysis._MODELS
    image_analysis._MODELS = _MODELS_BY_SETTINGS.setdefault(settings.params, {})
    try:
        yield
    finally:
        image_analysis._MODELS = kept


@contextmanager
def landmark_check(on: bool):
    """The detector with (as now) or without (as before) the check that drops animal muzzles."""
    kept = faces_module.MAX_MUZZLE
    faces_module.MAX_MUZZLE = kept if on else float("inf")
    try:
        yield
    finally:
        faces_module.MAX_MUZZLE = kept


def bare_model_ms(size: tuple[int, int], rounds: int = 5) -> float:
    """The face model alone on a fixed input of `size` (width, height): the faces stage's limit."""
    detector = faces_module.FaceDetector()
    return bare_session_ms(detector.session, (1, 3, size[1], size[0]), rounds)


def bare_session_ms(session, shape: tuple[int, ...], rounds: int = 5) -> float:
    """CPU ms of the fastest of `rounds` runs of an onnxruntime session on zeros of `shape`."""
    import numpy as np

    model_input = session.get_inputs()[0]
    feed = {model_input.name: np.zeros(shape, np.uint8 if model_input.type == "tensor(uint8)" else np.float32)}
    return round(fastest_run_ms(session, feed, rounds), 1)


def fastest_run_ms(session, feed: dict, rounds: int) -> float:
    """CPU ms of the fastest of `rounds` runs of `session` (anything with onnxruntime's `run`) on `feed`, after one
    untimed run (the first allocates)."""
    session.run(None, feed)
    runs = []
    for _ in range(rounds):
        start = time.process_time()
        session.run(None, feed)
        runs.append((time.process_time() - start) * 1000)
    return min(runs)


def step_limits(size: tuple[int, int], settings: ImageSettings) -> dict[str, list]:
    """{step: [its input, the bare model's CPU ms on it]} for an image of `size` (width, height)."""
    from auditors.explicit_image import ExplicitScorer
    from auditors.image_text import TextReader

    def scaled(side: int, multiple: int = 1) -> tuple[int, int]:
        factor = min(1.0, side / max(size))
        return tuple(max(multiple, round(v * factor / multiple) * multiple) for v in size)

    coarse = scaled(settings.coarse_side or settings.max_side)
    limits = {"faces": [f"{coarse[0]}x{coarse[1]}", bare_model_ms(coarse)]}
    if settings.explicit:
        limits["explicit"] = ["224x224", bare_session_ms(ExplicitScorer().session, (1, 224, 224, 3))]
    if settings.text:
        reader = TextReader()
        gate = scaled(reader.gate_side, 32)  # the text detector takes sides in multiples of 32
        limits["text"] = [f"{gate[0]}x{gate[1]}", bare_session_ms(reader.engine.text_det.session.session,
                                                                  (1, 3, gate[1], gate[0]))]
    return limits


def stage_summary(timings: dict[str, list[float]]) -> dict:
    return {stage: {"median": round(statistics.median(v), 1), "p90": round(percentile(v, 0.9), 1)}
            for stage, v in timings.items() if v}


def collect(samples: list[dict[str, float]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"decode": [], "small copy": [], "faces": [], "explicit": [], "text": [], "total": []}
    for ms in samples:
        for stage, value in ms.items():
            out.setdefault(stage, []).append(value)
        out["total"].append(stage_total(ms))
    return out


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def scene_figures(folder: Path, settings: ImageSettings, work: Path, rounds: int = 2, seed: int = 7,
                  old: OldAnalyser | None = None) -> dict:
    """Recall by face size, false boxes and ms per image on 12 MP scenes, before and now (and with
    `old`, as another revision analyses them). They run in turns on each scene, `rounds` times, and
    the fastest round counts: a shared machine's load then weighs on all alike."""
    from auditors.faces import FaceDetector

    scenes = make_scenes(folder, work, FaceDetector(), seed=seed)
    results = timed_scenes(scenes, settings, rounds, old)
    figures = {}
    for name, found in results.items():
        hits = {size: [0, 0] for size in FACE_SIZES}
        false = 0
        for scene, analysis, _ in found:
            boxes = [f.box for f in analysis.faces]
            for truth in scene.faces:
                size = min(FACE_SIZES, key=lambda s: abs(s - max(truth[2], truth[3])))
                hits[size][1] += 1
                hits[size][0] += matched(truth, boxes)
            false += sum(1 for box in boxes if not any(matched(t, [box]) for t in scene.faces))
        figures[name] = {"recall_by_face_px": {size: f"{hit}/{total}" for size, (hit, total) in hits.items()},
                         "false_boxes": false, "ms_per_12mp_image": stage_summary(collect([ms for *_, ms in found]))}
    figures["images"] = len(scenes)
    figures["text_gate_opens"] = text_gate_opens([scene.path for scene in scenes], settings)
    before = figures["before"]["ms_per_12mp_image"]
    for name in ("now", *([old.ref] if old else [])):
        figures[name].update(time_ratios(figures[name]["ms_per_12mp_image"], before))
    figures["time_ratio"], figures["time_ratio_without_text"] = (figures["now"][k] for k in
                                                                 ("time_ratio", "time_ratio_without_text"))
    figures["no_face"] = no_face_figures(folder, settings, work / "no-face", rounds, old)
    from auditors.image_analysis import open_image

    decoded = open_image(scenes[0].path.read_bytes(), settings.max_pixels, settings.decode_side)[0]
    fine = faces_module.scaled_down(decoded, max(settings.fine_side, faces_module.FINE_MAX_SIDE)).size  # fine pass input
    figures["bare_model_ms"] = {"1280x960 (before)": bare_model_ms((1280, 960)),
                                f"{fine[0]}x{fine[1]} (now)": bare_model_ms(fine)}
    return figures


def timed_scenes(scenes: list, settings: ImageSettings, rounds: int, old: OldAnalyser | None) -> dict[str, list]:
    """{"before" | "now" | old.ref: [(scene, analysis, {stage: ms}), ...]}: each scene analysed in turns,
    `rounds` times, the fastest round's ms kept: a shared machine's load then weighs on all alike."""
    variants = {"before": True, "now": False}
    for as_before in variants.values():
        timed(scenes[0].path.read_bytes(), settings, as_before)  # warm up: models and shapes
    results: dict[str, list] = {name: [] for name in variants}
    if old:
        old.analyse(scenes[0].path)  # warm up
        results[old.ref] = []
    for scene in scenes:
        data = scene.path.read_bytes()
        for name, as_before in variants.items():
            runs = [timed(data, settings, as_before) for _ in range(rounds)]
            results[name].append((scene, runs[0][0], min((ms for _, ms in runs), key=stage_total)))
        if old:
            runs = [old.analyse(scene.path) for _ in range(rounds)]
            results[old.ref].append((scene, ImageAnalysis.from_dict(runs[0][0]),
                                     min((ms for _, ms in runs), key=stage_total)))
    return results


def no_face_figures(folder: Path, settings: ImageSettings, work: Path, rounds: int, old: OldAnalyser | None) -> dict:
    """The scenes' backgrounds alone at 12 MP (no face: every pass runs, the close and turned ones too):
    boxes found and ms per image, before and now, and now (and `old`) over before."""
    scenes = make_scenes(folder, work, None, per_size=0)
    results = timed_scenes(scenes, settings, rounds, old)
    figures = {name: {"boxes": sum(len(analysis.faces) for _, analysis, _ in found),
                      "ms_per_12mp_image": stage_summary(collect([ms for *_, ms in found]))}
               for name, found in results.items()}
    for name in ("now", *([old.ref] if old else [])):
        figures[name].update(time_ratios(figures[name]["ms_per_12mp_image"], figures["before"]["ms_per_12mp_image"]))
    return {"images": len(scenes), **figures}


def time_ratios(now: dict, before: dict) -> dict[str, float]:
    """Median total ms of `now` over `before`, with and without the text stage (new work of its own)."""
    mine = ("decode", "faces", "small copy", "explicit")
    return {"time_ratio": round(now["total"]["median"] / before["total"]["median"], 2),
            "time_ratio_without_text": round(sum(now[k]["median"] for k in mine if k in now)
                                             / sum(before[k]["median"] for k in mine if k in before), 2)}


#: a lone face of these sizes (px, longer side of its box) is pasted on a 1280 x 960 photo
LONE_FACE_SIZES = (16, 20, 24, 28, 32, 36, 40, 48)


def lone_face_figures(folder: Path, settings: ImageSettings) -> dict:
    """Which lone small faces (the astronaut's, pasted on a 1280 x 960 landscape) are found as set,
    and in one pass at max_side (no coarse pass): what the reference photos cannot show."""
    from PIL import Image

    astronaut, background = folder / "astronaut.jpg", folder / "lake_landscape.jpg"
    if not (astronaut.is_file() and background.is_file()):
        return {}
    person = Image.open(astronaut).convert("RGB")
    (face,) = faces_module.FaceDetector().detect(person)
    faces_only = replace(settings, explicit=False, text=False, turned=False)
    found: dict[str, list[int]] = {"as set": [], "one pass at max_side": []}
    for px in LONE_FACE_SIZES:
        scene = Image.open(background).convert("RGB").resize((1280, 960))
        factor = px / face.size
        scene.paste(person.resize((round(person.width * factor), round(person.height * factor))), (800, 500))
        out = io.BytesIO()
        scene.save(out, format="JPEG", quality=92)
        for name, how in zip(found, (faces_only, replace(faces_only, coarse_side=0))):
            with own_models(how):  # the two settings in turns: each keeps its detector
                if analyse_bytes(out.getvalue(), how).faces:
                    found[name].append(px)
    return {"face_px": list(LONE_FACE_SIZES), "found_px": found}


def text_gate_opens(paths: list[Path], settings: ImageSettings) -> dict:
    """On how many of `paths` the text gate opens, now and as it was (on any one box)."""
    from auditors.image_analysis import open_image
    from auditors.image_text import TextReader

    reader = TextReader(threads=1)
    images = [open_image(path.read_bytes(), settings.max_pixels, settings.decode_side)[0] for path in paths]
    return {"now": sum(reader.looks_like_text(small_copy(image)) for image in images),
            "before": sum(bool(reader.gate_boxes(image)) for image in images)}


def turned_figures(folder: Path, rows: list[dict], settings: ImageSettings) -> dict:
    """Photos with 1..6 faces turned upside down and by 45 degrees: how many still show a face."""
    from PIL import Image

    faces_only = replace(settings, explicit=False, text=False)
    found = {f"{turn} degrees": {"before": 0, "now": 0} for turn in (180, 45)}
    photos = [r for r in rows if 1 <= int(r["faces"]) <= 6 and not r["notes"].startswith("EDGE")]
    for row in photos:
        upright = Image.open(folder / row["file"]).convert("RGB")
        for turn in (180, 45):
            out = io.BytesIO()
            upright.rotate(turn, expand=True, fillcolor=(128, 128, 128)).save(out, format="JPEG", quality=92)
            for name, as_before in (("before", True), ("now", False)):
                found[f"{turn} degrees"][name] += bool(timed(out.getvalue(), faces_only, as_before)[0].faces)
    return {"photos": len(photos), "with_a_face_found": found}


def animal_figures(folder: Path, settings: ImageSettings) -> dict:
    """False faces on photos of animals, before and now, at the auditors' score and the thumbnails'."""
    paths = [folder / name for name in ANIMAL_FILES if (folder / name).is_file()]
    paths += sorted(ANIMALS_DIR.glob("*.jpg"))
    figures: dict = {"photos": len(paths)}
    for score in (settings.face_score, BLUR_FACE_SCORE):
        faces_only = replace(settings, explicit=False, text=False, face_score=score)
        for name, as_before in (("before", True), ("now", False)):
            counts = {p.name: len(timed(p.read_bytes(), faces_only, as_before)[0].faces) for p in paths}
            figures[f"{name} at {score}"] = {file: n for file, n in counts.items() if n}
    return figures


def drawn_flyers(folder: Path, work: Path) -> list[tuple[str, Path, str]]:
    """(kind, file, text) for every flyer of FLYERS in every FLYER_VARIANTS way, and COLUMN_FLYERS."""
    work.mkdir(parents=True, exist_ok=True)
    backgrounds = [folder / name for name in PHOTO_BACKGROUNDS if (folder / name).is_file()]
    flyers = []
    for index, (lines, font, background, ink) in enumerate(FLYERS):
        font_path = str(FONTS / font) if font and (FONTS / font).is_file() else None
        for kind, how in FLYER_VARIANTS.items():
            how = dict(how)
            if how.pop("photo", False):
                if not backgrounds:
                    continue
                how.update(photo=backgrounds[index % len(backgrounds)], background=(255, 255, 255), ink=(20, 20, 20))
            else:
                how.update(background=background, ink=ink)
            path = draw_flyer(work / f"flyer{index}-{kind.replace(' ', '')}.jpg", lines, font=font_path, **how)
            fine_print = [how["fine_print"][0]] if "fine_print" in how else []
            flyers.append((kind, path, "\n".join(lines + fine_print)))
    for index, (heading, columns, footer) in enumerate(COLUMN_FLYERS):
        path = draw_flyer(work / f"columns{index}.jpg", [heading, footer], columns=columns)
        flyers.append(("two columns", path, "\n".join([heading, *columns[0], *columns[1], footer])))
    return flyers


def real_text_images(folder: Path) -> list[tuple[str, Path, str]]:
    """(kind, file, text) for the real images whose text is known."""
    found = [("real poster", folder / name, text) for name, text in SHARED_TEXT.items() if (folder / name).is_file()]
    for truth in sorted(SCANNED_PAGES.glob("*.txt")):
        lines = [line.strip() for line in truth.read_text(encoding="utf-8").splitlines()]
        found.append(("scanned page", truth.with_suffix(".tif"), "\n".join(line for line in lines if line)))
    return found


def text_figures(folder: Path, photos: list[str], settings: ImageSettings, work: Path) -> dict:
    """The text step alone, one core: ms per image where the gate (stacked lines found by the text
    detector on a 320 px copy) closes and where it opens; which photos open it, now and with the
    gate as it was (any one box); what the gate misses (images where reading without it finds
    text); and character accuracy (1 - edit distance / length) by kind of flyer."""
    from auditors.image_analysis import open_image
    from auditors.image_text import TextReader

    reader = TextReader(threads=1)

    def decoded(path: Path):
        return open_image(path.read_bytes(), settings.max_pixels, settings.decode_side)[0]

    reader.read(decoded(folder / photos[0]))  # warm up
    closed, opened, missed, opened_names, opened_before = [], [], [], [], 0
    for name in photos:  # reference photos: text is incidental (signs, shirts, watermarks) or absent
        image = decoded(folder / name)
        small = small_copy(image)  # as analyse_bytes gives it (its own cost not the text step's)
        start = time.process_time()
        reader.read(image, small)
        ms = (time.process_time() - start) * 1000
        opened_before += bool(reader.gate_boxes(image))
        if reader.looks_like_text(small):
            opened.append(ms)
            opened_names.append(name)
        else:
            closed.append(ms)
            missed += [name] if reader.read_all(image) else []
    errors, lengths, flyer_ms, misread = {}, {}, [], []
    gate_missed_flyers, gate_missed_flyers_before = [], []
    for kind, path, truth in drawn_flyers(folder, work) + real_text_images(folder):
        image = decoded(path)
        small = small_copy(image)
        start = time.process_time()
        text = reader.read(image, small)
        flyer_ms.append((time.process_time() - start) * 1000)
        if not reader.looks_like_text(small):
            gate_missed_flyers.append(path.name)
        if not reader.gate_boxes(image):
            gate_missed_flyers_before.append(path.name)
        errors[kind] = errors.get(kind, 0) + edit_distance(text, truth)
        lengths[kind] = lengths.get(kind, 0) + len(truth)
        if text != truth:
            misread.append(f"{path.name}: " + text.replace("\n", " / "))
    return {
        "model": MODEL_NAME,
        "ms_photo_gate_closed": median_p90(closed), "photos_gate_closed": len(closed),
        "ms_photo_gate_open": median_p90(opened), "photos_gate_open": len(opened),
        "photos_opening_the_gate": opened_names, "photos_gate_open_before": opened_before,
        "photos_with_text_the_gate_missed": missed,
        "ms_per_flyer": median_p90(flyer_ms), "flyers": len(flyer_ms),
        "flyers_the_gate_missed": gate_missed_flyers, "flyers_the_gate_missed_before": gate_missed_flyers_before,
        "char_accuracy": round(1 - sum(errors.values()) / max(1, sum(lengths.values())), 3),
        "char_accuracy_by_kind": {kind: round(1 - errors[kind] / max(1, lengths[kind]), 3) for kind in errors},
        "misread": misread,
    }


def split_rows(results: list[tuple[dict, ImageAnalysis]]) -> tuple[list, list, list]:
    """(rows with faces, rows without, rows with 1..30 faces) of the (row, analysis) pairs not marked EDGE."""
    scored = [(r, a) for r, a in results if not r["notes"].startswith("EDGE")]
    with_faces = [(r, a) for r, a in scored if int(r["faces"]) > 0]
    return with_faces, [(r, a) for r, a in scored if int(r["faces"]) == 0], \
        [(r, a) for r, a in with_faces if int(r["faces"]) <= 30]


def face_scores(results: list[tuple[dict, ImageAnalysis]]) -> dict:
    """Recall on the face photos, precision on the others, face-count error on those with 1..30 faces."""
    with_faces, no_faces, countable = split_rows(results)
    return {"recall_face_images": round(sum(1 for r, a in with_faces if a.faces) / max(1, len(with_faces)), 3),
            "precision_no_face_images": round(sum(1 for r, a in no_faces if not a.faces) / max(1, len(no_faces)), 3),
            "count_mae_le30": round(statistics.mean(abs(len(a.faces) - int(r["faces"])) for r, a in countable), 2)
            if countable else None}


def median_p90(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} / {percentile(values, 0.9):.0f}" if values else "-"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else 0.0


def pin_to_one_core() -> None:
    """This process on one CPU: the figures are one core's."""
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass


def as_workers_start() -> None:
    """Run this bench again in a process started as schoolaudit starts the processes that analyse images
    (`auditors.c_heap.huge_pages_for_new_processes`, read by glibc at start), unless this one was."""
    before = os.environ.get("GLIBC_TUNABLES")
    huge_pages_for_new_processes()
    if os.environ.get("GLIBC_TUNABLES") != before:
        os.execv(sys.executable, [sys.executable, *sys.argv])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/eval_images.py ../shared/images --face-model int8")
    parser.add_argument("images", nargs="?", default=str(next((d for d in IMAGE_DIRS if d.is_dir()), IMAGE_DIRS[0])),
                        help="folder with labels.csv and the photos (default: ../shared/images, beside the "
                             "clone or beside its worktrees folder)")
    parser.add_argument("--threshold", type=float, default=None, help="face score threshold (default: the config's 0.8)")
    parser.add_argument("--max-side", type=int, default=None, help="detection resolution (longer side; default 1280)")
    parser.add_argument("--coarse-side", type=int, default=None,
                        help="look first at this longer side, at --max-side where that found no face or "
                             "small ones (default 640; 0: one pass at --max-side)")
    parser.add_argument("--face-model", choices=("int8", "fp32"), default=None,
                        help="face model precision (default: int8, the quantised model)")
    parser.add_argument("--no-scenes", action="store_true", help="skip the 12 MP synthetic photos (slow)")
    parser.add_argument("--scene-seed", type=int, default=7,
                        help="where the faces go in the 12 MP photos (another seed, another layout; default 7)")
    parser.add_argument("--no-flyers", action="store_true", help="skip the text figures (OCR)")
    parser.add_argument("--text-only", action="store_true", help="only the text figures (OCR)")
    parser.add_argument("--no-turned", action="store_true", help="skip the turned (180 and 45 degree) photos")
    parser.add_argument("--against", metavar="REF",
                        help="git revision whose image analysis runs beside this one, image by image on the same "
                             "core (e.g. the commit before a change): before and after in the same run")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    folder = Path(args.images)
    labels = folder / "labels.csv"
    if not labels.is_file():
        print(f"eval_images: {labels} not found", file=sys.stderr)
        return 2
    pin_to_one_core()
    settings = ImageSettings()
    if args.threshold is not None:
        settings = replace(settings, face_score=args.threshold)
    if args.max_side is not None:
        settings = replace(settings, max_side=args.max_side)
    if args.coarse_side is not None:
        settings = replace(settings, coarse_side=args.coarse_side)
    if args.face_model is not None:
        settings = replace(settings, face_model=args.face_model)
    rows = list(csv.DictReader(labels.open(encoding="utf-8")))
    if args.text_only:
        with tempfile.TemporaryDirectory() as work:
            figures = {"text": text_figures(folder, [r["file"] for r in rows], settings, Path(work))}
        print(json.dumps(figures, indent=2) if args.json else "\n".join(text_lines(figures["text"])))
        return 0
    for as_before in (False, True):  # warm up: load the models and let onnxruntime settle its shapes once
        timed((folder / rows[0]["file"]).read_bytes(), settings, as_before)

    try:
        old = OldAnalyser(args.against) if args.against else None
    except ValueError as exc:
        print(f"eval_images: --against: {exc}", file=sys.stderr)
        return 2
    if old:
        atexit.register(old.close)  # the other revision's process and checkout go even when a figure fails
    results, samples, samples_before, old_results, old_samples = [], [], [], [], []
    if old:
        old.analyse(folder / rows[0]["file"])  # warm up
    for row in rows:  # the code as it is and as it was, in turns: a shared machine's load weighs on both alike
        data = (folder / row["file"]).read_bytes()
        analysis, ms = timed(data, settings)
        if analysis.error:
            print(f"eval_images: {row['file']}: {analysis.error}", file=sys.stderr)
            continue
        samples.append(ms)
        analysis_before, ms_before = timed(data, settings, as_before=True)
        samples_before.append(ms_before)
        results.append((row, analysis, analysis_before))
        if old:
            found, ms_old = old.analyse(folder / row["file"])
            old_results.append((row, ImageAnalysis.from_dict(found)))
            old_samples.append(ms_old)
    timings, timings_before = collect(samples), collect(samples_before)
    faces_before = sum(len(b.faces) for r, a, b in results if int(r["faces"]) > 0 and not r["notes"].startswith("EDGE"))
    results = [(r, a) for r, a, _ in results]
    typical = statistics.median(a.width * a.height for r, a in results)
    typical_size = (round((typical * 4 / 3) ** 0.5), round((typical * 3 / 4) ** 0.5))  # a 4:3 image of that size

    main_rows = [(r, a) for r, a in results if not r["notes"].startswith("EDGE")]
    edge_rows = [(r, a) for r, a in results if r["notes"].startswith("EDGE")]
    with_faces, no_faces, countable = split_rows(results)
    missed = [r["file"] for r, a in with_faces if "student_photo" not in a.labels(settings)]
    false_hits = [f"{r['file']} ({len(a.faces)}, max {max(f.score for f in a.faces):.2f})"
                  for r, a in no_faces if a.faces]
    minors = [(r, a) for r, a in with_faces if r["has_minors"] == "yes"]
    explicit_scores = sorted(((a.explicit or 0.0, r["file"]) for r, a in results), reverse=True)
    figures = {
        "images": len(results),
        "face_threshold": settings.face_score,
        "face_model": settings.face_model,
        **face_scores(results),
        "face_images": len(with_faces),
        "no_face_images": len(no_faces),
        "count_images_le30": len(countable),
        "identifiable_images": sum(1 for r, a in with_faces if a.identifiable(settings.identifiable_px)),
        "minor_images_hit": f"{sum(1 for r, a in minors if a.faces)}/{len(minors)}",
        "missed": missed,
        "false_positives": false_hits,
        "edge": {r["file"]: len(a.faces) for r, a in edge_rows},
        "explicit_max": [round(explicit_scores[0][0], 3), explicit_scores[0][1]] if explicit_scores else None,
        "explicit_flagged": [f for s, f in explicit_scores if s >= settings.explicit_threshold],
        "face_boxes_on_face_images": sum(len(a.faces) for r, a in with_faces),
        "face_boxes_on_face_images_before": faces_before,
        "animals": animal_figures(folder, settings),
        "lone_faces": lone_face_figures(folder, settings),
        "ms_per_image_one_core": stage_summary(timings),
        "ms_per_image_one_core_before": stage_summary(timings_before),
        "bare_model_ms_1280": bare_model_ms((1280, 960)),
        "bare_model_ms_typical": [round(typical / 1e6, 2), bare_model_ms(typical_size)],
        "step_limits_typical": step_limits(typical_size, settings),
        "text_read": {r["file"]: a.text.replace("\n", " / ")[:60] for r, a in results if a.text},
    }
    if old:
        figures["against"] = {"ref": args.against, **face_scores(old_results),
                              "explicit_flagged": [r["file"] for r, a in old_results
                                                   if (a.explicit or 0.0) >= settings.explicit_threshold],
                              "ms_per_image_one_core": stage_summary(collect(old_samples))}
        figures["against"]["time_ratio"] = round(figures["ms_per_image_one_core"]["total"]["median"]
                                                 / figures["against"]["ms_per_image_one_core"]["total"]["median"], 2)
    with tempfile.TemporaryDirectory() as work:
        if not args.no_scenes:
            figures["full_size_photos"] = scene_figures(folder, settings, Path(work) / "scenes", seed=args.scene_seed,
                                                        old=old)
        if old:
            old.close()
        if not args.no_turned:
            figures["turned"] = turned_figures(folder, rows, settings)
        if not args.no_flyers and settings.text:
            figures["text"] = text_figures(folder, [r["file"] for r, _ in results], settings, Path(work) / "flyers")
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
    print(f"face boxes on face images:   {figures['face_boxes_on_face_images']} "
          f"(before: {figures['face_boxes_on_face_images_before']})")
    print(f"images with children hit:    {figures['minor_images_hit']}")
    print(f"with an identifiable face (>= {settings.identifiable_px} px): {figures['identifiable_images']}/{len(with_faces)}")
    print("EDGE (drawn/CGI/painted, not scored): "
          + ", ".join(f"{name}: {n} faces" for name, n in figures["edge"].items()))
    print(f"explicit: highest score {figures['explicit_max'][0]} ({figures['explicit_max'][1]}), "
          f"{len(figures['explicit_flagged'])} images >= {settings.explicit_threshold}")
    animals = figures["animals"]
    print(f"animal photos ({animals['photos']}), false faces:")
    for key, found in animals.items():
        if key != "photos":
            print(f"  {key:13} {len(found)} photos {found or ''}")
    lone = figures["lone_faces"]
    if lone:
        print(f"a lone face of {lone['face_px']} px on a 1280 px photo, found at: "
              + "; ".join(f"{name} {px}" for name, px in lone["found_px"].items()))
    print(f"text read in {len(figures['text_read'])} photos: {figures['text_read']}")
    print("CPU ms per image, one core (median / p90): " + timing_line(figures["ms_per_image_one_core"]))
    print("  limits at the median image, the bare model on its input: "
          + ", ".join(f"{step} {ms} ({size})" for step, (size, ms) in figures["step_limits_typical"].items()))
    print("  before (one pass, no text):          " + timing_line(figures["ms_per_image_one_core_before"]))
    against = figures.get("against")
    if against:
        print(f"  {against['ref']} (same run, same core): " + timing_line(against["ms_per_image_one_core"])
              + f"; now / then: {against['time_ratio']}x")
        print(f"  {against['ref']}: recall {against['recall_face_images']:.3f}, precision "
              f"{against['precision_no_face_images']:.3f}, count error {against['count_mae_le30']}, "
              f"{len(against['explicit_flagged'])} explicit")
    megapixels, bare_typical = figures["bare_model_ms_typical"]
    print(f"  limit: the bare face model on a fixed input: {bare_typical} ms at the median image size "
          f"({megapixels} MP), {figures['bare_model_ms_1280']} ms at 1280x960")
    scenes = figures.get("full_size_photos")
    if scenes:
        print(f"full-size photos ({scenes['images']} synthetic 4032x3024 scenes), recall by face size:")
        for name in ("before", "now", *([against["ref"]] if against else [])):
            found = scenes[name]
            print(f"  {name:6} " + ", ".join(f"{px} px {hit}" for px, hit in found["recall_by_face_px"].items())
                  + f"; {found['false_boxes']} boxes on no face")
            print("         ms per 12 MP image: " + timing_line(found["ms_per_12mp_image"])
                  + (f"; / before: {found['time_ratio']}x ({found['time_ratio_without_text']}x without text)"
                     if "time_ratio" in found else ""))
        no_face = scenes["no_face"]
        print(f"  the same {no_face['images']} photos with no face (every pass runs):")
        for name in ("before", "now", *([against["ref"]] if against else [])):
            found = no_face[name]
            print(f"  {name:6} {found['boxes']} boxes; ms per 12 MP image: " + timing_line(found["ms_per_12mp_image"])
                  + (f"; / before: {found['time_ratio']}x ({found['time_ratio_without_text']}x without text)"
                     if "time_ratio" in found else ""))
        gate = scenes["text_gate_opens"]
        print(f"  text gate opens on {gate['now']} of {scenes['images']} (the one-box gate before: {gate['before']})")
        print(f"  time now / before: {scenes['time_ratio']}x ({scenes['time_ratio_without_text']}x without the text "
              f"stage); bare face model: " + ", ".join(f"{k} {v} ms" for k, v in scenes["bare_model_ms"].items()))
    turned = figures.get("turned")
    if turned:
        print(f"turned photos ({turned['photos']} photos with 1..6 faces), with a face found: "
              + "; ".join(f"{turn}: before {n['before']}, now {n['now']}"
                          for turn, n in turned["with_a_face_found"].items()))
    for line in text_lines(figures.get("text")):
        print(line)
    return 0


def text_lines(text: dict | None) -> list[str]:
    if not text:
        return []
    return [f"text in images ({text['model']}), the text step alone, ms per image, one core (median / p90):",
            f"  photos the gate closes on:    {text['ms_photo_gate_closed']}  ({text['photos_gate_closed']} photos; "
            f"text there the gate missed: {', '.join(text['photos_with_text_the_gate_missed']) or 'none'})",
            f"  photos the gate opens on:     {text['ms_photo_gate_open']}  ({text['photos_gate_open']} photos: "
            f"{', '.join(text['photos_opening_the_gate'])}; the one-box gate before: {text['photos_gate_open_before']})",
            f"  flyers and pages with text:   {text['ms_per_flyer']}  ({text['flyers']}; "
            f"gate missed: {', '.join(text['flyers_the_gate_missed']) or 'none'}; the one-box gate before: "
            f"{', '.join(text['flyers_the_gate_missed_before']) or 'none'})",
            f"  OCR character accuracy {text['char_accuracy']}: "
            + ", ".join(f"{kind} {value}" for kind, value in text["char_accuracy_by_kind"].items()),
            *(f"    misread {line}" for line in text["misread"])]


def timing_line(summary: dict) -> str:
    return ", ".join(f"{stage} {v['median']} / {v['p90']}" for stage, v in summary.items())


if __name__ == "__main__":
    as_workers_start()
    sys.exit(main())
