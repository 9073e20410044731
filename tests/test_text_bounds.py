"""The text rules' work grows linearly with the length of a post, whatever the post holds.

Measured as growth, not as a time limit: the CPU time per audit of 4n characters over that of n
characters is near 4 when the work is linear and near 16 when it is quadratic (a long run of "(",
which every leetspeak "c" accepted; a long sentence whose every match re-read the whole sentence).
bench/long_posts.py prints the absolute times.
"""
from __future__ import annotations

import math
import re
import time
import timeit

import pytest

from auditors.base import AuditContext
from auditors.text import RuleAuditor, forget_texts, obfuscated_words
from records.model import Account, Post
from schoolaudit.commands.classify import load
from schoolaudit.config import DEFAULT_CONFIG_DIR

#: Linear work gives a ratio near 4, quadratic near 16: 8 leaves room for a busy machine.
MAX_GROWTH = 8.0


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


WORST_CASES = {
    "open parens": lambda n: "(" * n,
    "marks without a space": lambda n: "!" * (n // 2) + "." * (n // 2) + "x",
    "bars and ones": lambda n: _repeat("|1", n),
    "ones and marks": lambda n: _repeat("1!", n),
    "dotted words, no @": lambda n: _repeat("www.", n),
    "digits and dashes": lambda n: _repeat("12-", n),
    "one sentence, many rejected matches": lambda n: _repeat("Moby Dick is stupid, so stupid and lazy ", n),
    "many sentences, every one rejected": lambda n: _repeat("Moby Dick asthma is on crack. ", n),
    "capitalised words that are not names": lambda n: _repeat("Grand River Long Point Public School ", n),
}


@pytest.fixture(scope="module")
def text_auditors():
    policy, auditors = load(str(DEFAULT_CONFIG_DIR))
    context = AuditContext(policy, Account(id="a", name="a", kind="school", platform="x", target="a"))
    return [a for a in auditors if isinstance(a, RuleAuditor)], context


def _seconds_per_call(call) -> float:
    """CPU seconds of one call: the least of three rounds of about 20 ms each."""
    timer = timeit.Timer(call, timer=time.process_time)
    loops = max(1, math.ceil(0.02 / max(timer.timeit(1), 1e-6)))
    return min(timer.repeat(repeat=3, number=loops)) / loops


def _growth(call_at) -> float:
    return _seconds_per_call(lambda: call_at(4)) / _seconds_per_call(lambda: call_at(1))


@pytest.mark.parametrize("case", WORST_CASES)
def test_auditing_a_worst_case_post_grows_linearly(text_auditors, case):
    auditors, context = text_auditors
    posts = {k: Post("a", "x", "1", None, None, WORST_CASES[case](3000 * k)) for k in (1, 4)}

    def audit(k):
        forget_texts()  # each round reads the text afresh, as a crawl does
        for auditor in auditors:
            auditor.audit(posts[k], context)

    assert _growth(audit) < MAX_GROWTH


def test_a_masked_word_with_a_long_run_of_masks_is_rejected_in_linear_time():
    # Every letter after the first accepts a mask: sharing 64 "*" among the six letters of "fucking"
    # used to be tried every way (seconds), before the match failed on the "x".
    pattern = re.compile(obfuscated_words(["fucking", "motherfucker"]), re.IGNORECASE)
    assert _growth(lambda k: pattern.search(" f" + "*" * (16 * k) + "x")) < MAX_GROWTH
    assert not pattern.search(" f" + "*" * 64 + "x")
    assert pattern.search(" f*****g ") and pattern.search("(f***ing)")
