"""Credentials reach only the connection's own origin (and the origins in `allowed_hosts`).

Two real loopback servers: pytest-httpserver's `httpserver` (localhost, the API) and
`httpserver_ipv4` (127.0.0.1 on another port: another origin). Each test asserts what the
other origin actually received.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from pytest_httpserver import HTTPServer
from requests import PreparedRequest
from werkzeug import Request, Response

from airflow_etl_provider.exceptions import ConnectorConfigError, RestApiError
from airflow_etl_provider.hooks.rest_api import RestApiConnectorHook
from airflow_etl_provider.rest.auth import AuthStrategy
from airflow_etl_provider.rest.client import RestClient
from airflow_etl_provider.rest.retry import RetryPolicy
from tests.rest.rest_fake_api import FakeApi, json_response, people

TOKEN = "origin-bearer-5ecret"
API_KEY = "origin-api-key-5ecret"
HEADER_SECRET = "origin-header-5ecret"


@pytest.fixture
def other(httpserver_ipv4: HTTPServer) -> HTTPServer:
    """Another origin (other host, other port) that answers with one record and no next page."""
    httpserver_ipv4.expect_request("/elsewhere").respond_with_json({"data": [{"id": 99}], "next": None})
    return httpserver_ipv4


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _received(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log]


def _hook(airflow_connection, api: FakeApi, **extra) -> RestApiConnectorHook:
    extra = {"auth_type": "bearer", "token": TOKEN, "retry_count": 0, **extra}
    return RestApiConnectorHook(airflow_connection("rest_api", host=api.base_url, extra=extra))


def _rows(hook: RestApiConnectorHook, source: str, **options) -> list[dict]:
    return [row for batch in hook.extract(source, **options) for row in batch.to_pylist()]


def _next_link_page(api: FakeApi, paginator: str, link: str) -> None:
    if paginator == "json_link":
        api.route("people", lambda r: json_response({"data": people(2), "next": link}))
    else:
        api.route("people", lambda r: json_response(people(2), headers={"Link": f'<{link}>; rel="next"'}))


@pytest.mark.parametrize("paginator", ["json_link", "header_link"])
def test_next_link_to_another_origin_is_refused_naming_both_origins(
    api: FakeApi, other: HTTPServer, airflow_connection, paginator: str
) -> None:
    _next_link_page(api, paginator, other.url_for("/elsewhere?page=2"))
    hook = _hook(airflow_connection, api, paginator=paginator)
    with pytest.raises(RestApiError) as error:
        _rows(hook, "people")
    message = str(error.value)
    assert _origin(api.base_url) in message and _origin(other.url_for("/")) in message
    assert "allowed_hosts" in message and hook.conn_id in message and TOKEN not in message
    assert _received(other) == []


def test_full_url_source_on_another_origin_is_refused(api: FakeApi, other: HTTPServer, airflow_connection) -> None:
    hook = _hook(airflow_connection, api)
    with pytest.raises(RestApiError, match="allowed_hosts"):
        _rows(hook, other.url_for("/elsewhere"))
    assert _received(other) == []


def test_test_button_says_why_a_health_check_on_another_origin_is_refused(
    api: FakeApi, other: HTTPServer, airflow_connection
) -> None:
    hook = _hook(airflow_connection, api, health_check_endpoint=other.url_for("/elsewhere"))
    ok, message = hook.test_connection()
    assert not ok and "refused" in message and "allowed_hosts" in message and "Cannot reach" not in message
    assert _received(other) == []


@pytest.mark.parametrize("entry", ["{origin}", "{origin}/", "127.0.0.1:{port}"])
def test_an_origin_in_allowed_hosts_is_followed_with_the_credentials(
    api: FakeApi, other: HTTPServer, airflow_connection, entry: str
) -> None:
    _next_link_page(api, "json_link", other.url_for("/elsewhere"))
    allowed = entry.format(origin=_origin(other.url_for("/")), port=other.port)
    hook = _hook(airflow_connection, api, paginator="json_link", allowed_hosts=[allowed])
    assert [row["id"] for row in _rows(hook, "people")] == [1, 2, 99]
    assert [r.headers.get("Authorization") for r in _received(other)] == [f"Bearer {TOKEN}"]


def test_allowed_hosts_does_not_trust_another_port_of_a_listed_host(
    api: FakeApi, other: HTTPServer, airflow_connection
) -> None:
    _next_link_page(api, "json_link", other.url_for("/elsewhere"))
    hook = _hook(airflow_connection, api, paginator="json_link", allowed_hosts=[f"127.0.0.1:{other.port + 1}"])
    with pytest.raises(RestApiError, match="allowed_hosts"):
        _rows(hook, "people")
    assert _received(other) == []


def test_oauth2_token_url_receives_only_the_client_credentials(
    api: FakeApi, other: HTTPServer, airflow_connection
) -> None:
    other.expect_request("/token", method="POST").respond_with_json({"access_token": "tok-5ecret", "expires_in": 60})
    api.route("items", lambda r: json_response([{"id": 1}]))
    hook = _hook(
        airflow_connection,
        api,
        auth_type="oauth2",
        oauth2_url=other.url_for("/token"),
        client_id="etl",
        client_secret="client-5ecret",
        headers={"X-Api-Key": HEADER_SECRET, "X-Tenant": "acme"},
    )
    assert _rows(hook, "items") == [{"id": 1}]
    [token_request] = _received(other)
    assert token_request.form["client_secret"] == "client-5ecret"
    assert "X-Api-Key" not in token_request.headers and "Authorization" not in token_request.headers
    assert token_request.headers["X-Tenant"] == "acme"
    [data_request] = _received(api.server)
    assert data_request.headers["Authorization"] == "Bearer tok-5ecret"
    assert data_request.headers["X-Api-Key"] == HEADER_SECRET


CREDENTIALS = {
    "bearer": ({"auth_type": "bearer", "token": TOKEN}, TOKEN),
    "api key header": ({"auth_type": "api_key", "api_key": API_KEY, "key_name": "X-Key"}, API_KEY),
    "api key query": (
        {"auth_type": "api_key", "api_key": API_KEY, "key_name": "apikey", "key_location": "query"},
        API_KEY,
    ),
    "default header": ({"auth_type": "none", "headers": {"X-Auth-Token": HEADER_SECRET}}, HEADER_SECRET),
}


def _redirecting(api: FakeApi, target: str) -> None:
    """`moved` answers 302 to `target`, carrying the query string along as many servers do."""
    api.route("moved", lambda r: Response(status=302, headers={"Location": f"{target}?{r.query_string.decode()}"}))


@pytest.mark.parametrize(("extra", "secret"), CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_redirect_to_another_origin_carries_no_credentials(
    api: FakeApi, other: HTTPServer, airflow_connection, extra: dict, secret: str
) -> None:
    _redirecting(api, other.url_for("/elsewhere"))
    hook = _hook(airflow_connection, api, **extra)
    assert _rows(hook, "moved", params={"page": 1}) == [{"id": 99}]
    [request] = _received(other)
    assert request.args.to_dict() == {"page": "1"}
    assert secret not in str(request.headers) and "Authorization" not in request.headers
    [first] = _received(api.server)
    assert secret in str(first.headers) + first.query_string.decode()


@pytest.mark.parametrize(("extra", "secret"), CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_redirect_within_the_origin_keeps_the_credentials(
    api: FakeApi, airflow_connection, extra: dict, secret: str
) -> None:
    api.route("landing", lambda r: json_response([{"id": 7}]))
    _redirecting(api, api.base_url + "/landing")
    assert _rows(_hook(airflow_connection, api, **extra), "moved") == [{"id": 7}]
    landing = _received(api.server)[-1]
    assert landing.path == "/api/landing"
    assert secret in str(landing.headers) + landing.query_string.decode()


@pytest.mark.parametrize(
    "value",
    [
        ["ftp://files.example.com"],
        ["https://files.example.com/downloads"],
        ["files example.com"],
        ["https://files.example.com:99999"],
        "https://files.example.com",
    ],
)
def test_allowed_hosts_must_be_a_list_of_origins(airflow_connection, value) -> None:
    conn_id = airflow_connection("rest_api", host="https://api.example.invalid", extra={"allowed_hosts": value})
    pattern = r"allowed_hosts.*(origin|host\[:port\])"
    with pytest.raises(ConnectorConfigError, match=pattern) as error, RestApiConnectorHook(conn_id):
        pass
    assert error.value.conn_id == conn_id


class PluginTokenAuth(AuthStrategy):
    """A third-party strategy that does not declare its credential header."""

    name = "plugin_token"

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["X-Plugin-Token"] = HEADER_SECRET
        return request


def test_redirect_to_another_origin_drops_credential_headers_a_plugin_did_not_declare(
    api: FakeApi, other: HTTPServer
) -> None:
    _redirecting(api, other.url_for("/elsewhere"))
    client = RestClient(api.base_url, retry=RetryPolicy(max_retries=0), auth=PluginTokenAuth())
    assert client.send(requests.Request("GET", client.url("moved"))).json()["data"] == [{"id": 99}]
    assert _received(api.server)[0].headers["X-Plugin-Token"] == HEADER_SECRET
    assert "X-Plugin-Token" not in _received(other)[0].headers


def test_oauth2_token_endpoint_redirect_is_not_followed_with_the_client_secret(
    api: FakeApi, other: HTTPServer, airflow_connection
) -> None:
    """A 307/308 keeps the POST body: following it would hand the client secret to the new origin."""
    other.expect_request("/token", method="POST").respond_with_json({"access_token": "tok-5ecret"})
    api.route("token", lambda r: Response(status=307, headers={"Location": other.url_for("/token")}))
    api.route("items", lambda r: json_response([{"id": 1}]))
    hook = _hook(
        airflow_connection,
        api,
        auth_type="oauth2",
        oauth2_url=api.server.url_for("/api/token"),
        client_id="etl",
        client_secret="client-5ecret",
    )
    with pytest.raises(RestApiError, match=r"HTTP 307.*redirect") as raised:
        _rows(hook, "items")
    assert "client-5ecret" not in str(raised.value)
    assert _received(other) == []
