"""Plugins written for the seed's plugin API run through the SDK, or are reported with a porting hint."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_etl_provider.hooks.registry import registry
from airflow_etl_provider.sdk import ConnectorConfigError, ConnectorConformance, Operation, PluginError, plugin_metadata
from airflow_etl_provider.sdk import ConnectorPlugin as SdkConnectorPlugin
from airflow_etl_provider.sdk.compat import ConnectorPlugin, ConnectorRegistry, PluginManager

SEED_FILES = Path(__file__).parent / "seed_plugin_files"


@pytest.fixture
def seed_plugin(clean_registry: None) -> type:
    [loaded] = PluginManager().load_plugins_from_directory(SEED_FILES)
    assert (loaded.conn_types, loaded.error) == (["legacy_crm"], None)
    return registry.connector_class("legacy_crm")


@pytest.fixture
def crm_database(tmp_path: Path) -> Path:
    database = tmp_path / "crm.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE contacts (id INTEGER, name TEXT)")
        db.executemany("INSERT INTO contacts VALUES (?, ?)", [(1, "ada"), (2, "grace"), (3, "linus")])
    return database


def test_a_seed_style_file_registers_an_sdk_connector(seed_plugin: type) -> None:
    meta = plugin_metadata(seed_plugin)
    assert (meta.conn_type, meta.name, meta.version, meta.author) == ("legacy_crm", "legacy_crm", "2.1.0", "CRM Team")
    assert meta.description == "Contacts of the old CRM, kept in an SQLite file."
    assert meta.operations == ("extract", "load", "preview", "test_connection")
    assert meta.class_path == "legacy_crm_plugin.LegacyCrmPluginConnector"
    # The form needs a label: a property without one gets its name as title.
    assert meta.config_schema["properties"]["database"]["title"] == "Database"


def test_seed_plugin_connector_works_and_its_validate_config_is_honoured(
    seed_plugin: type, crm_database: Path, airflow_connection: Callable[..., str]
) -> None:
    hook = registry.hook_for(airflow_connection("legacy_crm", extra={"database": str(crm_database)}))
    assert hook.test_connection() == (True, f"legacy_crm connection {hook.conn_id!r} works.")
    assert hook.preview("contacts", limit=2)["name"].tolist() == ["ada", "grace"]
    refused = registry.hook_for(airflow_connection("legacy_crm", extra={"database": str(crm_database) + ".txt"}))
    with pytest.raises(ConnectorConfigError, match="refused by LegacyCrmPlugin.validate_config"):
        refused.test_connection()


class TestSeedPluginConformance(ConnectorConformance):
    connector_class = property(lambda self: registry.connector_class("legacy_crm"))  # loaded by `seed_plugin`

    @pytest.fixture(autouse=True)
    def loaded(self, seed_plugin: type) -> None:
        """The seed-style file, loaded for every test of the suite."""

    @pytest.fixture
    def conn_id(self, crm_database: Path, airflow_connection: Callable[..., str]) -> str:
        return airflow_connection("legacy_crm", extra={"database": str(crm_database)})

    @pytest.fixture
    def source(self, conn_id: str) -> str:
        return "contacts"

    @pytest.fixture
    def destination(self, conn_id: str) -> str:
        return "conformance_out"


def test_plugin_manager_and_registry_names_map_onto_the_sdk(clean_registry: None, crm_database: Path) -> None:
    class NotesPlugin(ConnectorPlugin):  # registers itself when defined
        PLUGIN_NAME = "seed_notes"
        PLUGIN_VERSION = "0.1"

        def get_config_schema(self) -> dict:
            return {"type": "object", "properties": {"database": {"type": "string"}}}

        def create_connector(self, config: dict) -> object:
            return sys.modules["legacy_crm_plugin"].LegacyCrmConnector(config)

    manager = PluginManager()
    manager.load_plugins_from_directory(SEED_FILES)
    assert manager.register_plugin(NotesPlugin()) is registry.connector_class("seed_notes")
    available = {plugin["name"]: plugin for plugin in manager.get_available_plugins()}
    assert available["legacy_crm"]["version"] == "2.1.0" and available["seed_notes"]["version"] == "0.1"
    assert NotesPlugin().get_plugin_info()["operations"] == [
        "test_connection",
        "get_schema",
        "extract",
        "load",
        "preview",
    ]

    assert {"legacy_crm", "seed_notes", "sqlite"} <= set(ConnectorRegistry.get_available_types())
    assert ConnectorRegistry.get_connector_info("legacy_crm")["origin"] == "plugin directory"
    hook = ConnectorRegistry.create("legacy_crm", {"database": str(crm_database)})
    assert hook.test_connection()[0] is True
    sqlite_hook = ConnectorRegistry.create("sqlite", {"host": str(crm_database)})
    assert pa.Table.from_batches(list(sqlite_hook.extract("contacts"))).num_rows == 3


def test_registry_register_decorator_takes_a_connection_type(clean_registry: None) -> None:
    @ConnectorRegistry.register("seed_echo")
    class Echo(SdkConnectorPlugin):
        hook_name = "Echo"
        operations = frozenset({Operation.TEST_CONNECTION})

        def test_connection(self) -> tuple[bool, str]:
            return True, "echo"

        def get_schema(self, source=None):
            self.require(Operation.GET_SCHEMA)

        def extract(self, source, **options):
            self.require(Operation.EXTRACT)

        def load(self, chunks, destination, **options):
            self.require(Operation.LOAD)

    assert Echo.conn_type == "seed_echo" and registry.connector_class("seed_echo") is Echo
    with pytest.raises(PluginError, match="needs an airflow_etl_provider.sdk.ConnectorPlugin subclass"):
        ConnectorRegistry.register("seed_plain")(object)


UNPORTED = """
class ConnectorPlugin:  # the seed's own base class, copied along with the plugin
    PLUGIN_NAME = ""


class OldSalesPlugin(ConnectorPlugin):
    PLUGIN_NAME = "old_sales"
    PLUGIN_VERSION = "1.0"

    def create_connector(self, config):
        return object()
"""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (UNPORTED, "OldSalesPlugin looks like a seed-style plugin (PLUGIN_NAME, create_connector) but registered no"),
        ("from etl_framework.plugins import ConnectorPlugin\n" + UNPORTED, "ModuleNotFoundError: No module named"),
    ],
    ids=["own-base-class", "seed-import"],
)
def test_an_unported_seed_style_file_is_reported_with_the_porting_hint(
    plugin_dir: Callable[..., Path], text: str, reason: str
) -> None:
    [result] = PluginManager().load_plugins_from_directory(plugin_dir("old_sales.py", text))
    assert result.conn_types == [] and result.error is not None
    assert reason in result.error
    assert "subclass airflow_etl_provider.sdk.compat.ConnectorPlugin to keep that style" in result.error
    assert "docs/plugins.md, 'Porting a seed-style plugin'" in result.error


def test_a_seed_plugin_that_declares_an_unknown_operation_is_refused(clean_registry: None) -> None:
    with pytest.raises(PluginError, match="'write' is not a valid Operation; known: test_connection, get_schema"):

        class Writer(ConnectorPlugin):
            PLUGIN_NAME = "seed_writer"

            def get_config_schema(self) -> dict:
                return {}

            def create_connector(self, config: dict) -> object:
                return object()

            def get_supported_operations(self) -> list[str]:
                return ["extract", "write"]


class Session:
    """A seed connector object with a lifecycle, whose chunks of dicts do not agree on types."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def connect(self) -> None:
        self.calls.append("connect")

    def close(self) -> None:
        self.calls.append("close")

    def extract(self, source: str, chunk_size: int = 10, **options: object) -> Iterator[list[dict]]:
        yield [{"id": 1, "note": None}, {"id": 2, "note": None}]
        yield [{"id": 3, "note": "late"}]


def test_with_hook_opens_the_seed_connector_once_and_chunks_share_one_schema(
    clean_registry: None, airflow_connection: Callable[..., str]
) -> None:
    calls: list[str] = []

    class SessionPlugin(ConnectorPlugin):
        PLUGIN_NAME = "seed_session"

        def __init__(self, calls: list[str]) -> None:
            self.session_calls = calls

        def get_config_schema(self) -> dict:
            return {"type": "object"}

        def create_connector(self, config: dict) -> Session:
            return Session(self.session_calls)

    PluginManager().register_plugin(SessionPlugin(calls))  # an instance: its own state is used
    hook = registry.hook_for(airflow_connection("seed_session"))
    with hook, hook:
        batches = list(hook.extract("notes", chunk_size=2))
    assert calls == ["connect", "close"]
    assert [batch.num_rows for batch in batches] == [2, 1]
    assert batches[0].schema.names == ["id"]  # `note` had no type yet
    assert pa.Table.from_batches(batches[1:]).to_pylist() == [{"id": 3, "note": "late"}]
