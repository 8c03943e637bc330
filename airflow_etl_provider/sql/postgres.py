"""PostgreSQL dialect: the type map both ways, CSV for COPY FROM, the loader.

Loading uses `COPY ... FROM STDIN (FORMAT binary)` when every column has an exact binary
encoding (`postgres_binary`), else `(FORMAT csv)`: Arrow's CSV writer and the server's parser
both run in C, so no value goes through a Python object except the few types CSV cannot carry
as-is (bytea as hex, arrays as array literals, timestamps before year 1 in the server's `BC`
form). A session of this connector runs with `TimeZone = UTC`. Timestamps load exactly from
4714-11-24 BC to the end of Arrow's range (PostgreSQL goes on to 294276 AD); lists of scalars
become arrays, other nested values jsonb. Reading is in `postgres_read`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, groupby
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql
from psycopg.postgres import types as pg_types

from airflow_etl_provider.arrow_kinds import JSON, is_binary, is_json
from airflow_etl_provider.background import send_in_background
from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.sql.conform import YEARS_1_TO_9999, ValueLimits
from airflow_etl_provider.sql.loader import SqlLoader
from airflow_etl_provider.sql.names import TableName
from airflow_etl_provider.sql.nested import textual_type
from airflow_etl_provider.sql.postgres_binary import binary_encoder, binary_payloads
from airflow_etl_provider.sql.postgres_copy import CopyColumn

log = logging.getLogger(__name__)

#: `numeric` declared without precision: Arrow needs one. Values with more than 10 decimals
#: or 28 integer digits raise an error (never rounded): cast the column in the query then.
UNCONSTRAINED_NUMERIC = pa.decimal128(38, 10)

_SCALARS: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "oid": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "char": pa.string(),
    "json": JSON,  # the text exactly as the server renders it
    "jsonb": JSON,
    "uuid": pa.string(),
    "bytea": pa.binary(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


#: Column types `postgres_type` declares -> names in `_SCALARS`, to tell what a new column reads back as.
_DECLARED = {
    "boolean": "bool",
    "smallint": "int2",
    "integer": "int4",
    "bigint": "int8",
    "real": "float4",
    "double precision": "float8",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "date": "date",
    "time": "time",
    "bytea": "bytea",
    "jsonb": "jsonb",
}

#: 4714-11-24 00:00:00 BC (Julian day 0), PostgreSQL's first timestamp, in microseconds since 1970.
FIRST_TIMESTAMP = -210_866_803_200_000_000
LIMITS = ValueLimits("PostgreSQL", (FIRST_TIMESTAMP, 2**63 - 1), "4714-11-24 BC to 294276 AD")


def _numeric(typmod: int) -> pa.DataType:
    if typmod < 4:
        return UNCONSTRAINED_NUMERIC
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    if scale > precision:  # negative scale (PostgreSQL 15) is stored as a large unsigned number
        return UNCONSTRAINED_NUMERIC
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def _scalar(name: str, typmod: int) -> pa.DataType | None:
    return _numeric(typmod) if name == "numeric" else _SCALARS.get(name)


@dataclass(frozen=True)
class PgColumn:
    """A result column: its name, PostgreSQL type and the Arrow type that carries it exactly."""

    name: str
    type_name: str
    arrow_type: pa.DataType
    is_array: bool = False
    known: bool = True


def pg_column(name: str, oid: int, typmod: int) -> PgColumn:
    """Map a column's type OID and modifier to Arrow; unknown types are carried as text."""
    info = pg_types.get(oid)
    if info is not None and info.oid == oid:
        arrow_type = _scalar(info.name, typmod)
        if arrow_type is not None:
            return PgColumn(name, info.name, arrow_type)
    elif info is not None and info.array_oid == oid and info.name != "bytea":
        element = _scalar(info.name, typmod)
        if element is not None:
            return PgColumn(name, f"{info.name}[]", pa.list_(element), is_array=True)
    return PgColumn(name, info.name if info else f"oid {oid}", pa.string(), known=False)


def postgres_type(arrow_type: pa.DataType) -> str:
    """Column type used when a table is created from an Arrow schema."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        return "jsonb" if is_json(arrow_type) else postgres_type(arrow_type.storage_type)
    if pa.types.is_dictionary(arrow_type):
        return postgres_type(arrow_type.value_type)
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type) or pa.types.is_uint8(arrow_type):
        return "smallint"
    if pa.types.is_int32(arrow_type) or pa.types.is_uint16(arrow_type):
        return "integer"
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type):
        return "bigint"
    if pa.types.is_uint64(arrow_type):
        return "numeric(20,0)"
    if pa.types.is_float16(arrow_type) or pa.types.is_float32(arrow_type):
        return "real"
    if pa.types.is_float64(arrow_type):
        return "double precision"
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_time(arrow_type):
        return "time"
    if pa.types.is_duration(arrow_type):
        return "interval"
    if is_binary(arrow_type):
        return "bytea"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        element = arrow_type.value_type
        return "jsonb" if pa.types.is_nested(element) else f"{postgres_type(element)}[]"
    if pa.types.is_nested(arrow_type):
        return "jsonb"
    return "text"


def declared_arrow_type(declared: str) -> pa.DataType | None:
    """The Arrow type a column declared by `postgres_type` reads back as; None for text-like ones."""
    if declared.endswith("[]"):
        element = declared_arrow_type(declared[:-2])
        return None if element is None else pa.list_(element)
    if declared.startswith("numeric("):
        precision, scale = (int(part) for part in declared[len("numeric(") : -1].split(","))
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    name = _DECLARED.get(declared)
    return None if name is None else _SCALARS[name]


# -- COPY FROM: Arrow into CSV for the server ----------------------------------------------


def _before_year_one(text: str) -> str:
    """ISO text of a timestamp before year 1 ('-4368-04-02 ...') as PostgreSQL writes it ('4369-04-02 ... BC')."""
    year, rest = text[: text.index("-", 1)], text[text.index("-", 1) :]
    return f"{1 - int(year):04d}{rest} BC"


#: 0001-01-01 in days since 1970-01-01: dates before it are written with BC.
_DAY_ONE = -719162


def _timestamp_text(array: pa.Array) -> pa.Array:
    """Naive timestamps for COPY: as they are, or as text when some fall before year 1 (rare)."""
    micros = array.cast(pa.timestamp("us")).cast(pa.int64())
    return _bc_where(array, pc.less(micros, YEARS_1_TO_9999[0]))


def _date_text(array: pa.Array) -> pa.Array:
    """Dates for COPY: as they are, or as text when some fall before year 1 ('-4713-11-24' is
    read by the server as a date with a time zone offset, and refused)."""
    days = array.cast(pa.date32()).cast(pa.int32())
    return _bc_where(array, pc.less(days, _DAY_ONE))


def _bc_where(array: pa.Array, early: pa.Array) -> pa.Array:
    """`array` unchanged when no value is `early`, else as text with the early ones in BC form."""
    if not pc.any(early).as_py():
        return array
    texts = array.cast(pa.string()).to_pylist()
    flags = early.to_pylist()
    return pa.array([_before_year_one(t) if flag else t for t, flag in zip(texts, flags, strict=True)], pa.string())


def _array_literal(values: list[Any] | None) -> str | None:
    if values is None:
        return None
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        else:
            text = value if isinstance(value, str) else str(value)
            items.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def _csv_ready(array: pa.Array) -> pa.Array:
    arrow_type = array.type
    if pa.types.is_timestamp(arrow_type):
        # Arrow stores UTC instants; without the zone it prints them as UTC wall time 25x faster
        # than with it, and the session's TimeZone is UTC, so the server reads the same instant.
        return _timestamp_text(array.cast(pa.timestamp(arrow_type.unit)) if arrow_type.tz else array)
    if pa.types.is_date(arrow_type):
        return _date_text(array)
    if is_binary(arrow_type):
        return pa.array([None if v is None else "\\x" + v.hex() for v in array.to_pylist()], type=pa.string())
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        # Lists of scalars: the loader turned every other nested value into JSON text already.
        # Times and decimals go as Arrow's exact text: Python's datetime has no year 14645.
        return pa.array([_array_literal(v) for v in array.cast(textual_type(arrow_type)).to_pylist()], pa.string())
    if isinstance(arrow_type, pa.BaseExtensionType):
        return _csv_ready(array.storage)
    return array


def json_over_string(batch: pa.RecordBatch) -> pa.RecordBatch:
    """JSON columns over large_string or string_view as `JSON`, the type json/jsonb columns have.

    Arrow casts one extension type to another only through the storage, so the loader's cast
    of a chunk to an existing table's columns would refuse them.
    """
    if not any(is_json(t) and t != JSON for t in batch.schema.types):
        return batch
    arrays = [
        pa.ExtensionArray.from_storage(JSON, column.storage.cast(pa.string()))
        if is_json(column.type) and column.type != JSON
        else column
        for column in batch.columns
    ]
    fields = [field.with_type(array.type) for field, array in zip(batch.schema, arrays, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, metadata=batch.schema.metadata))


def csv_payload(batch: pa.RecordBatch) -> bytes:
    """One batch as PostgreSQL CSV: NULL unquoted and empty, every string quoted."""
    arrays = [_csv_ready(column) for column in batch.columns]
    prepared = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(prepared, sink, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


# -- the loader ----------------------------------------------------------------------------


#: What a replaced table keeps besides its columns, keys and indexes, as statements the server
#: writes (identifiers quoted by `quote_ident` / `format`, expressions by `pg_get_*`): the table
#: comment (`LIKE ... INCLUDING ALL` copies column comments only), table and column grants,
#: triggers (recreated after the rows are in, so they do not fire for the load) with their
#: enabled state, row-level security and its policies.
_CARRIED_OVER = """
WITH t AS (SELECT c.oid, c.relacl, c.relowner, c.relrowsecurity, c.relforcerowsecurity, %(table)s::text AS name
           FROM pg_class c WHERE c.oid = to_regclass(%(table)s))
SELECT statement FROM (
    SELECT 1, format('COMMENT ON TABLE %%s IS %%L', t.name, d.description)
    FROM t JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
    UNION ALL
    SELECT 2, format('GRANT %%s ON %%s TO %%s%%s', a.privilege_type, t.name,
                     CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                     CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
    FROM t CROSS JOIN LATERAL aclexplode(t.relacl) a WHERE a.grantee <> t.relowner
    UNION ALL
    SELECT 3, format('GRANT %%s (%%I) ON %%s TO %%s%%s', a.privilege_type, att.attname, t.name,
                     CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                     CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
    FROM t JOIN pg_attribute att ON att.attrelid = t.oid AND att.attnum > 0 AND NOT att.attisdropped
    CROSS JOIN LATERAL aclexplode(att.attacl) a
    UNION ALL
    SELECT 4, pg_get_triggerdef(g.oid) FROM t JOIN pg_trigger g ON g.tgrelid = t.oid WHERE NOT g.tgisinternal
    UNION ALL
    SELECT 5, format('ALTER TABLE %%s %%s TRIGGER %%I', t.name,
                     CASE g.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE ALWAYS' END,
                     g.tgname)
    FROM t JOIN pg_trigger g ON g.tgrelid = t.oid WHERE NOT g.tgisinternal AND g.tgenabled <> 'O'
    UNION ALL
    SELECT 6, format('ALTER TABLE %%s ENABLE ROW LEVEL SECURITY', t.name) FROM t WHERE t.relrowsecurity
    UNION ALL
    SELECT 7, format('ALTER TABLE %%s FORCE ROW LEVEL SECURITY', t.name) FROM t WHERE t.relforcerowsecurity
    UNION ALL
    SELECT 8, format('CREATE POLICY %%I ON %%s AS %%s FOR %%s TO %%s%%s%%s', p.polname, t.name,
                     CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                     CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                     (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ')
                      FROM unnest(p.polroles) AS r),
                     ' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
                     ' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')')
    FROM t JOIN pg_policy p ON p.polrelid = t.oid

) AS carried (step, statement)
ORDER BY step
"""


class PostgresLoader(SqlLoader):
    """PostgreSQL: DDL is transactional, so every mode (swap included) is one transaction.

    The connection must be in autocommit mode; the transaction is opened with `BEGIN`.
    """

    connection: psycopg.Connection
    limits = LIMITS
    # the loaded ids go into a GENERATED ALWAYS identity column, as COPY puts them
    insert_select_clause = " OVERRIDING SYSTEM VALUE"

    def __init__(self, connection: psycopg.Connection) -> None:
        super().__init__(connection)
        #: The format ("binary" or "csv") of each COPY this loader sent, in order.
        self.copy_formats: list[str] = []

    def quote(self, identifier: str) -> str:
        return sql.Identifier(identifier).as_string(self.connection)

    def column_type(self, arrow_type: pa.DataType) -> str:
        return postgres_type(arrow_type)

    def stored_type(self, arrow_type: pa.DataType) -> pa.DataType:
        return declared_arrow_type(postgres_type(arrow_type)) or arrow_type

    def prepare_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return json_over_string(batch)

    def begin(self) -> None:
        self.connection.execute("BEGIN")

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        if not self.connection.closed:
            self.connection.execute("ROLLBACK")

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(statement.encode(), params)

    def _rows(self, statement: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self.connection.execute(statement.encode(), params).fetchall()

    def tables_starting(self, near: TableName, prefix: str) -> list[str]:
        rows = self._rows(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = COALESCE(%s, current_schema()) AND c.relkind IN ('r', 'p') "
            "AND starts_with(c.relname, %s) ORDER BY 1",
            (near.schema, prefix),
        )
        return [name for (name,) in rows]

    def count_rows(self, table: TableName) -> int:
        return int(self._rows(f"SELECT count(*) FROM {self.qualified(table)}", ())[0][0])

    def _columns(self, table: TableName) -> list[tuple[PgColumn, bool]]:
        """The table's columns (domains as their base type) with their NOT NULL flag, in order."""
        rows = self._rows(
            "SELECT a.attname, coalesce(nullif(t.typbasetype, 0), a.atttypid)::int, "
            "CASE WHEN t.typbasetype <> 0 THEN t.typtypmod ELSE a.atttypmod END, a.attnotnull "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (table.schema or "public", table.name),
        )
        return [(pg_column(name, oid, typmod), notnull) for name, oid, typmod, notnull in rows]

    def copy_columns(self, table: TableName) -> dict[str, CopyColumn]:
        """The table's columns as binary COPY writes them (domains as their base type, whose
        binary form they take; the server still checks the domain's constraints)."""
        rows = self._rows(
            "SELECT a.attname, coalesce(nullif(t.typbasetype, 0), a.atttypid)::int, "
            "CASE WHEN t.typbasetype <> 0 THEN t.typtypmod ELSE a.atttypmod END, a.attgenerated <> '' "
            "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            (self.qualified(table),),
        )
        return {name: CopyColumn(name, oid, typmod, generated) for name, oid, typmod, generated in rows}

    def copy_in_statement(self, table: TableName, columns: Sequence[str], copy_format: str = "binary") -> str:
        names = ", ".join(self.quote(name) for name in columns)
        return f"COPY {self.qualified(table)} ({names}) FROM STDIN (FORMAT {copy_format})"

    def table_schema(self, table: TableName) -> pa.Schema | None:
        columns = self._columns(table)
        if not columns:
            return None
        return pa.schema([pa.field(column.name, column.arrow_type, not notnull) for column, notnull in columns])

    def has_unique_key(self, table: TableName, keys: Sequence[str]) -> bool:
        rows = self._rows(
            "SELECT array(SELECT a.attname FROM unnest(i.indkey) AS k(attnum) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) "
            "FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indpred IS NULL "
            "AND i.indexprs IS NULL",
            (self.qualified(table),),
        )
        return any(sorted(columns) == sorted(keys) for (columns,) in rows)

    def insert_batches(self, table: TableName, batches: Iterable[pa.RecordBatch]) -> None:
        """One `COPY ... FROM STDIN` per run of batches with the same columns: in binary format when
        every column has an exact binary encoding (`postgres_binary`), in CSV otherwise."""
        declared = {column.name: column.type_name if column.known else None for column, _ in self._columns(table)}
        for names, group in groupby(batches, key=lambda batch: tuple(batch.schema.names)):
            first = next(group)
            encoders = binary_encoder(first.schema, declared)
            rows = chain([first], group)  # noqa: B031 (the group is read once, through `rows`)
            payloads: Iterator[bytes]
            if isinstance(encoders, str):
                log.info("COPY into %s in CSV format: %s has no exact binary encoding.", table, encoders)
                copy_format, payloads = "csv", (csv_payload(batch) for batch in rows)
            else:
                copy_format, payloads = "binary", binary_payloads(encoders, rows)
            self.copy_formats.append(copy_format)
            statement = self.copy_in_statement(table, names, copy_format)
            with self.connection.cursor() as cursor, cursor.copy(statement.encode()) as copy:
                send_in_background(copy.write, payloads, name="postgres-copy-writer")

    def generated_columns(self, table: TableName) -> list[str]:
        rows = self._rows(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
            "AND NOT attisdropped AND attgenerated <> '' ORDER BY attnum",
            (self.qualified(table),),
        )
        return [name for (name,) in rows]

    def _hierarchy(self, table: TableName) -> str:
        """Where `table` stands: "partitioned" (a partitioned table or a partition), "child" (a child
        of legacy inheritance, INHERITS), "parent" (legacy tables inherit from it) or "plain"."""
        rows = self._rows(
            "SELECT CASE WHEN c.relkind = 'p' OR c.relispartition THEN 'partitioned' "
            "WHEN EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid) THEN 'parent' "
            "WHEN EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) THEN 'child' ELSE 'plain' END "
            "FROM pg_class c WHERE c.oid = to_regclass(%s)",
            (self.qualified(table),),
        )
        return str(rows[0][0]) if rows else "plain"

    def refills_in_place(self, table: TableName) -> bool:
        """A partitioned table, a partition or an inheritance child is emptied and refilled, never swapped.

        A swap would turn a partitioned table into a plain one without its partitions, and
        detach a partition (or an INHERITS child) from its parent. `TRUNCATE` and `COPY` in one
        transaction keep the relation, its partitions and everything attached to them; a
        failure or a killed session rolls the `TRUNCATE` back. It holds an ACCESS EXCLUSIVE
        lock on the table (and its partitions) until the commit: readers wait for the whole load.
        """
        return self._hierarchy(table) in {"partitioned", "child"}

    def check_replaceable(self, table: TableName) -> None:
        """Refuse, before writing, what replace cannot keep.

        A legacy inheritance parent: a swap would cut its children off, and `TRUNCATE` would
        empty them too. A table refilled in place that other tables' foreign keys reference:
        `TRUNCATE` cannot empty it.
        """
        hierarchy = self._hierarchy(table)
        if hierarchy == "parent":
            children = self._rows(
                "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = to_regclass(%s) ORDER BY 1",
                (self.qualified(table),),
            )
            raise LoadError(
                f"Replace into {table} refused, nothing was written: tables inherit from it "
                f"({', '.join(name for (name,) in children)}); a swap would cut them off and TRUNCATE would empty "
                "them too. Replace each child on its own, or use mode='upsert' or 'append'."
            )
        if hierarchy not in {"partitioned", "child"}:
            return
        referencing = self._rows(
            "WITH tree AS (SELECT relid FROM pg_partition_tree(to_regclass(%(t)s)) UNION SELECT to_regclass(%(t)s)) "
            "SELECT DISTINCT k.conrelid::regclass::text FROM pg_constraint k "
            "WHERE k.contype = 'f' AND k.confrelid IN (SELECT relid FROM tree) "
            "AND k.conrelid NOT IN (SELECT relid FROM tree) ORDER BY 1",
            {"t": self.qualified(table)},
        )
        if referencing:
            raise LoadError(
                f"Replace into {table} refused, nothing was written: it is partitioned, a partition or an "
                "inheritance child, so it is emptied and refilled in place, and foreign keys of other tables "
                f"reference it ({', '.join(name for (name,) in referencing)}). Use mode='upsert' or 'append', or "
                "drop those foreign keys first."
            )

    def create_staging_like(self, staging: TableName, target: TableName) -> None:
        """A copy of `target`'s columns, defaults, checks and identity, without its indexes.

        COPY into an unindexed table is about twice as fast; `swap` builds the indexes once
        the rows are in (a sort instead of one index insert per row), and an upsert's merge
        only needs the target's unique index.
        """
        self.execute(
            f"CREATE TABLE {self.qualified(staging)} (LIKE {self.qualified(target)} INCLUDING ALL EXCLUDING INDEXES)"
        )

    def swap(self, target: TableName, staging: TableName) -> None:
        """Put `staging` in place of `target` with the target's indexes, keys and sequences.

        Definitions are read from the old table first; once it is dropped and the staging
        table carries its name, they apply verbatim: primary key / unique / exclusion
        constraints and plain indexes (keeping their names), then foreign keys (which `LIKE`
        never copies), then what else the old table had (`_CARRIED_OVER`). The new table gets
        the old one's owner first (whoever may drop a table may give a table to its owner). A
        `serial` column's sequence belongs to the old table and would be dropped with it, so
        it is detached first and handed to the new table after. When the target does not
        exist yet the lookups find nothing and the staging table is renamed.
        """
        old = self.qualified(target)
        constraints = self._rows(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) "
            "AND contype IN ('p', 'u', 'x', 'f') ORDER BY contype = 'f', conname",
            (old,),
        )
        indexes = self._rows(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = to_regclass(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)",
            (old,),
        )
        sequences = self._rows(
            "SELECT s.oid::regclass::text, a.attname FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
            "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
            "WHERE d.refobjid = to_regclass(%s) AND d.deptype = 'a'",
            (old,),
        )
        carried = [statement for (statement,) in self._rows(_CARRIED_OVER, {"table": old})]
        owners = self._rows(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(%s) AND relowner <> "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)",
            (old,),
        )
        for sequence, _column in sequences:
            self.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
        self.drop_table(target)
        self.execute(f"ALTER TABLE {self.qualified(staging)} RENAME TO {self.quote(target.name)}")
        for (owner,) in owners:  # first: a sequence joins only a table of its own owner
            self.execute(f"ALTER TABLE {old} OWNER TO {self.quote(owner)}")
        for sequence, column in sequences:
            self.execute(f"ALTER SEQUENCE {sequence} OWNED BY {old}.{self.quote(column)}")
        keys = [(name, definition) for name, definition in constraints if not definition.startswith("FOREIGN KEY")]
        foreign = [(name, definition) for name, definition in constraints if definition.startswith("FOREIGN KEY")]
        for name, definition in keys:
            self.execute(f"ALTER TABLE {old} ADD CONSTRAINT {self.quote(name)} {definition}")
        for (definition,) in indexes:
            self.execute(definition)
        for name, definition in foreign:
            self.execute(f"ALTER TABLE {old} ADD CONSTRAINT {self.quote(name)} {definition}")
        for statement in carried:
            self.execute(statement)

    def merge(self, target: TableName, staging: TableName, columns: Sequence[str], keys: Sequence[str]) -> None:
        names = ", ".join(self.quote(column) for column in columns)
        updates = [f"{self.quote(c)} = EXCLUDED.{self.quote(c)}" for c in columns if c not in keys]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        conflict = ", ".join(self.quote(k) for k in keys)
        self.execute(
            f"INSERT INTO {self.qualified(target)} ({names}){self.insert_select_clause} "
            f"SELECT {names} FROM {self.qualified(staging)} ON CONFLICT ({conflict}) {action}"
        )
