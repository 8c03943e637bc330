"""MySQL / MariaDB dialect: the type map both ways and the loader (reading is in `sql.mysql_read`).

Writing: each chunk becomes one tab-separated file streamed with `LOAD DATA LOCAL INFILE`
(built column-wise by Arrow compute, no Python loop per value). When the server has
`local_infile` off, chunks go as multi-row `INSERT` statements with parameters instead.
Timestamps with a time zone are stored as UTC in `DATETIME(6)` columns commented `UTC`, so
reading the table gives UTC instants back; timestamps load in years 1 to 9999, NaN and
±Infinity are refused (none fits a MySQL column), nested values are JSON text in JSON columns.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from mysql.connector import errorcode
from mysql.connector import errors as mysql_errors

from airflow_etl_provider.arrow_batches import byte_slices
from airflow_etl_provider.arrow_kinds import JSON, describe_columns, is_binary, is_json
from airflow_etl_provider.background import send_in_background
from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.sql.conform import YEARS_1_TO_9999, ValueLimits
from airflow_etl_provider.sql.loader import SqlLoader
from airflow_etl_provider.sql.names import TableName, work_table_name, work_table_session

MAX_DECIMAL_PRECISION = 65
MAX_DECIMAL_SCALE = 30
#: Key columns must be indexable, and TEXT/BLOB cannot be indexed without a prefix length.
KEY_STRING_TYPE = "VARCHAR(255)"
KEY_BINARY_TYPE = "VARBINARY(255)"
#: Column comment marking a DATETIME column that holds UTC instants.
UTC_COMMENT = "UTC"
#: Rows per INSERT statement on the fallback path (keeps each statement under max_allowed_packet).
INSERT_ROWS_PER_STATEMENT = 1000
#: Named lock each loading session holds, suffixed with its CONNECTION_ID(), while it lives.
SESSION_LOCK = "etl_load_session_"
#: utf8mb4 collations that compare text byte for byte, trailing spaces included (NO PAD),
#: in order of preference: MySQL 8 has the first, MariaDB the second.
BYTEWISE_COLLATIONS = ("utf8mb4_0900_bin", "utf8mb4_nopad_bin")
_NEEDS_ESCAPE = r"[\\\t\n]"
_TYPE = re.compile(r"^\s*([a-z0-9]+(?: precision)?)\s*(?:\(([^)]*)\))?\s*(unsigned)?", re.IGNORECASE)


def quote_identifier(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


log = logging.getLogger(__name__)


def is_generated(extra: str = "EXTRA") -> str:
    """SQL: whether information_schema.COLUMNS.`extra` marks a generated column ("VIRTUAL GENERATED",
    "STORED GENERATED"; not MySQL 8's "DEFAULT_GENERATED"), for a query with parameters."""
    kinds = ("VIRTUAL GENERATED", "STORED GENERATED", "PERSISTENT")
    return "(" + " OR ".join(f"{extra} LIKE '%%{kind}%%'" for kind in kinds) + ")"


# -- Arrow -> MySQL -----------------------------------------------------------------------

_INTEGER_TYPES = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}


def mysql_type(arrow_type: pa.DataType, *, key: bool = False) -> str:
    """The column type for `arrow_type`; `key` columns get indexable string/binary types."""
    if pa.types.is_dictionary(arrow_type):
        return mysql_type(arrow_type.value_type, key=key)
    if is_json(arrow_type) or pa.types.is_nested(arrow_type):
        return "JSON"
    if pa.types.is_boolean(arrow_type):
        return "TINYINT(1)"
    if pa.types.is_integer(arrow_type):
        base = _INTEGER_TYPES[arrow_type.bit_width]
        return f"{base} UNSIGNED" if pa.types.is_unsigned_integer(arrow_type) else base
    if pa.types.is_float16(arrow_type) or pa.types.is_float32(arrow_type):
        return "FLOAT"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE"
    if pa.types.is_decimal(arrow_type):
        if arrow_type.precision > MAX_DECIMAL_PRECISION or arrow_type.scale > MAX_DECIMAL_SCALE:
            raise LoadError(
                f"{arrow_type} does not fit MySQL's DECIMAL (at most {MAX_DECIMAL_PRECISION} digits, "
                f"{MAX_DECIMAL_SCALE} after the point); cast the column to a narrower decimal or to a string first."
            )
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "DATETIME(6)" + (f" COMMENT '{UTC_COMMENT}'" if arrow_type.tz else "")
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_time(arrow_type):
        return "TIME(6)"
    if is_binary(arrow_type):
        return KEY_BINARY_TYPE if key else "LONGBLOB"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type):
        return KEY_STRING_TYPE if key else "LONGTEXT"
    raise LoadError(f"Arrow type {arrow_type} has no MySQL column type; cast it (e.g. to string) in a transform.")


def created_table_collation(database_default: str, available: Iterable[str]) -> str:
    """The collation of a table the loader creates: one under which two different strings never
    compare equal, so a key `Café` never lands on the row of `cafe`.

    The database's own default is kept when it is binary already (its tables then join ours
    without an "illegal mix of collations"); otherwise the server's NO PAD binary collation,
    or `utf8mb4_bin` on servers that have none.
    """
    if database_default.startswith("utf8mb4_") and database_default.endswith("_bin"):
        return database_default
    offered = set(available)
    return next((name for name in BYTEWISE_COLLATIONS if name in offered), "utf8mb4_bin")


# -- MySQL -> Arrow -----------------------------------------------------------------------

SIGNED_INTS = {
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "mediumint": pa.int32(),
    "int": pa.int32(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "year": pa.int16(),
}
UNSIGNED_INTS = {
    "tinyint": pa.uint8(),
    "smallint": pa.uint16(),
    "mediumint": pa.uint32(),
    "int": pa.uint32(),
    "integer": pa.uint32(),
    "bigint": pa.uint64(),
}
_BINARY = {
    "binary",
    "varbinary",
    "tinyblob",
    "blob",
    "mediumblob",
    "longblob",
    "bit",
    "geometry",
    "point",
    "linestring",
    "polygon",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "geometrycollection",
}


def decimal_type(precision: int, scale: int) -> pa.DataType:
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def arrow_type_for(column_type: str, *, comment: str = "", is_json: bool = False) -> pa.DataType:
    """Arrow type of a declared column type as information_schema / SHOW COLUMNS print it."""
    match = _TYPE.match(column_type)
    base = match.group(1).lower().strip() if match else column_type.lower()
    args = match.group(2) if match else None
    unsigned = bool(match and match.group(3))
    if is_json or base == "json":
        return JSON
    if base in ("tinyint", "bool", "boolean") and (args == "1" or base != "tinyint") and not unsigned:
        return pa.bool_()
    if base in SIGNED_INTS:
        return UNSIGNED_INTS.get(base, pa.int16()) if unsigned else SIGNED_INTS[base]
    if base in ("decimal", "numeric", "dec", "fixed"):
        precision, _, scale = (args or "10,0").partition(",")
        return decimal_type(int(precision), int(scale or 0))
    if base in ("float", "real") and not args:
        return pa.float32()
    if base in ("float", "double", "double precision", "real"):
        return pa.float64()
    if base == "date":
        return pa.date32()
    if base == "datetime":
        return pa.timestamp("us", tz="UTC") if comment.strip() == UTC_COMMENT else pa.timestamp("us")
    if base == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if base == "time":
        return pa.time64("us")
    if base in _BINARY:
        return pa.binary()
    return pa.string()


# -- Arrow -> load values ------------------------------------------------------------------


def _storable(column: pa.Array) -> pa.Array:
    """A column with types MySQL reads from text: UTC wall time, 0/1 for booleans, JSON as text."""
    arrow_type = column.type
    if pa.types.is_dictionary(arrow_type):
        return _storable(column.dictionary_decode())
    if is_json(arrow_type):
        return column.cast(pa.string())
    if pa.types.is_boolean(arrow_type):
        return column.cast(pa.int8())
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz:
        return column.cast(pa.timestamp(arrow_type.unit))
    return column


def _escaped_text(column: pa.Array) -> pa.Array:
    """Column as `LOAD DATA` text: backslash escapes for \\, tab and newline; NULL as \\N."""
    column = _storable(column)
    binary = pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)
    text = column.cast(pa.large_binary() if binary else pa.large_string())
    is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or binary
    if is_text and pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        for char, escape in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n")):
            text = pc.replace_substring(text, char, escape)
    text = text.cast(pa.large_binary())
    return text.fill_null(pa.scalar(b"\\N", pa.large_binary()))


#: Bytes of rows escaped and joined at a time when a chunk's LOAD DATA file is written.
INFILE_PIECE_BYTES = 1 << 20


def infile_bytes(batch: pa.RecordBatch) -> memoryview:
    """The tab-separated text of one batch for `LOAD DATA ... FIELDS ESCAPED BY '\\\\'`."""
    columns = [_escaped_text(column) for column in batch.columns]
    lines = pc.binary_join_element_wise(*columns, pa.scalar(b"\t", pa.large_binary()))
    lines = pc.binary_join_element_wise(lines, pa.scalar(b"", pa.large_binary()), pa.scalar(b"\n", pa.large_binary()))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def insert_values(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """Python values for parameterised INSERTs (decimals and times as exact text)."""
    columns = []
    for column in batch.columns:
        column = _storable(column)
        if pa.types.is_decimal(column.type) or pa.types.is_time(column.type):
            column = column.cast(pa.string())
        columns.append(column.to_pylist())
    return list(zip(*columns, strict=True))


# -- the loader ------------------------------------------------------------------------------


@dataclass
class _ForeignKey:
    """A foreign key of a table being replaced, to put on its new version."""

    name: str
    columns: list[str]
    referenced: TableName
    referenced_columns: list[str]
    on_delete: str
    on_update: str
    is_self_reference: bool

    def definition(self, loader: SqlLoader, references: TableName) -> str:
        """The key's clause; RESTRICT, the default, is left implicit: MariaDB records an explicit
        RESTRICT added with foreign_key_checks off as NO ACTION (the same behaviour, another name)."""
        columns = ", ".join(loader.quote(column) for column in self.columns)
        referenced = ", ".join(loader.quote(column) for column in self.referenced_columns)
        rules = "".join(
            f" ON {event} {rule}"
            for event, rule in (("DELETE", self.on_delete), ("UPDATE", self.on_update))
            if rule != "RESTRICT"
        )
        return f"FOREIGN KEY ({columns}) REFERENCES {loader.qualified(references)} ({referenced}){rules}"


class MySqlLoader(SqlLoader):
    """MySQL: DDL auto-commits, so the shared template drops what it created on failure, and
    what a killed load could not drop is removed by the next load of the same table.

    `infile_dir` is the directory the connection may send files from (`allow_local_infile_in_path`);
    None means the server refuses `LOCAL INFILE` and chunks go as multi-row INSERTs.
    `reconnect` restores a session that died mid-load (KILL, network), so what this load
    created can still be dropped.
    """

    ddl_is_transactional = False
    max_identifier_length = 64
    limits = ValueLimits("MySQL", YEARS_1_TO_9999, "years 1 to 9999", nan=False, infinity=False)

    def __init__(self, connection: Any, *, infile_dir: str | None, is_mariadb: bool) -> None:
        super().__init__(connection)
        self.infile_dir = infile_dir
        self.is_mariadb = is_mariadb

    # -- statements ---------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params or ())
        finally:
            cursor.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params or ())
            return cursor.fetchall()
        finally:
            cursor.close()

    def tables_starting(self, near: TableName, prefix: str) -> list[str]:
        rows = self.query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
            "AND TABLE_TYPE = 'BASE TABLE' AND LEFT(TABLE_NAME, %s) = %s ORDER BY 1",
            (near.schema, len(prefix), prefix),
        )
        return [text_value(name) for (name,) in rows]

    def count_rows(self, table: TableName) -> int:
        return int(self.query(f"SELECT COUNT(*) FROM {self.qualified(table)}")[0][0])

    def begin(self) -> None:
        self.connection.autocommit = False

    def commit(self) -> None:
        self.connection.commit()
        self.connection.autocommit = True

    def rollback(self) -> None:
        self.connection.rollback()
        self.connection.autocommit = True

    def quote(self, identifier: str) -> str:
        return quote_identifier(identifier)

    def column_type(self, arrow_type: pa.DataType) -> str:
        return mysql_type(arrow_type)

    def stored_type(self, arrow_type: pa.DataType) -> pa.DataType:
        column_type, _, comment = mysql_type(arrow_type).partition(" COMMENT ")
        return arrow_type_for(column_type, comment=comment.strip("'"))

    def column_definition(self, field: pa.Field, *, is_key: bool) -> str:
        """Key strings are VARCHAR(255): MySQL cannot index TEXT without a prefix length."""
        return f"{self.quote(field.name)} {mysql_type(field.type, key=is_key)}{'' if field.nullable else ' NOT NULL'}"

    def table_options(self, table: TableName) -> str:
        """utf8mb4 with a binary collation (see `created_table_collation`)."""
        marks = ", ".join(["%s"] * len(BYTEWISE_COLLATIONS))
        ((database_default, available),) = self.query(
            "SELECT (SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME = COALESCE(%s, DATABASE())), (SELECT GROUP_CONCAT(COLLATION_NAME) "
            f"FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN ({marks}))",
            (table.schema, *BYTEWISE_COLLATIONS),
        )
        collation = created_table_collation(text_value(database_default), text_value(available).split(","))
        return f" DEFAULT CHARSET=utf8mb4 COLLATE={collation}"

    @cached_property
    def session(self) -> int:
        """This session's CONNECTION_ID(), which names the tables it makes.

        The session also takes the named lock `SESSION_LOCK<id>`, held until it ends (a killed
        client included), so any other session can ask `IS_USED_LOCK` whether those tables still
        belong to a running load. PROCESSLIST cannot tell: without the PROCESS privilege it
        hides the sessions of other accounts.
        """
        ((session, locked),) = self.query(
            "SELECT CONNECTION_ID(), GET_LOCK(CONCAT(%s, CONNECTION_ID()), 0)", (SESSION_LOCK,)
        )
        if locked != 1:
            raise LoadError(
                f"Cannot take the named lock {SESSION_LOCK}{session} that marks this load as running; "
                "another session holds it (RELEASE_LOCK it there, or end that session)."
            )
        return int(session)

    def staging_for(self, target: TableName) -> TableName:
        return work_table_name("stage", self.session, target, self.max_identifier_length)

    def remove_leftovers(self, target: TableName) -> None:
        """Drop the staging and old tables killed loads of `target` left behind.

        Only tables named by `work_table_name` for this target are considered, and only those
        whose session has ended (nobody holds its lock): a running load keeps its tables, and a
        user's table, whatever its name, does not have the session-and-nonce form.
        """
        rows = self.query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
            "AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME LIKE %s",
            (target.schema, "\\_etl\\_%"),
        )
        for name in (text_value(name) for (name,) in rows):
            session = work_table_session(name, target, self.max_identifier_length)
            if session is None:
                continue
            ((holder,),) = self.query("SELECT IS_USED_LOCK(%s)", (f"{SESSION_LOCK}{session}",))
            if holder is None:
                log.info("Dropping %s, left by a load of %s whose session (%d) has ended.", name, target, session)
                self.drop_table(target.with_name(name))

    def place_new_table(
        self, target: TableName, staging: TableName, columns: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Commit the staged rows, then `RENAME TABLE` the staging table to `target`.

        Loads running at once (mapped tasks) may all find `target` missing and stage their
        rows. The first rename wins; a later one finds the table there and puts its rows into
        it as into any existing table (appended, or merged on `keys`) when its columns are
        the staged ones, so every load's rows end up in it. Otherwise the load fails and the
        template drops the staging table: nothing of it is kept.
        """
        self.connection.commit()
        try:
            self.execute(f"RENAME TABLE {self.qualified(staging)} TO {self.qualified(target)}")
            return
        except mysql_errors.DatabaseError as error:
            if error.errno != errorcode.ER_TABLE_EXISTS_ERROR:
                raise
        staged, theirs = self.table_schema(staging), self.table_schema(target)
        if staged is None or theirs is None or not theirs.equals(staged):
            raise LoadError(
                f"{'Upsert' if keys else 'Append'} into {target}: another session created {target} while this load "
                f"ran, with columns ({describe_columns(theirs)}) that are not the loaded ones "
                f"({describe_columns(staged)}); nothing of this load was kept. Load again into that table (the rows "
                "are converted to its columns), or into another table."
            )
        if keys:
            self._check_keys(target, theirs, staged, keys)
            self.merge(target, staging, columns, keys)
        else:
            names = ", ".join(self.quote(column) for column in columns)
            self.execute(
                f"INSERT INTO {self.qualified(target)} ({names}) SELECT {names} FROM {self.qualified(staging)}"
            )
        self.connection.commit()
        self.drop_table(staging)

    def drop_table(self, table: TableName) -> None:
        """Drop `table`, reconnecting first when the session died (cleanup after a killed load)."""
        if not self.connection.is_connected():
            self.connection.reconnect(attempts=2, delay=1)
            self.connection.autocommit = True
        super().drop_table(table)

    # -- introspection ------------------------------------------------------------------

    def table_columns(self, table: TableName) -> list[tuple[str, pa.DataType, bool]]:
        """(name, Arrow type, nullable) of each column of `table`, in order; [] if it is missing."""
        json_check = (
            "EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA "
            "AND k.TABLE_NAME = c.TABLE_NAME AND k.CONSTRAINT_NAME = c.COLUMN_NAME "
            "AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)'))"
            if self.is_mariadb
            else "FALSE"
        )
        rows = self.query(
            f"SELECT c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_COMMENT, {json_check} "
            "FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND c.TABLE_NAME = %s "
            "ORDER BY c.ORDINAL_POSITION",
            (table.schema, table.name),
        )
        return [
            (
                text_value(name),
                arrow_type_for(text_value(declared), comment=text_value(comment), is_json=bool(is_json)),
                nullable == "YES",
            )
            for name, declared, nullable, comment, is_json in rows
        ]

    def table_schema(self, table: TableName) -> pa.Schema | None:
        columns = self.table_columns(table)
        if not columns:
            return None
        return pa.schema([pa.field(name, arrow_type, nullable=nullable) for name, arrow_type, nullable in columns])

    def generated_columns(self, table: TableName) -> list[str]:
        """VIRTUAL and STORED (MariaDB: PERSISTENT) generated columns."""
        rows = self.query(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
            f"AND TABLE_NAME = %s AND {is_generated()} ORDER BY ORDINAL_POSITION",
            (table.schema, table.name),
        )
        return [text_value(name) for (name,) in rows]

    def has_unique_key(self, table: TableName, keys: Sequence[str]) -> bool:
        rows = self.query(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s AND NON_UNIQUE = 0",
            (table.schema, table.name),
        )
        indexes: dict[str, set[str]] = {}
        for index, column in rows:
            indexes.setdefault(text_value(index), set()).add(text_value(column))
        return set(keys) in indexes.values()

    # -- writing ------------------------------------------------------------------------

    def insert_batches(self, table: TableName, batches: Iterable[pa.RecordBatch]) -> None:
        if self.infile_dir is None:
            for batch in batches:
                self._insert(table, batch)
            return
        # One chunk is sent (and the server parses it) while the next is read and written out:
        # the source and the server work at the same time, with at most three chunk files on disk.
        chunk_files = ((self._write_chunk(b), b.schema, b.num_rows) for b in batches if b.num_rows)
        send_in_background(lambda chunk: self._load_data(table, *chunk), chunk_files, depth=1, name="load-data")

    def _write_chunk(self, batch: pa.RecordBatch) -> str:
        """The chunk's LOAD DATA file, written about `INFILE_PIECE_BYTES` of rows at a time: the
        escaped columns and joined lines of a whole chunk would be three copies of it at once."""
        fd, path = tempfile.mkstemp(prefix="chunk_", suffix=".tsv", dir=self.infile_dir)
        with os.fdopen(fd, "wb") as file:
            for piece in byte_slices(batch, INFILE_PIECE_BYTES):
                file.write(infile_bytes(piece))
        return path

    def _load_data(self, table: TableName, path: str, schema: pa.Schema, rows: int) -> None:
        """Send one chunk file; the server's warnings (LOCAL implies IGNORE) become an error."""
        sql = (
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {self.qualified(table)} CHARACTER SET binary "
            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' {self._infile_columns(schema)}"
        )
        try:
            cursor = self.connection.cursor()
            try:
                cursor.execute(sql, (path,))
                loaded, warnings = cursor.rowcount, cursor.warning_count
            finally:
                cursor.close()
        finally:
            os.unlink(path)
        if warnings or loaded != rows:
            details = "; ".join(f"{row[2]}" for row in self.query("SHOW WARNINGS LIMIT 3"))
            raise LoadError(
                f"Loading into {table}: the server accepted {loaded} of {rows} rows of a chunk with "
                f"{warnings} warning(s): {details or 'no details'}. Nothing was kept."
            )

    def _infile_columns(self, schema: pa.Schema) -> str:
        """The column list; JSON goes through a variable, as MySQL refuses JSON from binary text."""
        targets, conversions = [], []
        for index, field in enumerate(schema):
            if is_json(field.type):
                targets.append(f"@json{index}")
                conversions.append(f"{self.quote(field.name)} = CONVERT(@json{index} USING utf8mb4)")
            else:
                targets.append(self.quote(field.name))
        return f"({', '.join(targets)})" + (f" SET {', '.join(conversions)}" if conversions else "")

    def _insert(self, table: TableName, batch: pa.RecordBatch) -> None:
        names = ", ".join(self.quote(name) for name in batch.schema.names)
        marks = ", ".join(["%s"] * batch.num_columns)
        sql = f"INSERT INTO {self.qualified(table)} ({names}) VALUES ({marks})"
        rows = insert_values(batch)
        cursor = self.connection.cursor()
        try:
            for start in range(0, len(rows), INSERT_ROWS_PER_STATEMENT):
                cursor.executemany(sql, rows[start : start + INSERT_ROWS_PER_STATEMENT])
        finally:
            cursor.close()

    def create_staging_like(self, staging: TableName, target: TableName) -> None:
        self.execute(f"CREATE TABLE {self.qualified(staging)} LIKE {self.qualified(target)}")

    def check_replaceable(self, table: TableName) -> None:
        """Refuse a table that other tables' foreign keys reference.

        `RENAME TABLE` carries those keys over to the renamed old table, whose `DROP` would then
        fail after the new rows are already in place: so nothing is written at all.
        """
        referencing = self.query(
            "SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE REFERENCED_TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND REFERENCED_TABLE_NAME = %s "
            "AND NOT (TABLE_SCHEMA = REFERENCED_TABLE_SCHEMA AND TABLE_NAME = REFERENCED_TABLE_NAME) "
            "ORDER BY 1, 2, 3",
            (table.schema, table.name),
        )
        if referencing:
            keys = ", ".join(f"{text_value(s)}.{text_value(t)} ({text_value(c)})" for s, t, c in referencing)
            raise LoadError(
                f"Replace into {table} refused, nothing was written: foreign keys of other tables reference it "
                f"({keys}). Use mode='upsert' or 'append', or drop those foreign keys first."
            )

    def swap(self, target: TableName, staging: TableName) -> None:
        """Commit the filled staging table, then `RENAME TABLE` both in one atomic statement.

        `CREATE TABLE LIKE` copies neither foreign keys nor triggers. The target's foreign keys
        are added to the staging table first, under temporary names, so the new rows are
        checked against them while the target is still untouched; once the old table is
        dropped they take their own names back (with checks off: the rows were just checked).
        Triggers are created again last, so they do not fire for the loaded rows.
        """
        self.connection.commit()
        if self.table_schema(target) is None:
            self.execute(f"RENAME TABLE {self.qualified(staging)} TO {self.qualified(target)}")
            return
        foreign_keys = self._foreign_keys(target)
        triggers = self._triggers(target)
        temporary_names = []
        for key in foreign_keys:
            temporary = f"_etl_fk_{uuid.uuid4().hex[:8]}"
            references = staging if key.is_self_reference else key.referenced  # follows the rename
            self.execute(
                f"ALTER TABLE {self.qualified(staging)} ADD CONSTRAINT {self.quote(temporary)} "
                f"{key.definition(self, references)}"
            )
            temporary_names.append(temporary)
        old = work_table_name("old", self.session, target, self.max_identifier_length)
        self.execute(
            f"RENAME TABLE {self.qualified(target)} TO {self.qualified(old)}, "
            f"{self.qualified(staging)} TO {self.qualified(target)}"
        )
        self.drop_table(old)
        try:
            self._restore_names(target, foreign_keys, temporary_names)
            for trigger in triggers:
                self._create_trigger(target, *trigger)
        except Exception as error:
            raise LoadError(
                f"Replace into {target} put the new rows in place, but could not restore the old table's "
                f"foreign keys and triggers: {error}. Their definitions: "
                f"{[key.definition(self, key.referenced) for key in foreign_keys]} {[t[1] for t in triggers]}"
            ) from error

    def _foreign_keys(self, table: TableName) -> list[_ForeignKey]:
        rows = self.query(
            "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, "
            "k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE, k.TABLE_SCHEMA "
            "FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
            "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
            "AND r.TABLE_NAME = k.TABLE_NAME WHERE k.TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND k.TABLE_NAME = %s "
            "ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (table.schema, table.name),
        )
        keys: dict[str, _ForeignKey] = {}
        for name, column, ref_schema, ref_table, ref_column, on_delete, on_update, schema in (
            [text_value(value) for value in row] for row in rows
        ):
            is_self = (ref_schema, ref_table) == (schema, table.name)
            key = keys.setdefault(
                name,
                _ForeignKey(
                    name,
                    [],
                    table if is_self else TableName(ref_table, ref_schema),
                    [],
                    on_delete,
                    on_update,
                    is_self,
                ),
            )
            key.columns.append(column)
            key.referenced_columns.append(ref_column)
        return list(keys.values())

    def _restore_names(self, table: TableName, keys: list[_ForeignKey], temporary_names: list[str]) -> None:
        """Give the checked foreign keys their own names back, without checking the rows again."""
        if not keys:
            return
        self.execute("SET foreign_key_checks = 0")
        try:
            for key, temporary in zip(keys, temporary_names, strict=True):
                self.execute(f"ALTER TABLE {self.qualified(table)} DROP FOREIGN KEY {self.quote(temporary)}")
                self.execute(
                    f"ALTER TABLE {self.qualified(table)} ADD CONSTRAINT {self.quote(key.name)} "
                    f"{key.definition(self, table if key.is_self_reference else key.referenced)}"
                )
        finally:
            self.execute("SET foreign_key_checks = 1")

    def _triggers(self, table: TableName) -> list[tuple[str, str]]:
        """(sql_mode, CREATE TRIGGER statement) of each trigger on `table`, in firing order."""
        names = self.query(
            "SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS "
            "WHERE EVENT_OBJECT_SCHEMA = COALESCE(%s, DATABASE()) AND EVENT_OBJECT_TABLE = %s "
            "ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
            (table.schema, table.name),
        )
        triggers = []
        for schema, name in names:
            row = self.query(f"SHOW CREATE TRIGGER {self.quote(text_value(schema))}.{self.quote(text_value(name))}")[0]
            triggers.append((text_value(row[1]), text_value(row[2])))
        return triggers

    def _create_trigger(self, table: TableName, sql_mode: str, statement: str) -> None:
        """Run a trigger's own CREATE statement in its database and with its sql_mode."""
        ((database, mode),) = self.query("SELECT DATABASE(), @@SESSION.sql_mode")
        if table.schema:
            self.execute(f"USE {self.quote(table.schema)}")
        self.execute("SET SESSION sql_mode = %s", (sql_mode,))
        try:
            self.execute(statement)
        finally:
            self.execute("SET SESSION sql_mode = %s", (text_value(mode),))
            if table.schema and database is not None:
                self.execute(f"USE {self.quote(text_value(database))}")

    def merge(self, target: TableName, staging: TableName, columns: Sequence[str], keys: Sequence[str]) -> None:
        """`INSERT ... SELECT ... ON DUPLICATE KEY UPDATE` (fires on any unique key of the target)."""
        names = ", ".join(self.quote(column) for column in columns)
        updates = [f"{self.quote(c)} = VALUES({self.quote(c)})" for c in columns if c not in keys]
        if not updates:
            updates = [f"{self.quote(keys[0])} = {self.quote(keys[0])}"]
        self.execute(
            f"INSERT INTO {self.qualified(target)} ({names}) SELECT {names} FROM {self.qualified(staging)} "
            f"ON DUPLICATE KEY UPDATE {', '.join(updates)}"
        )


def text_value(value: Any) -> str:
    """information_schema values come back as bytes from some servers; make them text."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8")
    return "" if value is None else str(value)
