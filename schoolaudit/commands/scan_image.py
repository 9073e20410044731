"""`schoolaudit scan-image PATH...`: what the image auditors see in image files, on this machine.

Paths come from the command line, and from a file or stdin (`--from FILE`, `-`), one per line.
onnxruntime crashes (signal 11) on import in a process whose command line is over about 32 KiB, so
a longer command line is handed to a child process that reads the paths on its stdin.

One JSON object per image on stdout, in the order given:
    {"path": ..., "faces": [{"box": [x, y, w, h], "score": ...}, ...], "explicit": <0..1>, "labels": [...],
     "text": "the text read in the image, lines in reading order joined by newlines (\"\" when none)"}
`labels` holds "student_photo" when the image would be flagged on a school account (any face),
and "explicit" when its explicit-image score reaches the threshold. A file that cannot be read
is named on stderr in one line; the others go on, and the exit status is 1 at the end.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

HELP = "Detect faces and score explicitness in image files, offline; one JSON line per image."
EXAMPLE = "schoolaudit scan-image photo.jpg media/ab/*.png   (or: find media -name '*.jpg' | schoolaudit scan-image -)"

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
#: Longest command line (bytes) of the process that loads the models; above it, a child does the work.
MAX_MODEL_COMMAND_LINE = 16 * 1024


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="image files (a folder stands for the images directly inside it; - reads paths from stdin)")
    parser.add_argument("--from", dest="path_file", metavar="FILE",
                        help="also read paths from FILE, one per line (- for stdin)")
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


def _read_path_list(name: str) -> list[str]:
    """Non-blank lines of FILE (or stdin for -), each one path."""
    if name == "-":
        return [line for line in sys.stdin.read().splitlines() if line.strip()]
    return [line for line in Path(name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _given_paths(args) -> list[str]:
    """The paths of the command line, with `-` and `--from FILE` replaced by the paths they list."""
    paths = []
    for raw in args.paths:
        paths.extend(_read_path_list("-") if raw == "-" else [raw])
    if args.path_file:
        paths.extend(_read_path_list(args.path_file))
    return paths


def _command_line_bytes() -> int:
    try:
        return len(Path("/proc/self/cmdline").read_bytes())
    except OSError:  # not Linux
        return sum(len(os.fsencode(arg)) + 1 for arg in sys.argv)


def _run_in_child(args, paths: list[str]) -> int:
    """Analyse `paths` in a child process whose command line stays short: the paths go on its stdin."""
    command = [sys.executable, "-m", "schoolaudit.cli"]
    if getattr(args, "config", None):
        command += ["--config", args.config]
    command += ["scan-image", "--from", "-"]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    if args.cache:
        command += ["--cache", args.cache]
    sys.stdout.flush()
    child = subprocess.run(command, input="\n".join(paths) + "\n", text=True, encoding="utf-8")
    if child.returncode < 0:
        print(f"schoolaudit scan-image: the analysing process died (signal {-child.returncode})", file=sys.stderr)
        return 1
    return child.returncode


def run(args) -> int:
    try:
        given = _given_paths(args)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"schoolaudit scan-image: cannot read the list of paths {args.path_file}: "
              f"{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    if not given:
        print("schoolaudit scan-image: no image paths given (name files, - for stdin, or --from FILE)", file=sys.stderr)
        return 2
    if _command_line_bytes() > MAX_MODEL_COMMAND_LINE:
        return _run_in_child(args, given)
    return _analyse(args, given)


def _analyse(args, given: list[str]) -> int:
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
    paths = _expand(given)
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
