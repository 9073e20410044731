"""Measure the text auditors on a labelled JSONL file (corpus schema with `labels`).

    .venv/bin/python bench/eval_text.py ../shared/corpus/dev_posts.jsonl [MORE.jsonl ...] [--config DIR] [--errors]

Several files are scored as one set (their posts pooled: the figures of several blind sets together).

`--errors` is refused on a measurement file (schoolaudit.corpus.is_measurement: the dev corpus, heldout2/4/5, the
blind sets), whose posts must not be read one by one.

Prints precision, recall and F1 per category, macro-F1, the share of clean posts wrongly
flagged, and posts per second on one core (the process is pinned to one CPU where the system
allows it; CPU time, so that other processes on the machine do not count); then the same figures
on the `hard` subset when records carry `difficulty`. The speed is measured after one untimed
round (rules compile at their first use), each timed round on cold per-text caches; beside it,
the text model's CPU per post (its scoring of each batch included) and the text rules' CPU per
post (their prefilter's reading of each batch included) beside their limit: one prefilter pass over every rule of every category
(auditors/prefilter.py), which is what reading each post once costs; then the same split by stage.
Predictions come from the same code path as `schoolaudit classify` (posts in its batches);
labels, difficulty and notes are read only here, to score.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditors.base import AuditContext  # noqa: E402
from auditors.registry import audit_posts, prepare  # noqa: E402
from auditors.text import Reading, RuleAuditor, forget_texts, post_texts  # noqa: E402
from bench.crawl import prefilter_pass_ms  # noqa: E402
from records.model import CATEGORIES  # noqa: E402
from schoolaudit.commands.classify import BATCH, classify_all, load  # noqa: E402
from schoolaudit.corpus import is_measurement, record_to_post  # noqa: E402


def score(items: list[tuple[set, set]]) -> dict:
    """Per-category precision/recall/F1, macro-F1 and clean false-alarm rate of (gold, predicted) pairs."""
    result = {}
    for category in CATEGORIES:
        tp = sum(category in gold and category in pred for gold, pred in items)
        fp = sum(category not in gold and category in pred for gold, pred in items)
        fn = sum(category in gold and category not in pred for gold, pred in items)
        precision = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[category] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}
    present = [c for c in CATEGORIES if result[c]["support"]]
    result["macro_f1"] = sum(result[c]["f1"] for c in present) / max(1, len(present))
    clean = [pred for gold, pred in items if not gold]
    result["clean_false_alarm"] = sum(bool(pred) for pred in clean) / max(1, len(clean))
    result["clean_posts"] = len(clean)
    result["posts"] = len(items)
    return result


def show(title: str, result: dict) -> None:
    print(f"\n{title}: {result['posts']} posts, {result['clean_posts']} clean")
    print(f"{'category':24} {'P':>5} {'R':>5} {'F1':>5} {'n':>4} {'fp':>4} {'fn':>4}")
    for category in CATEGORIES:
        row = result[category]
        print(f"{category:24} {row['precision']:5.2f} {row['recall']:5.2f} {row['f1']:5.2f} "
              f"{row['support']:4d} {row['fp']:4d} {row['fn']:4d}")
    print(f"{'macro-F1':24} {result['macro_f1']:5.3f}")
    print(f"{'clean posts flagged':24} {result['clean_false_alarm']:5.1%}")


def pin_one_core() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return "pinned to one CPU"
    except (AttributeError, OSError):
        return "not pinned"


def batches(posts: list) -> list[list]:
    """The posts in the batches `schoolaudit classify` reads them in."""
    return [posts[start:start + BATCH] for start in range(0, len(posts), BATCH)]


def classify_run(posts: list, policy, auditors) -> list[dict]:
    return [output for batch in batches(posts) for output in classify_all(batch, policy, auditors)]


def cost_split(policy, auditors, posts) -> dict[str, float]:
    """CPU µs per post by stage: the text rules' prefilter reading each batch (their `prepare`), their
    confirming what it found (their `audit`), the text model scoring each batch (its `prepare`), its review of
    the rules' findings and its own flags (with the sentences they read, scored once per batch: its `foresee`);
    and, as their limit, one prefilter pass over each post's text."""
    prepared: dict[str, float] = {}
    audited: dict[str, float] = {}
    forget_texts()
    for batch in batches(posts):
        prepare(auditors, [post for post, _ in batch], cpu=prepared)
        audit_posts([(post, AuditContext(policy, account)) for post, account in batch], auditors, cpu=audited)
    rules = [a.name for a in auditors if isinstance(a, RuleAuditor)]
    limit_ms = prefilter_pass_ms(policy, [Reading(post_texts(post)).whole for post, _ in posts])
    stages = {"text rules, prefilter": sum(prepared.get(name, 0.0) for name in rules),
              "text rules, confirming": sum(audited.get(name, 0.0) for name in rules),
              "text model, scoring": prepared.get("text_model", 0.0),
              "text model, review and flags": audited.get("text_model", 0.0),
              "limit": limit_ms / 1e3}
    return {stage: seconds * 1e6 / len(posts) for stage, seconds in stages.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/eval_text.py bench/data/heldout3_posts.jsonl --errors; "
                                            "several sets pooled: bench/eval_text.py bench/data/heldout27_posts.jsonl "
                                            "bench/data/heldout28_posts.jsonl")
    parser.add_argument("files", nargs="+", metavar="file", help="labelled JSONL (corpus schema); several are pooled")
    parser.add_argument("--config", help="configuration folder (default: as schoolaudit)")
    parser.add_argument("--errors", action="store_true", help="list each wrong post (id, gold, predicted, evidence)")
    args = parser.parse_args(argv)
    measurement = next((name for name in args.files if is_measurement(Path(name))), None)
    if args.errors and measurement:
        parser.error(f"{measurement} is a measurement: --errors would print its posts (score it without --errors)")
    pinned = pin_one_core()
    started = time.process_time()
    policy, auditors = load(args.config)
    start_up = time.process_time() - started
    records = [json.loads(line) for name in args.files for line in open(name, encoding="utf-8") if line.strip()]
    posts = [record_to_post(record) for record in records]

    outputs = classify_run(posts, policy, auditors)  # untimed: first compiles
    rounds, elapsed = 0, 0.0
    while elapsed < 1.0:  # repeat for a stable rate, each round on cold per-text caches
        forget_texts()
        started = time.process_time()
        classify_run(posts, policy, auditors)
        rounds, elapsed = rounds + 1, elapsed + time.process_time() - started
    stages = cost_split(policy, auditors, posts)
    items = [(set(r.get("labels", [])), set(out["labels"])) for r, out in zip(records, outputs)]
    show("all posts", score(items))
    hard = [item for record, item in zip(records, items) if record.get("difficulty") == "hard"]
    if hard:
        show("hard subset", score(hard))
    print(f"\nspeed: {rounds * len(posts) / elapsed:,.0f} posts/s of CPU ({pinned}, {len(auditors)} auditors; "
          f"start-up {start_up:.2f} s)")
    model_us = stages["text model, scoring"] + stages["text model, review and flags"]
    rules_us = stages["text rules, prefilter"] + stages["text rules, confirming"]
    print(f"text model: {model_us:,.0f} µs per post (scored {BATCH} posts per call)")
    print(f"text rules: {rules_us:,.0f} µs per post; limit, one prefilter pass over every rule: {stages['limit']:,.1f} µs "
          f"per post ({rules_us / max(stages['limit'], 1e-9):,.0f}x)")
    print("by stage (timed per auditor call, which adds its own cost), µs per post: "
          + "; ".join(f"{stage} {us:,.0f}" for stage, us in stages.items() if stage != "limit"))
    if args.errors:
        print("\nerrors:")
        for record, (gold, pred), out in zip(records, items, outputs):
            if gold != pred:
                print(f"{record['id']} gold={sorted(gold)} pred={sorted(pred)}")
                for finding in out["findings"]:
                    if finding["category"] not in gold:
                        print(f"    + {finding['category']}: {finding['evidence']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
