"""substances: content promoting alcohol, drug, tobacco or vaping use.

Socials at a bar or brewery, wine raffles, beer gardens, "you've earned that wine" jokes, 4/20
posts and vape memes are flagged. Prevention and health education anywhere in the post,
smoke-free reminders, prohibitions, look-alike words (root beer, smoke alarm) and ceremonial
tobacco in Indigenous education are left alone. A drug word used as an insult is `hostile`'s.
The words are in config/rules/substances.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

from auditors.text import RuleAuditor


class SubstancesAuditor(RuleAuditor):
    name = "substances"
    category = "substances"
