"""What a fetch gives back: the posts a source read, or a `FetchError` saying why it could not.

Errors are typed: what a caller decides on is a field, never a word read back out of a message.
`HttpError` is a server's answer that ended the fetch (its `status`), `RedirectError` a chain of
redirects that went nowhere. Every detail is redacted (crawler.secrets) when the error is made,
so no token a server echoes back is ever stored, printed or sent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from crawler.secrets import redact
from records.model import Outcome, Post


class FetchError(Exception):
    """A fetch failed for a reason worth recording; `outcome` says which kind, `url` where (when known)."""

    def __init__(self, outcome: Outcome, detail: str, url: str | None = None):
        detail = redact(detail)
        super().__init__(f"{outcome.value}: {detail}")
        self.outcome = outcome
        self.detail = detail
        self.url = url


class HttpError(FetchError):
    """The server answered with an HTTP error `status` (after any retries)."""

    def __init__(self, outcome: Outcome, detail: str, url: str, status: int):
        super().__init__(outcome, detail, url)
        self.status = status


class RedirectError(FetchError):
    """Redirects that loop or go on too long: the URL cannot be had."""

    def __init__(self, detail: str, url: str):
        super().__init__(Outcome.ERROR, detail, url)


@dataclass
class FetchResult:
    """What a source returned for one account in one crawl."""

    posts: list[Post]
    not_modified: bool = False  # the server said 304: nothing to parse or re-audit
    complete_window: bool = True  # posts cover the source's whole window (safe to mark removals)
    #: (url, etag, last_modified) of conditional fetches behind these posts: remembered only once they are stored,
    #: so that a body that could not be parsed or stored is fetched in full again next run.
    validators: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def with_validators(self, *fetched) -> "FetchResult":
        """This result, remembering the validators of the conditional fetches (`Fetched`) behind it."""
        self.validators.extend(answer.validators for answer in fetched)
        return self
