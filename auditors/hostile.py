"""hostile: profanity (masked or leetspeak too), insults, sarcasm aimed at parents or students, confrontational replies, harassment, public shaming, condescension, put-downs of other teams and rules that conflict with the Ontario Human Rights Code. Firm but polite corrections and sports enthusiasm are left alone.

The words are in config/rules/hostile.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

import re

from auditors.text import RuleAuditor

# "All players are expected to take part", "every student must attend", "every St. Mary's student will
# pray ..., no exceptions" (in that sentence or the next words): everyone compelled (a school's name may stand between "every" and "student").
_EVERYONE = (r"\b(all|every|each|tous les|toutes les|chaque) ([\w.\x27’-]+ ){0,3}?(students?|children|kids|pupils|"
             r"players|athletes|members|campers|class(es)?|team members|élèves|enfants|joueu(rs|ses))\b")
_ALL_EXPECTED = re.compile(
    _EVERYONE + r"[^.!?]{0,40}\b(must|are required to|are expected to|will be expected to|have to|need to|shall|"
    r"is expected to|is required to|doivent|devront|sont tenus de)\b"
    + "|" + _EVERYONE + r"[^.!?]{0,60}\b(will|vont|va)\b[^.!?]{0,80}[.!]?\s*\b(no exceptions?|without exception|sans exception)\b",
    re.IGNORECASE)


class HostileAuditor(RuleAuditor):
    name = "hostile"
    category = "hostile"

    def check_all_expected(self, text: str) -> bool:
        """True when the text says everyone in a group must take part."""
        return bool(_ALL_EXPECTED.search(text))
