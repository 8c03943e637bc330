"""Fixtures of the REST tests: a fake API on pytest-httpserver's real loopback server."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from tests.rest.rest_fake_api import FakeApi


@pytest.fixture
def api(httpserver: HTTPServer) -> FakeApi:
    return FakeApi(httpserver)
