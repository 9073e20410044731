"""The fine-tuning experiment's numpy parts (auditors/models/finetune_minilm.py, bench/eval_finetuned.py).

The training itself needs torch and the base weights (a scratch venv), so it is not run here; what the
experiment's figures rest on besides it is: the calibration fit, the folds, the batches, and the cascade's mix.
"""
from __future__ import annotations

import tomllib

import numpy as np
import pytest

from auditors.models.finetune_minilm import batches, grouped_folds, platt
from auditors.text_model import CATEGORIES
from bench.eval_finetuned import SecondOpinionTextModel, around_thresholds
from schoolaudit.demo import write_demo_config


def test_platt_recovers_the_scaling_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, 20000)
    labels = rng.random(20000) < 1 / (1 + np.exp(-(0.6 * logits - 1.0)))
    a, b = platt(logits, labels)
    assert a == pytest.approx(0.6, abs=0.03) and b == pytest.approx(-1.0, abs=0.05)


def test_platt_stays_finite_on_separated_classes():
    """A plain Newton step overshoots here (the fit ran away to a = 6e7 on a real category)."""
    logits = np.r_[np.linspace(-9, -2, 500), np.linspace(2, 9, 50)]
    a, b = platt(logits, np.r_[np.zeros(500), np.ones(50)])
    assert np.isfinite([a, b]).all() and a > 0
    assert 1 / (1 + np.exp(-(a * 5 + b))) > 0.99 and 1 / (1 + np.exp(-(a * -5 + b))) < 0.01


def test_the_same_document_never_lands_in_two_folds():
    docs = [f"post {i % 7}" for i in range(70)]
    fold = grouped_folds(docs, 3, seed=1)
    for text in set(docs):
        assert len({fold[i] for i, d in enumerate(docs) if d == text}) == 1
    assert set(fold) == {0, 1, 2}


def test_batches_cover_every_document_once_with_similar_lengths():
    lengths = list(np.random.default_rng(2).integers(3, 128, 500))
    chunks = batches(lengths, np.random.default_rng(0))
    assert sorted(i for chunk in chunks for i in chunk) == list(range(500))
    assert np.median([np.ptp([lengths[i] for i in chunk]) for chunk in chunks]) < 16


class FixedOpinion:
    """A classifier that says the same probability of every category for every document."""

    def __init__(self, probability: float):
        self.probability = probability
        self.asked: list[str] = []

    def logits(self, docs):
        self.asked.extend(docs)
        return np.full((len(docs), len(CATEGORIES)), np.log(self.probability / (1 - self.probability)))

    def calibrated(self, logits):
        return 1 / (1 + np.exp(-logits))


def mixed_and_linear(opinion: FixedOpinion, docs: list[str], band, raise_only=False, posts=None):
    model = SecondOpinionTextModel(opinion, band, 0.5, None, None, posts, raise_only)
    linear = super(SecondOpinionTextModel, model).decisions(docs)
    return model.calibrated(model.decisions(docs)), model.calibrated(linear)


DOCS = ["Vote for Sam Porter on Thursday, the only candidate who cares!", "Bake sale in the gym at noon.",
        "Honestly some of you parents are clueless and it shows."]


def test_the_mix_changes_only_the_categories_in_the_band_and_asks_only_their_documents():
    opinion = FixedOpinion(0.9)
    band = (np.full(len(CATEGORIES), 0.02), np.full(len(CATEGORIES), 0.6))
    mixed, linear = mixed_and_linear(opinion, DOCS, band)
    in_band = (linear >= 0.02) & (linear < 0.6)
    assert in_band.any() and (~in_band).any()
    np.testing.assert_allclose(mixed[in_band], 0.5 * 0.9 + 0.5 * linear[in_band], atol=1e-9)
    np.testing.assert_allclose(mixed[~in_band], linear[~in_band], atol=1e-12)
    assert set(opinion.asked) == {d for d, row in zip(DOCS, in_band) if row.any()}


def test_raise_only_never_lowers_and_posts_only_leaves_other_documents_alone():
    band = (np.zeros(len(CATEGORIES)), np.ones(len(CATEGORIES)))
    mixed, linear = mixed_and_linear(FixedOpinion(0.01), DOCS, band, raise_only=True)
    above = linear > 0.01  # where the opinion is lower: the linear probability stands
    assert above.any() and (~above).any()
    np.testing.assert_allclose(mixed[above], linear[above], atol=1e-9)
    assert (mixed[~above] > linear[~above]).all()
    opinion = FixedOpinion(0.99)
    mixed, linear = mixed_and_linear(opinion, DOCS, band, posts={DOCS[0]})
    assert opinion.asked == [DOCS[0]]
    np.testing.assert_allclose(mixed[0], 0.5 * 0.99 + 0.5 * linear[0], atol=1e-9)
    np.testing.assert_allclose(mixed[1:], linear[1:], atol=1e-12)


def test_the_band_around_thresholds_follows_the_configuration_the_run_reads(tmp_path):
    config = write_demo_config(tmp_path, "http://127.0.0.1")
    rules = config / "rules" / "text_model.toml"
    shipped = rules.read_text(encoding="utf-8")
    hostile = f"\nhostile = {tomllib.loads(shipped)['thresholds']['hostile']}\n"  # the shipped threshold's line
    assert shipped.count(hostile) == 1
    rules.write_text(shipped.replace(hostile, "\nhostile = 0.42\n"), encoding="utf-8")
    low, high = around_thresholds(0.1, str(config))
    assert dict(zip(CATEGORIES, np.round(low + 0.1, 6)))["hostile"] == 0.42
    np.testing.assert_allclose(high - low, 0.2)


def test_the_cache_by_text_gives_back_what_was_written_and_nothing_when_absent(tmp_path):
    from auditors.models.contextual_embeddings import read_by_text, write_by_text

    cache = tmp_path / "logits.npz"
    assert read_by_text(cache, "logits") == {} and read_by_text(None, "logits") == {}
    known = {"Bake sale at noon 🍪": np.arange(8, dtype=np.float32), "« Vote » ?": -np.ones(8, dtype=np.float32)}
    write_by_text(cache, known, "logits")
    again = read_by_text(cache, "logits")
    assert list(again) == list(known) and all(np.array_equal(again[t], known[t]) for t in known)
    assert [p.name for p in tmp_path.iterdir()] == ["logits.npz"]  # written whole, then moved into place
