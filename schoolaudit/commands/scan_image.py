"""`schoolaudit scan-image PATH...`: what the image auditors see in image files, on this machine.

One JSON object per image on stdout, in the order given:
    {"path": ..., "faces": [{"box": [x, y, w, h], "score": ...}, ...], "explicit": <0..1>, "labels": [...],
     "text": "the text read in the image, lines in reading order joined by newlines (\"\" when none)"}
`labels` holds "student_photo" when the image would be flagged on a school account (any face),
and "explicit" when its explicit-image score reaches the threshold. A file that cannot be read
is named on stderr in one line; the others go on, and the exit status is 1 at the end.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

HELP = "Detect faces and score explicitness in image files, offline; one JSON line per image."
EXAMPLE = "schoolaudit scan-image photo.jpg media/ab/*.png"

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="image files (a folder stands for the images directly inside it)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes analysing images (default: [workers] processes, 0 = one per CPU)")
    parser.add_argument("--cache", metavar="FILE",
                        help="SQLite file caching analyses by sha256 (default: no persistent cache)")


def _expand(paths: list[str]) -> list[str]:
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(str(p) for p in sorted(path.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            out.append(raw)
    return out


def run(args) -> int:
    from auditors import explicit_image, faces
    from auditors.image_analysis import ImageAnalyser, ImageSettings
    from auditors.image_auditors import load_image_rules
    from records.image_cache import ImageCache
    from schoolaudit.config import config_dir, load_policy, load_settings

    try:
        faces.check_available()
    except faces.ModelMissing as exc:
        print(f"schoolaudit scan-image: {exc}", file=sys.stderr)
        return 2
    directory = config_dir(getattr(args, "config", None))
    rules, _ = load_image_rules(load_policy(directory, load_settings(directory)))
    settings = ImageSettings.from_rules(rules)
    if args.workers is not None:
        settings = replace(settings, workers=max(1, args.workers))
    if settings.explicit:
        try:
            explicit_image.check_available()
        except explicit_image.ModelMissing as exc:
            print(f"schoolaudit scan-image: explicit-image score off: {exc}", file=sys.stderr)
            settings = replace(settings, explicit=False)
    analyser = ImageAnalyser(settings, ImageCache(args.cache))
    paths = _expand(args.paths)
    failed = 0
    chunk = max(1, settings.processes) * 4  # print as we go on long lists
    try:
        for start in range(0, len(paths), chunk):
            batch = paths[start:start + chunk]
            for path, analysis in zip(batch, analyser.analyse(batch)):
                if analysis.error:
                    failed += 1
                    print(f"schoolaudit scan-image: {path}: {analysis.error}", file=sys.stderr)
                    continue
                print(json.dumps({
                    "path": path,
                    "faces": [face.to_dict() for face in analysis.faces],
                    "explicit": analysis.explicit,
                    "labels": analysis.labels(settings),
                    "text": analysis.text,
                }), flush=True)
    finally:
        analyser.close()
    if failed:
        print(f"schoolaudit scan-image: {failed} of {len(paths)} images could not be analysed", file=sys.stderr)
        return 1
    return 0
