"""Which posts a change to the rules or auditors flags differently: `schoolaudit classify`'s findings per post.

Save the findings of labelled JSONL files with the code and configuration on PYTHONPATH (set it: the script does
not put its own checkout first, so that one copy of it reads two checkouts), then run again with other code and
compare: the posts whose findings changed are counted per file (with --show, each is listed with its findings
before and after). A file is known by its path in its repository, so that two checkouts' copies compare. --show
refuses the measurement files (dev, heldout2/4/5, heldout17 and later, blind folders), as the trainer does.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schoolaudit.commands.classify import BATCH, classify_all, load
from schoolaudit.corpus import is_measurement, record_to_post

EXAMPLE = """Example: (cd ../base && PYTHONPATH=. nice .venv/bin/python bench/findings_diff.py --save /tmp/before.json \
    bench/data/train_a_posts.jsonl); PYTHONPATH=. nice .venv/bin/python bench/findings_diff.py --against \
    /tmp/before.json --show bench/data/train_a_posts.jsonl"""

def run_key(path: Path) -> str:
    """How a saved run names `path`: its path in its repository (the nearest folder up holding .git), else its name."""
    path = path.resolve()
    for folder in path.parents:
        if (folder / ".git").exists():
            return path.relative_to(folder).as_posix()
    return path.name


def findings_per_post(path: Path, policy, auditors) -> dict[str, list]:
    """{post id: its findings as (category, where, evidence, explanation)} as `schoolaudit classify` finds them."""
    posts = [record_to_post(json.loads(line)) for line in path.open(encoding="utf-8") if line.strip()]
    found = {}
    for start in range(0, len(posts), BATCH):
        for output in classify_all(posts[start:start + BATCH], policy, auditors):
            found[output["id"]] = sorted([f["category"], f["where"], f["evidence"], f["explanation"]]
                                         for f in output["findings"])
    return found


def compare(before: dict[str, list], after: dict[str, list], show: bool) -> int:
    """The number of posts whose findings differ; each printed when `show`."""
    changed = [post for post in after if before.get(post) != after[post]]
    for post in changed if show else ():
        print(f"  {post}")
        for label, findings in (("-", before.get(post, [])), ("+", after[post])):
            for finding in findings:
                print(f"    {label} {finding[0]} [{finding[1]}]: {finding[2]!r} ({finding[3]})")
    return len(changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="labelled JSONL (corpus schema)")
    parser.add_argument("--config", help="configuration folder (default: as schoolaudit)")
    parser.add_argument("--save", type=Path, help="write the findings per file and post to this JSON file")
    parser.add_argument("--against", type=Path, help="compare with findings saved by --save")
    parser.add_argument("--show", action="store_true", help="list each changed post with its findings")
    args = parser.parse_args(argv)
    refused = [path for path in args.files if is_measurement(path)] if args.show else []
    if refused:
        parser.error(f"{refused[0]} is a measurement: --show would print its posts (count it without --show)")
    policy, auditors = load(args.config)
    found = {run_key(path): findings_per_post(path, policy, auditors) for path in args.files}
    if args.save:
        args.save.write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
    if args.against:
        saved = json.loads(args.against.read_text(encoding="utf-8"))
        total = 0
        for name, after in found.items():
            if name not in saved:
                print(f"{name}: not in the saved run")
                continue
            print(f"{name}:")
            count = compare(saved[name], after, args.show)
            print(f"  {count} of {len(after)} posts changed")
            total += count
        print(f"total: {total} posts changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
