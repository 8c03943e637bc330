"""The example plugins pass the conformance suite, registered the way they are in production.

(The Salesforce plugin's conformance run is in tests/plugins/test_salesforce_connector.py,
next to its fake Salesforce server.)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_etl_provider.hooks.registry import ORIGIN_ENTRY_POINT, registry
from airflow_etl_provider.sdk import ConnectorConformance, load_plugins_from_directory

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "example_plugin_package"))
from etl_example_plugin.connector import JsonLinesFolderConnector  # noqa: E402

sys.path.pop(0)


@pytest.fixture(scope="module", autouse=True)
def registered() -> Iterator[None]:
    """The numbers plugin file loaded from its directory, the package class as its entry point would."""
    [numbers] = load_plugins_from_directory(HERE / "plugin_files")
    assert numbers.conn_types == ["etl_numbers"]
    registry.register(JsonLinesFolderConnector, origin=ORIGIN_ENTRY_POINT)
    yield
    for conn_type in ("etl_numbers", "jsonl_folder"):
        registry.unregister(conn_type)
    sys.modules.pop("numbers_plugin", None)


class TestNumbersPluginConformance(ConnectorConformance):
    connector_class = property(lambda self: registry.connector_class("etl_numbers"))  # loaded by the fixture

    @pytest.fixture
    def conn_id(self, airflow_connection: Callable[..., str]) -> str:
        return airflow_connection("etl_numbers", extra={"count": 5})

    @pytest.fixture
    def source(self, conn_id: str) -> str:
        return "numbers"


class TestJsonLinesFolderConformance(ConnectorConformance):
    connector_class = JsonLinesFolderConnector

    @pytest.fixture
    def conn_id(self, tmp_path: Path, airflow_connection: Callable[..., str]) -> str:
        return airflow_connection("jsonl_folder", extra={"folder": str(tmp_path)})

    @pytest.fixture
    def source(self, conn_id: str, tmp_path: Path) -> str:
        rows = [{"id": i, "name": name} for i, name in enumerate(["ada", "grace", "linus", "margaret"], 1)]
        (tmp_path / "people.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        return "people"

    @pytest.fixture
    def destination(self, conn_id: str) -> str:
        return "conformance_out"
