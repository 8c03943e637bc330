"""Errors raised by the REST client; messages carry no secrets (URLs are redacted first)."""

from __future__ import annotations

from airflow_etl_provider.exceptions import SourceError


class RestApiError(SourceError):
    """An HTTP call failed for good: a non-retryable status, or retries ran out."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        self.status = status
        self.url = url
        super().__init__(message)


class UntrustedOriginError(RestApiError):
    """Refused before sending: the request would carry the credentials to an origin not trusted with them."""


class PaginationError(SourceError):
    """Pagination cannot go on safely: a repeated page token, or the max-pages guard tripped."""
