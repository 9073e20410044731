"""What the bundled text auditors find in one post: helpers for the rule tests (the `engine` fixture, the
policy and auditors loaded once a session, is in conftest.py)."""
from __future__ import annotations

from auditors.base import AuditContext
from auditors.text import RuleAuditor
from schoolaudit.commands.classify import classify
from schoolaudit.corpus import record_to_post


def labels(engine, text: str) -> list[str]:
    post, account = record_to_post({"id": "p", "text": text, "image_alt": [], "repost_of": None})
    return classify(post, account, *engine)["labels"]


def rule_labels(engine, text: str) -> list[str]:
    """Categories the rules find (the statistical model's findings left out)."""
    post, account = record_to_post({"id": "p", "text": text, "image_alt": [], "repost_of": None})
    return [f["category"] for f in classify(post, account, *engine)["findings"] if "statistical model" not in f["explanation"]]


def rules_alone(engine, text: str, alt: tuple[str, ...] = ()) -> list[str]:
    """Categories the rules files find, before the statistical model has its say (vetoes included)."""
    policy, auditors = engine
    post, account = record_to_post({"id": "p", "text": text, "image_alt": list(alt), "repost_of": None})
    return [f.category for a in auditors if isinstance(a, RuleAuditor) for f in a.audit(post, AuditContext(policy, account))]


def rule_categories(engine, text: str) -> set[str]:
    """The categories of `rules_alone`, each once."""
    return set(rules_alone(engine, text))


def severities(engine, text: str) -> dict[str, str]:
    post, account = record_to_post({"id": "p", "text": text, "image_alt": [], "repost_of": None})
    return {f["category"]: f["severity"] for f in classify(post, account, *engine)["findings"]}
