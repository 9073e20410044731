"""privacy: personal information in a post or its alt text.

A student's full name with health, learning, discipline, custody or marks information; home
addresses; personal phone numbers and email addresses; student numbers and OENs; licence
plates; documents with personal details visible in an image; a named child's whereabouts.
First names of award winners, staff named with their title, work emails and office lines are
left alone. The words are in config/rules/privacy.toml (with `not_names` and `titles` for the
full-name check); the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

from auditors.text import RuleAuditor


class PrivacyAuditor(RuleAuditor):
    name = "privacy"
    category = "privacy"
