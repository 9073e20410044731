"""endorsement_political: support for or attacks on parties, candidates and campaigns, petitions, rallies, "vote for". Non-partisan civic education (student votes, mock elections, all-candidates meetings, Remembrance Day, an official at an event) is left alone.

The words are in config/rules/endorsement_political.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

from auditors.text import RuleAuditor


class PoliticalAuditor(RuleAuditor):
    name = "political"
    category = "endorsement_political"
