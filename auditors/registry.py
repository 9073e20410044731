"""The ordered table of auditors, and running them over a post.

Each row names `module:Class`. An auditor is built once with the policy; one that raises
`Disabled` (missing model package or setting) is left out with its reason, reported once.
An auditor that fails on one post is recorded and skipped; the others still run.
"""
from __future__ import annotations

import logging
from importlib import import_module

from auditors.base import AuditContext, Auditor, Disabled, Policy
from crawler.models import Finding, Post

log = logging.getLogger(__name__)

#: Every auditor, in the order they run. Add a concern by adding a module and a row.
AUDITORS: tuple[str, ...] = (
    "auditors.repost:RepostAuditor",
    "auditors.photo_captions:PhotoCaptionAuditor",
    "auditors.image_auditors:StudentPhotoImageAuditor",
    "auditors.commercial:CommercialAuditor",
    "auditors.political:PoliticalAuditor",
    "auditors.religion:ReligionAuditor",
    "auditors.substances:SubstancesAuditor",
    "auditors.explicit:ExplicitAuditor",
    "auditors.image_auditors:ExplicitImageAuditor",
    "auditors.hostile:HostileAuditor",
    "auditors.privacy:PrivacyAuditor",
)


def load_auditors(policy: Policy, table: tuple[str, ...] = AUDITORS) -> tuple[list[Auditor], dict[str, str]]:
    """The auditors that can run here, and {name: reason} for those that disabled themselves."""
    ready, disabled = [], {}
    for row in table:
        module_name, _, class_name = row.partition(":")
        cls = getattr(import_module(module_name), class_name)
        categories = getattr(cls, "categories", None) or (cls.category,)  # one-category auditors name `category`
        if not any(policy.enabled(c) for c in categories):
            disabled[cls.name] = "its categories are disabled in the policy"
            continue
        try:
            ready.append(cls(policy))
        except Disabled as reason:
            disabled[cls.name] = str(reason)
            log.warning("auditor %s disabled: %s", cls.name, reason)
    return ready, disabled


def audit_post(post: Post, context: AuditContext, auditors: list[Auditor]) -> list[Finding]:
    """All findings of all auditors on one post, without duplicates, in category order."""
    findings: dict[tuple, Finding] = {}
    for auditor in auditors:
        try:
            produced = list(auditor.audit(post, context))
        except Exception:  # one auditor's bug must not lose the others' findings
            log.exception("auditor %s failed on post %s", auditor.name, post.key)
            continue
        for finding in produced:
            if context.policy.enabled(finding.category):
                findings.setdefault((finding.category, finding.where, finding.evidence), finding)
    return list(findings.values())
