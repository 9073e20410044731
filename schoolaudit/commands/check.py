"""`schoolaudit check`: every file of a configuration folder checked at once, before any work."""
from __future__ import annotations

from schoolaudit.config import check_folder, config_dir, defaults

HELP = "check every file of the configuration folder; print each problem as FILE:LINE: message"
EXAMPLE = "schoolaudit --config ./config check"


def add_arguments(parser) -> None:
    parser.add_argument("--settings", action="store_true",
                        help="list every setting of settings.toml with its default and meaning, and check nothing")


def run(args) -> int:
    if args.settings:
        for key, default, meaning in defaults():
            print(f"{key} = {_shown(default)}  # {meaning}")
        return 0
    folder = check_folder(config_dir(args.config))
    for problem in folder.problems:
        print(problem)
    if folder.problems:
        print(f"{len(folder.problems)} problem(s) in {folder.directory}")
        return 1
    print(folder.summary())
    return 0


def _shown(value) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, (int, float, dict)):
        return str(value)
    return f'"{value}"'
