"""The HTTP client under the REST connector: one `requests.Session`, retries, rate limit, auth.

Retries: 429/500/502/503/504 and connection errors, with exponential backoff or the
server's Retry-After. A 401 lets the auth strategy renew its credentials once. Every other
4xx fails at once with the status, the URL (credential parameters stripped) and the start
of the body. Methods that are not idempotent are only retried when the caller says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from airflow_etl_provider.rest.auth import AuthStrategy, NoAuth
from airflow_etl_provider.rest.errors import PaginationError, RestApiError
from airflow_etl_provider.rest.paginators import BasePaginator
from airflow_etl_provider.rest.ratelimit import RateLimiter
from airflow_etl_provider.rest.records import find_records
from airflow_etl_provider.rest.redact import Redactor
from airflow_etl_provider.rest.retry import (
    IDEMPOTENT_METHODS,
    MAX_RETRY_AFTER,
    RETRYABLE_STATUSES,
    RetryPolicy,
)
from airflow_etl_provider.types import Log

#: How much of an error response's body goes into the error message.
BODY_EXCERPT = 300


class RestClient:
    """Sends requests to one API; shared by every call of one open connector hook."""

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session,
        retry: RetryPolicy,
        auth: AuthStrategy | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
        rate_limiter: RateLimiter | None = None,
        redactor: Redactor | None = None,
        verify: bool = True,
        log: Log | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.session = session
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        self.session.verify = verify
        self.auth = auth or NoAuth()
        self.timeout = timeout
        self.retry = retry
        self.rate_limiter = rate_limiter or RateLimiter(0)
        self.redactor = redactor or Redactor()
        self.log = log or logging.getLogger(__name__)
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}

    def url(self, path: str) -> str:
        """`path` resolved against the base URL; a full URL is kept as it is."""
        if "://" in path:
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    # -- one call --------------------------------------------------------------------

    def send(
        self,
        request: requests.Request,
        *,
        retry_unsafe: bool = False,
        max_retries: int | None = None,
        auth: AuthStrategy | None = None,
    ) -> requests.Response:
        """Send `request`, retrying what is safe to retry; raise RestApiError on failure.

        `auth` replaces the client's strategy for this call: an OAuth2 token request goes
        through here (same retries) unauthenticated.
        """
        method = (request.method or "GET").upper()
        limit = self.retry.max_retries if max_retries is None else max_retries
        retryable = method in IDEMPOTENT_METHODS or retry_unsafe
        auth = self.auth if auth is None else auth
        attempt = 0
        renewed_auth = False
        while True:
            request.auth = auth
            prepared = self.session.prepare_request(request)
            where = self.redactor.url(prepared.url or "")
            self.rate_limiter.acquire()
            try:
                response = self.session.send(prepared, timeout=self.timeout, **self._settings(prepared))
            except (requests.ConnectionError, requests.Timeout) as error:
                if not retryable or attempt >= limit:
                    raise RestApiError(
                        f"{method} {where} failed: {type(error).__name__} (the API is unreachable or too slow; "
                        f"gave up after {attempt + 1} attempts)",
                        url=where,
                    ) from self.redactor.exception(error)
                attempt += 1
                self._wait(attempt, limit, None, type(error).__name__, where)
                continue
            status = response.status_code
            if status < 400:
                return response
            if status == 401 and not renewed_auth and auth.on_unauthorized():
                renewed_auth = True
                self.log.info("%s %s answered 401; renewing credentials and retrying once", method, where)
                continue
            if status in RETRYABLE_STATUSES and retryable and attempt < limit:
                attempt += 1
                self._wait(attempt, limit, response.headers.get("Retry-After"), f"HTTP {status}", where)
                continue
            raise self.status_error(method, where, response, attempt)

    def _settings(self, prepared: requests.PreparedRequest) -> dict[str, Any]:
        """Proxies and CA bundle from the environment, read once per host.

        `Session.send` skips the environment (`Session.request` would re-read it, with a
        scan of os.environ, on every call).
        """
        key = urlsplit(prepared.url or "")[:2]
        if key not in self._environment:
            self._environment[key] = self.session.merge_environment_settings(
                prepared.url or "", {}, None, self.session.verify, None
            )
        return self._environment[key]

    def status_error(self, method: str, where: str, response: requests.Response, retries: int) -> RestApiError:
        """An error naming status, redacted URL and the start of the body."""
        body = self.redactor.text(response.text[:BODY_EXCERPT].strip())
        after = f" after {retries} retries" if retries else ""
        hint = {
            401: " (check the credentials)",
            403: " (the credentials lack permission)",
            404: " (check the endpoint path)",
        }.get(response.status_code, "")
        return RestApiError(
            f"{method} {where} answered HTTP {response.status_code}{after}{hint}: {body!r}",
            status=response.status_code,
            url=where,
        )

    def _wait(self, attempt: int, limit: int, retry_after: str | None, reason: str, where: str) -> None:
        delay = self.retry.delay(attempt, retry_after)
        if delay > MAX_RETRY_AFTER:
            raise RestApiError(f"{where} asked to wait {delay:.0f} s ({reason}); giving up", url=where)
        self.log.warning("%s from %s; retry %d of %d in %.2f s", reason, where, attempt, limit, delay)
        time.sleep(delay)

    # -- many calls ------------------------------------------------------------------

    def pages(
        self,
        path: str,
        paginator: BasePaginator,
        *,
        params: dict[str, Any] | None = None,
        records_path: str = "",
        max_pages: int | None = None,
    ) -> Iterator[list[Any]]:
        """Yield the records of each page of `path`; stops requesting when the consumer stops."""
        request = requests.Request("GET", self.url(path), params=dict(params or {}))
        paginator.init_request(request)
        pages = 0
        while True:
            if max_pages is not None and pages >= max_pages:
                raise PaginationError(
                    f"{self.redactor.url(self.url(path))}: still finding more pages after max_pages={max_pages}; "
                    "raise max_pages if the data really is that large, or check the pagination settings"
                )
            response = self.send(request)
            pages += 1
            data = self.records(response, records_path)
            paginator.update_state(response, data)
            yield data
            if not paginator.has_next_page:
                return
            paginator.update_request(request)

    def records(self, response: requests.Response, records_path: str) -> list[Any]:
        """The records of one response; a body that is not JSON is an error naming the URL."""
        where = self.redactor.url(response.url)
        try:
            document = response.json()
        except ValueError as error:
            body = self.redactor.text(response.text[:BODY_EXCERPT])
            raise RestApiError(
                f"{where} did not return JSON: {body!r}", status=response.status_code, url=where
            ) from error
        try:
            return find_records(document, records_path)
        except KeyError as error:
            raise RestApiError(
                f"{where}: records_path {records_path!r} is not in the response; "
                "fix records_path or leave it empty to use data/results/items",
                url=where,
            ) from error
