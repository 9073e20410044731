"""The shared text machinery: sentences, obfuscated words, which texts are read, rule compiling."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditors.base import AuditContext, CategoryPolicy, Policy
from auditors.text import RuleAuditor, evidence_span, obfuscated_words, post_texts, sentence_spans, _lowered_pattern
from records.model import CATEGORIES, Media, Post
from auditors.base import RulesError


def sentences(text):
    return [text[a:b] for a, b in sentence_spans(text)]


def test_sentences_split_on_end_marks_and_lines_but_not_abbreviations_or_decimals():
    assert sentences("Mr. Lee won. Next up: 3.5 km run at 1 p.m. today!\nSee you") == [
        "Mr. Lee won.", "Next up: 3.5 km run at 1 p.m. today!", "See you"]


@pytest.mark.parametrize("text", ["f*ck", "F***", "sh!t", "a$$hole", "fuuuck", "sh1t", "Merde"])
def test_obfuscated_words_match_masked_and_leetspeak_spellings(text):
    assert re.search(obfuscated_words(["fuck", "shit", "asshole", "merde"]), text, re.IGNORECASE)


@pytest.mark.parametrize("text", ["class", "Assembly", "shitake", "passes", "Scunthorpe"])
def test_obfuscated_words_do_not_match_inside_other_words(text):
    assert not re.search(obfuscated_words(["ass", "shit", "cunt"]), text, re.IGNORECASE)


def test_lowered_pattern_keeps_escapes_and_refuses_case_sensitive_parts():
    assert _lowered_pattern(r"\bMADD\S+\W") == r"\bmadd\S+\W"
    assert _lowered_pattern(r"(?-i:[A-Z])\w+") is None


def test_post_texts_read_title_body_and_each_non_empty_alt_text():
    post = Post("a", "x", "1", None, None, "Body", media=[Media("u1", "first"), Media("u2", ""), Media("u3", "third")],
                title="Title")
    assert post_texts(post) == [("text", "Title\nBody"), ("alt:0", "first"), ("alt:2", "third")]
    assert post_texts(post, "alt") == [("alt:0", "first"), ("alt:2", "third")]


def test_long_sentence_evidence_is_cut_at_word_boundaries_around_the_term():
    text = "word " * 100 + "TERM " + "word " * 100
    start = text.index("TERM")
    quote = evidence_span(text, (0, len(text.rstrip())), (start, start + 4))
    assert "TERM" in quote and quote in text and len(quote) <= 230 and quote.startswith("word")


def _policy(rules: dict) -> Policy:
    cats = {c: CategoryPolicy(c, f"clause {c}", "medium") for c in CATEGORIES}
    cats["hostile"] = CategoryPolicy("hostile", "Respect others.", "high", rules=rules)
    return Policy(cats)


class _Hostile(RuleAuditor):
    name, category = "t", "hostile"


def test_rule_context_sentence_scope_negation_and_post_exceptions():
    policy = _policy({"rules": [{"id": "r", "explanation": "Says “{term}”.", "terms": [r"\bbad\b"],
                                 "unless": [r"\bokay\b"], "unless_before": [r"\bnot\s+$"]}],
                      "post_exceptions": [r"\bquoted\b"]})
    auditor = _Hostile(policy)
    context = AuditContext(policy)
    audit = lambda text: [(f.evidence, f.explanation, f.severity) for f in auditor.audit(  # noqa: E731
        Post("a", "x", "1", None, None, text), context)]
    assert audit("It is okay. That was bad!") == [("That was bad!", "Says “bad”.", "high")]
    assert audit("That was bad, okay?") == []
    assert audit("That was not bad.") == []
    assert audit("A quoted line. That was bad.") == []


def test_a_bad_pattern_or_unknown_check_is_a_rules_error_naming_the_file():
    with pytest.raises(RulesError, match="rules/hostile.toml"):
        _Hostile(_policy({"rules": [{"id": "r", "explanation": "x.", "terms": ["(unclosed"]}]}))
    with pytest.raises(RulesError, match="unknown check"):
        _Hostile(_policy({"rules": [{"id": "r", "explanation": "x.", "terms": ["a"], "requires_check": "nope"}]}))


def test_every_rules_file_compiles_with_english_and_french_terms():
    from schoolaudit.config import DEFAULT_CONFIG_DIR, load_policy, load_settings
    from auditors.registry import load_auditors
    policy = load_policy(DEFAULT_CONFIG_DIR, load_settings(DEFAULT_CONFIG_DIR))
    auditors, disabled = load_auditors(policy)
    text_auditors = [a for a in auditors if isinstance(a, RuleAuditor)]
    assert {a.category for a in text_auditors} == set(CATEGORIES) - {"endorsement_repost"}
    for auditor in text_auditors:
        source = (Path(DEFAULT_CONFIG_DIR) / "rules" / f"{auditor.category}.toml").read_text(encoding="utf-8")
        assert re.search(r"[éèàç]", source), f"{auditor.category}: no French terms"


def test_match_prefixes_are_sound_on_examples():
    from auditors.prefilter import match_prefixes
    assert match_prefixes(r"\b(foo|ba[rz])s?\b") == frozenset({"foo", "foos", "bar", "bars", "baz", "bazs"})
    assert match_prefixes(r"\d+ apples") is None  # starts with a class too wide to list
    prefixes = match_prefixes(r"\bwine (tasting|raffle)")
    assert all("wine raffle".startswith(p) or "wine tasting".startswith(p) for p in prefixes)


def test_a_full_name_is_found_however_often_the_same_text_was_read_before():
    """restored_case is cached: for an equal text it hands back the first string it saw, which is not
    the one passed. FullNames took that for a post without case, so a name was missed the second time."""
    from auditors.text import FullNames, forget_texts

    forget_texts()
    full_names = FullNames([], [])
    text = "So proud of Jacob Ross, who has autism."
    assert full_names(text)
    assert full_names("".join(["So proud of Jacob Ross, ", "who has autism."]))  # equal text, another string
