"""Auth strategies against a real local server, OAuth2 token expiry and 401 renewal included."""

from __future__ import annotations

import base64
import secrets
import time

import pytest
import requests
from werkzeug import Request, Response

from airflow_etl_provider.rest.auth import AUTH_TYPES, OAuth2ClientCredentials, create_auth
from airflow_etl_provider.rest.client import RestClient
from airflow_etl_provider.rest.errors import RestApiError
from airflow_etl_provider.rest.redact import Redactor
from airflow_etl_provider.rest.retry import RetryPolicy
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


def _oauth_client(api: FakeApi, secret: str = CLIENT_SECRET) -> tuple[RestClient, OAuth2ClientCredentials]:
    session = requests.Session()
    redactor = Redactor()
    auth = OAuth2ClientCredentials(
        api.server.url_for("/api/token"), "my-client", secret, "read", session=session, timeout=5, redactor=redactor
    )
    client = RestClient(
        api.base_url,
        session=session,
        auth=auth,
        redactor=redactor,
        retry=RetryPolicy(max_retries=1, backoff_factor=0.01),
    )
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
    with pytest.raises(RestApiError, match="token endpoint .* answered HTTP 401.*client_id, client_secret") as error:
        _get(client)
    assert "wrong-secret-123" not in str(error.value)


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
        ({"auth_type": "api_key", "api_key": "key-12345", "api_key_name": "X-Key"}, "", "", {"X-Key": "key-12345"}),
    ],
)
def test_header_strategies(api: FakeApi, config: dict, login: str, password: str, expected: dict) -> None:
    seen: dict[str, str] = {}

    def handler(request: Request) -> Response:
        seen.update({k: request.headers.get(k, "") for k in expected})
        return json_response([])

    api.route("who", handler)
    session = requests.Session()
    auth = create_auth(config, login, password, session=session, timeout=5, redactor=Redactor())
    RestClient(api.base_url, session=session, auth=auth).send(requests.Request("GET", api.base_url + "/who"))
    assert seen == expected


def test_api_key_in_query(api: FakeApi) -> None:
    seen = {}
    api.route("q", lambda r: seen.update(r.args) or json_response([]))
    session = requests.Session()
    config = {"auth_type": "api_key", "api_key": "qkey-12345", "api_key_name": "apikey", "api_key_in": "query"}
    auth = create_auth(config, "", "", session=session, timeout=5, redactor=Redactor())
    RestClient(api.base_url, session=session, auth=auth).send(
        requests.Request("GET", api.base_url + "/q", params={"a": 1})
    )
    assert seen == {"a": "1", "apikey": "qkey-12345"}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"auth_type": "basic"}, "needs a login"),
        ({"auth_type": "bearer"}, "needs a token"),
        ({"auth_type": "oauth2", "client_id": "x"}, "token_url, client_secret"),
        ({"auth_type": "magic"}, "known: " + ", ".join(sorted(AUTH_TYPES))),
    ],
)
def test_missing_credentials_are_named(config: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        create_auth(config, "", "", session=requests.Session(), timeout=5, redactor=Redactor())
