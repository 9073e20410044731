"""religion_promotion: invitations to worship or prayer, proselytising, scripture distribution, prayer built into school routines. Inclusive holiday greetings, accommodation notices and the academic study of religions are left alone.

The words are in config/rules/religion_promotion.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

from auditors.text import RuleAuditor


class ReligionAuditor(RuleAuditor):
    name = "religion"
    category = "religion_promotion"
