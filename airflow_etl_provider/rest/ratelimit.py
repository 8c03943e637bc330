"""Requests-per-minute limit shared by every call of one connector instance."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Spaces calls evenly: at most `per_minute` starts in any minute (0 means no limit).

    Even spacing rather than bursts keeps us under limits that APIs enforce over windows
    shorter than a minute too.
    """

    def __init__(self, per_minute: float) -> None:
        if per_minute < 0:
            raise ValueError(f"rate_limit must be >= 0 requests per minute, not {per_minute}")
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next_start = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for the next free slot; returns how long it waited (seconds)."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.interval
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return wait
