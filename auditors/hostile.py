"""hostile: profanity (masked or leetspeak too), insults, sarcasm aimed at parents or students, confrontational replies, harassment and rules that conflict with the Ontario Human Rights Code. Firm but polite corrections and sports enthusiasm are left alone.

The words are in config/rules/hostile.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

import re

from auditors.text import RuleAuditor

# "All players are expected to take part", "every student must attend": everyone compelled.
_ALL_EXPECTED = re.compile(
    r"\b(all|every|each|tous les|toutes les|chaque) (students?|children|kids|pupils|players|athletes|members|campers|"
    r"class(es)?|team members|élèves|enfants|joueu(rs|ses))\b[^.!?]{0,40}\b(must|are required to|are expected to|"
    r"will be expected to|have to|need to|shall|is expected to|is required to|doivent|devront|sont tenus de)\b",
    re.IGNORECASE)


class HostileAuditor(RuleAuditor):
    name = "hostile"
    category = "hostile"

    def check_all_expected(self, text: str) -> bool:
        """True when the text says everyone in a group must take part."""
        return bool(_ALL_EXPECTED.search(text))
