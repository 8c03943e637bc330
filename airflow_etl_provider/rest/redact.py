"""Keep secrets out of URLs, log lines and error messages.

Secrets are registered with Airflow's masker too (`mask_secret`), but exceptions can travel
to places the masker never sees (XCom, tracebacks in another process), so everything the
REST client puts into a message goes through a `Redactor` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
#: Header names that carry credentials when any of these words is in them.
SECRET_HEADER_WORDS = ("auth", "token", "key", "secret", "cookie", "session", "signature")
#: Query parameter names that carry credentials by convention, whatever the config says.
SECRET_QUERY_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "client_secret", "secret"})


def is_credential_header(name: str) -> bool:
    """True for a header whose name says it carries a credential (`Authorization`, `X-Api-Key`, ...)."""
    return any(word in name.lower() for word in SECRET_HEADER_WORDS)


def mask(value: str) -> None:
    """Register `value` with Airflow's secret masker so task logs never show it."""
    if not value:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(value)


class Redactor:
    """Replaces known secret values and credential query parameters with `***`."""

    def __init__(self, secrets: Iterable[str] = (), query_params: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._query_params = {p.lower() for p in query_params} | SECRET_QUERY_PARAMS
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str | None) -> None:
        """Remember a secret learnt at run time (e.g. an OAuth2 access token) and mask it."""
        if value:
            self._secrets.add(value)
            mask(value)

    def add_header_secrets(self, headers: dict[str, str]) -> None:
        """Treat credential-looking default headers (`Authorization: Bearer x`) as secrets."""
        for name, value in headers.items():
            if is_credential_header(name):
                self.add_secret(value)
                scheme, _, credential = value.partition(" ")
                if credential and scheme.isalpha():
                    self.add_secret(credential.strip())

    def url(self, url: str) -> str:
        """The URL with credential query parameters and userinfo removed."""
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        query = [
            (name, REDACTED if name.lower() in self._query_params else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))
        return self.text(clean)

    def text(self, text: str) -> str:
        """`text` with every known secret value replaced (longest first, so no fragment survives)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def exception(self, error: BaseException) -> BaseException:
        """A stand-in for `error` to chain with `raise ... from`: same type, message redacted.

        Driver errors quote the URL, query string (and so an API key) included, and a chained
        cause ends up in tracebacks and task logs.
        """
        message = self.url_in_text(str(error))
        try:
            return type(error)(message)
        except TypeError:
            return RuntimeError(f"{type(error).__name__}: {message}")

    def url_in_text(self, text: str) -> str:
        """`text` with secrets and credential query parameters (`?api_key=...`) replaced."""
        for name in self._query_params:
            text = re.sub(rf"([?&]{re.escape(name)}=)[^&\s'\")]*", rf"\1{REDACTED}", text, flags=re.IGNORECASE)
        return self.text(text)
