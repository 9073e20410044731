"""Named patterns of a rules file (`[patterns]`, used as `(?&name)`): written once, read by several rules."""
from __future__ import annotations

import shutil

import pytest

from auditors.base import AuditContext, CategoryPolicy, Policy, RulesError
from auditors.text import RuleAuditor, compile_rules, expand_named_patterns
from records.model import CATEGORIES, Post
from schoolaudit.cli import main
from schoolaudit.config import DEFAULT_CONFIG_DIR

SHARED = {
    "patterns": {"pets": r"\b(cats?|dogs?)\b", "farm": r"(?&pets)|\bcows?\b"},
    "exceptions": [r"\b(?&farm) show\b"],
    "rules": [
        {"id": "terms", "explanation": "Says “{term}”.", "terms": [r"\bhate (?&pets)\b"]},
        {"id": "near", "explanation": "Says “{term}”.", "terms": [r"\bawful\b"], "unless_near": ["(?&farm)"], "near": 10},
        {"id": "sentence", "explanation": "Says “{term}”.", "terms": [r"\bugly\b"], "unless": ["(?&pets)"]},
    ],
}


class _Hostile(RuleAuditor):
    name, category = "t", "hostile"


def _audit(rules: dict, text: str) -> list[str]:
    cats = {c: CategoryPolicy(c, f"clause {c}", "medium") for c in CATEGORIES}
    cats["hostile"] = CategoryPolicy("hostile", "Respect others.", "high", rules=rules)
    policy = Policy(cats)
    return [f.evidence for f in _Hostile(policy).audit(Post("a", "x", "1", None, None, text), AuditContext(policy))]


@pytest.mark.parametrize("text, flagged", [
    ("We hate dogs.", True),  # a term made of a named pattern, found through the prefilter
    ("We hate cows.", False),
    ("The hate cats show.", False),  # an exception using a name that uses another
    ("That was awful.", True),
    ("An awful cow.", False),  # unless_near
    ("Cows are ugly.", True),
    ("Cats are ugly.", False),  # unless, in the sentence
])
def test_a_named_pattern_serves_terms_context_and_exceptions_through_the_prefilter(text, flagged):
    assert bool(_audit(SHARED, text)) == flagged


def test_a_rule_reads_the_same_with_the_name_as_with_the_pattern_written_out():
    rules, _ = compile_rules("hostile", SHARED)
    assert rules[0].sources["terms"] == (r"\bhate (?:\b(cats?|dogs?)\b)\b",)
    assert rules[1].sources["unless_near"] == (r"(?:(?:\b(cats?|dogs?)\b)|\bcows?\b)",)


@pytest.mark.parametrize("rules, message", [
    ({"rules": [{"id": "r", "explanation": "x.", "terms": ["a"], "unless": ["(?&pet)"]}], "patterns": {"pets": "cat"}},
     r"rules/hostile.toml \[\[rules\]\] r: unless: unknown pattern name 'pet' in '\(\?&pet\)' \(named: pets\)"),
    ({"rules": [{"explanation": "x.", "terms": ["(?&pets)"]}]},
     r"rules/hostile.toml \[\[rules\]\] rule 1: terms: unknown pattern name 'pets' .*no \[patterns\] table"),
    ({"patterns": {"farm": "(?&pets)", "pets": "cat"}, "rules": []},  # a name is known below its definition only
     r"rules/hostile.toml: patterns.farm: pattern 'pets' in '\(\?&pets\)' is used above its definition \(define "
     r"patterns.pets higher in the table\)$"),
    ({"patterns": {"pets": "cat|(?&pets)"}, "rules": []},
     r"rules/hostile.toml: patterns.pets: pattern 'pets' in '\(\?&pets\)' uses itself$"),
    ({"patterns": {"pets": 5}, "rules": [{"explanation": "x.", "terms": ["(?&pets)"]}]},  # said once, at its definition
     r"^rules/hostile.toml: patterns.pets: must be a pattern \(a string\), not 5$"),
    ({"patterns": {"pets": "(cat", "farm": "(?&pets)|cow"}, "rules": [{"explanation": "x.", "terms": ["(?&pets)"]}]},
     r"^rules/hostile.toml: patterns.pets: bad pattern '\(cat': missing \), unterminated subpattern at position 0$"),
    ({"patterns": {"pets": "cat"}, "rules": [{"id": "r", "explanation": "x.", "words": ["hate", "(?&pets)s"]}]},
     r"^rules/hostile.toml \[\[rules\]\] r: words: '\(\?&pets\)' in '\(\?&pets\)s': `words` are literal words; "
     r"a named pattern is read in `terms` and the context keys$"),
    ({"rules": [{"explanation": "x.", "terms": ["a"], "spaced": "(?&pets)"}]}, r"rule 1: spaced: '\(\?&pets\)' in"),
    ({"patterns": "cat", "rules": []}, r"^rules/hostile.toml: patterns: must be a table of named patterns, not 'cat'$"),
    ({"exceptions": ["(?&pets)"], "rules": []}, r"rules/hostile.toml: exceptions: unknown pattern name 'pets'"),
    ({"patterns": {"pet": "cat"}, "post_exceptions": ["(?&pet-show)"], "rules": []},  # any bare key is a name
     r"rules/hostile.toml: post_exceptions: unknown pattern name 'pet-show' in '\(\?&pet-show\)' \(named: pet\)"),
])
def test_an_unknown_name_is_a_rules_error_naming_the_file_and_the_rule(rules, message):
    with pytest.raises(RulesError, match=message):
        compile_rules("hostile", rules)


def test_an_unknown_name_is_reported_once_and_matches_nothing_so_a_checker_reads_on():
    reported = []
    expanded = expand_named_patterns({"rules": [{"terms": ["a(?&b)", "(?&c)"]}]}, lambda *problem: reported.append(problem))
    assert reported == [(("rules", 0, "terms"), "unknown pattern name 'b' in '(?&b)' (no [patterns] table)"),
                        (("rules", 0, "terms"), "unknown pattern name 'c' in '(?&c)' (no [patterns] table)")]
    assert expanded["rules"][0]["terms"] == ["a(?!)", "(?!)"]


def test_check_refuses_a_name_in_literal_words_in_one_line(tmp_path, capsys):
    code, out, path, text = _check_edited(tmp_path, capsys, "words = [", "words = ['(?&look_alikes)', ")
    line = text[:text.index("words = ['(?&look_alikes)'")].count("\n") + 1
    assert code == 1 and len(out) == 2 and out[0].startswith(f"{path}:{line}: rules["), out
    assert out[0].endswith(".words: '(?&look_alikes)' in '(?&look_alikes)': `words` are literal words; a named pattern "
                           "is read in `terms` and the context keys"), out


def _check_edited(tmp_path, capsys, old: str, new: str) -> tuple[int, list[str], str, str]:
    """`schoolaudit check` of the bundled rules with the first `old` of explicit.toml made `new`: its exit code,
    its lines, the file's path and its text."""
    folder = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, folder)
    path = folder / "rules/explicit.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return main(["--config", str(folder), "check"]), capsys.readouterr().out.splitlines(), str(path), text


def test_check_names_an_unknown_pattern_name_in_one_line_with_its_line(tmp_path, capsys):
    code, out, path, text = _check_edited(tmp_path, capsys, "unless = ['(?&look_alikes)']", "unless = ['(?&look_alike)']")
    line = text[:text.index("(?&look_alike)'")].count("\n") + 1
    assert code == 1
    assert out[0].startswith(f"{path}:{line}: rules[1].unless: unknown pattern name 'look_alike'") and len(out) == 2, out


@pytest.mark.parametrize("definition, line", [
    ("early = '(?&look_alikes)'", "patterns.early: pattern 'look_alikes' in '(?&look_alikes)' is used above its "
                                  "definition (define patterns.look_alikes higher in the table)"),
    ("early = 'a|(?&early)'", "patterns.early: pattern 'early' in '(?&early)' uses itself"),
    ("early = 5\nlater = '(?&early)'", "patterns.early must be a string, not 5"),
])
def test_check_says_why_a_name_defined_in_the_table_cannot_be_used_once_in_one_line(tmp_path, capsys, definition, line):
    code, out, path, text = _check_edited(tmp_path, capsys, "[patterns]\n", f"[patterns]\n{definition}\n")
    defined_at = text[:text.index("[patterns]\n")].count("\n") + 2  # the line after the table's header
    assert code == 1 and out == [f"{path}:{defined_at}: {line}", f"1 problem(s) in {tmp_path / 'config'}"], out


def test_check_reads_a_named_pattern_that_uses_another_as_expanded(tmp_path, capsys):
    code, out, _, _ = _check_edited(tmp_path, capsys, "[patterns]\n", "[patterns]\nearly = 'x'\nlater = '(?&early)|y'\n")
    assert code == 0, out


def test_check_reports_a_named_pattern_that_does_not_compile_once_at_its_definition(tmp_path, capsys):
    """Not again at each rule that uses it, each with the whole expanded pattern."""
    code, out, path, text = _check_edited(tmp_path, capsys, "kitchen_and_market = '", "kitchen_and_market = '(")
    line = text[:text.index("kitchen_and_market = '")].count("\n") + 1
    assert code == 1 and len(out) == 2 and out[0].startswith(f"{path}:{line}: patterns.kitchen_and_market must be a "
                                                             f"regular expression (missing ), unterminated subpattern"), out


def test_a_use_of_a_named_pattern_that_does_not_compile_matches_nothing_and_the_table_comes_back_expanded():
    reported = []
    expanded = expand_named_patterns({"patterns": {"bad": "(cat", "pets": "dog", "farm": "(?&pets)|cow"},
                                      "rules": [{"terms": ["(?&bad)", "(?&farm)"]}]}, lambda *problem: reported.append(problem))
    assert reported == []
    assert expanded["patterns"] == {"bad": "(cat", "pets": "dog", "farm": "(?:dog)|cow"}
    assert expanded["rules"][0]["terms"] == ["(?!)", "(?:(?:dog)|cow)"]


@pytest.mark.parametrize("name, used", [
    ("explicit", {"look_alikes": 2, "food_and_garden": 2, "kitchen_and_market": 2}),
    ("hostile", {"our_own_before": 2}),
    ("endorsement_commercial", {"people_and_results": 2, "public_places": 2}),
    ("privacy", {"shared_with_consent": 3}),
    ("substances", {"about_alcohol": 5, "refused_before": 2, "tobacco_litter": 2}),
])
def test_the_bundled_rules_write_each_shared_list_once(name, used):
    """The lists that were copied by hand between rules (and drifted) are named once and used by each rule."""
    text = (DEFAULT_CONFIG_DIR / "rules" / f"{name}.toml").read_text(encoding="utf-8")
    assert {pattern: text.count(f"(?&{pattern})") for pattern in used} == used
