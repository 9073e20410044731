"""The statistical text model (auditors/text_model.py, auditors/models/text-lr.json.gz).

Runs without ../shared and without scikit-learn: the model file is in the repository and inference
is numpy. Its exactness against scikit-learn is checked by auditors/models/train_text_model.py.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from auditors.base import AuditContext
from auditors.registry import AUDITORS, audit_post, load_auditors
from auditors.text_model import CATEGORIES, MODEL_PATH, TextModel, TextModelAuditor, document, load_model
from schoolaudit.commands.classify import classify, load
from schoolaudit.config import DEFAULT_CONFIG_DIR, load_policy
from schoolaudit.corpus import record_to_post

FIXTURES = Path(__file__).parent / "fixtures" / "text"
RECORDS = {r["id"]: r for path in sorted(FIXTURES.glob("*.jsonl"))
           for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r}


def _record(text: str, alts=(), **extra) -> dict:
    return {"id": "m1", "platform": "x", "account": {"name": "Riverbend Public School", "kind": "school"},
            "text": text, "image_alt": list(alts), "repost_of": None, **extra}


@pytest.fixture(scope="module")
def policy():
    return load_policy(DEFAULT_CONFIG_DIR)


def _with_model_rules(policy, **rules):
    return dataclasses.replace(policy, rule_files={**policy.rule_files, "text_model": rules})


def test_model_file_loads_with_the_expected_categories_and_is_small():
    model = load_model()
    assert model.categories == CATEGORIES
    assert "endorsement_repost" not in model.categories
    assert len(model.word_index) > 1000 and len(model.char_index) > 1000
    assert MODEL_PATH.stat().st_size < 2_000_000
    assert load_model() is model  # read once per process


def test_inference_is_deterministic_and_matches_a_fresh_load():
    doc = document("Vote for Sam Porter on Thursday, the only candidate who cares!", ["A lawn sign"])
    first = load_model().probabilities(doc)
    assert first == load_model().probabilities(doc) == TextModel(MODEL_PATH).probabilities(doc)
    assert all(0.0 < p < 1.0 for p in first.values())


def test_empty_document_gives_the_intercepts():
    model = load_model()
    probabilities = model.probabilities("")
    assert set(probabilities) == set(CATEGORIES) and all(0.0 < p < 0.5 for p in probabilities.values())


@pytest.mark.parametrize("category", CATEGORIES)
def test_project_fixture_posts_get_a_high_probability_for_their_label(category):
    positives = [r for r in RECORDS.values() if r["id"].startswith(category + "-") and category in r["labels"]][:3]
    assert positives
    for record in positives:
        assert load_model().probabilities(document(record["text"], record["image_alt"]))[category] > 0.7, record["id"]


def test_clean_fixture_posts_get_low_probabilities():
    clean = [r for r in RECORDS.values() if not r["labels"] and r["id"].startswith("mixed")][:20]
    assert len(clean) == 20
    for record in clean:
        probabilities = load_model().probabilities(document(record["text"], record["image_alt"]))
        assert max(probabilities.values()) < 0.5, (record["id"], probabilities)


def test_findings_quote_the_post_verbatim_at_a_lower_severity(policy):
    auditor = TextModelAuditor(policy)
    text = "Spring concert on May 3. Honestly some of you parents are clueless and it shows. Doors open at 6."
    post, account = record_to_post(_record(text))
    findings = auditor.audit(post, AuditContext(policy, account))
    hostile = [f for f in findings if f.category == "hostile"]
    assert hostile, findings
    finding = hostile[0]
    assert finding.where == "text" and finding.evidence in text
    assert finding.evidence == "Honestly some of you parents are clueless and it shows."
    assert finding.severity == "medium"  # policy: high
    assert finding.auditor == "text_model" and finding.clause
    assert finding.explanation.startswith("Reads like hostile") and finding.explanation.endswith("weighs most.")


def test_student_photo_only_from_alt_text(policy):
    auditor = TextModelAuditor(policy)
    alt = "Close-up of three grade 2 students smiling at the camera while holding their art projects"
    post, account = record_to_post(_record("Look at our artists!", [alt]))
    findings = [f for f in auditor.audit(post, AuditContext(policy, account)) if f.category == "student_photo"]
    assert findings and findings[0].where == "alt:0" and findings[0].evidence == alt
    post, account = record_to_post(_record(alt))  # the same words as post text, with no image
    assert not [f for f in auditor.audit(post, AuditContext(policy, account)) if f.category == "student_photo"]


def test_switched_off_in_config_gives_no_findings(policy):
    ready, disabled = load_auditors(_with_model_rules(policy, enabled=False))
    assert "text_model" in disabled and not any(a.name == "text_model" for a in ready)
    ready, disabled = load_auditors(_with_model_rules(policy, categories=["privacy"]))
    model = next(a for a in ready if a.name == "text_model")
    assert set(model.thresholds) == {"privacy"}


def test_per_category_threshold_and_bad_values(policy):
    auditor = TextModelAuditor(_with_model_rules(policy, threshold=0.5, thresholds={"hostile": 0.999999}))
    assert auditor.thresholds["hostile"] == 0.999999 and auditor.thresholds["privacy"] == 0.5
    text = "Honestly some of you parents are clueless and it shows."
    post, account = record_to_post(_record(text))
    assert not [f for f in auditor.audit(post, AuditContext(policy, account)) if f.category == "hostile"]
    from auditors.base import RulesError
    with pytest.raises(RulesError):
        TextModelAuditor(_with_model_rules(policy, threshold=2))
    with pytest.raises(RulesError):
        TextModelAuditor(_with_model_rules(policy, categories=["endorsement_repost"]))


def test_a_category_the_rules_found_is_not_repeated_by_the_model():
    engine = load(str(DEFAULT_CONFIG_DIR))
    record = RECORDS["hostile-01"]  # "What a f*cking game, Hawks!": a rule finds it, the model agrees
    assert load_model().probabilities(document(record["text"], record["image_alt"]))["hostile"] >= 0.5
    result = classify(*record_to_post(record), *engine)
    hostile = [f for f in result["findings"] if f["category"] == "hostile"]
    assert len(hostile) == 1 and "statistical model" not in hostile[0]["explanation"]


def test_the_model_runs_last_even_when_listed_first(policy):
    ready, _ = load_auditors(policy)
    assert AUDITORS[-1] == "auditors.text_model:TextModelAuditor"
    reordered = [a for a in ready if a.name == "text_model"] + [a for a in ready if a.name != "text_model"]
    post, account = record_to_post(RECORDS["hostile-01"])
    findings = audit_post(post, AuditContext(policy, account), reordered)
    assert [f.auditor for f in findings if f.category == "hostile"] == ["hostile"]
