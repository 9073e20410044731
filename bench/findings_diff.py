"""Which posts a change to the rules or auditors flags differently: `schoolaudit classify`'s findings per post.

Save the findings of labelled JSONL files with the code and configuration on PYTHONPATH (set it: the script does
not put its own checkout first, so that one copy of it reads two checkouts), then run again with other code and
compare: the posts whose findings changed are counted per file (with --show, each is listed with its findings
before and after). Use --show only on data you may read (never on heldout2/4/5 or blind files).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schoolaudit.commands.classify import BATCH, classify_all, load
from schoolaudit.corpus import record_to_post

EXAMPLE = """Example: (cd ../base && PYTHONPATH=. nice .venv/bin/python bench/findings_diff.py --save /tmp/before.json \
    bench/data/train_a_posts.jsonl); PYTHONPATH=. nice .venv/bin/python bench/findings_diff.py --against \
    /tmp/before.json --show bench/data/train_a_posts.jsonl"""


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
    policy, auditors = load(args.config)
    found = {str(path): findings_per_post(path, policy, auditors) for path in args.files}
    if args.save:
        args.save.write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
    if args.against:
        saved = json.loads(args.against.read_text(encoding="utf-8"))
        total = 0
        for name, after in found.items():
            print(f"{name}:")
            count = compare(saved.get(name, {}), after, args.show)
            print(f"  {count} of {len(after)} posts changed")
            total += count
        print(f"total: {total} posts changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
