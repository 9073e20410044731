"""The rules' prefilter: it only skips rules that cannot match, and its compiled database is cached
under the rules' hash (a changed rules file is never read with an old database)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from auditors import cache, prefilter
from auditors.base import AuditContext
from auditors.prefilter import GramEngine, HyperscanEngine, Prefilter, relaxed_patterns, scanned_text, shared_prefilter
from auditors.registry import load_auditors
from auditors.text import Reading, RuleAuditor, joined, post_texts
from schoolaudit.commands.classify import classify, load
from schoolaudit.config import DEFAULT_CONFIG_DIR
from schoolaudit.corpus import record_to_post

ROOT = Path(__file__).resolve().parent.parent
try:
    import hyperscan
except ImportError:  # no wheel for this platform: the 5-gram engine answers, and its tests still run
    hyperscan = None
#: Tests of the Hyperscan engine itself and of its cached databases.
needs_hyperscan = pytest.mark.skipif(hyperscan is None, reason="Hyperscan has no wheel for this platform")


def _records() -> list[dict]:
    files = sorted((ROOT / "bench" / "data").glob("*.jsonl")) + sorted((ROOT / "tests" / "fixtures" / "text").glob("*.jsonl"))
    records = [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    demo = [path for path in sorted((ROOT / "schoolaudit" / "demo" / "site").rglob("*")) if path.suffix in (".xml", ".json")]
    records += [{"id": path.name, "platform": "website", "account": {"name": "demo", "kind": "school"},
                 "text": path.read_text(encoding="utf-8")} for path in demo]
    # The same posts without case, as privacy reads them in restored case.
    records += [dict(r, id=f"{r['id']}-{case}", text=getattr(r.get("text", ""), case)())
                for r in records[::6] for case in ("upper", "lower")]
    return records


@pytest.fixture(scope="module")
def corpus():
    return [record_to_post(record) for record in _records()]


def _unfiltered(auditors):
    """The same auditors with every rule run on every text: what the prefilter must not change."""
    copies = [copy.copy(a) for a in auditors]
    for auditor in copies:
        if isinstance(auditor, RuleAuditor):
            auditor.prefilter = None
    return copies


def _findings(auditors, policy, posts):
    return [classify(post, account, policy, auditors) for post, account in posts]


@needs_hyperscan
def test_prefiltered_rules_find_exactly_what_every_rule_finds(corpus):
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    assert isinstance(shared_prefilter(policy).engine, HyperscanEngine)
    reference = _unfiltered(auditors)
    prefiltered = _findings(auditors, policy, corpus)
    assert prefiltered == _findings(reference, policy, corpus)
    assert sum(bool(result["findings"]) for result in prefiltered) > 500


@needs_hyperscan
def test_every_bundled_rule_is_prefiltered_the_masked_words_in_a_database_of_their_own():
    """No rule of the bundled configuration runs on every text: the masked and leetspeak spellings
    of `words` (many loops each) are read by a second database, which compiles in seconds apart."""
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    engine = shared_prefilter(policy).engine
    assert engine.always == frozenset() and len(engine.databases) == 2
    insult = next(a for a in auditors if getattr(a, "category", "") == "hostile")
    ids = {i for i, (rule, _) in insult._term_of.items() if rule.id == "insult"}
    assert ids & engine.candidates("What a l0$3r") and not ids & engine.candidates("Have a lovely day")


def test_without_hyperscan_the_gram_engine_finds_the_same(corpus):
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    shared_prefilter(policy).engine_class = GramEngine
    reference = _unfiltered(auditors)
    assert isinstance(shared_prefilter(policy).engine, GramEngine)
    sample = corpus[::4]
    assert _findings(auditors, policy, sample) == _findings(reference, policy, sample)


def test_the_prefilter_names_only_the_rules_that_can_match(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path))
    rules = Prefilter()
    beer, vote = rules.register("test", [(r"(?<!root )\bbeers?\b(?! float)",), (r"\bvote (for|pour)\b",)])
    assert rules.candidates("Craft BEER night!") == (beer,)
    assert rules.candidates("Votez: vote POUR nous") == (vote,)
    assert rules.candidates("A quiet day.") == ()


@needs_hyperscan
def test_a_rule_is_gated_on_its_most_telling_part_within_its_boundaries(tmp_path, monkeypatch):
    """A word inside another ("af" in "staff", "ass" in "class") or a part of a rule that says little (" in the")
    does not make the rule a candidate; the rule's own words do."""
    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path))
    rules = Prefilter()
    slang, insult, praise = rules.register("test", [
        (r"\b(wtf|ffs|af)\b(?!-)",), (r"(?<![\w@#$*])ass",),
        (r"\b(best|finest)\b( [\w'-]+){0,3} (in|around) (town|(?-i:[A-Z])\w+)",)])
    assert rules.candidates("After class the staff met in the gym.") == ()
    assert rules.candidates("Tired af") == (slang,)
    assert rules.candidates("What an ass") == (insult,)
    assert rules.candidates("Best pizza in Sudbury") == (praise,)


def test_auditors_loaded_again_register_their_rules_once():
    """A long-lived scheduler loads the auditors for each run on the same policy: the shared prefilter
    must not grow (a new rules hash means a recompile, and every rule scanned twice)."""
    policy, _ = load(str(DEFAULT_CONFIG_DIR))
    rules = list(shared_prefilter(policy).rules)
    load_auditors(policy)
    load_auditors(policy)
    assert shared_prefilter(policy).rules == rules


@needs_hyperscan
@pytest.mark.parametrize("pattern, text", [
    (r"\bcafé\b", "CAFÉ au lait"),  # non-ASCII letters, upper case
    (r"\bs\w+t\b", "ſhot"),  # a fold re.IGNORECASE makes (long s)
    (r"\b(rally|march)\b[^.!?]{0,60}\bqueen['’]s park", "March on to Queen’s Park"),  # a gap
    (r"(?-i:[A-Z]{2})\d{3}", "plate AB123"),  # a case-sensitive part
    (r"🍺|🍻", "cheers 🍻"),
    (r"\d{2,3} élèves", "٣٤ élèves"),  # Python's \d takes every digit
    # Hyperscan 5.4 missed this one while "ſ" was a choice beside each s (see prefilter._AS_ASCII)
    (r"['’]s (birthday )?(party|sleepover|playdate|pool party)", "xxxxxxxxxxxxx ethan's party is saturday at 2 at his house"),
    (r"\b(wtf|af)\b", "Tired AF!"),  # a boundary beside a group
    (r"(?<![\w@#$*])ass", "ass"),  # a lookbehind at the text's start
    (r"(?<![\w@#$*])ass", "é’ASS"),  # after a non-ASCII character that is not a word character
    (r"(?<![\w@#$*])ass", "what\nass"),  # after white space (a text's start in the post's whole text)
    (r"\b(best|finest)\b( [\w'-]+){0,3} (in|around) (town|the north)", "Best pizza in town"),  # the telling part
])
def test_relaxed_patterns_match_wherever_the_rule_does(pattern, text):
    import re

    assert re.search(pattern, text, re.IGNORECASE)
    database = hyperscan.Database()
    parts = [p.encode() for p in relaxed_patterns(pattern)]
    database.compile(expressions=parts, ids=list(range(len(parts))), flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(parts))
    found = []
    database.scan(scanned_text(text).encode(), match_event_handler=lambda *hit: found.append(hit))
    assert found


@needs_hyperscan
def test_an_emoji_does_not_pass_for_a_digit():
    """Python's \\d takes every Unicode digit, listed by their UTF-8 bytes: not every non-ASCII character."""
    rules = Prefilter()
    [plate] = rules.register("test", [(r"(?-i:\b[A-Z]{4} ?\d{3}\b)",)])
    assert rules.candidates("Great job everyone 🎉") == ()
    assert rules.candidates("Plate ABCD ٣٤٥ seen") == rules.candidates("plate abcd 123") == (plate,)


def test_an_empty_match_or_an_unknown_construct_runs_the_rule_always():
    assert relaxed_patterns(r"a*") is None
    assert relaxed_patterns(r"\s*") is None and relaxed_patterns(r"[^.!?]{0,60}") is None  # every part a gap
    assert relaxed_patterns(r"(a)\1") is None


def _substances_auditor(terms: list[str]):
    from auditors.base import CategoryPolicy, Policy
    from auditors.substances import SubstancesAuditor
    from records.model import CATEGORIES

    rules = {"rules": [{"id": "drink", "explanation": "Drinks ({term}).", "terms": terms}]}
    categories = {c: CategoryPolicy(c, f"clause {c}", "medium") for c in CATEGORIES}
    categories["substances"] = CategoryPolicy("substances", "No substances.", "high", rules=rules)
    policy = Policy(categories)
    return SubstancesAuditor(policy), policy


@needs_hyperscan
def test_a_changed_rule_is_compiled_again_and_a_damaged_cache_is_replaced(tmp_path, monkeypatch):
    from auditors.base import AuditContext
    from records.model import Post

    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path))
    post = Post("a", "x", "1", None, None, "Zorblax night at the gym on Friday.")

    def found(terms):
        auditor, policy = _substances_auditor(terms)
        return [f.evidence for f in auditor.audit(post, AuditContext(policy))]

    assert found([r"\bbeer\b"]) == []
    first = set(tmp_path.glob("prefilter-*.hsdb"))
    assert found([r"\bbeer\b", r"\bzorblax\b"]) == ["Zorblax night at the gym on Friday."]
    second = set(tmp_path.glob("prefilter-*.hsdb")) - first
    assert len(first) == 1 and len(second) == 1
    assert found([r"\bbeer\b"]) == []  # the first database, read back from the cache
    second.pop().write_bytes(b"not a database\n")
    assert found([r"\bbeer\b", r"\bzorblax\b"]) == ["Zorblax night at the gym on Friday."]


def test_an_unwritable_cache_folder_costs_only_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(blocker / "cache"))
    rules = Prefilter()
    [index] = rules.register("test", [(r"\bhello\b",)])
    assert rules.candidates("Hello there") == (index,)
    assert cache.read_cache("anything") is None


@needs_hyperscan
def test_old_databases_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLAUDIT_CACHE", str(tmp_path))
    for index in range(prefilter.KEPT_DATABASES + 3):
        rules = Prefilter()
        rules.register("test", [(rf"\bword{index}\b",)])
        assert rules.candidates(f"a word{index}.") == (0,)
    assert len(list(tmp_path.glob("prefilter-*.hsdb"))) == prefilter.KEPT_DATABASES


@needs_hyperscan
def test_a_text_is_searched_only_for_the_exceptions_the_prefilter_finds_in_it():
    """A category's `exceptions` and `post_exceptions` (and a rule's `unless`, `requires`, `unless_post`,
    `requires_post`) are asked of the prefilter too, each pattern apart: a text without one is not searched
    for it, nor are its sentences; a text is searched for those it may hold only, which cancel as before."""
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    substances = next(a for a in auditors if getattr(a, "category", "") == "substances")
    exceptions = substances._gate[("exceptions", None)][0]
    banning = [p for p in exceptions if "banned" in p]
    searched = []

    class Watched:
        def __init__(self, key, pattern):
            self.key, self.pattern = key, pattern

        def search(self, text, *args):
            searched.append((self.key, text, self.pattern.pattern))
            return self.pattern.search(text, *args)

        def finditer(self, text, *args):
            searched.append((self.key, text, self.pattern.pattern))
            return self.pattern.finditer(text, *args)

    context = substances._context

    def watched_context(every, key, rule=None):
        pattern = context(every, key, rule)
        return pattern and Watched(key, pattern)

    substances._context = watched_context

    def findings(text):
        post, account = record_to_post({"id": text[:9], "platform": "website", "account": {"name": "demo", "kind": "school"},
                                        "text": text})
        return substances.audit(post, AuditContext(policy, account))

    assert findings("Craft beer night at the pub on Friday!") and searched == []
    banned = "Craft beer is banned at the school fair."
    assert len(banning) == 1 and len(exceptions) > 5
    assert findings(banned) == [] and searched == [("exceptions", banned, joined(banning).pattern)]
    searched.clear()
    framed = "Vaping awareness week: vaping is harmful. Join the vape club!"
    assert findings(framed) == [] and [key for key, _, _ in searched] == ["post_exceptions"] \
        and searched[0][1] == framed and len(searched[0][2]) < len(joined(substances._gate[("post_exceptions", None)][0]).pattern)


def test_the_posts_shown_together_are_read_by_the_prefilter_before_any_is_audited(corpus, monkeypatch):
    """registry.prepare shows a batch to the text auditors: the prefilter reads its posts one after the
    other then (its tables stay in the processor's caches), each post's texts as one (its whole text, not
    each text again), the batch once for all the auditors sharing it (the others read none of its posts
    again), and the audits that follow find every answer kept."""
    import auditors.text as text_module
    from auditors.registry import prepare

    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    engine = shared_prefilter(policy).engine
    read, posts_read = [], []
    original, read_texts = engine.candidates, text_module._read_texts
    monkeypatch.setattr(engine, "candidates", lambda text: read.append(text) or original(text))
    batch = [post for post, _ in corpus[:40]]
    prefilter.forget_texts()
    prepare(auditors, batch)
    wholes = [Reading(post_texts(post)).whole for post in batch]
    assert any(len(post_texts(post)) > 1 for post in batch)
    assert set(read) == set(wholes) and len(read) == len(set(read))
    monkeypatch.setattr(text_module, "_read_texts", lambda *args: posts_read.append(args[0]) or read_texts(*args))
    for auditor in auditors:
        if isinstance(auditor, RuleAuditor):
            auditor.prepare(batch)
    assert posts_read == []
    posts = corpus[:40]
    read.clear()
    _findings(auditors, policy, posts)
    assert read == [] and posts_read == []  # the audits use the readings the batch's prepare made


def test_a_post_read_by_the_text_model_keeps_the_prefilters_answers(corpus, monkeypatch):
    """The text model asks for a post's texts (post_texts) between the rule auditors' questions: the
    prefilter's answers about the post stay with its reading, and no rule auditor asks the prefilter again
    (post_texts replaced the reading with one without them)."""
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    rules = [auditor for auditor in auditors if isinstance(auditor, RuleAuditor)]
    post, account = next((post, account) for post, account in corpus if len(post_texts(post)) > 1)
    context = AuditContext(policy, account)
    first = [auditor.audit(post, context) for auditor in rules]
    asked = []
    shared = shared_prefilter(policy)
    original = shared.candidates
    monkeypatch.setattr(shared, "candidates", lambda text: asked.append(text) or original(text))
    post_texts(post)
    assert [auditor.audit(post, context) for auditor in rules] == first
    assert asked == []
