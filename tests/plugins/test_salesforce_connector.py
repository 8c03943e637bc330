"""The example Salesforce plugin against a local server answering in Salesforce's documented shapes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_etl_provider.hooks.registry import registry
from airflow_etl_provider.sdk import ConnectorConfigError, ConnectorConformance, load_plugins_from_directory

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
API = "/services/data/v62.0"
TOKEN = "00DTEST!AQ0AQexampleaccesstoken"
ACCOUNTS = [
    {"Id": "001A", "Name": "Acme", "Owner": {"Name": "Ada"}},
    {"Id": "001B", "Name": "Globex", "Owner": {"Name": "Grace"}},
    {"Id": "001C", "Name": "Initech", "Owner": None},
    {"Id": "001D", "Name": "Umbrella", "Owner": {"Name": "Linus"}},
    {"Id": "001E", "Name": "Hooli", "Owner": {"Name": "Ada"}},
]


@pytest.fixture(scope="module", autouse=True)
def salesforce_plugin() -> Iterator[type]:
    [result] = [r for r in load_plugins_from_directory(PLUGINS) if r.path.name == "salesforce_connector.py"]
    assert result.error is None and result.conn_types == ["salesforce"]
    yield registry.connector_class("salesforce")
    registry.unregister("salesforce")
    sys.modules.pop("salesforce_connector", None)


def _record(account: dict[str, Any]) -> dict[str, Any]:
    owner = account["Owner"] and {
        "attributes": {"type": "User", "url": f"{API}/sobjects/User/005"},
        **account["Owner"],
    }
    return {
        "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{account['Id']}"},
        **account,
        "Owner": owner,
    }


class FakeSalesforce:
    """Token endpoint, paged /query, /limits and describe, as the REST API documents them."""

    def __init__(self, server: HTTPServer, accounts: list[dict[str, Any]] = ACCOUNTS) -> None:
        self.server = server
        self.accounts = accounts
        self.queries: list[str] = []
        self.tokens_issued = 0
        server.expect_request("/services/oauth2/token", method="POST").respond_with_handler(self.token)
        server.expect_request(f"{API}/query").respond_with_handler(self.authorized(self.first_page))
        server.expect_request(f"{API}/query/01gQUERY-2").respond_with_handler(self.authorized(self.page(2, 4)))
        server.expect_request(f"{API}/query/01gQUERY-4").respond_with_handler(self.authorized(self.page(4, 5)))
        server.expect_request(f"{API}/limits").respond_with_json(
            {"DailyApiRequests": {"Max": 15000, "Remaining": 14990}}
        )
        server.expect_request(f"{API}/sobjects").respond_with_json(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [
                    {"name": "Account", "queryable": True},
                    {"name": "AccountChangeEvent", "queryable": False},
                ],
            }
        )
        server.expect_request(f"{API}/sobjects/Account/describe").respond_with_json(
            {
                "name": "Account",
                "fields": [
                    {"name": "Id", "type": "id", "nillable": False, "defaultValue": None},
                    {"name": "Name", "type": "string", "nillable": False, "defaultValue": None},
                    {"name": "AnnualRevenue", "type": "currency", "nillable": True, "defaultValue": None},
                ],
            }
        )

    def token(self, request: Request) -> Response:
        form = request.form
        if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
            "client_credentials",
            "connected-app",
            "app-secret-123",
        ):
            body = '{"error": "invalid_client", "error_description": "invalid client credentials"}'
            return Response(body, status=400, content_type="application/json")
        self.tokens_issued += 1
        body = {
            "access_token": TOKEN,
            "instance_url": self.server.url_for(""),
            "token_type": "Bearer",
            "issued_at": "1795651200000",
            "signature": "c2lnbmF0dXJl",
        }
        return Response(json.dumps(body), content_type="application/json")

    def authorized(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def check(request: Request) -> Response:
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return Response('[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]', 401)
            return handler(request)

        return check

    def first_page(self, request: Request) -> Response:
        self.queries.append(request.args["q"])
        return self.page(0, 2)(request)

    def page(self, start: int, end: int) -> Callable[[Request], Response]:
        def respond(request: Request) -> Response:
            body: dict[str, Any] = {"totalSize": len(self.accounts), "done": end >= len(self.accounts)}
            if not body["done"]:
                body["nextRecordsUrl"] = f"{API}/query/01gQUERY-{end}"
            body["records"] = [_record(a) for a in self.accounts[start:end]]
            return Response(json.dumps(body), content_type="application/json")

        return respond


@pytest.fixture
def accounts() -> list[dict[str, Any]]:
    return ACCOUNTS


@pytest.fixture
def salesforce(httpserver: HTTPServer, accounts: list[dict[str, Any]]) -> FakeSalesforce:
    return FakeSalesforce(httpserver, accounts)


@pytest.fixture
def conn_id(salesforce: FakeSalesforce, airflow_connection: Callable[..., str]) -> str:
    return airflow_connection(
        "salesforce",
        host=salesforce.server.url_for("").rstrip("/"),
        login="connected-app",
        password="app-secret-123",
    )


def test_query_follows_next_records_url_and_drops_attributes(conn_id: str, salesforce: FakeSalesforce) -> None:
    hook = registry.hook_for(conn_id)
    batches = list(hook.extract("SELECT Id, Name, Owner.Name FROM Account", chunk_size=2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    # Initech's null Owner (page 2) adds no `Owner` column: every chunk has the same schema.
    assert [b.schema.names for b in batches] == [["Id", "Name", "Owner__Name"]] * 3
    assert len({b.schema for b in batches}) == 1
    rows = [row for b in batches for row in b.to_pylist()]
    assert [r["Name"] for r in rows] == ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]
    assert rows[2]["Owner__Name"] is None
    assert salesforce.queries == ["SELECT Id, Name, Owner.Name FROM Account"]
    assert salesforce.tokens_issued == 1


@pytest.mark.parametrize(
    "accounts", [[{**a, "Owner": None} for a in ACCOUNTS[:2]] + ACCOUNTS[2:]], ids=["owner-null-on-page-1"]
)
def test_owner_null_on_the_first_page_gets_its_column_once_typed(conn_id: str) -> None:
    batches = list(registry.hook_for(conn_id).extract("SELECT Id, Name, Owner.Name FROM Account", chunk_size=2))
    assert [b.schema.names for b in batches] == [
        ["Id", "Name"],
        ["Id", "Name", "Owner__Name"],
        ["Id", "Name", "Owner__Name"],
    ]
    assert not any(pa.types.is_null(field.type) for b in batches for field in b.schema)
    assert [row["Owner__Name"] for row in batches[1].to_pylist() + batches[2].to_pylist()] == [None, "Linus", "Ada"]


def test_object_name_reads_standard_fields(conn_id: str, salesforce: FakeSalesforce) -> None:
    frame = registry.hook_for(conn_id).preview("Account", limit=3)
    assert list(frame["Id"]) == ["001A", "001B", "001C"]
    assert salesforce.queries == ["SELECT FIELDS(STANDARD) FROM Account"]
    with pytest.raises(ConnectorConfigError, match="neither a SOQL SELECT nor an object name"):
        registry.hook_for(conn_id).preview("Account; DROP", limit=1)


def test_connection_test_uses_oauth_and_hides_the_secret(
    conn_id: str, salesforce: FakeSalesforce, airflow_connection: Callable[..., str]
) -> None:
    ok, message = registry.hook_for(conn_id).test_connection()
    assert ok and f"{API}/limits" in message
    wrong = airflow_connection(
        "salesforce",
        host=salesforce.server.url_for("").rstrip("/"),
        login="connected-app",
        password="wrong-secret-9",
    )
    ok, message = registry.hook_for(wrong).test_connection()
    assert not ok and "wrong-secret-9" not in message


def test_schema_lists_queryable_objects_and_describes_one(conn_id: str, salesforce: FakeSalesforce) -> None:
    hook = registry.hook_for(conn_id)
    assert [t.name for t in hook.get_schema().tables] == ["Account"]
    [account] = hook.get_schema("Account").tables
    assert [(c.name, c.type, c.nullable) for c in account.columns] == [
        ("Id", "id", False),
        ("Name", "string", False),
        ("AnnualRevenue", "currency", True),
    ]
    assert account.primary_key == ("Id",)


class TestSalesforceConformance(ConnectorConformance):
    connector_class = property(lambda self: registry.connector_class("salesforce"))  # loaded by the fixture

    @pytest.fixture
    def conn_id(self, conn_id: str) -> str:
        return conn_id

    @pytest.fixture
    def source(self, conn_id: str) -> str:
        return "Account"
