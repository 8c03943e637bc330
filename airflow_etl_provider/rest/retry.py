"""When an HTTP call is worth retrying, and how long to wait before the next attempt."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

#: Throttling and server-side failures that usually pass; any other 4xx will not.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Methods whose repetition cannot duplicate data (RFC 9110 section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Answers that say the server did not process the request (RFC 6585 section 4, RFC 9110 section
#: 15.6.4): resending even a POST cannot apply it twice. A 503 counts only with Retry-After.
NOT_PROCESSED_STATUSES = frozenset({429})
NOT_PROCESSED_WITH_RETRY_AFTER = frozenset({503})
#: A Retry-After longer than this is treated as a failure rather than slept through.
MAX_RETRY_AFTER = 3600.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff (`backoff_factor * 2**attempt`, capped) that yields to Retry-After."""

    max_retries: int
    backoff_factor: float = 1.0
    backoff_max: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based) when the server gave no Retry-After."""
        return min(self.backoff_factor * 2 ** (attempt - 1), self.backoff_max)

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Delay before retry `attempt`: the server's Retry-After when given, else the backoff."""
        asked = parse_retry_after(retry_after)
        return self.backoff(attempt) if asked is None else asked


def not_processed(status: int, retry_after: str | None) -> bool:
    """Whether an error answer says the request was not processed, so any method may be resent."""
    return status in NOT_PROCESSED_STATUSES or (status in NOT_PROCESSED_WITH_RETRY_AFTER and bool(retry_after))
