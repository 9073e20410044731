"""The statistical text model (auditors/text_model.py, auditors/models/text-lr.json.gz).

Runs without ../shared and without scikit-learn: the model file is in the repository and inference
is numpy. Its exactness against scikit-learn is checked by auditors/models/train_text_model.py.
"""
from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from auditors import text_model
from auditors.base import AuditContext
from auditors.registry import AUDITORS, audit_post, load_auditors
from auditors.text_model import (CATEGORIES, EMBEDDING_PATH, MODEL_PATH, TextModel, TextModelAuditor, combine, document, load_model,
                                 model_flags)
from records.model import Finding
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
    assert MODEL_PATH.stat().st_size < 4_000_000 and EMBEDDING_PATH.stat().st_size < 16_000_000
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


# --- the static sentence embedding, the training-time features, calibration, and rules + model ---------


def test_basic_words_follow_bert_uncased():
    from auditors.text_model import basic_words

    assert basic_words("Don't") == ["don", "'", "t"]
    assert basic_words("Café!") == ["cafe", "!"]
    assert basic_words("alert📌") == ["alert", "📌"]  # an emoji stands apart (BERT would lose the whole word)
    assert basic_words("a\u200bb") == ["ab"]  # a format character is dropped


def test_wordpiece_cuts_unknown_words_into_known_pieces():
    embedding = load_model().embedding
    vocab = {i: t for t, i in embedding.index.items()}
    assert [vocab[i] for i in embedding.token_ids("unaffable")] == ["una", "##ffa", "##ble"]
    assert [vocab[i] for i in embedding.token_ids("Snowflakes")] == ["snow", "##fl", "##akes"]
    assert embedding.token_ids("📌") == []  # unknown: left out of the mean, not [UNK]
    assert float(np.linalg.norm(embedding.vector("Root beer floats"))) == pytest.approx(1.0)
    assert not embedding.vector("📌").any()


def test_the_runtime_transform_gives_the_training_time_decisions():
    """The trainer stored scikit-learn's decision values for a few documents: the numpy transform
    (TF-IDF and the static embedding) must reproduce them."""
    data = json.loads(gzip.decompress(MODEL_PATH.read_bytes()))
    assert len(data["probes"]) >= 3
    model = load_model()
    for probe in data["probes"]:
        assert model.decision(probe["document"]) == pytest.approx(np.array(probe["decision"]), abs=1e-5), probe["document"]


def test_the_embedding_carries_meaning_past_the_word_lists():
    embedding = load_model().embedding
    same = embedding.vector("Vote for our candidate on election day") @ embedding.vector("Support this party at the polls")
    other = embedding.vector("Vote for our candidate on election day") @ embedding.vector("Bake sale in the gym at noon")
    assert same > other + 0.1


def test_calibration_measured_by_cross_validation_holds():
    """The trainer kept, per probability band, the out-of-fold mean probability and the observed rate:
    a probability means what it says on posts the model was not trained on."""
    data = json.loads(gzip.decompress(MODEL_PATH.read_bytes()))
    bands = [b for b in data["calibration_check"] if b["posts"] >= 30]
    assert len(bands) >= 3
    for band in bands:
        assert abs(band["mean_probability"] - band["observed_rate"]) < 0.1, band


def _straightforward_decision(doc: str) -> np.ndarray:
    """The decision values computed the plain way, from the model file alone: scikit-learn's
    TfidfVectorizer by hand into dense vectors (word 1-2-grams, `char_wb` 3-5-grams, sublinear tf,
    idf, each part L2-normalised), dotted with the coefficients, plus the mean-embedding term."""
    data = json.loads(gzip.decompress(MODEL_PATH.read_bytes()))
    word, char = data["vectorizers"]
    floats = lambda encoded: np.frombuffer(base64.b64decode(encoded), dtype="<f4").astype(np.float64)  # noqa: E731
    low = doc.lower()
    tokens = re.findall(word["token_pattern"], low)
    char_grams = []
    for chunk in low.split():  # sklearn's _char_wb_ngrams
        padded = f" {chunk} "
        for n in range(3, 6):
            char_grams += [padded[i:i + n] for i in range(max(1, len(padded) - n + 1))]
            if len(padded) <= n:
                break
    parts = []
    for vectorizer, grams in ((word, tokens + [" ".join(pair) for pair in zip(tokens, tokens[1:])]), (char, char_grams)):
        index = {term: i for i, term in enumerate(vectorizer["terms"].split("\n"))}
        counts = np.zeros(len(index))
        for gram in grams:
            if gram in index:
                counts[index[gram]] += 1
        tfidf = np.where(counts > 0, 1.0 + np.log(np.maximum(counts, 1.0)), 0.0) * floats(vectorizer["idf"])
        norm = np.linalg.norm(tfidf)
        parts.append(tfidf / norm if norm else tfidf)
    coef = floats(data["coef"]).reshape(-1, len(data["categories"]))
    embedding = load_model().embedding
    with np.load(EMBEDDING_PATH) as vectors:
        ids = embedding.token_ids(doc)
        total = vectors["vectors"].astype(np.float32)[ids].sum(axis=0) if ids else np.zeros(embedding.dims, np.float32)
    norm = float(np.sqrt(float(total @ total)))  # a Python float: the unit vector stays float32, as trained
    meaning = (total / norm if norm else total).astype(np.float64)
    weighted = np.frombuffer(base64.b64decode(data["embedding"]["coef"]), dtype="<f8").reshape(len(meaning), -1)
    return np.concatenate(parts) @ coef + meaning @ weighted + np.array(data["intercept"])


@pytest.mark.parametrize("doc", [
    "Vote for Sam on Thursday! || Students at the rally",
    "Honestly some of you parents are clueless and it shows. ||",
    " || ", "a || b", "Café crème brûlée 🍺🍺 beer beer beer night at the café || Photo: grade 3 class",
    "Tough loss today 😂 maybe try serving 🏐🤡 next season || Staff 😉🔥 at the 🍷bar",
])
def test_the_fast_transform_gives_the_straightforward_computation(doc):
    """Sparse sums over the document's own features (TextModel.decision) against dense vectors over
    the whole vocabulary: the same numbers but for the order of the additions."""
    expected = _straightforward_decision(doc)
    model = load_model()
    assert np.allclose(model.decision(doc), expected, rtol=0, atol=1e-12)
    assert np.allclose(model.calibrated(model.decision(doc)), model.calibrated(expected), rtol=0, atol=1e-12)


def test_each_emoji_is_a_word_of_the_model_and_weighs_on_its_own():
    """char_wb n-grams see an emoji only inside a longer chunk; as a word token it has a weight of its own and
    forms word pairs ("🍆 💦"), so a lone emoji changes the decision through its word feature too."""
    data = json.loads(gzip.decompress(MODEL_PATH.read_bytes()))
    word = data["vectorizers"][0]
    terms = set(word["terms"].split("\n"))
    assert {"🤡", "😉", "🍆", "💦"} <= terms
    assert re.findall(word["token_pattern"], "loss🤡 night 😮\u200d💨 ok") == ["loss", "🤡", "night", "😮", "💨", "ok"]
    model = load_model()
    explicit = model.categories.index("explicit")
    assert model.decision("Staff night 🍆💦 ||")[explicit] > model.decision("Staff night ||")[explicit] + 0.5


def test_documents_scored_together_get_exactly_the_values_of_each_scored_alone():
    """The batched transform (TextModel.decisions) counts the features of many documents at once; every
    sum of one document's values is still taken over that document alone, in the same order, so its
    probabilities are identical to the last bit, whichever documents it is read with."""
    model = load_model()
    records = [json.loads(line) for path in sorted(FIXTURES.glob("*.jsonl"))
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [document(r["text"], r.get("image_alt", [])) for r in records]
    docs += [document(sentence, ()) for doc in docs[:50] for sentence in re.split(r"(?<=[.!?])\s+", doc)]
    docs += ["", " || ", "ΟΔΟΣ ΣΑΣ σοφός ΟΔΟΣ", "İstanbul İİ", "a\u00a0b\u2003c", "x\x1cy\x1fz", "ß STRASSE ﬁne", "📌 📌"]
    alone = np.array([model.decision(doc) for doc in docs])  # a batch of one; the values themselves: test above
    together = model.decisions(docs)
    assert np.array_equal(together, alone)
    assert np.array_equal(model.decisions(docs[::-1][:7]), alone[::-1][:7])
    assert np.array_equal(model.calibrated(together), np.array([model.calibrated(row) for row in alone]))
    assert model.decisions([]).shape == (0, len(model.categories))


def test_the_kept_word_features_are_bounded_and_emptying_them_changes_no_value():
    """Each word's features are kept in flat arrays (a batch gathers them by indexing); past the limit
    they are emptied before the next batch, and a document's values stay the same."""
    model = load_model()
    docs = ["Craft beer night at the pub, everyone welcome || A pint of beer", "Vote for Sam on Thursday! || Students"]
    expected = model.decisions(docs)
    limit = model._chunks.limit
    model._chunks.limit = 3
    try:
        for doc in docs:  # each call empties what the one before kept, then keeps its own words
            model.decision(doc)
            assert len(model._chunks) == len(set(doc.split()))
        assert np.array_equal(model.decisions(docs), expected)
    finally:
        model._chunks.limit = limit


def test_posts_prepared_together_get_the_findings_of_posts_audited_one_by_one():
    """`schoolaudit classify` shows the text model many posts at once (auditors.registry.prepare): the
    findings, the model's probabilities in them and the sentences it quotes are those of each post alone."""
    from schoolaudit.commands.classify import classify_all

    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    posts = [record_to_post(json.loads(line)) for path in sorted(FIXTURES.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    one_by_one = [classify(post, account, policy, auditors) for post, account in posts]
    [model] = [a for a in auditors if a.name == "text_model"]
    model.prepare([post for post, _ in posts])  # here, not through registry.prepare, which survives a failure
    assert set(model._by_post) == {id(post) for post, _ in posts}
    assert classify_all(posts, policy, auditors) == one_by_one
    assert any(f["explanation"].startswith("Reads like") for result in one_by_one for f in result["findings"])


def test_a_batch_scores_in_one_call_only_the_sentences_the_model_may_quote(monkeypatch):
    """`classify` audits a batch by stages (auditors.registry.audit_posts): the rules read every post before
    the model scores sentences, so it scores, in one call after the posts' own, only those of the categories
    it may flag (not those another auditor found); none later, one post at a time, and each finding's quote
    among them."""
    from schoolaudit.commands.classify import classify_all

    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    posts = [record_to_post(record) for record in RECORDS.values()]
    [model] = [a for a in auditors if a.name == "text_model"]
    calls = []
    scored = model.model.decisions
    monkeypatch.setattr(model.model, "decisions", lambda docs: calls.append(list(docs)) or scored(docs))
    quotes = set()  # the quoted evidence of rule findings the model may veto, which the second call holds too
    quoted_documents = text_model.quoted_documents
    monkeypatch.setattr(text_model, "quoted_documents", lambda f: quotes.update(quoted_documents(f)) or quoted_documents(f))
    results = classify_all(posts, policy, auditors)
    assert len(calls) == 2  # the posts, then the sentences

    def weighed(post, category):  # the documents among which the model chooses a quote for the category
        candidates = model._candidates(post)
        pool = model._pool(candidates, category)
        return {candidates[i][2] for i in pool} if len(pool) > 1 else set()

    quoted = [(document("", (f["evidence"],)) if f["where"].startswith("alt") else document(f["evidence"], ()),
               weighed(post, f["category"]))
              for (post, _), result in zip(posts, results) for f in result["findings"]
              if f["explanation"].startswith("Reads like")]
    assert quoted and all(doc in calls[1] for doc, pool in quoted if pool)
    # every sentence of every category the model considers, found by a rule or not, as `prepare` scored them
    considered = {doc for post, _ in posts for category in model._known(post)[4] for doc in weighed(post, category)}
    assert set(calls[1]) - quotes < considered


def test_the_embedding_vectors_are_checked_once_then_kept_widened_and_mapped(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path))
    first = TextModel(MODEL_PATH)  # checks the file and keeps its vectors as float32
    assert len(list(tmp_path.glob("embedding-*.npy"))) == 1
    second = TextModel(MODEL_PATH)
    # mapped from the start, not only from the next one (the first night's worker held 30 MB more)
    assert isinstance(first.embedding.vectors, np.memmap) and isinstance(second.embedding.vectors, np.memmap)
    with np.load(EMBEDDING_PATH) as data:
        assert np.array_equal(second.embedding.vectors, data["vectors"].astype(np.float32))
    doc = document("Craft beer night at the pub, everyone welcome", ["A pint of beer"])
    assert second.probabilities(doc) == first.probabilities(doc)


def test_two_copies_of_the_model_share_the_kept_vectors(tmp_path, monkeypatch):
    """Two checkouts or installs on one machine: each copy is checked once, the 30 MB of vectors kept once
    (they were kept per path, and with two kept, a third checkout rewrote them at every start)."""
    import shutil

    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path / "cache"))
    copies = [tmp_path / name for name in ("a", "b", "c")]
    for folder in copies:
        folder.mkdir()
        shutil.copy(MODEL_PATH, folder / MODEL_PATH.name)
        shutil.copy(EMBEDDING_PATH, folder / EMBEDDING_PATH.name)
        TextModel(folder / MODEL_PATH.name)
    kept = list((tmp_path / "cache").glob("embedding-*.npy"))
    assert len(kept) == 1
    written = kept[0].stat().st_mtime_ns
    TextModel(copies[0] / MODEL_PATH.name)
    assert kept[0].stat().st_mtime_ns == written
    assert len(list((tmp_path / "cache").glob("embedding-checked-*"))) == 3


def test_a_changed_embedding_file_is_refused(tmp_path):
    import shutil

    shutil.copy(MODEL_PATH, tmp_path / MODEL_PATH.name)
    changed = bytearray(EMBEDDING_PATH.read_bytes())
    changed[len(changed) // 2] ^= 0xFF
    (tmp_path / EMBEDDING_PATH.name).write_bytes(bytes(changed))
    with pytest.raises(ValueError, match="not the embedding file"):
        TextModel(tmp_path / MODEL_PATH.name)


def test_a_model_saved_elsewhere_uses_the_bundled_embedding_file(tmp_path):
    """A trainer's `--output` outside auditors/models has no embedding file beside it."""
    import shutil

    shutil.copy(MODEL_PATH, tmp_path / MODEL_PATH.name)
    doc = document("Vote for Sam Porter on Thursday, the only candidate who cares!", [])
    assert TextModel(tmp_path / MODEL_PATH.name).probabilities(doc) == load_model().probabilities(doc)


def test_the_model_loads_and_scores_with_the_network_cut_off():
    script = ("import socket\n"
              "def refuse(*a, **k): raise OSError('network used')\n"
              "socket.socket = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
              "from auditors.text_model import load_model, document\n"
              "p = load_model().probabilities(document('Vote for Sam on Thursday', []))\n"
              "print(round(p['endorsement_political'], 3))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).parent.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 0.0 < float(result.stdout) <= 1.0


def _finding(category: str, where: str = "text", severity: str = "high", evidence: str = "the sentence") -> Finding:
    return Finding(category, severity, evidence, "A rule's reason.", "clause", "rule", where=where)


def test_combine_vetoes_a_single_weak_hit_the_model_calls_a_look_alike():
    thresholds, vetoes = {"hostile": 0.6}, {"hostile": 0.05}
    assert combine([_finding("hostile")], {"hostile": 0.01}, thresholds, vetoes) == []


def test_combine_lowers_an_unconfirmed_single_hit_and_keeps_a_confirmed_one():
    thresholds, vetoes = {"hostile": 0.6}, {"hostile": 0.05}
    lowered = combine([_finding("hostile")], {"hostile": 0.3}, thresholds, vetoes)
    assert [f.severity for f in lowered] == ["medium"]
    confirmed = combine([_finding("hostile")], {"hostile": 0.9}, thresholds, vetoes)
    assert [f.severity for f in confirmed] == ["high"]


def test_combine_leaves_several_hits_images_and_unscored_categories_alone():
    thresholds, vetoes = {"hostile": 0.6}, {"hostile": 0.05}
    two = [_finding("hostile", evidence="one"), _finding("hostile", evidence="two")]
    assert combine(two, {"hostile": 0.01}, thresholds, vetoes) == two
    image = [_finding("hostile", where="image:0")]
    assert combine(image, {"hostile": 0.01}, thresholds, vetoes) == image
    repost = [_finding("endorsement_repost")]
    assert combine(repost, {"hostile": 0.01}, thresholds, vetoes) == repost


def test_combine_neither_vetoes_nor_lowers_a_firm_rule_finding():
    thresholds, vetoes = {"explicit": 0.6}, {"explicit": 0.1}
    firm = [dataclasses.replace(_finding("explicit"), firm=True)]
    assert combine(firm, {"explicit": 0.01}, thresholds, vetoes) == firm
    assert combine(firm, {"explicit": 0.3}, thresholds, vetoes) == firm  # still high


@pytest.mark.parametrize("text, explicit, vetoed", [
    ("Our senior boys basketball team brought the heat tonight 🍑🍆", True, False),
    # a pair the model reads as explicit on its own is no test of the veto: the model retrained in session 20 gives
    # "Grade 12 football players are ready for Friday's home opener 🍆💦" 0.86, this sentence 0.01
    ("Junior football practice moves to the east field on Tuesday and Thursday after school 🍆💦", True, True),
    ("Varsity rugby packs a punch this year 🍑💦", True, False),
    ("Stuffed eggplant and peach cobbler on the menu this week 🍆🍑 Recipes are up on the club page!", False, False),
    ("Our fruit still-life study: pears, peaches and one very photogenic eggplant 🍑🍆🎨", False, False),
    ("Jardin de l'école : la récolte d'aubergines et de pêches est arrivée 🍆🍑", False, False),
])
def test_an_explicit_emoji_pair_is_judged_by_the_rule_not_vetoed_by_the_model(text, explicit, vetoed):
    """Beside a sports sentence the model gives the pair little weight (before emoji were its words, none) and
    used to veto it. The rule is firm now, so the fruit itself (a recipe, a still life) must be the rule's own
    exception, and the model must not flag it on its own either."""
    engine = load(str(DEFAULT_CONFIG_DIR))
    post, account = record_to_post(_record(text))
    model = next(a for a in engine[1] if a.name == "text_model")
    if vetoed:  # a pair the model would veto stands (a look-alike is the rule's exception, whatever the model says)
        assert model.probabilities(post)["explicit"] < model.vetoes["explicit"]
    assert ("explicit" in classify(post, account, *engine)["labels"]) == explicit


def test_model_flags_skip_found_categories_and_photo_without_alt():
    probabilities = {"hostile": 0.9, "student_photo": 0.95, "privacy": 0.2}
    thresholds = {"hostile": 0.6, "student_photo": 0.5, "privacy": 0.5}
    assert model_flags(probabilities, thresholds, frozenset(), has_alt=False) == [("hostile", 0.9)]
    assert model_flags(probabilities, thresholds, frozenset({"hostile"}), has_alt=True) == [("student_photo", 0.95)]


def test_vetoes_are_checked_against_thresholds(policy):
    from auditors.base import RulesError

    with pytest.raises(RulesError, match="vetoes"):
        TextModelAuditor(_with_model_rules(policy, threshold=0.5, vetoes={"hostile": 0.5}))
    with pytest.raises(RulesError, match="unknown categories"):
        TextModelAuditor(_with_model_rules(policy, vetoes={"endorsement_repost": 0.1}))


def test_the_registry_applies_the_model_review(policy):
    """A rule hit the model calls a look-alike is gone from the post's findings; the same hit with the
    veto switched off stays, one severity step lower (a single weak signal is not `high`)."""
    text = "Winter concert tonight: the grade 2 choir sings Dance of the Snowflakes!"
    post, account = record_to_post(_record(text))
    context = AuditContext(policy, account)
    strict = _with_model_rules(policy, threshold=0.9, vetoes={"hostile": 0.89})
    ready, _ = load_auditors(strict)
    model = next(a for a in ready if a.name == "text_model")
    probability = model.probabilities(post)["hostile"]
    assert probability < 0.5
    fake_rule = type("Rule", (), {"name": "hostile", "categories": ("hostile",),
                                  "audit": lambda self, p, c: [c.finding("hostile", "Snowflakes", "Name-calling.", "hostile")]})()
    assert [f for f in audit_post(post, context, [fake_rule, model]) if f.category == "hostile"] == []
    lenient = _with_model_rules(policy, threshold=0.9)
    model = next(a for a in load_auditors(lenient)[0] if a.name == "text_model")
    kept = [f for f in audit_post(post, context, [fake_rule, model]) if f.category == "hostile"]
    assert [f.severity for f in kept] == ["medium"]  # policy: high


def test_combine_keeps_a_hit_whose_quoted_sentence_the_model_believes():
    """A violating sentence in a long innocent post: the post scores low, the quoted sentence high."""
    thresholds, vetoes = {"hostile": 0.6}, {"hostile": 0.05}
    kept = combine([_finding("hostile")], {"hostile": 0.01}, thresholds, vetoes, quoted=lambda f: 0.9)
    assert [f.severity for f in kept] == ["high"]  # the quoted clause confirms it


def test_a_clear_violation_in_a_long_innocent_post_is_not_vetoed():
    engine = load(str(DEFAULT_CONFIG_DIR))
    body = " ".join(["Students enjoyed the library reading week."] * 5)
    post, account = record_to_post(_record("Vote for Jane Smith on election day. " + body))
    assert "endorsement_political" in classify(post, account, *engine)["labels"]


def test_model_flags_a_borderline_post_on_its_best_sentence():
    thresholds, sentences = {"hostile": 0.6, "privacy": 0.5}, {"hostile": (0.2, 0.8)}
    best = {"hostile": 0.85, "privacy": 0.99}.get
    assert model_flags({"hostile": 0.3, "privacy": 0.3}, thresholds, frozenset(), False, sentences, best) == [("hostile", 0.85)]
    assert model_flags({"hostile": 0.1, "privacy": 0.3}, thresholds, frozenset(), False, sentences, best) == []  # under the band
    assert model_flags({"hostile": 0.3, "privacy": 0.3}, thresholds, frozenset(), False, sentences,
                       {"hostile": 0.7}.get) == []  # the sentence under its threshold
    assert model_flags({"hostile": 0.3, "privacy": 0.3}, thresholds, frozenset({"hostile"}), False, sentences, best) == []
    weaker_sentence = {"hostile": (0.4, 0.45)}  # a post likelier than its best sentence: the post's probability
    assert model_flags({"hostile": 0.55, "privacy": 0.3}, thresholds, frozenset(), False, weaker_sentence,
                       {"hostile": 0.5}.get) == [("hostile", 0.55)]


#: Six innocent sentences dilute the advert (with four, the model of session 20's round 14 flags the post outright).
BORDERLINE = ("Students enjoyed the library reading week. The book fair runs until Friday in the gym. Thank you to "
              "our parent volunteers for the help. Picture day is on Wednesday. The Grade 4 class planted tulips by "
              "the front doors. Report cards go home next Thursday. Get 20% off at Joe's Pizza with code SCHOOL20, "
              "best pizza in town.")


def test_a_borderline_post_is_flagged_on_its_one_violating_sentence(policy):
    """An advert in one sentence of an innocent post: the post scores under the threshold, the sentence over
    the sentence threshold; flagged only with sentence scoring configured, quoting that sentence."""
    post, account = record_to_post(_record(BORDERLINE))
    settings = {"thresholds": {"endorsement_commercial": 0.6}}
    plain = TextModelAuditor(_with_model_rules(policy, **settings))
    probability = plain.probabilities(post)["endorsement_commercial"]
    assert 0.05 <= probability < 0.6  # borderline
    assert not [f for f in plain.audit(post, AuditContext(policy, account)) if f.category == "endorsement_commercial"]
    scored = TextModelAuditor(_with_model_rules(
        policy, **settings, sentences={"endorsement_commercial": {"band": 0.05, "threshold": 0.9}}))
    found = [f for f in scored.audit(post, AuditContext(policy, account)) if f.category == "endorsement_commercial"]
    assert [f.evidence for f in found] == ["Get 20% off at Joe's Pizza with code SCHOOL20, best pizza in town."]
    sentence = scored.model.probabilities(document(found[0].evidence, ()))["endorsement_commercial"]
    assert sentence > probability
    assert (f"(probability {sentence:.2f}): the post scores {probability:.2f} and the quoted sentence is its "
            f"likeliest ({sentence:.2f} alone)") in found[0].explanation
    scored.prepare([post])  # scored in a batch: the same finding
    assert scored.audit(post, AuditContext(policy, account)) == found


def test_a_sentence_threshold_under_its_band_is_refused_in_one_line(policy):
    """A sentence threshold under the band (religion's 0.2 under 0.4 was): a post of several sentences would be
    flagged from the band, on a sentence weaker than itself, and a post of one sentence only from the
    category's threshold. Refused, naming the file and the key."""
    from auditors.base import RulesError

    with pytest.raises(RulesError) as refused:
        TextModelAuditor(_with_model_rules(policy, thresholds={"religion_promotion": 0.9},
                                           sentences={"religion_promotion": {"band": 0.4, "threshold": 0.2}}))
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("rules/text_model.toml: [sentences] religion_promotion: threshold 0.2 is under band 0.4")
    TextModelAuditor(_with_model_rules(policy, thresholds={"religion_promotion": 0.9},  # at the band: accepted
                                       sentences={"religion_promotion": {"band": 0.4, "threshold": 0.4}}))


@pytest.mark.parametrize("sentences", [{"hostile": {"band": 0.7, "threshold": 0.9}},  # band not under the threshold
                                       {"hostile": {"band": 0.2}}, {"hostile": 0.5},
                                       {"endorsement_repost": {"band": 0.1, "threshold": 0.9}}])
def test_bad_sentence_settings_are_refused(policy, sentences):
    from auditors.base import RulesError

    with pytest.raises(RulesError, match=r"\[sentences\]"):
        TextModelAuditor(_with_model_rules(policy, thresholds={"hostile": 0.6}, sentences=sentences))
