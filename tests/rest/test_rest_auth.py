"""Auth strategies against a real local server, OAuth2 token expiry and 401 renewal included."""

from __future__ import annotations

import base64
import secrets
import socket
import time
from typing import Any, ClassVar

import pytest
import requests
from werkzeug import Request, Response

from airflow_etl_provider.exceptions import RestApiError
from airflow_etl_provider.hooks.rest_api import RestApiConnectorHook
from airflow_etl_provider.rest.auth import (
    AUTH_TYPES,
    AuthStrategy,
    OAuth2ClientCredentials,
    create_auth,
    unregister_auth,
)
from airflow_etl_provider.rest.client import RestClient
from airflow_etl_provider.rest.redact import Redactor
from airflow_etl_provider.rest.retry import RetryPolicy
from airflow_etl_provider.sdk import register_auth
from tests.rest.rest_fake_api import FakeApi, json_response

CLIENT_SECRET = "client-secret-7f3a9"


class TokenServer:
    """Issues short-lived tokens and rejects expired or revoked ones with 401."""

    def __init__(self, api: FakeApi, lifetime: float) -> None:
        self.lifetime = lifetime
        self.tokens: dict[str, float] = {}
        self.rejected = 0
        api.route("token", self.issue, method="POST")
        api.route("data", self.data)

    def issue(self, request: Request) -> Response:
        if request.form.get("client_secret") != CLIENT_SECRET or request.form.get("grant_type") != "client_credentials":
            return json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_hex(16)
        self.tokens[token] = time.monotonic() + self.lifetime
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": self.lifetime})

    def data(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) < time.monotonic():
            self.rejected += 1
            return json_response({"error": "token expired"}, status=401)
        return json_response([{"id": 1}])

    def revoke_all(self) -> None:
        self.tokens.clear()


def _client(base_url: str, redactor: Redactor | None = None) -> RestClient:
    retry = RetryPolicy(max_retries=1, backoff_factor=0.01)
    return RestClient(base_url, redactor=redactor, retry=retry)


def _oauth_client(
    api: FakeApi, secret: str = CLIENT_SECRET, token_url: str = ""
) -> tuple[RestClient, OAuth2ClientCredentials]:
    redactor = Redactor()
    client = _client(api.base_url, redactor)
    token_url = token_url or api.server.url_for("/api/token")
    auth = OAuth2ClientCredentials(token_url, "my-client", secret, "read", send=client.send, redactor=redactor)
    client.auth = auth
    return client, auth


def _get(client: RestClient) -> requests.Response:
    return client.send(requests.Request("GET", client.url("data")))


def test_oauth2_token_is_cached(api: FakeApi) -> None:
    TokenServer(api, lifetime=60)
    client, auth = _oauth_client(api)
    for _ in range(5):
        _get(client)
    assert auth.tokens_fetched == 1


def test_oauth2_refreshes_before_expiry(api: FakeApi) -> None:
    server = TokenServer(api, lifetime=1)
    client, auth = _oauth_client(api)
    _get(client)
    time.sleep(1.0)  # past the renewal point (lifetime minus 10 %), so no 401 is needed
    _get(client)
    assert auth.tokens_fetched == 2
    assert server.rejected == 0


def test_oauth2_renews_once_on_401(api: FakeApi) -> None:
    server = TokenServer(api, lifetime=60)
    client, auth = _oauth_client(api)
    _get(client)
    server.revoke_all()  # the server forgets tokens the client still thinks valid
    assert _get(client).json() == [{"id": 1}]
    assert auth.tokens_fetched == 2
    assert server.rejected == 1


def test_oauth2_401_after_renewal_fails_without_secrets(api: FakeApi) -> None:
    api.route(
        "token", lambda r: json_response({"access_token": "tok-always-rejected", "expires_in": 60}), method="POST"
    )
    api.route("data", lambda r: json_response({"error": "no"}, status=401))
    client, auth = _oauth_client(api)
    with pytest.raises(RestApiError, match="HTTP 401") as error:
        _get(client)
    assert api.calls["data"] == 2  # one retry only
    assert "tok-always-rejected" not in str(error.value) and CLIENT_SECRET not in str(error.value)


def test_oauth2_bad_client_secret_is_reported_plainly(api: FakeApi) -> None:
    TokenServer(api, lifetime=60)
    client, _ = _oauth_client(api, secret="wrong-secret-123")
    with pytest.raises(RestApiError, match="token endpoint.* answered HTTP 401.*client_id, client_secret") as error:
        _get(client)
    assert "wrong-secret-123" not in str(error.value)
    assert api.calls["token"] == 1  # a refused grant is not retried


@pytest.mark.parametrize(("status", "headers"), [(503, {}), (429, {"Retry-After": "0"}), (502, {})])
def test_oauth2_token_request_is_retried_like_data_requests(api: FakeApi, status: int, headers: dict) -> None:
    def token(request: Request) -> Response:
        if api.calls["token"] == 1:
            return json_response({"error": "temporarily_unavailable"}, status=status, headers=headers)
        return json_response({"access_token": "tok-second-try", "expires_in": 60})

    def data(request: Request) -> Response:
        authorized = request.headers.get("Authorization") == "Bearer tok-second-try"
        return json_response([{"id": 1}] if authorized else {"error": "no"}, status=200 if authorized else 401)

    api.route("token", token, method="POST")
    api.route("data", data)
    client, auth = _oauth_client(api)
    assert _get(client).json() == [{"id": 1}]
    assert api.calls["token"] == 2 and auth.tokens_fetched == 1


def test_oauth2_token_endpoint_down_fails_after_the_retries(api: FakeApi) -> None:
    api.route("token", lambda r: json_response({"error": "down"}, status=503), method="POST")
    api.route("data", lambda r: json_response([]))
    client, _ = _oauth_client(api)
    with pytest.raises(RestApiError, match=r"token endpoint: POST .*/api/token answered HTTP 503 after 1 retries"):
        _get(client)
    assert api.calls["token"] == 2 and "data" not in api.calls


def test_oauth2_unreachable_token_endpoint_is_retried_then_reported(api: FakeApi) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    client, _ = _oauth_client(api, token_url=f"http://127.0.0.1:{port}/token")
    with pytest.raises(RestApiError, match="token endpoint: .*ConnectionError.*after 2 attempts") as error:
        _get(client)
    assert error.value.status is None and CLIENT_SECRET not in str(error.value)


@pytest.mark.parametrize(
    ("config", "login", "password", "expected"),
    [
        (
            {"auth_type": "basic"},
            "ann",
            "pw-12345",
            {"Authorization": "Basic " + base64.b64encode(b"ann:pw-12345").decode()},
        ),
        ({"auth_type": "bearer", "token": "tok-12345"}, "", "", {"Authorization": "Bearer tok-12345"}),
        ({"auth_type": "bearer"}, "", "tok-from-password", {"Authorization": "Bearer tok-from-password"}),
        ({"auth_type": "api_key", "api_key": "key-12345", "key_name": "X-Key"}, "", "", {"X-Key": "key-12345"}),
    ],
)
def test_header_strategies(api: FakeApi, config: dict, login: str, password: str, expected: dict) -> None:
    seen: dict[str, str] = {}

    def handler(request: Request) -> Response:
        seen.update({k: request.headers.get(k, "") for k in expected})
        return json_response([])

    api.route("who", handler)
    client = _client(api.base_url)
    client.auth = create_auth(config, login, password, send=client.send, redactor=Redactor())
    client.send(requests.Request("GET", api.base_url + "/who"))
    assert seen == expected


def test_api_key_in_query(api: FakeApi) -> None:
    seen = {}
    api.route("q", lambda r: seen.update(r.args) or json_response([]))
    client = _client(api.base_url)
    config = {"auth_type": "api_key", "api_key": "qkey-12345", "key_name": "apikey", "key_location": "query"}
    client.auth = create_auth(config, "", "", send=client.send, redactor=Redactor())
    client.send(requests.Request("GET", api.base_url + "/q", params={"a": 1}))
    assert seen == {"a": "1", "apikey": "qkey-12345"}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"auth_type": "basic"}, "needs a login"),
        ({"auth_type": "bearer"}, "needs a token"),
        ({"auth_type": "oauth2", "client_id": "x"}, "oauth2_url, client_secret"),
        ({"auth_type": "magic"}, "known: " + ", ".join(sorted(AUTH_TYPES))),
    ],
)
def test_missing_credentials_are_named(config: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        create_auth(config, "", "", send=_client("http://127.0.0.1/").send, redactor=Redactor())


def test_a_registered_auth_scheme_is_built_by_name_and_joins_the_schema(api: FakeApi) -> None:
    class TenantHeader(AuthStrategy):
        name = "tenant_header"
        settings: ClassVar[dict[str, dict[str, Any]]] = {"tenant": {"type": "string", "title": "Tenant"}}

        def __init__(self, tenant: str) -> None:
            self.tenant = tenant

        @classmethod
        def from_config(cls, config, login, password, *, send, redactor) -> AuthStrategy:  # noqa: ANN001
            return cls(config["tenant"])

        def __call__(self, request):  # noqa: ANN001, ANN204
            request.headers["X-Tenant"] = self.tenant
            return request

    seen: dict[str, str] = {}
    api.route("who", lambda r: seen.update(tenant=r.headers.get("X-Tenant", "")) or json_response([]))
    register_auth(TenantHeader)
    try:
        properties = RestApiConnectorHook.full_config_schema()["properties"]
        assert "tenant_header" in properties["auth_type"]["enum"]
        assert properties["tenant"] == {"type": "string", "title": "Tenant"}
        client = _client(api.base_url)
        config = {"auth_type": "tenant_header", "tenant": "acme"}
        client.auth = create_auth(config, "", "", send=client.send, redactor=Redactor())
        client.send(requests.Request("GET", api.base_url + "/who"))
    finally:
        unregister_auth("tenant_header")
    assert seen == {"tenant": "acme"}
    assert "tenant" not in RestApiConnectorHook.full_config_schema()["properties"]
