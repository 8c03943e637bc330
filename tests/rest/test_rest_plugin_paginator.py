"""A paginator defined and registered outside the package, used by name from a connection's extra."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pyarrow as pa
import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_etl_provider.exceptions import ConnectorConfigError
from airflow_etl_provider.hooks.rest_api import CONFIG_SCHEMA, RestApiConnectorHook
from airflow_etl_provider.rest.paginators import PAGINATORS, unregister_paginator
from airflow_etl_provider.sdk import BasePaginator, register_paginator
from tests.rest.rest_fake_api import FakeApi, json_response, people


class NextPageHeaderPaginator(BasePaginator):
    """The API names the next page in a response header (`X-Next-Page: 3`); no header on the last page."""

    name = "next_page_header"
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "next_page_header": {"type": "string", "default": "X-Next-Page", "title": "Next-page header"},
        "next_page_param": {"type": "string", "default": "page", "title": "Next-page parameter"},
    }

    def __init__(self, next_page_header: str = "X-Next-Page", next_page_param: str = "page") -> None:
        super().__init__()
        self.header = next_page_header
        self.param = next_page_param
        self.next_page: str | None = None

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        self.next_page = response.headers.get(self.header)
        if not data or not self.next_page:
            self._stop()
            return
        self._remember(self.next_page)

    def update_request(self, request: requests.Request) -> None:
        request.params = {**request.params, self.param: self.next_page}


@pytest.fixture
def plugin_paginator() -> Iterator[type[BasePaginator]]:
    """What a plugin file does at import: `@register_paginator` on its class; undone afterwards."""
    register_paginator(NextPageHeaderPaginator)
    yield NextPageHeaderPaginator
    unregister_paginator(NextPageHeaderPaginator.name)


@pytest.fixture
def api(httpserver: HTTPServer) -> FakeApi:
    records = people(25)

    def handler(request: Request) -> Response:
        page = int(request.args.get("pg", 1))
        headers = {"X-Next": str(page + 1)} if page * 10 < len(records) else {}
        return json_response({"data": records[(page - 1) * 10 : page * 10]}, headers=headers)

    fake = FakeApi(httpserver)
    fake.route("people", handler)
    return fake


def _conn(api: FakeApi, airflow_connection, **extra: Any) -> str:
    return airflow_connection("rest_api", host=api.base_url, extra={"records_path": "data", **extra})


def test_extract_pages_with_a_registered_paginator(plugin_paginator, api: FakeApi, airflow_connection) -> None:
    extra = {"paginator": "next_page_header", "next_page_header": "X-Next", "next_page_param": "pg"}
    conn_id = _conn(api, airflow_connection, **extra)
    table = pa.Table.from_batches(list(RestApiConnectorHook(conn_id).extract("people")))
    assert table.column("id").to_pylist() == list(range(1, 26))
    assert api.calls["people"] == 3


def test_its_settings_are_in_the_validating_schema(plugin_paginator, api: FakeApi, airflow_connection) -> None:
    properties = RestApiConnectorHook.full_config_schema()["properties"]
    assert "next_page_header" in properties["paginator"]["enum"]
    assert properties["next_page_header"] == NextPageHeaderPaginator.settings["next_page_header"]

    class RegionalApiHook(RestApiConnectorHook):  # a connector built on the REST hook keeps its own fields
        config_schema = {**CONFIG_SCHEMA, "properties": {**CONFIG_SCHEMA["properties"], "region": {"type": "string"}}}

    assert {"region", "next_page_header"} <= set(RegionalApiHook.full_config_schema()["properties"])
    conn_id = _conn(api, airflow_connection, paginator="next_page_header", next_page_header=7)
    with pytest.raises(ConnectorConfigError, match="next_page_header"):
        list(RestApiConnectorHook(conn_id).extract("people"))


def test_unknown_settings_are_refused(plugin_paginator, api: FakeApi, airflow_connection) -> None:
    hook = RestApiConnectorHook(_conn(api, airflow_connection))
    with pytest.raises(ConnectorConfigError, match="unknown setting.*next_page_headr.*takes: next_page_header"):
        hook.extract("people", paginator={"type": "next_page_header", "next_page_headr": "X-Next"})


def test_unregistered_name_is_refused_by_the_connection(api: FakeApi, airflow_connection) -> None:
    assert "next_page_header" not in PAGINATORS
    conn_id = _conn(api, airflow_connection, paginator="next_page_header")
    with pytest.raises(ConnectorConfigError, match="paginator"):
        list(RestApiConnectorHook(conn_id).extract("people"))


def test_registration_refuses_a_clashing_or_unaccepted_setting(plugin_paginator) -> None:
    class Clashing(NextPageHeaderPaginator):
        name = "clashing"
        settings: ClassVar[dict[str, dict[str, Any]]] = {"page_size": {"type": "string", "title": "Page size"}}

        def __init__(self, page_size: str = "") -> None:
            super().__init__()

    class Unaccepted(NextPageHeaderPaginator):
        name = "unaccepted"
        settings: ClassVar[dict[str, dict[str, Any]]] = {"window": {"type": "integer"}}

    with pytest.raises(ValueError, match="'page_size'.*paginator 'offset' already declares it"):
        register_paginator(Clashing)
    with pytest.raises(TypeError, match="window that its constructor does not accept"):
        register_paginator(Unaccepted)
    with pytest.raises(ValueError, match="'next_page_header' is already registered"):
        register_paginator(type("Other", (NextPageHeaderPaginator,), {}))
    assert "clashing" not in PAGINATORS and "unaccepted" not in PAGINATORS
