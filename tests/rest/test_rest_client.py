"""Retries, Retry-After, fail-fast 4xx, rate limit and redaction, against a real local server."""

from __future__ import annotations

import socket
import time
from email.utils import formatdate

import pytest
import requests
from werkzeug import Request, Response

from airflow_etl_provider.exceptions import RestApiError
from airflow_etl_provider.rest.auth import ApiKeyAuth
from airflow_etl_provider.rest.client import RestClient
from airflow_etl_provider.rest.ratelimit import RateLimiter
from airflow_etl_provider.rest.redact import Redactor
from airflow_etl_provider.rest.retry import RetryPolicy
from tests.rest.cut_body_server import CUTS, CutBodyServer
from tests.rest.rest_fake_api import FakeApi, json_response

FAST = RetryPolicy(max_retries=4, backoff_factor=0.01)


def _client(base_url: str, **kwargs) -> RestClient:
    kwargs.setdefault("retry", FAST)
    return RestClient(base_url, **kwargs)


def _get(client: RestClient, path: str, **kwargs) -> requests.Response:
    return client.send(requests.Request("GET", client.url(path)), **kwargs)


def _failing_first(times: int, status: int, headers: dict[str, str] | None = None):
    state = {"n": 0, "at": []}

    def handler(request: Request) -> Response:
        state["at"].append(time.monotonic())
        state["n"] += 1
        if state["n"] <= times:
            return Response("busy", status=status, headers=headers)
        return json_response({"ok": True})

    return handler, state


def test_429_waits_at_least_retry_after_seconds(api: FakeApi) -> None:
    handler, state = _failing_first(1, 429, {"Retry-After": "2"})
    api.route("throttled", handler)
    assert _get(_client(api.base_url), "throttled").json() == {"ok": True}
    waited = state["at"][1] - state["at"][0]
    assert waited >= 2.0, waited


def test_retry_after_as_http_date(api: FakeApi) -> None:
    handler, state = _failing_first(1, 503, {"Retry-After": formatdate(time.time() + 3, usegmt=True)})
    api.route("later", handler)
    _get(_client(api.base_url), "later")
    # HTTP dates have one-second resolution, so the date is 2 to 3 s ahead: the wait is at least
    # one full second even when the first answer takes up to a second to arrive.
    assert state["at"][1] - state["at"][0] >= 1.0


def test_5xx_burst_recovers(api: FakeApi) -> None:
    statuses = iter([500, 502, 503, 504])

    def handler(request: Request) -> Response:
        status = next(statuses, 200)
        return json_response({"status": status}, status=status)

    api.route("flaky", handler)
    assert _get(_client(api.base_url), "flaky").json() == {"status": 200}
    assert api.calls["flaky"] == 5


def test_retries_run_out_with_the_status_in_the_error(api: FakeApi) -> None:
    api.route("down", lambda request: Response("maintenance window", status=503))
    with pytest.raises(RestApiError, match=r"HTTP 503 after 4 retries.*maintenance window") as error:
        _get(_client(api.base_url), "down")
    assert error.value.status == 503
    assert api.calls["down"] == 5


def test_other_4xx_fail_at_once_with_status_url_and_body_without_the_key(api: FakeApi) -> None:
    api.route("bad", lambda request: Response("field 'x' is invalid " + "!" * 1000, status=422))
    redactor = Redactor(query_params=["apikey"])
    auth = ApiKeyAuth("sup3r-s3cret-key", "apikey", "query", redactor)
    with pytest.raises(RestApiError) as error:
        _get(_client(api.base_url, auth=auth, redactor=redactor), "bad")
    message = str(error.value)
    assert api.calls["bad"] == 1
    assert "HTTP 422" in message and "/api/bad?apikey=***" in message and "field 'x' is invalid" in message
    assert "sup3r-s3cret-key" not in message
    assert len(message) < 600  # only the start of the body


def test_body_echoing_the_secret_is_redacted(api: FakeApi) -> None:
    api.route("echo", lambda request: Response(f"bad key {request.headers.get('X-Key')}", status=400))
    redactor = Redactor()
    auth = ApiKeyAuth("echoed-secret-value", "X-Key", "header", redactor)
    with pytest.raises(RestApiError) as error:
        _get(_client(api.base_url, auth=auth, redactor=redactor), "echo")
    assert "echoed-secret-value" not in str(error.value) and "bad key ***" in str(error.value)


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    client = _client(f"http://127.0.0.1:{port}/", retry=RetryPolicy(max_retries=2, backoff_factor=0.01))
    with pytest.raises(RestApiError, match="ConnectionError.*after 3 attempts") as error:
        _get(client, "x")
    assert error.value.status is None


def test_post_is_not_retried_unless_allowed(api: FakeApi) -> None:
    handler, state = _failing_first(1, 503)
    api.route("items", handler, method="POST")
    client = _client(api.base_url)
    with pytest.raises(RestApiError, match="HTTP 503"):
        client.send(requests.Request("POST", client.url("items"), json=[1]))
    assert client.send(requests.Request("POST", client.url("items"), json=[1]), retry_unsafe=True).ok


def test_rate_limit_spaces_requests(api: FakeApi) -> None:
    api.route("limited", lambda request: json_response({}))
    client = _client(api.base_url, rate_limiter=RateLimiter(per_minute=600))  # one per 0.1 s
    started = time.monotonic()
    for _ in range(6):
        _get(client, "limited")
    assert time.monotonic() - started >= 0.5


def test_paths_join_the_base_and_a_full_url_of_another_origin_is_refused() -> None:
    client = _client("http://example.invalid/v1", name="crm")
    assert client.url("/users") == "http://example.invalid/v1/users"
    assert client.url("https://other.invalid/x?a=1") == "https://other.invalid/x?a=1"
    # Refused before any network traffic (other.invalid does not even resolve); no key in the message.
    with pytest.raises(RestApiError) as error:
        _get(client, "https://other.invalid/x?api_key=k-123456")
    assert str(error.value).startswith(
        "GET https://other.invalid/x?api_key=*** (connection 'crm') refused: the connection's credentials go only "
        "to its own origin http://example.invalid, and https://other.invalid is another origin. "
        'If https://other.invalid belongs to the same API, add "https://other.invalid" to `allowed_hosts`'
    )


def test_connection_errors_chain_no_api_key() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    redactor = Redactor(query_params=["apikey"])
    auth = ApiKeyAuth("query-key-12345", "apikey", "query", redactor)
    client = _client(f"http://127.0.0.1:{port}/", auth=auth, redactor=redactor, retry=RetryPolicy(max_retries=0))
    with pytest.raises(RestApiError) as error:
        _get(client, "x")
    cause = error.value.__cause__
    assert isinstance(cause, requests.ConnectionError) and "apikey=***" in str(cause)
    assert "query-key-12345" not in str(error.value) + str(cause) + repr(cause)


@pytest.mark.parametrize("cut", sorted(CUTS))
def test_a_body_cut_short_is_retried_like_a_dropped_connection(cut: str) -> None:
    with CutBodyServer.running(failures=2, cut=cut) as server:
        response = _get(_client(server.url + "/api"), "items")
    assert response.json() == [{"id": 1}, {"id": 2}]
    assert server.request_lines == ["GET /api/items HTTP/1.1"] * 3


@pytest.mark.parametrize("cut", sorted(CUTS))
def test_a_body_cut_short_every_time_fails_after_the_retries(cut: str) -> None:
    retry = RetryPolicy(max_retries=2, backoff_factor=0.01)
    failed = r"GET .*/api/items \(connection 'crm'\) failed: .*cut short"
    with CutBodyServer.running(failures=None, cut=cut) as server, pytest.raises(RestApiError, match=failed) as error:
        _get(_client(server.url + "/api", retry=retry, name="crm"), "items")
    assert "gave up after 3 attempts" in str(error.value) and error.value.status is None
    assert isinstance(error.value.__cause__, requests.exceptions.ChunkedEncodingError)
    assert len(server.request_lines) == 3


def test_a_post_whose_answer_is_cut_short_is_not_sent_again() -> None:
    with CutBodyServer.running(failures=1) as server:
        client = _client(server.url)
        with pytest.raises(RestApiError, match="cut short.*after 1 attempts"):
            client.send(requests.Request("POST", client.url("items"), json=[1]))
    assert server.request_lines == ["POST /items HTTP/1.1"]  # the server may have stored it: no duplicate


@pytest.mark.parametrize(("status", "headers"), [(429, {}), (429, {"Retry-After": "1"}), (503, {"Retry-After": "1"})])
def test_a_post_the_server_did_not_process_is_retried_without_retry_unsafe(
    api: FakeApi, status: int, headers: dict
) -> None:
    """429, and 503 with Retry-After, say the request was not processed: resending cannot duplicate."""
    handler, state = _failing_first(1, status, headers)
    api.route("items", handler, method="POST")
    client = _client(api.base_url)
    assert client.send(requests.Request("POST", client.url("items"), json=[1])).ok
    assert state["n"] == 2
    if headers:
        assert state["at"][1] - state["at"][0] >= 1.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_post_that_may_have_been_processed_is_not_retried(api: FakeApi, status: int) -> None:
    handler, state = _failing_first(1, status)
    api.route("items", handler, method="POST")
    client = _client(api.base_url)
    with pytest.raises(RestApiError, match=f"HTTP {status}"):
        client.send(requests.Request("POST", client.url("items"), json=[1]))
    assert state["n"] == 1


def test_a_post_throttled_every_time_gives_up_after_the_retries(api: FakeApi) -> None:
    handler, state = _failing_first(99, 429, {"Retry-After": "0"})
    api.route("items", handler, method="POST")
    client = _client(api.base_url, retry=RetryPolicy(max_retries=2, backoff_factor=0.01))
    with pytest.raises(RestApiError, match="HTTP 429 after 2 retries"):
        client.send(requests.Request("POST", client.url("items"), json=[1]))
    assert state["n"] == 3
