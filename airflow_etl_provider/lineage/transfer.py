"""What one transfer read and wrote, gathered while it runs, for Assets and OpenLineage."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_etl_provider.lineage.datasets import LineageDataset

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_etl_provider.hooks.base import ConnectorHook

#: The OpenLineage provider (an optional extra) holds the SQL parser that names a query's tables.
OPENLINEAGE_PROVIDER = "airflow.providers.openlineage"


def openlineage_installed() -> bool:
    """Whether the optional OpenLineage provider is installed (looked up, not imported)."""
    try:
        return importlib.util.find_spec(OPENLINEAGE_PROVIDER) is not None
    except ModuleNotFoundError:
        return False


def datasets_read(hook: ConnectorHook, source: str) -> list[LineageDataset]:
    """The data sets `source` reads: itself (a table, file, folder, endpoint), or for a SQL query
    the tables the OpenLineage SQL parser finds in it (none without the OpenLineage extra)."""
    dataset = hook.lineage_dataset(source)
    if dataset is not None:
        return [dataset]
    from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
    from airflow_etl_provider.sql.names import is_query

    if isinstance(hook, SqlConnectorHook) and is_query(source) and openlineage_installed():
        try:
            from airflow_etl_provider.lineage.openlineage import query_tables
        except ImportError:  # a partial install (provider without its client): no tables, no failure
            return []
        return query_tables(hook, source)
    return []


@dataclass
class TransferLineage:
    """The datasets of one transfer and, once it has run, what flowed between them."""

    inputs: list[LineageDataset]
    output: LineageDataset | None
    #: The source query, when the source is one (the SQL parser's column lineage reads it).
    query: str | None = None
    transform: str | None = None
    input_schema: pa.Schema | None = None
    output_schema: pa.Schema | None = None
    rows: int | None = None
    bytes: int | None = None
    files: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls, source_hook: ConnectorHook, source: str, destination_hook: ConnectorHook, destination: str
    ) -> TransferLineage:
        from airflow_etl_provider.sql.names import is_query

        return cls(
            inputs=datasets_read(source_hook, source),
            output=destination_hook.lineage_dataset(destination),
            query=source if is_query(source) else None,
        )


def asset_event_extra(lineage: TransferLineage, *, chunks: int, mode: str) -> dict[str, Any]:
    """What an Asset event of a finished transfer carries: rows, bytes (as written when the
    destination says, else Arrow's in-memory size), chunks, mode, and files for file destinations.
    A consumer reads it from `triggering_asset_events`."""
    extra: dict[str, Any] = {"rows": lineage.rows, "bytes": lineage.bytes, "chunks": chunks, "mode": mode}
    if lineage.files is not None:
        extra["files"] = lineage.files
    return extra
