"""Example third-party connector: Salesforce, in one plugins-folder file.

It reuses the REST connector (HTTP, OAuth2 client credentials, retries, paging, Arrow
batching) and only says what is Salesforce about it: SOQL through `/query`, pages chained by
`nextRecordsUrl`, records under `records`, and the `attributes` bookkeeping dropped.

Connection (type `salesforce`): host = your instance URL (https://acme.my.salesforce.com),
login = the connected app's client id, password = its client secret. Source: a SOQL query
or an object name (`Account` reads its standard fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import pyarrow as pa
import requests

from airflow_etl_provider.hooks.rest_api import CONFIG_SCHEMA, RestApiConnectorHook
from airflow_etl_provider.sdk import (
    DEFAULT_CHUNK_SIZE,
    ColumnInfo,
    ConnectorConfigError,
    ConnectorPlugin,
    Operation,
    SchemaInfo,
    TableInfo,
    register_connector,
)

SALESFORCE_DEFAULTS = {
    "auth_type": "oauth2",
    "paginator": "json_link",
    "next_url_path": "nextRecordsUrl",
    "done_path": "done",  # the last page has no nextRecordsUrl
    "records_path": "records",
}


@register_connector
class SalesforceConnectorHook(RestApiConnectorHook, ConnectorPlugin):
    """Salesforce objects and SOQL queries as a source."""

    conn_type = "salesforce"
    hook_name = "Salesforce"
    description = "Salesforce: SOQL queries and objects through the REST API (OAuth2 client credentials)."
    version = "1.0.0"
    author = "airflow-etl-provider examples"
    operations = frozenset({Operation.TEST_CONNECTION, Operation.GET_SCHEMA, Operation.EXTRACT, Operation.PREVIEW})
    config_schema = {
        **CONFIG_SCHEMA,
        "properties": {
            **CONFIG_SCHEMA["properties"],
            **{
                name: {**CONFIG_SCHEMA["properties"][name], "default": value}
                for name, value in SALESFORCE_DEFAULTS.items()
            },
            "api_version": {
                "type": "string",
                "pattern": r"^\d+\.\d$",
                "default": "62.0",
                "title": "API version",
            },
        },
    }

    @cached_property
    def config(self) -> dict[str, Any]:
        config = dict(super().config)
        config["oauth2_url"] = config["oauth2_url"] or f"{self.base_url}/services/oauth2/token"
        config["health_check_endpoint"] = config["health_check_endpoint"] or f"{self.api}/limits"
        return config

    @property
    def api(self) -> str:
        return f"/services/data/v{self.config['api_version']}"

    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        soql = (
            source
            if source.lstrip().upper().startswith("SELECT ")
            else f"SELECT FIELDS(STANDARD) FROM {self._object(source)}"
        )
        params = {**options.pop("params", {}), "q": soql}
        return (
            _without_attributes(b)
            for b in super().extract(f"{self.api}/query", chunk_size=chunk_size, params=params, **options)
        )

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        with self:
            if not source:
                found = self._get(f"{self.api}/sobjects")["sobjects"]
                return SchemaInfo(tuple(TableInfo(o["name"], (), kind="object") for o in found if o.get("queryable")))
            fields = self._get(f"{self.api}/sobjects/{self._object(source)}/describe")["fields"]
        columns = tuple(ColumnInfo(f["name"], f["type"], bool(f["nillable"]), f.get("defaultValue")) for f in fields)
        key = tuple(f["name"] for f in fields if f["type"] == "id")
        return SchemaInfo((TableInfo(source, columns, kind="object", primary_key=key),))

    def _get(self, path: str) -> Any:
        return self.client.send(requests.Request("GET", self.client.url(path))).json()

    def _object(self, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name.strip()):
            raise ConnectorConfigError(self.conn_id, "source", f"{name!r} is neither a SOQL SELECT nor an object name.")
        return name.strip()


def _without_attributes(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Drop Salesforce's per-record `attributes` (type, url), also inside related objects."""
    return batch.drop_columns([n for n in batch.schema.names if "attributes" in n.split("__")])
