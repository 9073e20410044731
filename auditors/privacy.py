"""privacy: personal information in a post or its alt text.

A student's full name with health, learning, discipline, custody or marks information; home
addresses; personal phone numbers and email addresses; student numbers and OENs; licence
plates; documents with personal details visible in an image; a named child's whereabouts.
First names of award winners, staff named with their title, work emails and office lines are
left alone. The words are in config/rules/privacy.toml (with `not_names` and `titles` for the
full-name check); the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

import re

from auditors.text import RuleAuditor

_CAPITALISED = re.compile(r"(?<![\w@#])([A-ZÀ-Ý][a-zà-ÿ]+(?:[-'’][A-ZÀ-Ýa-zà-ÿ]+)?)(?:['’]s)?(?![\w@])")


class PrivacyAuditor(RuleAuditor):
    name = "privacy"
    category = "privacy"

    def __init__(self, policy):
        super().__init__(policy)
        rules = policy["privacy"].rules
        self.not_names = frozenset(w.lower() for w in rules.get("not_names", []))
        self.titles = frozenset(w.lower().rstrip(".") for w in rules.get("titles", []))

    def check_full_name(self, sentence: str) -> bool:
        """True when the sentence names someone by first and last name, without a staff title before."""
        words = list(_CAPITALISED.finditer(sentence))
        for first, last in zip(words, words[1:]):
            gap = sentence[first.end():last.start()]
            if gap != " " or first.group(1).lower() in self.not_names or last.group(1).lower() in self.not_names:
                continue
            before = sentence[:first.start()].rstrip().rstrip(".").split()
            if before and before[-1].lower() in self.titles:
                continue
            return True
        return False
