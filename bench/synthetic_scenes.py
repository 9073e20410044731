"""Full-size synthetic scenes for the image bench: faces of known sizes pasted on a large photo.

Faces are cut (with some head and shoulders around them) from reference photos where the
detector finds them with certainty, scaled so that the face box has an exact longer side, and
pasted on a background photo enlarged to phone size (4032x3024 by default). The files are
written to a temporary folder at bench time; nothing is kept in the repository.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

#: single or few-person reference photos whose faces are clear (../shared/images)
FACE_SOURCES = ("astronaut.jpg", "portrait_man_flag.jpg", "two_people_office.jpg", "couple_press_wall.jpg",
                "nurses_four.jpg", "friends_steps_six.jpg", "family_five.jpg", "football_two_men.jpg")
BACKGROUNDS = ("lake_landscape.jpg", "brick_wall.jpg", "mountains_valley.jpg", "car_trunk_groceries.jpg")
FACE_SIZES = (24, 32, 48, 64, 96, 128)
#: margin around the face box that is cut with it, as a share of the box's longer side
MARGIN = 0.6


@dataclass(frozen=True)
class Scene:
    path: Path
    faces: list[tuple[int, int, int, int]]  # ground truth [x, y, w, h], longer side = the target size


def face_crops(images_dir: Path, detector) -> list[tuple[Image.Image, tuple[float, float, float, float]]]:
    """(crop, face box inside the crop) for every certain face of at least 60 px in the sources."""
    crops = []
    for name in FACE_SOURCES:
        path = images_dir / name
        if not path.is_file():
            continue
        image = Image.open(path).convert("RGB")
        for face in detector.detect(image):
            if face.score < 0.95 or face.size < 60:
                continue
            grow = MARGIN * face.size
            left, top = max(0, face.x - grow), max(0, face.y - grow)
            right, bottom = min(image.width, face.x + face.w + grow), min(image.height, face.y + face.h + grow)
            crop = image.crop((int(left), int(top), int(right), int(bottom)))
            crops.append((crop, (face.x - int(left), face.y - int(top), face.w, face.h)))
    return crops


def make_scenes(images_dir: Path, out_dir: Path, detector, size: tuple[int, int] = (4032, 3024),
                per_size: int = 3, seed: int = 7) -> list[Scene]:
    """One scene per background, each holding `per_size` faces of every size in FACE_SIZES (none: the
    backgrounds alone, photos with no face)."""
    rng = random.Random(seed)
    crops = face_crops(images_dir, detector) if per_size else []
    if per_size and not crops:
        return []
    scenes = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(b for b in BACKGROUNDS if (images_dir / b).is_file()):
        canvas = Image.open(images_dir / name).convert("RGB").resize(size, Image.Resampling.BICUBIC)
        targets = [s for s in FACE_SIZES for _ in range(per_size)]
        rng.shuffle(targets)
        columns = 6
        rows = max(1, -(-len(targets) // columns))
        cell_w, cell_h = size[0] // columns, size[1] // rows
        truth = []
        for slot, target in enumerate(targets):
            crop, (fx, fy, fw, fh) = rng.choice(crops)
            factor = target / max(fw, fh)
            scaled = crop.resize((max(1, round(crop.width * factor)), max(1, round(crop.height * factor))),
                                 Image.Resampling.LANCZOS)
            cx = (slot % columns) * cell_w + rng.randint(0, max(0, cell_w - scaled.width))
            cy = (slot // columns) * cell_h + rng.randint(0, max(0, cell_h - scaled.height))
            canvas.paste(scaled, (cx, cy))
            truth.append((cx + round(fx * factor), cy + round(fy * factor), round(fw * factor), round(fh * factor)))
        path = out_dir / f"scene{index}_{size[0]}x{size[1]}.jpg"
        canvas.save(path, quality=90)
        scenes.append(Scene(path, truth))
    return scenes


def matched(truth: tuple[int, int, int, int], boxes) -> bool:
    """A found box matches a true face when its centre lies inside it and its size is within 2x."""
    x, y, w, h = truth
    for box in boxes:
        bx, by, bw, bh = box
        cx, cy = bx + bw / 2, by + bh / 2
        if x <= cx <= x + w and y <= cy <= y + h and 0.5 <= max(bw, bh) / max(w, h) <= 2.0:
            return True
    return False
