"""Rebuild `text-lr.json.gz`, the text model of auditors/text_model.py (offline tool, not used at run time).

    python auditors/models/train_text_model.py [--check DEV.jsonl ...]   # default check: ../shared/corpus/dev_posts.jsonl

Needs scikit-learn (1.9) and numpy in the Python that runs it; scikit-learn is not a schoolaudit
dependency, so use a scratch venv (`python -m venv /tmp/ml && /tmp/ml/bin/pip install scikit-learn==1.9.1`).

Training data: ONLY the project's own labelled posts, tests/fixtures/text/*.jsonl,
bench/data/heldout_posts.jsonl and bench/data/train_*_posts.jsonl (all written here, the data sets
blind to the rules). Never ../shared/corpus/dev_posts.jsonl nor
bench/data/heldout2_posts.jsonl: those are the measurements (the development corpus, and the
blind held-out set); the script refuses them as training input.

The model, per category of CATEGORIES (not endorsement_repost, which is mechanical):
* document = text (then the reposted text, `repost_of.text`) + " || " + " | ".join(image_alt);
* features = TF-IDF of word 1-2-grams (min_df 1) and of char_wb 3-5-grams (min_df 2), both
  lower-cased, sublinear tf, each L2-normalised, concatenated;
* LogisticRegression(C=8, class_weight="balanced", max_iter=2000) (lbfgs; deterministic);
* calibration: Platt scaling, a one-feature logistic regression fitted on the out-of-fold decisions
  of a 5-fold cross-validation (stratified, seed 0), on the posts where the rules did not find the
  category (the only posts on which the model speaks), so that a probability means what it says on
  posts the model has not seen; exported as (a, b) per category: p = sigmoid(a * decision + b).
  This needs the project's own dependencies too: `pip install -e .` in the scratch venv.

Export: gzip'd JSON (sorted keys, gzip mtime 0), with each vectorizer's terms in index order (one
per line), its idf, its analyzer settings, and per feature the coefficients of every category
(float32, little-endian, base64), plus the intercepts. No feature is pruned: each term counts in
the L2 norm, so dropping one would move every probability. The same inputs give the same bytes.

Self-test: after export, auditors/text_model.py (numpy only) reads the file back and must give
sklearn's probabilities to 1e-5 on every post of the check files (read for that check only).
"""
from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread: the same floating-point sums every run

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the runtime's document and reader

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TARGET = HERE / "text-lr.json.gz"
TRAINING = (sorted((REPO / "tests" / "fixtures" / "text").glob("*.jsonl")) + [REPO / "bench" / "data" / "heldout_posts.jsonl"]
            + sorted((REPO / "bench" / "data").glob("train_*_posts.jsonl")))
FORBIDDEN = ("dev_posts.jsonl", "heldout2_posts.jsonl", "heldout3_posts.jsonl")  # measurements, never training data
DEFAULT_CHECK = REPO.parent / "shared" / "corpus" / "dev_posts.jsonl"
CATEGORIES = ("student_photo", "endorsement_commercial", "endorsement_political", "religion_promotion",
              "substances", "explicit", "hostile", "privacy")
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def doc(record: dict) -> str:
    """The runtime's document of the record's post (its text, the reposted text, its alt texts)."""
    from auditors.text_model import post_document
    from schoolaudit.corpus import record_to_post

    return post_document(record_to_post(record)[0])


def _floats(values) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def rule_categories(records: list[dict]) -> list[frozenset[str]]:
    """The categories the other auditors (the rules) find on each record, as the registry runs them."""
    from auditors.base import AuditContext
    from auditors.registry import audit_post
    from schoolaudit.commands.classify import load as load_auditors
    from schoolaudit.corpus import record_to_post

    policy, auditors = load_auditors(None)
    others = [a for a in auditors if not getattr(a, "supplements", False)]
    found = []
    for record in records:
        post, account = record_to_post(record)
        found.append(frozenset(f.category for f in audit_post(post, AuditContext(policy, account), others)))
    return found


def train(records: list[dict]):
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    docs = [doc(r) for r in records]
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True,
                           token_pattern=TOKEN_PATTERN)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True, lowercase=True)
    features = hstack([word.fit_transform(docs), char.fit_transform(docs)]).tocsr()
    models, calibration, found = {}, {}, rule_categories(records)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    for category in CATEGORIES:
        labels = np.array([category in r["labels"] for r in records])
        model = LogisticRegression(C=8, class_weight="balanced", max_iter=2000, random_state=0)
        # Platt scaling on out-of-fold decisions: balanced class weights push probabilities up, and
        # decisions on the training posts themselves are overconfident
        held_out = cross_val_predict(model, features, labels, cv=folds, method="decision_function")
        gap = np.array([category not in f for f in found])  # the model only speaks where the rules are silent
        platt = LogisticRegression(C=1e4, max_iter=1000).fit(held_out[gap, None], labels[gap])
        calibration[category] = [float(np.float32(platt.coef_[0][0])), float(np.float32(platt.intercept_[0]))]
        models[category] = model.fit(features, labels)
    return word, char, models, calibration


def export(word, char, models, calibration) -> bytes:
    def vectorizer(v) -> dict:
        terms = sorted(v.vocabulary_, key=v.vocabulary_.get)
        assert all("\n" not in t for t in terms) and [v.vocabulary_[t] for t in terms] == list(range(len(terms)))
        return {"analyzer": v.analyzer, "ngram_range": list(v.ngram_range), "lowercase": v.lowercase,
                "token_pattern": v.token_pattern, "sublinear_tf": v.sublinear_tf, "norm": v.norm,
                "terms": "\n".join(terms), "idf": _floats(v.idf_)}

    coef = np.stack([models[c].coef_[0] for c in CATEGORIES], axis=1)  # features x categories
    data = {"format": 2, "categories": list(CATEGORIES), "calibration": [calibration[c] for c in CATEGORIES],
            "document": 'text + " || " + " | ".join(image_alt)',
            "vectorizers": [vectorizer(word), vectorizer(char)],
            "coef": _floats(coef), "intercept": [float(np.float32(models[c].intercept_[0])) for c in CATEGORIES],
            "training": [str(p.relative_to(REPO)) for p in TRAINING], "licence": "MIT (the schoolaudit project's own; see LICENSE)"}
    raw = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as handle:
        handle.write(raw)
    return out.getvalue()


def self_test(word, char, models, calibration, check: list[Path]) -> float:
    """Largest |probability difference| between sklearn and auditors/text_model.py on the check posts."""
    from scipy.sparse import hstack

    from auditors.text_model import TextModel

    runtime = TextModel(TARGET)
    worst = 0.0
    for path in check:
        records = load(path)
        docs = [doc(r) for r in records]
        features = hstack([word.transform(docs), char.transform(docs)]).tocsr()
        expected = np.stack([1.0 / (1.0 + np.exp(-(calibration[c][0] * models[c].decision_function(features) + calibration[c][1])))
                             for c in CATEGORIES], axis=1)
        got = np.array([[runtime.probabilities(d)[c] for c in CATEGORIES] for d in docs])
        worst = max(worst, float(np.abs(expected - got).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", nargs="*", type=Path, help="posts to compare sklearn and runtime on (default: dev_posts)")
    args = parser.parse_args(argv)
    assert not any(p.name in FORBIDDEN for p in TRAINING)
    records = [r for path in TRAINING for r in load(path)]
    word, char, models, calibration = train(records)
    blob = export(word, char, models, calibration)
    TARGET.write_bytes(blob)
    print(f"{TARGET.name}: {len(blob):,} bytes; {len(records)} training posts; "
          f"{len(word.vocabulary_):,} word + {len(char.vocabulary_):,} char features")
    check = args.check if args.check is not None else ([DEFAULT_CHECK] if DEFAULT_CHECK.exists() else [])
    check += [p for p in TRAINING]
    worst = self_test(word, char, models, calibration, check)
    print(f"self-test on {len(check)} files: largest probability difference sklearn vs runtime {worst:.2e}")
    if worst > 1e-5:
        print("self-test FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
