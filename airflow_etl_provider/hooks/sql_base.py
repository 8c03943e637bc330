"""What the SQL connectors (SQLite, PostgreSQL, MySQL) share: one DB-API connection per
`with` block, reused for every chunk, and loading through the shared `SqlLoader` template."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import pyarrow as pa

from airflow_etl_provider.exceptions import ConnectorConfigError, SourceError
from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset
from airflow_etl_provider.sql.loader import SqlLoader
from airflow_etl_provider.sql.names import (
    READ_ONLY_RULE,
    Dialect,
    TableName,
    is_query,
    parse_table_name,
    read_statement,
)
from airflow_etl_provider.types import LoadMode, LoadResult, Operation


class SqlConnectorHook(ConnectorHook):
    """A connector over one database connection opened when the hook is entered."""

    #: How this database's SQL is lexed when a query source is checked (`read_statement`).
    dialect: ClassVar[Dialect]
    #: Driver errors meaning the connection could not be opened (address, login, database, file).
    connect_errors: ClassVar[tuple[type[Exception], ...]] = ()
    extract_options: ClassVar[Mapping[str, str]] = {
        "parameters": "values for a query's placeholders, bound by the driver (its own placeholder style)",
    }
    load_options: ClassVar[Mapping[str, str]] = {
        "decimal_rounding": '"half_even" or "half_up": round decimals to the column\'s scale (unset: refuse them)',
        "timestamp_truncation": "true: drop timestamp / time digits beyond the column's unit (unset: refuse them)",
    }

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self._db: Any = None

    @abstractmethod
    def _connect(self) -> Any:
        """A new DB-API connection for this Airflow connection."""

    @abstractmethod
    def loader(self) -> SqlLoader:
        """The dialect's loader bound to the open connection."""

    @abstractmethod
    def connect_failure(self, error: Exception) -> ConnectorConfigError:
        """`error` from opening the connection in words: where it points, the field to check, no password."""

    def open(self) -> None:
        try:
            self._db = self.with_retries(self._connect, f"Connecting to {self.hook_name}")
        except self.connect_errors as error:
            raise self.connect_failure(error) from error

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> Any:
        if self._db is None:
            raise RuntimeError("Use the hook as a context manager (`with hook:`) before reading or writing.")
        return self._db

    def get_conn(self) -> Any:
        return self.db

    @abstractmethod
    def quote_identifier(self, identifier: str) -> str:
        """Quote one identifier the way this database's driver does."""

    def table_name(self, text: str) -> TableName:
        """A destination or source table name as given in a DAG."""
        return parse_table_name(text)

    @property
    def default_schema(self) -> str | None:
        """The schema (PostgreSQL) or database (MySQL) an unqualified table name is in."""
        return None

    def lineage_dataset(self, target: str) -> LineageDataset | None:
        """The table `target` names; None for a query (its tables: `airflow_etl_provider.lineage`)."""
        if is_query(target):
            return None
        return self.table_dataset(self.table_name(target))

    def table_dataset(self, table: TableName) -> LineageDataset | None:
        """`table` as a lineage dataset; each dialect names its server and database."""
        return None

    def select_for(self, source: str) -> str:
        """The SELECT that reads `source`: every row of a table, or the query itself once it is
        known to be one read-only statement (nothing stacked after a `;`, no SELECT ... INTO)."""
        if not is_query(source):
            return f"SELECT * FROM {'.'.join(self.quote_identifier(part) for part in self.table_name(source).parts())}"
        try:
            return read_statement(source, self.dialect)
        except ValueError as error:
            raise self.not_read_only(source, str(error)) from error

    def not_read_only(self, source: str, reason: str) -> SourceError:
        """The error for a source that is not one read-only statement, or that the server caught writing."""
        return SourceError(f"Cannot read {source!r} from connection {self.conn_id!r}: {READ_ONLY_RULE}; {reason}.")

    def load(
        self,
        chunks: Iterable[pa.RecordBatch],
        destination: str,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        **options: Any,
    ) -> LoadResult:
        """Append, replace or upsert into a table (see `SqlLoader`); created from the chunks if missing.

        Options: see `load_options`; `timestamp_truncation` turns nanoseconds into microseconds.
        """
        self.require(Operation.LOAD)
        with self:
            return self.loader().load(chunks, self.table_name(destination), mode=mode, keys=keys, **options)
