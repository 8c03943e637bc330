"""Make the UI's Test button work for connection types whose form hides the port.

The connection list's Test button posts the stored connection with `"port": Number(port)`,
which is `0` when no port is stored; Airflow's test endpoint then refuses the request
("The host or port to test differs from the stored connection", shown as "Bad Request").
For a type whose form hides the port (SQLite, local files, REST...) a port of 0 can only
come from that conversion, so `ConnectionTestMiddleware` turns it back into "no port" before
the endpoint compares it with the stored connection.

Airflow tests under a temporary connection id; the middleware also records the id the user
tested, so connectors name that one in their messages (`tested_connection_id`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from functools import cache
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEST_PATH_SUFFIX = "/connections/test"
#: A request body larger than this is passed through untouched (a connection is a few kB).
MAX_BODY_BYTES = 1 << 20

_tested_connection_id: ContextVar[str | None] = ContextVar("airflow_etl_tested_connection_id", default=None)


@cache
def portless_connection_types() -> frozenset[str]:
    """Our connection types whose form hides the port field."""
    from airflow_etl_provider.get_provider_info import get_provider_info

    return frozenset(
        entry["connection-type"]
        for entry in get_provider_info()["connection-types"]
        if "port" in entry.get("ui-field-behaviour", {}).get("hidden-fields", ())
    )


def tested_connection_id(conn_id: str) -> str:
    """The id the user tested when `conn_id` is Airflow's temporary test id, else `conn_id`.

    Airflow exports the connection under test as `AIRFLOW_CONN_<temporary id>`; only then is
    the recorded id substituted.
    """
    tested = _tested_connection_id.get()
    if tested and tested != conn_id and f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ:
        return tested
    return conn_id


def normalised_test_body(body: dict[str, Any], portless_types: frozenset[str]) -> dict[str, Any]:
    """The test request with the UI's `port: 0` dropped for a type whose form hides the port."""
    if body.get("conn_type") in portless_types and body.get("port") == 0:
        return {**body, "port": None}
    return body


class ConnectionTestMiddleware:
    """ASGI middleware for `POST .../connections/test` (registered by our Airflow plugin)."""

    def __init__(self, app: ASGIApp, portless_types: frozenset[str] | None = None):
        self.app = app
        self._portless_types = portless_types

    @property
    def portless_types(self) -> frozenset[str]:
        return self._portless_types if self._portless_types is not None else portless_connection_types()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(TEST_PATH_SUFFIX):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if not message.get("more_body") or size > MAX_BODY_BYTES:
                break
        body = b"".join(chunks)
        more_body = size > MAX_BODY_BYTES
        token = None
        if not more_body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None  # the endpoint reports the malformed body itself
            if isinstance(parsed, dict):
                if isinstance(parsed.get("connection_id"), str):
                    token = _tested_connection_id.set(parsed["connection_id"])
                normalised = normalised_test_body(parsed, self.portless_types)
                if normalised is not parsed:
                    body = json.dumps(normalised).encode()
                    scope = {**scope, "headers": _with_content_length(scope["headers"], len(body))}
        try:
            first = {"type": "http.request", "body": body, "more_body": more_body}
            await self.app(scope, _replay([first], then=receive), send)
        finally:
            if token is not None:
                _tested_connection_id.reset(token)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def _with_content_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]
