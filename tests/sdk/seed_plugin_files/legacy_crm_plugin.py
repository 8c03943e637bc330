"""A plugin written for the seed's plugin API, unchanged but for the import of its base class.

Its connector keeps contacts in an SQLite file (`database` in the extra), so tests need no
external service.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from airflow_etl_provider.sdk.compat import ConnectorPlugin


class LegacyCrmConnector:
    """What the seed's `create_connector` returns: a plain object built from the config."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.database = config["database"]

    def test_connection(self) -> bool:
        with sqlite3.connect(self.database) as db:
            return db.execute("SELECT 1").fetchone() == (1,)

    def extract(self, source: str, chunk_size: int = 1000, **options: Any) -> Iterator[list[dict[str, Any]]]:
        with sqlite3.connect(self.database) as db:
            db.row_factory = sqlite3.Row
            cursor = db.execute(f'SELECT * FROM "{source}"')
            while rows := cursor.fetchmany(chunk_size):
                yield [dict(row) for row in rows]

    def load(self, chunks: Iterable[Any], destination: str, mode: str = "append", **options: Any) -> int:
        written = 0
        with sqlite3.connect(self.database) as db:
            for chunk in chunks:
                names = ", ".join(f'"{name}"' for name in chunk.schema.names)
                db.execute(f'CREATE TABLE IF NOT EXISTS "{destination}" ({names})')
                marks = ", ".join("?" for _ in chunk.schema.names)
                rows = [tuple(row.values()) for row in chunk.to_pylist()]
                db.executemany(f'INSERT INTO "{destination}" VALUES ({marks})', rows)
                written += len(rows)
        return written


class LegacyCrmPlugin(ConnectorPlugin):
    PLUGIN_NAME = "legacy_crm"
    PLUGIN_VERSION = "2.1.0"
    PLUGIN_AUTHOR = "CRM Team"
    PLUGIN_DESCRIPTION = "Contacts of the old CRM, kept in an SQLite file."

    def get_config_schema(self) -> dict[str, Any]:
        return {"type": "object", "required": ["database"], "properties": {"database": {"type": "string"}}}

    def validate_config(self, config: dict[str, Any]) -> bool:
        return str(config["database"]).endswith(".db")

    def create_connector(self, config: dict[str, Any]) -> LegacyCrmConnector:
        return LegacyCrmConnector(config)

    def get_supported_operations(self) -> list[str]:
        return ["test_connection", "extract", "load"]
