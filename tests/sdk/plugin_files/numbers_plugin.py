"""A small plugins-folder connector used by the discovery, CLI and Airflow tests.

It generates `count` rows (n, n squared) so tests need no external service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from airflow_etl_provider.sdk import (
    ColumnInfo,
    ConnectorPlugin,
    Operation,
    SchemaInfo,
    TableInfo,
    register_connector,
)


@register_connector
class NumbersConnector(ConnectorPlugin):
    """Generates the numbers 1..count and their squares."""

    conn_type = "etl_numbers"
    hook_name = "Numbers (test plugin)"
    version = "1.2.3"
    author = "Test Author"
    config_schema = {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 0, "default": 5, "title": "How many numbers to generate"},
        },
    }
    operations = frozenset({Operation.TEST_CONNECTION, Operation.GET_SCHEMA, Operation.EXTRACT, Operation.PREVIEW})

    def test_connection(self) -> tuple[bool, str]:
        return True, f"Generates {self.config['count']} numbers."

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        columns = (ColumnInfo("n", "int64", nullable=False), ColumnInfo("square", "int64", nullable=False))
        return SchemaInfo((TableInfo("numbers", columns, kind="generator"),))

    def extract(self, source: str, *, chunk_size: int = 50_000, **options: Any) -> Iterator[pa.RecordBatch]:
        self.require(Operation.EXTRACT)
        count = self.config["count"]
        for start in range(1, count + 1, chunk_size):
            n = list(range(start, min(start + chunk_size, count + 1)))
            yield pa.record_batch({"n": pa.array(n, pa.int64()), "square": pa.array([i * i for i in n], pa.int64())})

    def load(self, chunks: Any, destination: str, **options: Any) -> Any:
        self.require(Operation.LOAD)
