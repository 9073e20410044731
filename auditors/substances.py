"""substances: content promoting alcohol, drug or tobacco use.

A term from the rules that stands in a sentence with no prevention or health-education context
is flagged, quoting the sentence.
"""
from __future__ import annotations

import re

from auditors.base import AuditContext
from crawler.models import Finding, Post

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


class SubstancesAuditor:
    name = "substances"
    categories = ("substances",)

    def __init__(self, policy):
        rules = policy["substances"].rules
        self.terms = [re.compile(p, re.IGNORECASE) for p in rules.get("terms", [])]
        self.exceptions = [re.compile(p, re.IGNORECASE) for p in rules.get("exceptions", [])]
        self.explanation = rules.get("explanation", "Mentions {term} in a way that promotes substance use.")

    def audit(self, post: Post, context: AuditContext) -> list[Finding]:
        findings = []
        for where, text in _texts(post):
            for sentence in _SENTENCE.findall(text):
                term = self._promoting_term(sentence)
                if term:
                    findings.append(context.finding("substances", sentence.strip(),
                                                    self.explanation.format(term=f"“{term}”"), self.name, where=where))
        return findings

    def _promoting_term(self, sentence: str) -> str | None:
        if any(e.search(sentence) for e in self.exceptions):
            return None
        for term in self.terms:
            match = term.search(sentence)
            if match:
                return match.group(0)
        return None


def _texts(post: Post):
    yield "text", post.full_text
    for index, media in enumerate(post.media):
        if media.alt:
            yield f"alt:{index}", media.alt
