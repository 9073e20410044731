"""How far a second careful reader agrees with the labels of labelled files: the ceiling a text auditor can be held to.

    .venv/bin/python bench/label_agreement.py READER.jsonl LABELLED.jsonl [LABELLED.jsonl ...]

READER.jsonl holds one {"id": ..., "labels": [...]} per post, as a second reader labelled the posts of the
LABELLED files (corpus schema) without seeing their labels. The LABELLED files' labels are scored as the gold,
the reader's as the predictions, with eval_text.py's figures: per-category precision, recall and F1, macro-F1
and clean posts flagged, for each file and for all together. Only labels are read, never a post's text, so a
measurement file may be named here. A post the reader did not label is an error (named), not skipped.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_text import score, show  # noqa: E402
from records.model import CATEGORIES  # noqa: E402


def read_labels(path: Path) -> dict[str, set[str]]:
    """id -> labels of each line of a JSONL file; a line without an id or a list of known labels is named and
    refused (a misspelt label would otherwise count as a flag on a clean post and nowhere else)."""
    labels = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                post_id, post_labels = record["id"], record["labels"]
                if not isinstance(post_id, str) or not isinstance(post_labels, list):
                    raise TypeError("id must be a string and labels a list")
                if unknown := [label for label in post_labels if label not in CATEGORIES]:
                    raise ValueError(f"unknown label {unknown[0]!r}")
            except (ValueError, KeyError, TypeError) as error:
                raise SystemExit(f"{path}:{number}: not a labelled post ({error})") from None
            labels[post_id] = set(post_labels)
    return labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Example: .venv/bin/python bench/label_agreement.py bench/data/agreement/reader18_labels.jsonl "
               "bench/data/train_spent_heldout6_posts.jsonl bench/data/train_spent_u_posts.jsonl")
    parser.add_argument("reader", type=Path, help="the second reader's labels: JSONL of id and labels")
    parser.add_argument("labelled", type=Path, nargs="+", help="labelled JSONL files (corpus schema)")
    args = parser.parse_args(argv)
    reader = read_labels(args.reader)
    everything = []
    for path in args.labelled:
        gold = read_labels(path)
        missing = sorted(set(gold) - set(reader))
        if missing:
            parser.error(f"{args.reader} has no labels for {len(missing)} post(s) of {path}: {', '.join(missing[:5])}")
        pairs = [(labels, reader[post_id]) for post_id, labels in gold.items()]
        show(f"{path.name}, the reader against its labels", score(pairs))
        everything += pairs
    if len(args.labelled) > 1:
        show("all files", score(everything))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
