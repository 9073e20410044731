"""endorsement_commercial: promotion of a business, product or service.

Discounts, promo codes, affiliate and referral links, #ad / paid partnerships and superlatives
about a vendor are flagged. A plain thank-you to a donor or sponsor carries none of these and is
left alone; praise that names a sponsor the board accepts (settings.toml [sponsors] accepted)
is left alone too, through the rules' `unless_check = "accepted_sponsor"`.
The words are in config/rules/endorsement_commercial.toml; the method is auditors.text.RuleAuditor.
"""
from __future__ import annotations

import re

from auditors.text import RuleAuditor


class CommercialAuditor(RuleAuditor):
    name = "commercial"
    category = "endorsement_commercial"

    def __init__(self, policy):
        super().__init__(policy)
        names = sorted(policy.accepted_sponsors, key=len, reverse=True)
        self._sponsors = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE) if names else None

    def check_accepted_sponsor(self, sentence: str) -> bool:
        """True when the sentence names a sponsor the board has accepted."""
        return bool(self._sponsors and self._sponsors.search(sentence))
