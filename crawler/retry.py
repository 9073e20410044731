"""When and how long to wait before asking a server again.

Connection errors, 5xx answers (other than 501 / 505, which do not get better) and 429 are
retried up to `retries` times with exponential backoff and jitter (base × 2^attempt, scaled by a
random factor in [0.5, 1.5), capped). A `Retry-After` header (seconds or an HTTP date) replaces
the backoff; a server that asks for more than `max_retry_after` seconds is not waited for: the
fetch ends as `rate_limited` and the next run tries again.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524, 598, 599})


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry (before jitter)
    max_backoff: float = 30.0
    max_retry_after: float = 60.0

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (0 for the first)."""
        return min(self.max_backoff, self.backoff * (2 ** attempt)) * random.uniform(0.5, 1.5)


def retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
