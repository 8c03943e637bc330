"""SQLite connector: the embedded default database, no server needed.

Works with Airflow `sqlite` connections as they are: the database file is the connection's
host (a path). Loads run in one transaction, so a failed load leaves the file as it was; reads
run with `PRAGMA query_only`. A path that is no openable database is an error naming it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from airflow_etl_provider.exceptions import ConnectorConfigError, SourceError
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset, sqlite_table
from airflow_etl_provider.sql.names import TableName, parameters_as_null
from airflow_etl_provider.sql.rows import rows_to_batch
from airflow_etl_provider.sql.sqlite import SQLiteLoader, arrow_type_for, quote_identifier
from airflow_etl_provider.types import ColumnInfo, ForeignKey, SchemaInfo, TableInfo


class SQLiteConnectorHook(SqlConnectorHook):
    """Reads and writes a SQLite database file."""

    conn_type = "sqlite"
    dialect = "sqlite"
    connect_errors = (sqlite3.Error,)
    hook_name = "SQLite (ETL)"
    default_conn_name = "sqlite_default"
    description = "A SQLite database file: extract by table or query; append, replace and upsert atomically."
    form_owner_distribution = "apache-airflow-providers-sqlite"
    config_schema = {
        "type": "object",
        "properties": {
            "journal_mode": {
                "type": "string",
                "enum": ["DELETE", "WAL", "TRUNCATE", "PERSIST", "MEMORY"],
                "title": "Journal mode",
                "description": "SQLite journal mode set when connecting; WAL lets readers run during a load.",
            },
        },
    }
    ui_field_behaviour = {
        "hidden-fields": ["port", "login", "password", "schema"],
        "relabeling": {"host": "Database file"},
        "placeholders": {"host": "/data/warehouse.db"},
    }

    @property
    def database_path(self) -> Path:
        host = self.connection.host
        if not host:
            raise ConnectorConfigError(
                self.conn_id, "host", "is empty; set it to the path of the SQLite database file."
            )
        return Path(host).expanduser()

    # -- lifecycle -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        path = self.database_path
        if not path.parent.is_dir():
            raise ConnectorConfigError(
                self.conn_id, "host", f"the directory {str(path.parent)!r} of the database file does not exist."
            )
        db = sqlite3.connect(path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA schema_version")  # reads the header: a file that is no database fails here
            journal_mode = self.config.get("journal_mode")
            if journal_mode:
                db.execute(f"PRAGMA journal_mode = {journal_mode}")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def connect_failure(self, error: Exception) -> ConnectorConfigError:
        return ConnectorConfigError(
            self.conn_id, "host", f"cannot open {str(self.database_path)!r} as a SQLite database file: {error}."
        )

    def loader(self) -> SQLiteLoader:
        return SQLiteLoader(self.db)

    # -- contract ------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        try:
            with self:
                (tables,) = self.db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
        except (ConnectorConfigError, sqlite3.Error) as error:
            return False, f"Cannot open SQLite database of connection {self.conn_id!r}: {error}"
        return True, f"Connected to {self.database_path} (SQLite {sqlite3.sqlite_version}, {tables} tables)."

    def table_dataset(self, table: TableName) -> LineageDataset:
        return sqlite_table(str(self.database_path), table.name)

    def quote_identifier(self, identifier: str) -> str:
        return quote_identifier(identifier)

    def _declared_types(self, select: str) -> list[pa.DataType | None]:
        """Declared column types of a query, read through a temporary view."""
        view = quote_identifier(f"_etl_probe_{uuid.uuid4().hex[:8]}")
        self.db.execute(f"CREATE TEMP VIEW {view} AS {select}")
        try:
            return [arrow_type_for(row[2]) for row in self.db.execute(f"PRAGMA table_info({view})")]
        finally:
            self.db.execute(f"DROP VIEW {view}")

    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        """Stream a table or query; the session is `query_only` while it reads, so nothing can write."""
        with self:
            select = self.select_for(source)
            try:
                # before query_only: the probe is a temporary view, which takes no parameters
                types = self._declared_types(parameters_as_null(select, "sqlite"))
                self.db.execute("PRAGMA query_only = ON")
            except sqlite3.Error as error:
                raise SourceError(f"Cannot read {source!r} from connection {self.conn_id!r}: {error}") from error
            try:
                yield from self._rows(source, select, types, chunk_size, options.get("parameters", ()))
            finally:
                self.db.execute("PRAGMA query_only = OFF")

    def _rows(
        self, source: str, select: str, types: list[pa.DataType | None], chunk_size: int, parameters: Any
    ) -> Iterator[pa.RecordBatch]:
        try:
            cursor = self.db.execute(select, parameters)
        except sqlite3.Error as error:
            raise SourceError(f"Cannot read {source!r} from connection {self.conn_id!r}: {error}") from error
        names = [column[0] for column in cursor.description]
        try:
            while rows := cursor.fetchmany(chunk_size):
                batch = rows_to_batch(rows, names, types, source=source)
                # Columns with no declared type keep the type inferred from the first chunk.
                types = [t if t is not None else batch.schema.field(i).type for i, t in enumerate(types)]
                yield batch
        finally:
            cursor.close()

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        """Tables and views with columns, primary key, unique indexes and foreign keys (3 queries)."""
        with self:
            where = (
                "m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                "AND m.name NOT LIKE '\\_etl\\_%' ESCAPE '\\'"
            )
            params: tuple[str, ...] = ()
            if source:
                where, params = f"{where} AND m.name = ?", (source,)
            columns = self.db.execute(
                'SELECT m.name, m.type, p.name, p.type, p."notnull", p.dflt_value, p.pk '
                f"FROM sqlite_master m, pragma_table_info(m.name) p WHERE {where} ORDER BY m.name, p.cid",
                params,
            ).fetchall()
            uniques = self.db.execute(
                "SELECT m.name, il.name, ii.name FROM sqlite_master m, pragma_index_list(m.name) il, "
                f"pragma_index_info(il.name) ii WHERE {where} AND il.\"unique\" AND il.origin != 'pk' "
                "ORDER BY m.name, il.name, ii.seqno",
                params,
            ).fetchall()
            foreign = self.db.execute(
                'SELECT m.name, fk.id, fk."from", fk."table", fk."to", fk.on_update, fk.on_delete '
                f"FROM sqlite_master m, pragma_foreign_key_list(m.name) fk WHERE {where} "
                "ORDER BY m.name, fk.id, fk.seq",
                params,
            ).fetchall()
        return _schema_info(columns, uniques, foreign)


def _schema_info(
    columns: list[tuple[Any, ...]], uniques: list[tuple[Any, ...]], foreign: list[tuple[Any, ...]]
) -> SchemaInfo:
    by_table: dict[str, dict[str, Any]] = {}
    for table, kind, name, declared, notnull, default, pk in columns:
        entry = by_table.setdefault(table, {"kind": kind, "columns": [], "pk": []})
        entry["columns"].append(ColumnInfo(name, declared or "", nullable=not notnull, default=default))
        if pk:
            entry["pk"].append((pk, name))
    unique_sets: dict[tuple[str, str], list[str]] = {}
    for table, index, column in uniques:
        unique_sets.setdefault((table, index), []).append(column)
    fk_sets: dict[tuple[str, int], tuple[str, list[str], list[str], tuple[str, str]]] = {}
    for table, fk_id, source_col, target_table, target_col, on_update, on_delete in foreign:
        _, sources, targets, _ = fk_sets.setdefault((table, fk_id), (target_table, [], [], (on_update, on_delete)))
        sources.append(source_col)
        targets.append(target_col)
    tables = []
    for name, entry in by_table.items():
        tables.append(
            TableInfo(
                name=name,
                kind=entry["kind"],
                columns=tuple(entry["columns"]),
                primary_key=tuple(column for _, column in sorted(entry["pk"])),
                unique=tuple(tuple(cols) for (table, _), cols in unique_sets.items() if table == name),
                foreign_keys=tuple(
                    ForeignKey(tuple(src), target, tuple(dst), on_update=rules[0], on_delete=rules[1])
                    for (table, _), (target, src, dst, rules) in fk_sets.items()
                    if table == name
                ),
            )
        )
    return SchemaInfo(tuple(tables))
