"""endorsement_repost: sharing another account's post is perceived as an endorsement.

A repost, boost, retweet, share or quote of an account outside the board's family (its own
registered accounts and the partners listed in settings) is flagged whatever its content.
"""
from __future__ import annotations

from auditors.base import AuditContext
from records.model import Finding, Post


class RepostAuditor:
    name = "repost"
    categories = ("endorsement_repost",)

    def __init__(self, policy):
        self.policy = policy

    def audit(self, post: Post, context: AuditContext) -> list[Finding]:
        ref = post.repost_of
        if ref is None:
            return []
        external = ref.external if ref.external is not None else not self.policy.is_family(ref.handle)
        if not external:
            return []
        verb = "Quotes" if ref.kind == "quote" else "Reposts"
        return [context.finding(
            "endorsement_repost", ref.handle,
            f"{verb} a post by {ref.handle}, an account outside the board and its partners; "
            "a repost is perceived as an endorsement.",
            self.name, where="repost")]
