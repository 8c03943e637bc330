"""Which origins (scheme, host, port) may receive a connection's credentials.

Credentials belong to the API at the base URL. A next-page link, a full-URL source or a
redirect can point anywhere, so every request for another origin is checked: the client
refuses to send one unless the connection's `allowed_hosts` lists that origin, and a
redirect leaving the trusted origins is followed with the credentials taken off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from requests import PreparedRequest

DEFAULT_PORTS = {"http": 80, "https": 443}

#: JSON Schema pattern of one `allowed_hosts` entry: `https://host[:port]` or `host[:port]`.
ORIGIN_PATTERN = r"^(https?://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?/?$"


class Origin(NamedTuple):
    """Scheme, lower-case host and port (the scheme's default when the URL names none)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of a full URL; ValueError for a bad port or a scheme other than http(s)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{url!r} has a port outside 0-65535") from None
        return cls(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])

    @classmethod
    def parse(cls, entry: str, default_scheme: str) -> Origin:
        """An `allowed_hosts` entry; a bare `host[:port]` takes the connection's scheme."""
        text = entry.strip().rstrip("/")
        if "://" not in text:
            text = f"{default_scheme}://{text}"
        parts = urlsplit(text)
        if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(f"{entry!r} is not an origin: give only scheme, host and port")
        try:
            return cls.of(text)
        except ValueError as error:
            raise ValueError(f"{entry!r} is not an origin: {error}") from None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


class CredentialScope:
    """The connection's own origin plus the allowed ones: the only places credentials go."""

    def __init__(self, base_url: str, allowed: Iterable[Origin] = ()) -> None:
        self.home = Origin.of(base_url)
        self.allowed = frozenset({self.home, *allowed})

    def trusts(self, url: str) -> bool:
        try:
            return Origin.of(url) in self.allowed
        except ValueError:
            return False


def remove_credentials(request: PreparedRequest, headers: Iterable[str], query_params: Iterable[str]) -> None:
    """Take the named headers and query parameters off a prepared request (the rest stays byte for byte)."""
    for name in headers:
        request.headers.pop(name, None)
    names = set(query_params)
    if not names:
        return
    parts = urlsplit(request.url or "")
    kept = [pair for pair in parts.query.split("&") if pair and unquote_plus(pair.split("=", 1)[0]) not in names]
    request.url = urlunsplit(parts._replace(query="&".join(kept)))
