"""The bundled rules on posts kept as data (tests/fixtures/rule_cases/CATEGORY.toml): each case a kind of
phrasing, its posts, whether they must be flagged for the category or left alone, and what reads them (the
rules files alone, or all of `schoolaudit classify`). A new kind of phrasing is a new [[case]], no new code."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.rule_checks import labels, rule_categories

CASES_DIR = Path(__file__).resolve().parent / "fixtures" / "rule_cases"
READERS = {"rules": rule_categories, "classify": labels}


def _posts():
    for path in sorted(CASES_DIR.glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            for number, text in enumerate(case["texts"], 1):
                yield pytest.param(case, text, id=f"{path.stem}-{case['name']}-{number}")


@pytest.mark.parametrize("case, text", list(_posts()))
def test_the_rules_flag_or_leave_the_post_as_its_case_says(engine, case, text):
    found = READERS[case["reads"]](engine, text)
    assert (case["category"] in found) is case["flagged"], f"{case['name']}: {case.get('why', '')}"


def test_every_case_is_complete_and_names_a_known_category_and_reader():
    from records.model import CATEGORIES

    names = set()
    for path in sorted(CASES_DIR.glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            assert case["category"] == path.stem in CATEGORIES and case["reads"] in READERS
            assert isinstance(case["flagged"], bool) and case["texts"] and case["name"] not in names
            names.add(case["name"])
