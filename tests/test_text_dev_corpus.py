"""The text auditors on the shared development corpus (../shared/corpus/dev_posts.jsonl).

Skips when the shared folder is absent (a user's clone). The bar is set below the figures the
README reports, so that the test guards against a regression, not against noise.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[1] / "bench"))  # last: bench/records.py must not hide the records package


@pytest.fixture(scope="module")
def corpus() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev_posts.jsonl"
    if not path.exists():
        pytest.skip("../shared/corpus is not here")
    return path


def test_dev_corpus_scores(corpus):
    from eval_text import score
    from schoolaudit.commands.classify import classify, load
    from schoolaudit.config import DEFAULT_CONFIG_DIR
    from schoolaudit.corpus import record_to_post
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    records = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [(set(r["labels"]), set(classify(*record_to_post(r), policy, auditors)["labels"])) for r in records]
    result = score(items)
    assert result["macro_f1"] >= 0.85
    assert result["clean_false_alarm"] <= 0.05
    for category in ("hostile", "explicit", "privacy", "substances"):
        assert result[category]["recall"] >= 0.9, category
