"""What a fetch gives back: the posts a source read, or a `FetchError` saying why it could not."""
from __future__ import annotations

from dataclasses import dataclass

from records.model import Outcome, Post


class FetchError(Exception):
    """A fetch failed for a reason worth recording; `outcome` says which kind."""

    def __init__(self, outcome: Outcome, detail: str):
        super().__init__(f"{outcome.value}: {detail}")
        self.outcome = outcome
        self.detail = detail


@dataclass
class FetchResult:
    """What a source returned for one account in one crawl."""

    posts: list[Post]
    not_modified: bool = False  # the server said 304: nothing to parse or re-audit
    complete_window: bool = True  # posts cover the source's whole window (safe to mark removals)
