"""The source contract: one module per platform, each a `Source` subclass.

A source turns an account's target (feed URL, handle, page name) into `Post`s. It talks to the
network only through the shared `HttpClient`, raises `FetchError` with an `Outcome` when the
account cannot be read, and never crashes on malformed data: bad items are skipped and counted.
A source whose platform needs a token reads it from the environment variable `token_env`; when
it is missing, `Source.check_ready` says so once, as an `auth_missing` outcome.
"""
from __future__ import annotations

import os
from typing import ClassVar

from crawler.http import HttpClient
from crawler.result import FetchError, FetchResult
from records.model import Account, Outcome


class Source:
    platform: ClassVar[str]
    token_env: ClassVar[str | None] = None
    default_api_base: ClassVar[str | None] = None

    def __init__(self, client: HttpClient, api_base: str | None = None):
        self.client = client
        self.api_base = (api_base or self.default_api_base or "").rstrip("/")

    @classmethod
    def token(cls) -> str | None:
        return os.environ.get(cls.token_env) if cls.token_env else None

    @classmethod
    def check_ready(cls) -> None:
        """Raise `auth_missing` when this platform needs a token that the environment lacks."""
        if cls.token_env and not cls.token():
            raise FetchError(Outcome.AUTH_MISSING,
                             f"{cls.platform}: set the environment variable {cls.token_env} to read this platform")

    def base_url(self, account: Account) -> str:
        """The API base for `account`: its own `api_base`, else the source's (configured or default)."""
        return (account.api_base or self.api_base or "").rstrip("/")

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        raise NotImplementedError
