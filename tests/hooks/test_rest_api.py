"""RestApiConnectorHook and HttpConnectorHook end to end against a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import socket
import time

import pyarrow as pa
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_etl_provider.config import secret_fields
from airflow_etl_provider.exceptions import (
    ConnectorConfigError,
    LoadError,
    PaginationError,
    RestApiError,
    UnsupportedOperationError,
)
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.hooks.rest_api import RENAMED_KEYS, HttpConnectorHook, RestApiConnectorHook
from airflow_etl_provider.sdk import ConnectorConformance
from airflow_etl_provider.types import Operation
from airflow_etl_provider.ui_fields import conn_fields
from tests.rest.cut_body_server import CutBodyServer
from tests.rest.rest_fake_api import FakeApi, json_response, people

TOKEN = "bearer-token-5ecret"


@pytest.fixture
def api(httpserver: HTTPServer) -> FakeApi:
    return FakeApi(httpserver)


@pytest.fixture
def rest_conn(api: FakeApi, airflow_connection):
    """Defines a rest_api connection to the fake API with the given extra; returns its id."""

    def define(**extra) -> str:
        extra = {"auth_type": "bearer", "token": TOKEN, "retry_count": 2, "backoff_factor": 0.01, **extra}
        return airflow_connection("rest_api", host=api.base_url, extra=extra)

    return define


def _cursor_api(api: FakeApi, records: list[dict], page_size: int = 10) -> None:
    def handler(request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        start = int(request.args.get("cursor", 0))
        following = start + page_size if start + page_size < len(records) else None
        return json_response({"data": {"items": records[start : start + page_size]}, "meta": {"next": following}})

    api.route("people", handler)


def test_extract_streams_chunks_of_chunk_size(api: FakeApi, rest_conn) -> None:
    records = people(95)
    records[72]["email"] = "late@example.com"  # a field that first shows up on page 8
    _cursor_api(api, records)
    hook = RestApiConnectorHook(rest_conn(paginator="cursor", cursor_path="meta.next", records_path="data.items"))
    batches = list(hook.extract("people", chunk_size=40))
    assert [b.num_rows for b in batches] == [40, 40, 15]
    assert batches[0].schema.names == ["id", "name"]
    assert batches[1].schema.names == ["id", "name", "email"]
    assert batches[1].column("email").to_pylist()[32] == "late@example.com"
    assert pa.Table.from_batches(batches[1:]).column("id").to_pylist() == list(range(41, 96))
    assert api.calls["people"] == 10


def test_extract_options_override_the_connection(api: FakeApi, rest_conn) -> None:
    def handler(request: Request) -> Response:
        page = int(request.args["page"])
        assert request.args["status"] == "active"
        return json_response([{"id": page, "nested": {"a": 1}}] if page <= 3 else [])

    api.route("things", handler)
    hook = RestApiConnectorHook(rest_conn())
    batches = list(
        hook.extract(
            "/things", chunk_size=100, paginator={"type": "page_number"}, params={"status": "active"}, nested="json"
        )
    )
    assert batches[0].to_pylist() == [{"id": i, "nested": '{"a":1}'} for i in (1, 2, 3)]


def test_unknown_extract_option_is_named(rest_conn) -> None:
    with pytest.raises(ConnectorConfigError, match="unknown option.*chunksize.*known: column_types, detect_timestamps"):
        RestApiConnectorHook(rest_conn()).extract("x", chunksize=5)


def test_unknown_paginator_name_lists_the_known_ones(rest_conn) -> None:
    hook = RestApiConnectorHook(rest_conn())
    with pytest.raises(
        ConnectorConfigError, match="unknown paginator 'sideways'; known paginators: cursor, header_link"
    ):
        hook.extract("x", paginator="sideways")


def test_max_pages_from_config(api: FakeApi, rest_conn) -> None:
    api.route(
        "endless", lambda r: json_response({"data": [{"id": 1}], "next": f"/api/endless?p={api.calls['endless']}"})
    )
    hook = RestApiConnectorHook(rest_conn(paginator="json_link", max_pages=4))
    with pytest.raises(PaginationError, match="max_pages=4"):
        list(hook.extract("endless"))


def test_preview_stops_requesting_pages_at_the_limit(api: FakeApi, rest_conn) -> None:
    _cursor_api(api, people(1000))
    hook = RestApiConnectorHook(rest_conn(paginator="cursor", cursor_path="meta.next"))
    frame = hook.preview("people", limit=25)
    assert list(frame["id"]) == list(range(1, 26))
    assert api.calls["people"] == 3


def _collecting_endpoint(
    api: FakeApi, path: str, method: str, fail_on_request: int | None = None, status: int = 422
) -> list:
    received: list = []

    def handler(request: Request) -> Response:
        if fail_on_request is not None and api.calls[path] == fail_on_request:
            return Response('{"error": "invalid record"}', status=status)
        received.append(json.loads(request.data))
        return json_response({"accepted": len(received[-1])}, status=201)

    api.route(path, handler, method=method)
    return received


def test_load_posts_batches_and_encodes_types(api: FakeApi, rest_conn) -> None:
    received = _collecting_endpoint(api, "sink", "POST")
    hook = RestApiConnectorHook(rest_conn(batch_size=4))
    chunk = pa.record_batch(
        {
            "id": pa.array(range(5), pa.int64()),
            "price": pa.array([decimal.Decimal("1.10")] * 5, pa.decimal128(10, 2)),
            "at": pa.array([dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)] * 5, pa.timestamp("us", tz="UTC")),
        }
    )
    result = hook.load([chunk, chunk.slice(0, 2)], "sink")
    assert [len(body) for body in received] == [4, 3]
    assert received[0][0] == {"id": 0, "price": "1.10", "at": "2026-01-01T12:00:00+00:00"}
    assert (result.rows, result.chunks, result.details["requests"]) == (7, 2, 2)
    assert result.bytes > 0 and result.mode == "append"


def test_failed_batch_names_the_records_that_did_not_land(api: FakeApi, rest_conn) -> None:
    received = _collecting_endpoint(api, "sink", "POST", fail_on_request=3)
    hook = RestApiConnectorHook(rest_conn(batch_size=10))
    chunk = pa.record_batch({"id": list(range(45))})
    with pytest.raises(LoadError, match=r"records 20 to 29 did not land.*HTTP 422.*Records 0 to 19 were accepted"):
        hook.load([chunk], "sink")
    assert len(received) == 2


def test_post_is_not_retried_but_put_is(api: FakeApi, rest_conn) -> None:
    _collecting_endpoint(api, "posts", "POST", fail_on_request=1, status=503)
    _collecting_endpoint(api, "puts", "PUT", fail_on_request=1, status=503)
    hook = RestApiConnectorHook(rest_conn(upsert_method="PUT"))
    chunk = pa.record_batch({"id": [1, 2]})
    with pytest.raises(LoadError, match="records 0 to 1 did not land.*nothing was written"):
        hook.load([chunk], "posts")
    assert hook.load([chunk], "puts", mode="upsert", keys=["id"]).rows == 2
    assert api.calls["puts"] == 2


def test_unsupported_load_modes_say_how_to_enable_them(rest_conn) -> None:
    hook = RestApiConnectorHook(rest_conn())
    with pytest.raises(UnsupportedOperationError, match="does not support 'load mode upsert'.*set `upsert_method`"):
        hook.load([], "sink", mode="upsert", keys=["id"])
    with pytest.raises(UnsupportedOperationError, match="'load mode replace'; it supports: append"):
        hook.load([], "sink", mode="replace")


OPENAPI = {
    "openapi": "3.0.3",
    "paths": {
        "/users": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "data": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}
                                    },
                                }
                            }
                        }
                    }
                }
            }
        },
        "/users/{id}": {"get": {"responses": {"200": {"description": "one"}}}},
        "/events": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {"at": {"type": "string", "format": "date-time"}},
                                    },
                                }
                            }
                        }
                    }
                }
            }
        },
    },
    "components": {
        "schemas": {
            "User": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "integer"},
                    "score": {"type": "number"},
                    "address": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        }
    },
}


def test_get_schema_from_openapi_document(api: FakeApi, rest_conn) -> None:
    api.route("openapi.json", lambda r: json_response(OPENAPI))
    schema = RestApiConnectorHook(rest_conn()).get_schema()
    assert [t.name for t in schema.tables] == ["events", "users"]
    users = schema.table("users")
    assert [(c.name, c.type, c.nullable) for c in users.columns] == [
        ("id", "int64", False),
        ("score", "double", True),
        ("address__city", "string", True),
    ]
    assert schema.table("events").column("at").type == "timestamp[us, tz=UTC]"
    assert [t.name for t in RestApiConnectorHook(rest_conn()).get_schema("users").tables] == ["users"]


def test_get_schema_from_swagger_at_the_host_root(api: FakeApi, rest_conn) -> None:
    swagger = {
        "swagger": "2.0",
        "paths": {
            "/pets": {
                "get": {
                    "responses": {
                        "200": {"schema": {"type": "array", "items": {"properties": {"name": {"type": "string"}}}}}
                    }
                }
            }
        },
    }
    api.server.expect_request("/swagger.json").respond_with_json(swagger)
    schema = RestApiConnectorHook(rest_conn()).get_schema()
    assert schema.table("pets").columns[0].name == "name"


def test_get_schema_falls_back_to_configured_endpoints(api: FakeApi, rest_conn) -> None:
    records = [
        {"id": 1, "total": 9.5, "note": None, "owner": {"name": "Ada"}},
        {"id": 2, "total": 3.0, "note": None, "owner": None},  # a null parent: no `owner` column
    ]
    api.route("orders", lambda r: json_response({"results": records}))
    schema = RestApiConnectorHook(rest_conn(endpoints="orders")).get_schema()
    assert [(c.name, c.type) for c in schema.table("orders").columns] == [
        ("id", "int64"),
        ("total", "double"),
        ("owner__name", "string"),
        ("note", "null"),
    ]


def test_test_connection_messages(api: FakeApi, rest_conn, airflow_connection) -> None:
    api.route("health", lambda r: json_response({"ok": True}))
    assert RestApiConnectorHook(rest_conn(health_check_endpoint="health")).test_connection() == (
        True,
        f"Connected: GET {api.base_url}/health answered HTTP 200.",
    )

    api.route("private", lambda r: Response(f"bad token {r.headers['Authorization']}", status=401))
    ok, message = RestApiConnectorHook(rest_conn(health_check_endpoint="private")).test_connection()
    assert not ok and "refused the credentials (HTTP 401)" in message and TOKEN not in message

    api.route("missing", lambda r: Response("nope", status=404))
    ok, message = RestApiConnectorHook(rest_conn(health_check_endpoint="missing")).test_connection()
    assert not ok and "not found (HTTP 404)" in message

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conn_id = airflow_connection(
        "rest_api", host=f"http://127.0.0.1:{port}", extra={"auth_type": "bearer", "token": TOKEN}
    )
    ok, message = RestApiConnectorHook(conn_id).test_connection()
    assert not ok and message.startswith("Cannot reach the API") and TOKEN not in message


def test_config_errors_name_the_field(airflow_connection) -> None:
    conn_id = airflow_connection("rest_api", host="https://api.example.invalid", extra={"auth_type": "oauth2"})
    ok, message = RestApiConnectorHook(conn_id).test_connection()
    assert not ok and "'auth_type'" in message and "oauth2_url, client_id, client_secret" in message
    conn_id = airflow_connection("rest_api", host="https://api.example.invalid", extra={"rate_limit": -1})
    with pytest.raises(ConnectorConfigError, match="rate_limit"):
        RestApiConnectorHook(conn_id).config  # noqa: B018


def test_http_connection_headers_and_basic_auth(api: FakeApi, airflow_connection) -> None:
    seen = {}

    def handler(request: Request) -> Response:
        seen.update(
            tenant=request.headers.get("X-Tenant"),
            auth=request.headers.get("Authorization"),
            timeout_header=request.headers.get("Timeout"),
        )
        return json_response([{"id": 1}])

    api.route("rows", handler)
    host, port = api.server.host, api.server.port
    conn_id = airflow_connection(
        "http",
        host=host,
        port=port,
        schema="http",
        login="ann",
        password="pw-123456",
        extra={"X-Tenant": "acme", "verify": False, "paginator": "single_page", "timeout": 7},
    )
    hook = hook_for(conn_id)
    assert isinstance(hook, HttpConnectorHook)
    assert hook.base_url == f"http://{host}:{port}"
    assert hook.timeout == 7  # a common extra is a setting, not a header
    assert list(hook.extract("api/rows"))[0].to_pylist() == [{"id": 1}]
    assert seen == {"tenant": "acme", "auth": "Basic YW5uOnB3LTEyMzQ1Ng==", "timeout_header": None}
    assert hook.config["verify_ssl"] is False


def test_connection_form_comes_from_the_schema() -> None:
    schema = RestApiConnectorHook.full_config_schema()
    assert {"token", "api_key", "client_secret"} <= secret_fields(schema)
    fields = conn_fields(schema)
    assert fields["auth_type"]["schema"]["enum"] == ["api_key", "basic", "bearer", "none", "oauth2"]
    assert {"timeout", "rate_limit", "max_retries", "paginator", "records_path", "health_check_endpoint"} <= set(fields)
    assert RestApiConnectorHook.operations == frozenset(Operation)
    assert HttpConnectorHook.form_owner_distribution == "apache-airflow-providers-http"


@pytest.mark.parametrize(
    ("conn_type", "extra", "requests_sent"),
    [
        ("rest_api", {}, 3),  # retry_count's default (2 retries)
        ("rest_api", {"retry_count": 1}, 2),
        ("rest_api", {"retry_count": 1, "max_retries": 3}, 4),  # set explicitly, max_retries wins
        ("http", {"retry_count": 0}, 1),
    ],
)
def test_max_retries_defaults_to_the_common_retry_count(
    api: FakeApi, airflow_connection, conn_type: str, extra: dict, requests_sent: int
) -> None:
    api.route("down", lambda r: Response("maintenance", status=503))
    conn_id = airflow_connection(conn_type, host=api.base_url, extra={"backoff_factor": 0.01, **extra})
    with pytest.raises(RestApiError, match="HTTP 503"):
        list(hook_for(conn_id).extract("down"))
    assert api.calls["down"] == requests_sent


@pytest.mark.parametrize("retry_count", [1, 0])
def test_oauth2_token_request_follows_the_connection_retries(
    api: FakeApi, airflow_connection, retry_count: int
) -> None:
    def token(request: Request) -> Response:
        if api.calls["token"] == 1:
            return Response("busy", status=503)
        return json_response({"access_token": "tok-hook-5ecret", "expires_in": 60})

    def items(request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer tok-hook-5ecret":
            return json_response({"error": "unauthorized"}, status=401)
        return json_response([{"id": 1}])

    api.route("token", token, method="POST")
    api.route("items", items)
    extra = {
        "auth_type": "oauth2",
        "oauth2_url": api.server.url_for("/api/token"),
        "client_id": "etl",
        "client_secret": "client-5ecret",
        "retry_count": retry_count,
        "backoff_factor": 0.01,
    }
    hook = RestApiConnectorHook(airflow_connection("rest_api", host=api.base_url, extra=extra))
    if retry_count:
        assert [row for batch in hook.extract("items") for row in batch.to_pylist()] == [{"id": 1}]
        assert api.calls["token"] == 2
    else:
        with pytest.raises(RestApiError, match="token endpoint.*HTTP 503"):
            list(hook.extract("items"))
        assert api.calls["token"] == 1


def test_hook_logs_carry_no_secrets(api: FakeApi, rest_conn, caplog: pytest.LogCaptureFixture) -> None:
    api.route("flaky", lambda r: Response(f"echo {r.headers['Authorization']}", status=503))
    hook = RestApiConnectorHook(rest_conn())
    with pytest.raises(RestApiError) as error:
        list(hook.extract("flaky"))
    assert TOKEN not in str(error.value) and TOKEN not in repr(error.value.__cause__)
    assert caplog.records and all(TOKEN not in record.getMessage() for record in caplog.records)


def test_credential_headers_of_http_connections_are_redacted(api: FakeApi, airflow_connection) -> None:
    api.route("echo", lambda r: Response(f"rejected {r.headers['Authorization']}", status=403))
    conn_id = airflow_connection("http", host=api.base_url, extra={"Authorization": "Token hdr-secret-777"})
    with pytest.raises(RestApiError) as error:
        list(HttpConnectorHook(conn_id).extract("echo"))
    assert "hdr-secret-777" not in str(error.value) and "rejected ***" in str(error.value)


class RecordStore:
    """A tiny collection API: GET lists what POST appended (the conformance suite reads back)."""

    def __init__(self, api: FakeApi, name: str, records: list[dict] | None = None) -> None:
        self.records = list(records or [])
        api.route(name, self.handle)

    def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.records.extend(json.loads(request.data))
            return json_response({"created": True}, status=201)
        return json_response({"data": self.records})


class TestRestApiConformance(ConnectorConformance):
    connector_class = RestApiConnectorHook

    @pytest.fixture
    def conn_id(self, api: FakeApi, rest_conn) -> str:
        api.route("", lambda r: json_response({"service": "fake"}))
        return rest_conn()

    @pytest.fixture
    def source(self, api: FakeApi) -> str:
        RecordStore(api, "people", people(5))
        return "people"

    @pytest.fixture
    def destination(self, api: FakeApi) -> str:
        RecordStore(api, "sink")
        return "sink"


def test_rate_limit_is_shared_by_every_call_of_one_hook(api: FakeApi, rest_conn) -> None:
    stamps: list[float] = []
    api.route("ticks", lambda r: stamps.append(time.monotonic()) or json_response([{"id": 1}]))
    hook = RestApiConnectorHook(rest_conn(rate_limit=300))  # one request per 0.2 s
    started = time.monotonic()
    for _ in range(4):  # separate extract calls, each opening and closing the hook
        list(hook.extract("ticks"))
    elapsed = time.monotonic() - started  # the 4th request cannot start before 3 intervals passed
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    # Server-side stamps include network jitter, so only their spacing is checked loosely.
    assert len(stamps) == 4 and elapsed >= 0.59 and min(gaps) >= 0.1, (elapsed, gaps)


@pytest.mark.parametrize(("failures", "rows"), [(2, [{"id": 1}, {"id": 2}]), (None, None)])
def test_a_body_cut_short_is_retried_then_names_the_connection_and_url(
    airflow_connection, failures: int | None, rows: list | None
) -> None:
    key = "cut-query-key-5ecret"
    extra = {"auth_type": "api_key", "api_key": key, "key_name": "apikey", "key_location": "query"}
    with CutBodyServer.running(failures=failures) as server:
        url = server.url
        conn_id = airflow_connection("rest_api", host=url, extra={**extra, "backoff_factor": 0.01})
        hook = RestApiConnectorHook(conn_id)
        if rows:
            assert [row for batch in hook.extract("items") for row in batch.to_pylist()] == rows
        else:
            with pytest.raises(RestApiError) as error:
                list(hook.extract("items", params={"day": "2026-01-01"}))
    assert len(server.request_lines) == 3  # retry_count's default: 2 retries
    if rows:
        return
    message = str(error.value)
    assert message.startswith(
        f"GET {url}/items?day=2026-01-01&apikey=*** (connection {conn_id!r}) failed: the response was cut short"
    )
    assert "gave up after 3 attempts" in message
    assert key not in message + repr(error.value.__cause__)


def test_a_cursor_path_missing_from_the_body_fails_naming_connection_page_and_path(api: FakeApi, rest_conn) -> None:
    """Stripe's list read with a body cursor used to stop after page one: 20 of 57 records, no message."""
    records = [{"id": f"cus_{i:02d}"} for i in range(57)]
    api.route("customers", lambda r: json_response({"object": "list", "data": records[:20], "has_more": True}))
    conn_id = rest_conn(paginator="cursor", cursor_path="next_cursor", records_path="data")
    with pytest.raises(PaginationError) as error:
        list(RestApiConnectorHook(conn_id).extract("customers"))
    message = str(error.value)
    assert f"connection {conn_id!r}" in message and "page 1 (20 records)" in message
    assert "cursor_path 'next_cursor'" in message and "/api/customers" in message and TOKEN not in message


def test_stripe_style_list_from_the_connection_settings(api: FakeApi, rest_conn) -> None:
    records = [{"id": f"cus_{i:02d}"} for i in range(57)]

    def handler(request: Request) -> Response:
        after = request.args.get("starting_after")
        start = 0 if after is None else [r["id"] for r in records].index(after) + 1
        return json_response({"object": "list", "data": records[start : start + 20], "has_more": start + 20 < 57})

    api.route("customers", handler)
    conn_id = rest_conn(
        paginator="cursor",
        cursor_from="last_record",
        cursor_path="id",
        cursor_param="starting_after",
        has_more_path="has_more",
        records_path="data",
    )
    table = pa.Table.from_batches(RestApiConnectorHook(conn_id).extract("customers", chunk_size=1000))
    assert table.column("id").to_pylist() == [r["id"] for r in records]
    assert api.calls["customers"] == 3


def test_a_throttled_post_batch_is_resent_and_every_record_lands_once(api: FakeApi, rest_conn) -> None:
    received: list = []

    def handler(request: Request) -> Response:
        if api.calls["sink"] == 2:  # the second batch is throttled once
            return json_response({"error": "rate limited"}, 429, {"Retry-After": "0"})
        received.extend(json.loads(request.data))
        return json_response({}, 201)

    api.route("sink", handler, method="POST")
    result = RestApiConnectorHook(rest_conn(batch_size=10)).load([pa.record_batch({"id": list(range(25))})], "sink")
    assert sorted(r["id"] for r in received) == list(range(25)) and result.rows == 25
    assert api.calls["sink"] == 4 and result.details["requests"] == 3


def _real_masker_hides(name: str) -> bool:
    """Airflow's own check, configured as Airflow configures it (its default sensitive words)."""
    from airflow._shared.secrets_masker import should_hide_value_for_key
    from airflow.settings import _configure_secrets_masker

    _configure_secrets_masker()
    return should_hide_value_for_key(name)


def test_airflow_masks_only_the_secret_rest_fields() -> None:
    schema = RestApiConnectorHook.full_config_schema()
    secrets = secret_fields(schema)
    assert secrets == {"token", "api_key", "client_secret"}
    plain = [name for name in schema["properties"] if name not in secrets]
    assert [name for name in plain if _real_masker_hides(name)] == []
    assert all(_real_masker_hides(name) for name in secrets)
    assert all(_real_masker_hides(old) for old in RENAMED_KEYS)  # why they were renamed


def test_rest_fields_are_ordered_as_a_person_fills_them_and_help_has_no_markdown() -> None:
    names = list(RestApiConnectorHook.full_config_schema()["properties"])
    auth = ["auth_type", "token", "api_key", "key_name", "key_location", "oauth2_url", "client_id", "client_secret"]
    assert names[: len(auth)] == auth
    assert names.index("paginator") < names.index("cursor_path") < names.index("records_path")
    assert names.index("records_path") < names.index("timeout") < names.index("batch_size")
    for name, field in conn_fields(RestApiConnectorHook.full_config_schema()).items():
        assert "`" not in field.get("description", "") + field["label"], name


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [
        (o, n, v)
        for (o, n), v in zip(RENAMED_KEYS.items(), ["https://auth.example.com/token", "X-Key", "query"], strict=True)
    ],
)
def test_old_key_names_still_work_with_a_deprecation_warning(
    rest_conn, capsys: pytest.CaptureFixture[str], old: str, new: str, value: str
) -> None:
    hook = RestApiConnectorHook(rest_conn(**{old: value}))
    assert hook.config[new] == value and old not in hook.config
    assert f"extra key {old!r} is deprecated; rename it to {new!r}" in capsys.readouterr().out


def test_an_old_key_saved_as_the_mask_is_an_error_naming_the_new_key(rest_conn) -> None:
    hook = RestApiConnectorHook(rest_conn(auth_type="api_key", api_key="k" * 8, api_key_name="***"))
    with pytest.raises(ConnectorConfigError, match=r"'api_key_name'.*holds '\*\*\*'.*Set 'key_name'"):
        _ = hook.config


def test_old_key_names_of_an_http_connection_are_settings_not_headers(api: FakeApi, airflow_connection) -> None:
    api.route("x", lambda r: json_response([{"key": r.headers.get("X-Key"), "bad": r.headers.get("Api-Key-Name")}]))
    conn_id = airflow_connection(
        "http", host=api.base_url, extra={"auth_type": "api_key", "api_key": "key-123456", "api_key_name": "X-Key"}
    )
    assert list(HttpConnectorHook(conn_id).extract("x"))[0].to_pylist() == [{"key": "key-123456"}]


def _charges(n: int) -> list[dict]:
    start = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
    return [
        {
            "id": f"ch_{i:03d}",
            "amount": 100 + i,
            # Both spellings of an instant: Z and a +02:00 offset.
            "created": (start + dt.timedelta(hours=i)).isoformat().replace("+00:00", "Z")
            if i % 2
            else (start + dt.timedelta(hours=i)).astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(),
        }
        for i in range(n)
    ]


def _stripe_api(api: FakeApi, records: list[dict]) -> None:
    def handler(request: Request) -> Response:
        after, limit = request.args.get("starting_after"), int(request.args.get("limit", 20))
        start = 0 if after is None else [r["id"] for r in records].index(after) + 1
        page = records[start : start + limit]
        return json_response({"object": "list", "data": page, "has_more": start + limit < len(records)})

    api.route("charges", handler)


def _github_api(api: FakeApi, records: list[dict]) -> None:
    def handler(request: Request) -> Response:
        page, per_page = int(request.args.get("page", 1)), int(request.args.get("per_page", 20))
        last = -(-len(records) // per_page)
        links = [f'<{api.base_url}/charges?page={page + 1}&per_page={per_page}>; rel="next"'] if page < last else []
        links.append(f'<{api.base_url}/charges?page={last}&per_page={per_page}>; rel="last"')
        return json_response(records[(page - 1) * per_page : page * per_page], headers={"Link": ", ".join(links)})

    api.route("charges", handler)


STRIPE_SETTINGS = {
    "paginator": "cursor",
    "cursor_from": "last_record",
    "cursor_path": "id",
    "cursor_param": "starting_after",
    "has_more_path": "has_more",
    "records_path": "data",
}


@pytest.mark.parametrize(
    ("style", "serve", "settings", "params"),
    [
        ("stripe", _stripe_api, STRIPE_SETTINGS, {"limit": 20}),
        ("github", _github_api, {"paginator": "header_link"}, {"per_page": 20}),
    ],
)
def test_every_record_once_with_typed_timestamps_into_postgres(
    api: FakeApi, rest_conn, postgres_conn_id: str, postgres_database, style, serve, settings, params
) -> None:
    import psycopg

    records = _charges(57)
    serve(api, records)
    source = RestApiConnectorHook(rest_conn(**settings))
    batches = list(source.extract("charges", chunk_size=25, params=params))
    assert [b.num_rows for b in batches] == [25, 25, 7] and api.calls["charges"] == 3
    assert {b.schema.field("created").type for b in batches} == {pa.timestamp("us", tz="UTC")}
    table = pa.Table.from_batches(batches)
    assert table.column("id").to_pylist() == [r["id"] for r in records]
    expected = [dt.datetime.fromisoformat(r["created"].replace("Z", "+00:00")) for r in records]
    assert table.column("created").to_pylist() == expected

    assert hook_for(postgres_conn_id).load(batches, f"{style}_charges").rows == 57
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name) as conn:
        kind = conn.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = 'created'",
            (f"{style}_charges",),
        ).fetchone()
        rows = conn.execute(f'SELECT count(*), count(DISTINCT id), min(created) FROM "{style}_charges"').fetchone()
    assert kind == ("timestamp with time zone",)
    assert rows == (57, 57, dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc))


def test_flattened_columns_are_loaded_as_nested_objects_again(api: FakeApi, rest_conn) -> None:
    source_records = [
        {"id": i, "address": {"city": f"c{i}", "geo": {"lat": i / 2}}, "meta": {"a": i}} for i in range(3)
    ]
    api.route("people", lambda r: json_response(source_records))
    received = _collecting_endpoint(api, "sink", "POST")
    hook = RestApiConnectorHook(rest_conn())
    hook.load(hook.extract("people"), "sink")
    assert received == [source_records]
    hook.load(hook.extract("people"), "sink", nested="json")
    assert received[1][0] == {"id": 0, "address__city": "c0", "address__geo__lat": 0.0, "meta__a": 0}


def test_a_column_that_is_also_a_parent_cannot_be_nested(api: FakeApi, rest_conn) -> None:
    _collecting_endpoint(api, "sink", "POST")
    chunk = pa.record_batch({"address": ["Oslo"], "address__city": ["Oslo"]})
    with pytest.raises(LoadError, match="column 'address' holds a value and is also the parent.*nested='json'"):
        RestApiConnectorHook(rest_conn()).load([chunk], "sink")
    assert api.calls.get("sink") is None
