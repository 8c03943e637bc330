"""The HTTP client under the REST connector: one `requests.Session`, retries, rate limit, auth.

Retries: 429/500/502/503/504 and dropped connections (refused, timed out, or a body cut
short), with exponential backoff or the server's Retry-After. A 401 lets the auth strategy
renew its credentials once. Every other 4xx fails at once with the status, the URL
(credential parameters stripped) and the start of the body. Methods that are not idempotent
are only retried when the caller says so, or when the answer says the server did not process
the request (429, or 503 with Retry-After). Every HTTP error names the connection.

Credentials (the auth strategy's headers or query parameter, and default headers whose name
says they carry one) go only to the connection's origin and its `allowed_hosts`: a request
built for another origin is refused before anything is sent, and a redirect to one is
followed with the credentials taken off (see `origins.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from airflow_etl_provider.exceptions import PaginationError, RestApiError, UntrustedOriginError
from airflow_etl_provider.rest.auth import AuthStrategy, NoAuth
from airflow_etl_provider.rest.origins import CredentialScope, Origin, remove_credentials
from airflow_etl_provider.rest.paginators import BasePaginator
from airflow_etl_provider.rest.ratelimit import RateLimiter
from airflow_etl_provider.rest.records import find_records
from airflow_etl_provider.rest.redact import Redactor, is_credential_header
from airflow_etl_provider.rest.retry import (
    IDEMPOTENT_METHODS,
    MAX_RETRY_AFTER,
    RETRYABLE_STATUSES,
    RetryPolicy,
    not_processed,
)
from airflow_etl_provider.types import Log

#: How much of an error response's body goes into the error message.
BODY_EXCERPT = 300

#: Failures of the transport, each a dropped connection worth retrying, and what they mean.
DROPPED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def _dropped_reason(error: BaseException) -> str:
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the response was cut short: the connection closed before the whole body arrived"
    if isinstance(error, requests.Timeout):
        return "the API is too slow"
    return "the API is unreachable or dropped the connection"


class RedirectGuardedSession(requests.Session):
    """A Session that hands every redirect hop to the client before it is sent.

    `requests` itself only drops `Authorization` when a redirect changes host, port or scheme.
    """

    def __init__(self, on_redirect: Callable[[requests.PreparedRequest, requests.Response], None]) -> None:
        super().__init__()
        self._on_redirect = on_redirect

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)
        self._on_redirect(prepared_request, response)


class RestClient:
    """Sends requests to one API; shared by every call of one open connector hook."""

    def __init__(
        self,
        base_url: str,
        *,
        retry: RetryPolicy,
        auth: AuthStrategy | None = None,
        headers: dict[str, str] | None = None,
        allowed_origins: Iterable[Origin] = (),
        timeout: float = 30.0,
        rate_limiter: RateLimiter | None = None,
        redactor: Redactor | None = None,
        verify: bool = True,
        name: str = "",
        log: Log | None = None,
    ) -> None:
        """`name` (the connection id) goes into every error; `allowed_origins` may get the credentials too."""
        self.base_url = base_url.rstrip("/") + "/"
        self.scope = CredentialScope(self.base_url, allowed_origins)
        self.redactor = redactor or Redactor()
        headers = headers or {}
        #: Default headers that carry credentials: sent like the auth strategy's, to trusted origins only.
        self.credential_headers = {k: v for k, v in headers.items() if is_credential_header(k)}
        self.redactor.add_header_secrets(self.credential_headers)
        self.session = RedirectGuardedSession(self._guard_redirect)
        self.session.headers.update({"Accept": "application/json"})
        self.session.headers.update({k: v for k, v in headers.items() if k not in self.credential_headers})
        self.session.verify = verify
        self.auth = auth or NoAuth()
        self.timeout = timeout
        self.retry = retry
        self.rate_limiter = rate_limiter or RateLimiter(0)
        self.name = name
        self.log = log or logging.getLogger(__name__)
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}

    def _named(self, where: str) -> str:
        """`<url> (connection 'x')`: how every error message names what failed."""
        return f"{where} (connection {self.name!r})" if self.name else where

    def _at(self, method: str, where: str) -> str:
        return f"{method} {self._named(where)}"

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
        credentials: bool = True,
        follow_redirects: bool = True,
    ) -> requests.Response:
        """Send `request`, retrying what is safe to retry; raise RestApiError on failure.

        With `credentials` (the default) the URL must be on a trusted origin; without, the
        request carries none of the connection's credentials (the OAuth2 token request,
        which brings its own, goes through here for the same retries).
        """
        method = (request.method or "GET").upper()
        url = str(request.url or "")
        if credentials and not self.scope.trusts(url):
            raise self.origin_error(method, url)
        limit = self.retry.max_retries if max_retries is None else max_retries
        retryable = method in IDEMPOTENT_METHODS or retry_unsafe
        attempt = 0
        renewed_auth = False
        while True:
            request.auth = self._with_credentials if credentials else NoAuth()
            prepared = self.session.prepare_request(request)
            where = self.redactor.url(prepared.url or "")
            self.rate_limiter.acquire()
            try:
                response = self.session.send(
                    prepared, timeout=self.timeout, allow_redirects=follow_redirects, **self._settings(prepared)
                )
            except DROPPED as error:
                if not retryable or attempt >= limit:
                    raise RestApiError(
                        f"{self._at(method, where)} failed: {_dropped_reason(error)} ({type(error).__name__}); "
                        f"gave up after {attempt + 1} attempts",
                        url=where,
                    ) from self.redactor.exception(error)
                attempt += 1
                self._wait(attempt, limit, None, type(error).__name__, where)
                continue
            status = response.status_code
            if status < 400:
                return response
            if status == 401 and credentials and not renewed_auth and self.auth.on_unauthorized():
                renewed_auth = True
                self.log.info("%s %s answered 401; renewing credentials and retrying once", method, where)
                continue
            retry_after = response.headers.get("Retry-After")
            resendable = retryable or not_processed(status, retry_after)
            if status in RETRYABLE_STATUSES and resendable and attempt < limit:
                attempt += 1
                self._wait(attempt, limit, retry_after, f"HTTP {status}", where)
                continue
            raise self.status_error(method, where, response, attempt)

    def _with_credentials(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """The `requests` auth hook of trusted requests: credential headers, then the strategy."""
        request.headers.update(self.credential_headers)
        return self.auth(request)

    def origin_error(self, method: str, url: str) -> UntrustedOriginError:
        """Why a request for an untrusted origin is refused, and how to allow that origin."""
        where = self.redactor.url(url)
        try:
            target = str(Origin.of(url))
        except ValueError:
            return UntrustedOriginError(f"{self._at(method, where)} refused: not an http:// or https:// URL", url=where)
        return UntrustedOriginError(
            f"{self._at(method, where)} refused: the connection's credentials go only to its own origin "
            f"{self.scope.home}, and {target} is another origin. If {target} belongs to the same API, add "
            f'"{target}" to `allowed_hosts` in the connection\'s extra.',
            url=where,
        )

    def _guard_redirect(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        """Take the credentials off a redirect that leaves the trusted origins; requests would keep most.

        Besides the strategy's own, every header whose name looks like a credential goes (the
        default headers that carry one, and those of a plugin's strategy that names none).
        """
        if self.scope.trusts(request.url or ""):
            return
        headers = {*self.auth.credential_headers, *(name for name in request.headers if is_credential_header(name))}
        remove_credentials(request, headers, self.auth.credential_params)
        self.log.info(
            "%s redirected to %s, outside the origins trusted with the connection's credentials: "
            "following it without them",
            self.redactor.url(response.url),
            self.redactor.url(request.url or ""),
        )

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
            f"{self._at(method, where)} answered HTTP {response.status_code}{after}{hint}: {body!r}",
            status=response.status_code,
            url=where,
        )

    def _wait(self, attempt: int, limit: int, retry_after: str | None, reason: str, where: str) -> None:
        delay = self.retry.delay(attempt, retry_after)
        if delay > MAX_RETRY_AFTER:
            raise RestApiError(f"{self._named(where)} asked to wait {delay:.0f} s ({reason}); giving up", url=where)
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
                    f"{self._named(self.redactor.url(self.url(path)))}: still finding more pages after "
                    f"max_pages={max_pages}; raise max_pages if the data really is that large, or check the "
                    "pagination settings"
                )
            response = self.send(request)
            pages += 1
            data = self.records(response, records_path)
            try:
                paginator.update_state(response, data)
            except PaginationError as error:
                where = self._named(self.redactor.url(response.url))
                raise PaginationError(f"{where}, page {pages} ({len(data)} records): {error}") from error
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
                f"{self._named(where)} did not return JSON: {body!r}", status=response.status_code, url=where
            ) from error
        try:
            return find_records(document, records_path)
        except KeyError as error:
            raise RestApiError(
                f"{self._named(where)}: records_path {records_path!r} is not in the response; "
                "fix records_path or leave it empty to use data/results/items",
                url=where,
            ) from error
