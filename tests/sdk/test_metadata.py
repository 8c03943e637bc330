"""What a connector declares, as reported by the SDK, and the early checks on it."""

from __future__ import annotations

import pytest

import airflow_etl_provider.sdk as sdk
from airflow_etl_provider.config import validate_config
from airflow_etl_provider.sdk import (
    ConnectorConfigError,
    ConnectorPlugin,
    LoadMode,
    Operation,
    plugin_metadata,
)
from airflow_etl_provider.sdk._metadata import connector_problems


class Inventory(ConnectorPlugin):
    """Warehouse inventory over the vendor API."""

    conn_type = "inventory_test"
    hook_name = "Inventory"
    version = "2.0.1"
    author = "Stock Ltd"
    operations = frozenset({Operation.TEST_CONNECTION, Operation.EXTRACT})
    load_modes = (LoadMode.APPEND,)
    config_schema = {
        "type": "object",
        "required": ["warehouse"],
        "additionalProperties": False,
        "properties": {
            "warehouse": {"type": "string", "title": "Warehouse code", "pattern": "^[A-Z]{3}$"},
            "api_token": {"type": "string", "format": "password", "title": "API token", "minLength": 8},
            "page_size": {"type": "integer", "minimum": 1, "default": 100, "title": "Page size"},
        },
    }

    def test_connection(self):
        return True, "ok"

    def get_schema(self, source=None):
        self.require(Operation.GET_SCHEMA)

    def extract(self, source, *, chunk_size=1, **options):
        return iter(())

    def load(self, chunks, destination, **options):
        self.require(Operation.LOAD)


def test_public_api_is_explicit_and_importable() -> None:
    assert sorted(sdk.__all__) == sorted(set(sdk.__all__))
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None, name
    assert not any(name.startswith("_") for name in sdk.__all__)


def test_metadata_of_a_plugin() -> None:
    meta = plugin_metadata(Inventory)
    assert (meta.conn_type, meta.name, meta.version, meta.author) == (
        "inventory_test",
        "Inventory",
        "2.0.1",
        "Stock Ltd",
    )
    assert meta.description == "Warehouse inventory over the vendor API."  # from the docstring
    assert meta.operations == ("extract", "test_connection") and meta.load_modes == ("append",)
    assert {"warehouse", "timeout", "retry_count"} <= set(meta.config_schema["properties"])
    assert meta.class_path.endswith("test_metadata.Inventory")


def test_built_in_metadata_falls_back_to_the_distribution() -> None:
    from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook

    meta = plugin_metadata(SQLiteConnectorHook)
    assert meta.version == "0.1.0" and meta.name == "SQLite (ETL)"


def test_config_validation_reports_every_problem_with_its_field() -> None:
    schema = Inventory.full_config_schema()
    with pytest.raises(ConnectorConfigError) as error:
        validate_config("inv", schema, {"warehouse": "berlin", "api_token": "s3cr!t", "page_size": 0, "colour": 1})
    message = str(error.value)
    for field in ("warehouse", "api_token", "page_size", "colour"):
        assert field in message, field
    assert "s3cr!t" not in message  # a secret's value is never echoed
    assert validate_config("inv", schema, {"warehouse": "BER"})["page_size"] == 100


def test_problems_with_operations_and_modes_are_listed() -> None:
    class Sloppy(Inventory):
        operations = frozenset({"extract"})
        load_modes = ("append",)
        config_schema = {"type": "object", "properties": {"x": {"type": "string"}}}

    problems = connector_problems(Sloppy)
    assert "`operations` must be a frozenset of airflow_etl_provider.sdk.Operation" in problems
    assert "`load_modes` must be a tuple of airflow_etl_provider.sdk.LoadMode" in problems
    assert "`config_schema` property 'x' needs a `title` or `description` for its form field" in problems
    assert connector_problems(object) == [
        "<class 'object'> is not a subclass of airflow_etl_provider.sdk.ConnectorHook"
    ]


def test_every_error_of_an_invalid_config_schema_is_reported_at_once() -> None:
    class Broken(Inventory):
        config_schema = {
            "type": "object",
            "required": "warehouse",
            "properties": {
                "warehouse": {"type": "strin", "title": "Warehouse code"},
                "page_size": {"type": "integer", "minimum": "1", "title": "Page size"},
            },
        }

    schema_problems = [p for p in connector_problems(Broken) if "not a valid JSON Schema" in p]
    assert [p.split(":")[0] for p in schema_problems] == [
        "`config_schema` is not a valid JSON Schema at properties.page_size.minimum",
        "`config_schema` is not a valid JSON Schema at properties.warehouse.type",
        "`config_schema` is not a valid JSON Schema at required",
    ]
    assert "'1' is not of type 'number'" in schema_problems[0]
    assert "'strin'" in schema_problems[1]
    assert "'warehouse' is not of type 'array'" in schema_problems[2]
    with pytest.raises(sdk.PluginError) as error:
        sdk.check_connector(Broken)
    assert all(problem in str(error.value) for problem in schema_problems)
