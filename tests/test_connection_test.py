"""The api-server middleware that lets the UI's Test button work for our port-less types."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_etl_provider.connection_test import (
    ConnectionTestMiddleware,
    normalised_test_body,
    portless_connection_types,
)
from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook


def test_port_less_types_are_the_ones_whose_form_hides_the_port() -> None:
    assert {"sqlite", "filesystem", "rest_api"} <= portless_connection_types()
    assert "mysql" not in portless_connection_types()


def test_the_uis_port_zero_means_no_port_only_for_port_less_types() -> None:
    portless = frozenset({"sqlite"})
    assert normalised_test_body({"conn_type": "sqlite", "port": 0}, portless)["port"] is None
    assert normalised_test_body({"conn_type": "mysql", "port": 0}, portless)["port"] == 0
    assert normalised_test_body({"conn_type": "sqlite", "port": 5}, portless)["port"] == 5


def _post(middleware_app: Any, path: str, body: bytes) -> dict[str, Any]:
    """Send one POST through the ASGI stack in two body chunks; return what the app saw."""
    seen: dict[str, Any] = {}
    chunks = [body[: len(body) // 2], body[len(body) // 2 :]]
    messages = [{"type": "http.request", "body": chunk, "more_body": i == 0} for i, chunk in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        seen.setdefault("sent", []).append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-length", b"%d" % len(body))]}
    asyncio.run(middleware_app(scope, receive, send))
    return seen


def test_middleware_rewrites_the_test_request_and_names_the_users_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Airflow's endpoint does: export the body under a temporary id, test with a hook."""
    seen: dict[str, Any] = {}

    async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["body"] = json.loads(body)
        seen["content-length"] = dict(scope["headers"])[b"content-length"]
        monkeypatch.setenv("AIRFLOW_CONN_TMPABCDE", json.dumps({"conn_type": "sqlite", "host": seen["body"]["host"]}))
        seen["result"] = await asyncio.to_thread(lambda: SQLiteConnectorHook("tmpabcde").test_connection())

    missing = str(tmp_path / "missing" / "w.db")
    request = {"connection_id": "my_sqlite", "conn_type": "sqlite", "host": missing, "port": 0, "password": "***"}
    _post(ConnectionTestMiddleware(endpoint), "/api/v2/connections/test", json.dumps(request).encode())
    assert seen["body"] == {**request, "port": None}
    assert seen["content-length"] == str(len(json.dumps(seen["body"]))).encode()
    ok, message = seen["result"]
    assert not ok
    assert "'my_sqlite'" in message and "tmpabcde" not in message


def test_other_requests_pass_through_untouched() -> None:
    seen: dict[str, Any] = {}

    async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["body"] = b""
        while True:
            message = await receive()
            seen["body"] += message.get("body", b"")
            if not message.get("more_body"):
                break

    body = json.dumps({"connection_id": "c", "conn_type": "sqlite", "port": 0}).encode()
    _post(ConnectionTestMiddleware(endpoint, frozenset({"sqlite"})), "/api/v2/connections", body)
    assert seen["body"] == body


def test_a_hook_outside_a_connection_test_keeps_its_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TMPABCDE", json.dumps({"conn_type": "sqlite", "host": "/nonexistent/x.db"}))
    assert SQLiteConnectorHook("tmpabcde").conn_id == "tmpabcde"
