"""SQLite dialect: the type map both ways and the loader primitives.

SQLite has no decimal or time-zone types, so exact values are kept as text in columns whose
declared type tells the reader what they are: `DECIMAL_TEXT(p,s)` (TEXT affinity, so SQLite
never turns 0.10 into a float) and `TIMESTAMPTZ` (UTC instants in ISO 8601). Timestamps are
microseconds in years 1 to 9999 (what that text and SQLite's date functions take); nested
values are JSON text in `JSON` columns; NaN is refused (SQLite would store NULL).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from airflow_etl_provider.arrow_kinds import JSON, is_binary, is_json
from airflow_etl_provider.sql.conform import YEARS_1_TO_9999, ValueLimits
from airflow_etl_provider.sql.loader import SqlLoader
from airflow_etl_provider.sql.names import TableName

_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
_CREATE_TABLE_NAME = re.compile(r'^\s*CREATE\s+TABLE\s+(?:"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[^\s(]+)', re.IGNORECASE)


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sqlite_type(arrow_type: pa.DataType) -> str:
    """Declared column type for an Arrow type (read back by `arrow_type_for`)."""
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_integer(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "REAL"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL_TEXT({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_time(arrow_type):
        return "TIME"
    if is_binary(arrow_type):
        return "BLOB"
    if is_json(arrow_type) or pa.types.is_nested(arrow_type):
        return "JSON"
    return "TEXT"


def arrow_type_for(declared: str) -> pa.DataType | None:
    """Arrow type for a declared SQLite column type; None when it says nothing (infer)."""
    upper = declared.strip().upper()
    if not upper:
        return None
    precision = _PRECISION.search(upper)
    base = upper.split("(")[0].strip()
    if base in {"DECIMAL_TEXT", "DECIMAL", "NUMERIC"} and precision:
        return pa.decimal128(int(precision.group(1)), int(precision.group(2) or 0))
    if base in {"BOOLEAN", "BOOL"}:
        return pa.bool_()
    if "INT" in base:
        return pa.int64()
    if base in {"TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"}:
        return pa.timestamp("us", tz="UTC")
    if base in {"TIMESTAMP", "DATETIME"}:
        return pa.timestamp("us")
    if base == "DATE":
        return pa.date32()
    if base == "TIME":
        return pa.time64("us")
    if any(word in base for word in ("CHAR", "CLOB", "TEXT", "JSON")):
        return pa.string()
    if "BLOB" in base:
        return pa.binary()
    if any(word in base for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    return None


def storage_values(column: pa.Array) -> list[Any]:
    """Python values SQLite stores for one Arrow column (exact text for decimals and times)."""
    arrow_type = column.type
    if pa.types.is_dictionary(arrow_type):
        return storage_values(column.dictionary_decode())
    if pa.types.is_decimal(arrow_type) or pa.types.is_temporal(arrow_type):
        return column.cast(pa.string()).to_pylist()
    if isinstance(arrow_type, pa.BaseExtensionType):
        return column.storage.to_pylist()
    return column.to_pylist()


class SQLiteLoader(SqlLoader):
    """SQLite: DDL is transactional, so every mode runs in one `BEGIN IMMEDIATE` transaction."""

    connection: sqlite3.Connection
    limits = ValueLimits("SQLite", YEARS_1_TO_9999, "years 1 to 9999", nan=False)

    def quote(self, identifier: str) -> str:
        return quote_identifier(identifier)

    def column_type(self, arrow_type: pa.DataType) -> str:
        return sqlite_type(arrow_type)

    def stored_type(self, arrow_type: pa.DataType) -> pa.DataType:
        """What `table_schema` reads the new column as, but JSON kept as JSON (it reads as text)
        and TEXT columns taking the values as they come."""
        if is_json(arrow_type) or pa.types.is_nested(arrow_type):
            return JSON
        declared = sqlite_type(arrow_type)
        return arrow_type if declared == "TEXT" else arrow_type_for(declared) or arrow_type

    def begin(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(sql, params or ())

    def tables_starting(self, near: TableName, prefix: str) -> list[str]:
        schema = f"{self.quote(near.schema)}." if near.schema else ""
        rows = self.connection.execute(
            f"SELECT name FROM {schema}sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ? ORDER BY 1",
            (len(prefix), prefix),
        ).fetchall()
        return [name for (name,) in rows]

    def count_rows(self, table: TableName) -> int:
        return int(self.connection.execute(f"SELECT COUNT(*) FROM {self.qualified(table)}").fetchone()[0])

    def _pragma(self, table: TableName, pragma: str) -> list[tuple[Any, ...]]:
        schema = f"{self.quote(table.schema)}." if table.schema else ""
        return self.connection.execute(f"PRAGMA {schema}{pragma}({self.quote(table.name)})").fetchall()

    def table_schema(self, table: TableName) -> pa.Schema | None:
        columns = self._pragma(table, "table_info")
        if not columns:
            return None
        fields = []
        for _cid, name, declared, notnull, _default, _pk in columns:
            fields.append(pa.field(name, arrow_type_for(declared) or pa.string(), nullable=not notnull))
        return pa.schema(fields)

    def has_unique_key(self, table: TableName, keys: Sequence[str]) -> bool:
        wanted = set(keys)
        primary = {row[1] for row in self._pragma(table, "table_info") if row[5]}
        if primary == wanted:
            return True
        for _seq, index_name, unique, *_ in self._pragma(table, "index_list"):
            if unique:
                rows = self.connection.execute(f"PRAGMA index_info({self.quote(index_name)})").fetchall()
                if {row[2] for row in rows} == wanted:
                    return True
        return False

    def insert_batches(self, table: TableName, batches: Iterable[pa.RecordBatch]) -> None:
        for batch in batches:
            names = ", ".join(self.quote(name) for name in batch.schema.names)
            marks = ", ".join("?" * batch.num_columns)
            rows = zip(*(storage_values(column) for column in batch.columns), strict=True)
            self.connection.executemany(f"INSERT INTO {self.qualified(table)} ({names}) VALUES ({marks})", rows)

    def _definition(self, table: TableName) -> str:
        schema = f"{self.quote(table.schema)}." if table.schema else ""
        row = self.connection.execute(
            f"SELECT sql FROM {schema}sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
        ).fetchone()
        return row[0]

    def create_staging_like(self, staging: TableName, target: TableName) -> None:
        definition = _CREATE_TABLE_NAME.sub(
            f"CREATE TABLE {self.qualified(staging)}", self._definition(target), count=1
        )
        self.execute(definition)

    def swap(self, target: TableName, staging: TableName) -> None:
        schema = f"{self.quote(target.schema)}." if target.schema else ""
        indexes = [
            row[0]
            for row in self.connection.execute(
                f"SELECT sql FROM {schema}sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                (target.name,),
            )
        ]
        self.drop_table(target)
        self.execute(f"ALTER TABLE {self.qualified(staging)} RENAME TO {self.quote(target.name)}")
        for index_sql in indexes:
            self.execute(index_sql)

    def merge(self, target: TableName, staging: TableName, columns: Sequence[str], keys: Sequence[str]) -> None:
        names = ", ".join(self.quote(column) for column in columns)
        updates = [f"{self.quote(c)} = excluded.{self.quote(c)}" for c in columns if c not in keys]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        self.execute(
            f"INSERT INTO {self.qualified(target)} ({names}) SELECT {names} FROM {self.qualified(staging)} WHERE true "
            f"ON CONFLICT ({', '.join(self.quote(k) for k in keys)}) {action}"
        )
