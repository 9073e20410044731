"""What Facebook and Instagram share: the Graph API, its token, its errors and its paging.

The token comes from the environment and travels only in the `Authorization: Bearer` header
(an `access_token` query parameter is removed from any URL before it is sent), and every
error message is redacted. The next page is asked of the configured API base with the `after`
cursor, never of the host named in `paging.next`. `suppress_http_code=1` makes the Graph API answer errors with a 200 and
its error JSON, so that an expired token (OAuthException code 190) is reported as such instead
of a bare HTTP 400.
"""
from __future__ import annotations

from typing import ClassVar

from crawler.result import FetchError
from records.model import Outcome
from crawler.sources.base import Source
from crawler.sources.common import get_json, json_document, with_query

GRAPH_API_BASE = "https://graph.facebook.com/v19.0"
PAGE_SIZE = 100

_AUTH_CODES = {102, 190, 463, 467}
_TEMPORARY_CODES = {1, 2}  # API Unknown, API Service
_RATE_CODES = {4, 17, 32, 341, 613, 80001, 80002, 80004}
_PERMISSION_CODES = {3, 10, 200, 210, 220, 230, 298, 299}


class GraphSource(Source):
    default_api_base: ClassVar[str | None] = GRAPH_API_BASE

    async def graph_get(self, url: str) -> dict:
        """GET a Graph API URL built from the configured base (trusted), with the token as a header;
        the error JSON becomes a FetchError."""
        url = with_query(url, access_token=None, suppress_http_code=1)
        document, fetched = await get_json(self.client, url, headers={"Authorization": f"Bearer {self.token()}"},
                                           trusted=True, robots=False, what="Graph API JSON")
        return self.graph_document(document, fetched.url)

    @classmethod
    def saved_answer(cls, body: bytes, url: str) -> dict:
        """A Graph API answer given as bytes (what `parse` reads), checked as `graph_document` checks it."""
        return cls.graph_document(json_document(body, url, "Graph API JSON"), url)

    @staticmethod
    def graph_document(document, url: str) -> dict:
        """A Graph API answer from `url` as a dict; its error object becomes a FetchError."""
        if not isinstance(document, dict):
            raise FetchError(Outcome.MALFORMED, f"{url}: expected a JSON object", url)
        if isinstance(document.get("error"), dict):
            raise graph_error(document["error"], url)
        return document


def nodes(document: dict) -> list:
    """The nodes of an answer: a page's `data` list, else the answer itself (one node)."""
    data = document.get("data")
    return data if isinstance(data, list) else [document]


def graph_error(error: dict, where: str) -> FetchError:
    """The outcome of a Graph API error object (`{"message", "type", "code", "error_subcode"}`)."""
    code, subcode = error.get("code"), error.get("error_subcode")
    message = (f"{error.get('type', 'GraphError')} code {code}"
               + (f"/{subcode}" if subcode else "") + f": {error.get('message', '')}")
    if code in _TEMPORARY_CODES:  # "An unknown error occurred": Meta's side, not the token
        return FetchError(Outcome.ERROR, f"{where}: a temporary Graph API error, tried again next run ({message})")
    if code in _AUTH_CODES or error.get("type") == "OAuthException" and code is None:
        return FetchError(Outcome.AUTH_MISSING, f"{where}: the token was refused ({message})")
    if code in _RATE_CODES:
        return FetchError(Outcome.RATE_LIMITED, f"{where}: {message}")
    if code == 803 or code == 100 and subcode == 33:
        return FetchError(Outcome.NOT_FOUND, f"{where}: {message}")
    if code in _PERMISSION_CODES or code == 100 and "permission" in str(error.get("message", "")).lower():
        return FetchError(Outcome.BLOCKED, f"{where}: {message}")
    if code == 100 and "does not exist" in str(error.get("message", "")):
        return FetchError(Outcome.NOT_FOUND, f"{where}: {message}")
    return FetchError(Outcome.ERROR, f"{where}: {message}")


def next_page(document: dict, url: str) -> str | None:
    """The next page of `url`: the same request with `after=<cursor>` when `paging.next` says there
    is one. The URL in `paging.next` itself is not followed, so the token never goes to a host
    other than the configured API base."""
    paging = document.get("paging") if isinstance(document.get("paging"), dict) else {}
    cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
    after = cursors.get("after")
    if not paging.get("next") or not isinstance(after, str) or not after:
        return None
    return with_query(url, after=after)
