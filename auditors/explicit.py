"""explicit: sexual or explicit text or described images, innuendo and adult spam. Health-curriculum wording and rude substrings of names are left alone.

The words are in config/rules/explicit.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

from auditors.text import RuleAuditor


class ExplicitAuditor(RuleAuditor):
    name = "explicit"
    category = "explicit"
