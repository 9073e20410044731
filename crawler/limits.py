"""The crawl's defaults that settings.toml documents, apart from the HTTP client and media code so that
reading the configuration does not import httpx, sqlite-utils or Pillow (a `classify` starts faster)."""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_TIMEOUT = 20.0
#: Images kept and downloaded per post.
MAX_IMAGES_PER_POST = 20


@dataclass(frozen=True)
class ClientSettings:
    """The `[crawl]` settings the client reads; these defaults are settings.toml's (schoolaudit.config
    takes them from here, README "settings.toml" lists them)."""

    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    retries: int = 3
    backoff: float = 1.0
    max_retry_after: float = 60.0
    per_host_concurrency: int = 2
    per_host_delay: float = 0.5
    obey_robots: bool = True
    allow_private_addresses: bool = False  # only the demo and tests, whose servers are on 127.0.0.1
