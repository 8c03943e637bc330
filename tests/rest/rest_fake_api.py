"""A fake JSON API on pytest-httpserver (real HTTP on loopback), shared by the REST tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

Handler = Callable[[Request], Response]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def people(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"person {i}"} for i in range(1, n + 1)]


class FakeApi:
    """Registers handlers on the server and counts the requests each path received."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.calls: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return self.server.url_for("/api")

    def route(self, path: str, handler: Handler, method: str | None = None) -> None:
        def counted(request: Request) -> Response:
            self.calls[path] = self.calls.get(path, 0) + 1
            return handler(request)

        kwargs = {"method": method} if method else {}
        self.server.expect_request(f"/api/{path}", **kwargs).respond_with_handler(counted)
