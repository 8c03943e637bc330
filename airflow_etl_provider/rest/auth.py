"""Auth strategies: one small class per scheme, all `requests` auth objects.

A strategy decorates each outgoing request. `on_unauthorized` lets a strategy that can
renew its credentials (OAuth2) ask for one retry after a 401; the others cannot and say so.
Each names the headers and query parameters it writes, so the client can take them off a
redirect that leaves the connection's trusted origins. Secret values are registered with the
`Redactor` (and so with Airflow's masker) on creation.

Each class declares the connection settings it reads (`settings`, JSON Schema fragments)
and builds itself from the connection (`from_config`); the `rest_api` connection form and
`create_auth` use the registry, so a scheme is one class here (or in a plugin:
`@register_auth`).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from requests.auth import AuthBase

from airflow_etl_provider.exceptions import RestApiError
from airflow_etl_provider.rest.redact import Redactor
from airflow_etl_provider.rest.strategies import SettingSpec, StrategyRegistry

if TYPE_CHECKING:
    from requests import PreparedRequest

#: Sends a request with the client's retries: `RestClient.send`.
Send = Callable[..., requests.Response]

_SECRET: SettingSpec = {"type": "string", "format": "password"}


class AuthStrategy(AuthBase):
    """Contract: decorate a request; optionally renew credentials after a 401."""

    name: ClassVar[str]
    #: The connection settings this scheme reads: name -> JSON Schema (the form's fields).
    settings: ClassVar[dict[str, SettingSpec]] = {}
    #: Headers and query parameters that carry this strategy's credentials.
    credential_headers: frozenset[str] = frozenset()
    credential_params: frozenset[str] = frozenset()

    @classmethod
    def from_config(
        cls, config: dict[str, Any], login: str, password: str, *, send: Send, redactor: Redactor
    ) -> AuthStrategy:
        """Build from the connection's settings and its login/password fields."""
        return cls()

    @classmethod
    def setting(cls, config: dict[str, Any], name: str) -> Any:
        """`config[name]`, else the default this class declares for it."""
        return config.get(name, cls.settings[name].get("default", ""))

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        return request

    def on_unauthorized(self) -> bool:
        """Drop cached credentials; True when a retry with fresh ones may succeed."""
        return False


class NoAuth(AuthStrategy):
    name = "none"


class BasicAuth(AuthStrategy):
    """HTTP Basic with the connection's login and password."""

    name = "basic"
    credential_headers = frozenset({"Authorization"})

    @classmethod
    def from_config(
        cls, config: dict[str, Any], login: str, password: str, *, send: Send, redactor: Redactor
    ) -> AuthStrategy:
        return cls(login, password, redactor)

    def __init__(self, username: str, password: str, redactor: Redactor) -> None:
        if not username:
            raise ValueError("basic auth needs a login")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._header = f"Basic {token}"
        redactor.add_secret(password)
        redactor.add_secret(token)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = self._header
        return request


class BearerAuth(AuthStrategy):
    """A static bearer token in the Authorization header."""

    name = "bearer"
    credential_headers = frozenset({"Authorization"})
    settings: ClassVar[dict[str, SettingSpec]] = {
        "token": {**_SECRET, "title": "Bearer token", "description": "For auth type bearer (else the password field)."},
    }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], login: str, password: str, *, send: Send, redactor: Redactor
    ) -> AuthStrategy:
        return cls(config.get("token") or password, redactor)

    def __init__(self, token: str, redactor: Redactor) -> None:
        if not token:
            raise ValueError("bearer auth needs a token (extra `token` or the password field)")
        self._token = token
        redactor.add_secret(token)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class ApiKeyAuth(AuthStrategy):
    """An API key sent as a header or as a query parameter."""

    name = "api_key"
    LOCATIONS = ("header", "query")
    settings: ClassVar[dict[str, SettingSpec]] = {
        "api_key": {**_SECRET, "title": "API key", "description": "For auth type api_key (else the password field)."},
        "key_name": {
            "type": "string",
            "default": "X-API-Key",
            "title": "API key header or parameter name",
            "description": "Name of the header (or query parameter) that carries the API key.",
        },
        "key_location": {
            "type": "string",
            "enum": list(LOCATIONS),
            "default": "header",
            "title": "Send the API key in",
        },
    }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], login: str, password: str, *, send: Send, redactor: Redactor
    ) -> AuthStrategy:
        key = config.get("api_key") or password
        return cls(key, cls.setting(config, "key_name"), cls.setting(config, "key_location"), redactor)

    def __init__(self, key: str, param_name: str, location: str, redactor: Redactor) -> None:
        if not key:
            raise ValueError("api_key auth needs a key (extra `api_key` or the password field)")
        if location not in self.LOCATIONS:
            raise ValueError(f"key_location must be one of {', '.join(self.LOCATIONS)}, not {location!r}")
        if not param_name:
            raise ValueError("api_key auth needs key_name (the header or query parameter name)")
        self._key = key
        self._name = param_name
        self._location = location
        if location == "header":
            self.credential_headers = frozenset({param_name})
        else:
            self.credential_params = frozenset({param_name})
        redactor.add_secret(key)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        if self._location == "header":
            request.headers[self._name] = self._key
        else:
            request.prepare_url(request.url or "", {self._name: self._key})
        return request


class OAuth2ClientCredentials(AuthStrategy):
    """OAuth2 client-credentials grant with a cached token.

    The token is renewed shortly before `expires_in` runs out and whenever the API answers
    401 (the caller retries once). Renewal is locked so concurrent requests fetch one token.
    The token request goes through the client's `send`, so 429, 5xx and dropped connections
    are retried like data requests (a repeated grant only issues another token); it carries
    the client id and secret and none of the connection's other credentials.
    """

    name = "oauth2"
    credential_headers = frozenset({"Authorization"})
    settings: ClassVar[dict[str, SettingSpec]] = {
        "oauth2_url": {
            "type": "string",
            "default": "",
            "title": "OAuth2 token URL",
            "description": "The token endpoint of the client-credentials grant.",
        },
        "client_id": {
            "type": "string",
            "default": "",
            "title": "OAuth2 client id",
            "description": "Else the login field.",
        },
        "client_secret": {**_SECRET, "title": "OAuth2 client secret", "description": "Else the password field."},
        "scopes": {"type": "string", "default": "", "title": "OAuth2 scopes", "description": "Space separated."},
    }
    #: Renew this fraction of the lifetime early (at most `MAX_LEEWAY` seconds).
    LEEWAY_FRACTION = 0.1
    MAX_LEEWAY = 60.0

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: str,
        *,
        send: Send,
        redactor: Redactor,
    ) -> None:
        missing = [
            n
            for n, v in (("oauth2_url", token_url), ("client_id", client_id), ("client_secret", client_secret))
            if not v
        ]
        if missing:
            raise ValueError(f"oauth2 auth needs {', '.join(missing)}")
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = scopes
        self._send = send
        self._redactor = redactor
        self._token: str | None = None
        self._expires_at = float("inf")
        self._lock = threading.Lock()
        self.tokens_fetched = 0
        redactor.add_secret(client_secret)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], login: str, password: str, *, send: Send, redactor: Redactor
    ) -> AuthStrategy:
        return cls(
            cls.setting(config, "oauth2_url"),
            config.get("client_id") or login,
            config.get("client_secret") or password,
            cls.setting(config, "scopes"),
            send=send,
            redactor=redactor,
        )

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._current_token()}"
        return request

    def on_unauthorized(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, self._expires_at = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        if self._scopes:
            form["scope"] = self._scopes
        where = self._redactor.url(self._token_url)
        request = requests.Request("POST", self._token_url, data=form, headers={"Accept": "application/json"})
        try:
            # A 307/308 would carry the form, client secret included, to wherever it points.
            response = self._send(request, retry_unsafe=True, credentials=False, follow_redirects=False)
        except RestApiError as error:
            hint = "" if error.status is None else "; check client_id, client_secret and scopes"
            raise RestApiError(f"OAuth2 token endpoint: {error}{hint}", status=error.status, url=where) from error
        if response.is_redirect:
            raise RestApiError(
                f"OAuth2 token endpoint {where} answered HTTP {response.status_code}, a redirect to "
                f"{self._redactor.url(response.headers.get('Location', ''))}; the client secret is not sent on to "
                "another URL: set oauth2_url to the endpoint itself",
                status=response.status_code,
                url=where,
            )
        if response.status_code != 200:
            body = self._redactor.text(response.text[:200])
            raise RestApiError(
                f"OAuth2 token endpoint {where} answered HTTP {response.status_code}: {body!r}; "
                "check client_id, client_secret and scopes",
                status=response.status_code,
                url=where,
            )
        payload: dict[str, Any] = response.json()
        token = payload.get("access_token")
        if not token:
            raise RestApiError(f"OAuth2 token endpoint {where} returned no access_token", url=where)
        self._redactor.add_secret(token)
        self.tokens_fetched += 1
        expires_in = payload.get("expires_in")
        if expires_in is None:
            return token, float("inf")
        lifetime = float(expires_in)
        return token, time.monotonic() + lifetime - min(lifetime * self.LEEWAY_FRACTION, self.MAX_LEEWAY)


_REGISTRY: StrategyRegistry[type[AuthStrategy]] = StrategyRegistry("auth_type", AuthStrategy)
#: The registered schemes by name (live: plugins registered later appear here too).
AUTH_TYPES: dict[str, type[AuthStrategy]] = _REGISTRY.classes


def register_auth(cls: type[AuthStrategy]) -> type[AuthStrategy]:
    """Make an auth scheme usable as a connection's `auth_type` (a class decorator)."""
    return _REGISTRY.register(cls)


def unregister_auth(name: str) -> None:
    """Forget the scheme called `name` (for a plugin's tests)."""
    _REGISTRY.unregister(name)


for _builtin in (NoAuth, BasicAuth, BearerAuth, ApiKeyAuth, OAuth2ClientCredentials):
    register_auth(_builtin)


def auth_settings_schema() -> dict[str, SettingSpec]:
    """The settings of every registered scheme, for the flat connection form."""
    return _REGISTRY.settings_schema()


def create_auth(
    config: dict[str, Any],
    login: str,
    password: str,
    *,
    send: Send,
    redactor: Redactor,
) -> AuthStrategy:
    """The strategy named by `config["auth_type"]`; credentials from the extra, else login/password.

    Raises ValueError naming what is missing; the hook turns it into a ConnectorConfigError.
    """
    cls = _REGISTRY.get(config.get("auth_type") or "none")
    return cls.from_config(config, login, password, send=send, redactor=redactor)
