"""hostile: profanity (masked or leetspeak too), insults, sarcasm aimed at parents or students, confrontational replies, harassment and rules that conflict with the Ontario Human Rights Code. Firm but polite corrections and sports enthusiasm are left alone.

The words are in config/rules/hostile.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

from auditors.text import RuleAuditor


class HostileAuditor(RuleAuditor):
    name = "hostile"
    category = "hostile"
