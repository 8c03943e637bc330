"""The one load implementation every SQL destination shares.

append  : create the table if missing, insert every chunk, all in one transaction.
replace : build a staging table, fill it, then swap it in; the old table stays until the swap.
upsert  : fill a staging table, then merge it into the target on the key columns.

A dialect subclass supplies the primitives (quoting, type map, bulk insert, swap, merge).
When the system cannot roll back DDL (`ddl_is_transactional = False`, MySQL) the template
drops whatever it created itself on failure, builds a missing table under a staging name and
renames it into place only once its rows are in, and starts each load by removing what killed
loads of the same table left (`remove_leftovers`): so even a SIGKILLed load leaves the
destination as it was. Where DDL is transactional the server rolls all of it back by itself.

A replace whose swap would lose the table's place (a partitioned table, or one partition of
it, in PostgreSQL: `refills_in_place`) empties and refills the table itself in the same
transaction instead. Generated (computed) columns of the destination are never written:
the server computes them, so incoming values for them are left out.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

import pyarrow as pa

from airflow_etl_provider.exceptions import EtlError, LoadError
from airflow_etl_provider.sql.conform import ValueLimits, conform_batch
from airflow_etl_provider.sql.names import TableName
from airflow_etl_provider.types import LoadMode, LoadResult

log = logging.getLogger(__name__)


class SqlLoader(ABC):
    """Loads a stream of Arrow chunks into one table of one open DB-API connection."""

    ddl_is_transactional: ClassVar[bool] = True
    staging_prefix: ClassVar[str] = "_etl_stage_"
    max_identifier_length: ClassVar[int] = 63
    #: Put between INSERT's column list and its SELECT, so copied values land in identity columns.
    insert_select_clause: ClassVar[str] = ""
    #: What this system's columns cannot hold although their Arrow type can (checked per value).
    limits: ClassVar[ValueLimits | None] = None

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    # -- dialect primitives --------------------------------------------------------------

    @abstractmethod
    def quote(self, identifier: str) -> str:
        """Quote one identifier with the driver's own quoting."""

    @abstractmethod
    def column_type(self, arrow_type: pa.DataType) -> str:
        """The column type this dialect uses to store `arrow_type`."""

    def stored_type(self, arrow_type: pa.DataType) -> pa.DataType:
        """The Arrow type of the column created for `arrow_type`, as `table_schema` will read it.

        A new table's chunks are conformed to these types, so the first load into a table
        refuses or converts exactly what every later load into it does.
        """
        return arrow_type

    @abstractmethod
    def table_schema(self, table: TableName) -> pa.Schema | None:
        """The Arrow schema of an existing table (nullability included), None if it is missing."""

    @abstractmethod
    def has_unique_key(self, table: TableName, keys: Sequence[str]) -> bool:
        """Whether a primary key or unique constraint covers exactly `keys`."""

    @abstractmethod
    def insert_batches(self, table: TableName, batches: Iterable[pa.RecordBatch]) -> None:
        """Bulk-insert conformed batches (the dialect's fastest path: COPY, LOAD DATA, ...)."""

    @abstractmethod
    def create_staging_like(self, staging: TableName, target: TableName) -> None:
        """Create `staging` with the definition of the existing `target`."""

    @abstractmethod
    def swap(self, target: TableName, staging: TableName) -> None:
        """Atomically put `staging` in place of `target` and drop the old table."""

    @abstractmethod
    def merge(self, target: TableName, staging: TableName, columns: Sequence[str], keys: Sequence[str]) -> None:
        """Insert staging rows into target, updating rows whose keys already exist."""

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    # -- shared SQL ----------------------------------------------------------------------

    def qualified(self, table: TableName) -> str:
        return ".".join(self.quote(part) for part in table.parts())

    def column_definition(self, field: pa.Field, *, is_key: bool) -> str:
        """One column of CREATE TABLE; dialects may type key columns differently."""
        return f"{self.quote(field.name)} {self.column_type(field.type)}{'' if field.nullable else ' NOT NULL'}"

    def create_table(self, table: TableName, schema: pa.Schema, primary_key: Sequence[str] = ()) -> None:
        columns = [self.column_definition(field, is_key=field.name in primary_key) for field in schema]
        if primary_key:
            columns.append(f"PRIMARY KEY ({', '.join(self.quote(key) for key in primary_key)})")
        self.execute(f"CREATE TABLE {self.qualified(table)} ({', '.join(columns)}){self.table_options(table)}")

    def table_options(self, table: TableName) -> str:
        """Appended to the CREATE TABLE of `table` (e.g. " DEFAULT CHARSET=utf8mb4")."""
        return ""

    def prepare_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Adapt an incoming chunk before anything else sees it (e.g. nested columns as JSON text)."""
        return batch

    def check_replaceable(self, table: TableName) -> None:  # noqa: B027 (optional hook, not abstract)
        """Raise LoadError, before anything is written, when `swap` could not finish for `table`.

        Dialects whose DDL cannot be rolled back check here what would make the swap fail
        halfway; where DDL is transactional a failing swap simply rolls back.
        """

    def place_new_table(
        self, target: TableName, staging: TableName, columns: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Put the filled `staging` in place of the missing `target`, where DDL is not transactional.

        `keys` are an upsert's keys, empty for an append. Another load may have created
        `target` meanwhile; its rows then go into that table as into any existing one.
        """
        raise NotImplementedError(f"{type(self).__name__} has non-transactional DDL and must implement place_new_table")

    def generated_columns(self, table: TableName) -> list[str]:
        """Columns of the existing `table` whose values the server computes (`GENERATED ALWAYS AS`)."""
        return []

    def refills_in_place(self, table: TableName) -> bool:
        """Whether replace must empty and refill the existing `table` instead of swapping a copy in.

        True for a table whose place a swap would lose (PostgreSQL: a partitioned table, a
        partition). Only where DDL is transactional: the emptying then rolls back with the rest.
        """
        return False

    def truncate(self, table: TableName) -> None:
        self.execute(f"TRUNCATE TABLE {self.qualified(table)}")

    def remove_leftovers(self, target: TableName) -> None:  # noqa: B027 (optional hook, not abstract)
        """Drop the work tables that killed loads of `target` left, never those of a running load.

        Nothing to do where DDL is transactional: the server rolls a dead session's staging
        table back with the rest of its transaction.
        """

    def drop_table(self, table: TableName) -> None:
        self.execute(f"DROP TABLE IF EXISTS {self.qualified(table)}")

    @abstractmethod
    def count_rows(self, table: TableName) -> int: ...

    @abstractmethod
    def tables_starting(self, near: TableName, prefix: str) -> list[str]:
        """Names of the tables in `near`'s schema (or database) that start with `prefix`."""

    def insert_from(self, target: TableName, source: TableName, columns: Sequence[str]) -> None:
        """Copy every row of `source` into `target` (server side, no row leaves the database)."""
        names = ", ".join(self.quote(column) for column in columns)
        self.execute(
            f"INSERT INTO {self.qualified(target)} ({names}){self.insert_select_clause} "
            f"SELECT {names} FROM {self.qualified(source)}"
        )

    def staging_for(self, target: TableName) -> TableName:
        name = f"{self.staging_prefix}{uuid.uuid4().hex[:8]}_{target.name}"
        return target.with_name(name[: self.max_identifier_length])

    # -- the template --------------------------------------------------------------------

    def load(
        self,
        chunks: Iterable[pa.RecordBatch],
        destination: TableName,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        decimal_rounding: str | None = None,
        timestamp_truncation: bool = False,
    ) -> LoadResult:
        mode = LoadMode.parse(mode)
        keys = list(keys or [])
        if mode is LoadMode.UPSERT and not keys:
            raise LoadError(f"Upsert into {destination} needs `keys`: the columns that identify a row.")
        stream: Iterator[pa.RecordBatch] = (self.prepare_batch(batch) for batch in chunks)
        first = next(stream, None)
        self.remove_leftovers(destination)
        existing = self.table_schema(destination)
        if existing is not None:
            schema = existing
            first, stream = self._without_generated(destination, first, stream)
        elif first is not None:
            stored = pa.schema([field.with_type(self.stored_type(field.type)) for field in first.schema])
            schema = _as_nullable_except(stored, keys)
        else:
            return LoadResult(str(destination), mode.value)
        columns = first.schema.names if first is not None else schema.names
        if mode is LoadMode.UPSERT:
            self._check_keys(destination, existing, first.schema if first is not None else schema, keys)
        result = LoadResult(str(destination), mode.value)
        batches = self._counted(
            _prepend(first, stream), schema, str(destination), result, decimal_rounding, timestamp_truncation
        )
        with self._atomic(destination, mode) as created:
            self._write(
                destination,
                schema,
                existing is not None,
                mode,
                keys,
                columns,
                lambda table: self.insert_batches(table, batches),
                created,
            )
        return result

    def load_filled(
        self,
        destination: TableName,
        columns: Sequence[str],
        fill: Callable[[TableName], int],
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
    ) -> LoadResult:
        """Append, replace or upsert into the existing `destination` the rows `fill` writes into
        the table it is given (`columns` of it) and counts, as `load` does with chunks: one
        transaction, through a staging table for replace and upsert."""
        mode = LoadMode.parse(mode)
        keys = list(keys or [])
        self.remove_leftovers(destination)
        existing = self.table_schema(destination)
        if existing is None:
            raise LoadError(f"Loading into {destination}: the table does not exist.")
        if mode is LoadMode.UPSERT:
            self._check_keys(destination, existing, pa.schema([existing.field(name) for name in columns]), keys)
        result = LoadResult(str(destination), mode.value)

        def counted(table: TableName) -> None:
            result.rows += fill(table)

        with self._atomic(destination, mode) as created:
            self._write(destination, existing, True, mode, keys, columns, counted, created)
        return result

    def _write(
        self,
        destination: TableName,
        schema: pa.Schema,
        exists: bool,
        mode: LoadMode,
        keys: Sequence[str],
        columns: Sequence[str],
        fill: Callable[[TableName], None],
        created: list[TableName],
    ) -> None:
        """Inside the load's transaction, put the rows `fill` writes into a table in `destination`
        as `mode` says: straight in (append), through a staging table swapped in (replace) or
        merged (upsert); `schema` makes a missing destination or staging table."""
        if not exists and mode is not LoadMode.REPLACE and not self.ddl_is_transactional:
            self._load_new_table(destination, schema, fill, columns, keys if mode is LoadMode.UPSERT else [], created)
        elif mode is LoadMode.APPEND:
            if not exists:
                self.create_table(destination, schema)
                created.append(destination)
            fill(destination)
        elif mode is LoadMode.REPLACE and exists and self.refills_in_place(destination):
            self.check_replaceable(destination)
            self.truncate(destination)
            fill(destination)
        elif mode is LoadMode.REPLACE:
            if exists:
                self.check_replaceable(destination)
            staging = self.staging_for(destination)
            created.append(staging)
            if exists:
                self.create_staging_like(staging, destination)
            else:
                self.create_table(staging, schema)
            fill(staging)
            self.swap(destination, staging)
            created.remove(staging)
        else:
            if not exists:
                self.create_table(destination, schema, primary_key=keys)
                created.append(destination)
            staging = self.staging_for(destination)
            self.create_staging_like(staging, destination)
            created.append(staging)
            fill(staging)
            self.merge(destination, staging, columns, keys)
            self.drop_table(staging)
            created.remove(staging)

    def publish_parts(
        self,
        parts: Sequence[TableName],
        destination: TableName,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        expected_rows: Sequence[int] | None = None,
    ) -> LoadResult:
        """Put the rows of the filled `parts` into `destination` at once: one transaction (replace:
        one swap) that either commits all of them or leaves the destination as it was.

        The part tables are dropped once it has committed. Every part table must exist and, when
        `expected_rows` says what each part loaded, hold exactly that many rows: a missing or
        short part would otherwise publish as a success with rows lost.
        """
        mode = LoadMode.parse(mode)
        keys = list(keys or [])
        missing = [str(part) for part in parts if self.table_schema(part) is None]
        if missing or not parts:
            raise LoadError(
                f"Publishing into {destination}: part table(s) {', '.join(missing) or '(none)'} do not exist, so "
                "their rows were never loaded; the destination is unchanged. Re-run the failed parts."
            )
        counts = [self.count_rows(part) for part in parts]
        for index, (part, present, loaded) in enumerate(zip(parts, counts, expected_rows or counts, strict=True)):
            if present != loaded:
                raise LoadError(
                    f"Publishing into {destination}: part {index}'s table {part} holds {present} rows but the part "
                    f"loaded {loaded}; the destination is unchanged. Clear that part and publish again."
                )
        self.remove_leftovers(destination)
        existing = self.table_schema(destination)
        part_schema = self.table_schema(parts[0])
        assert part_schema is not None
        generated = set(self.generated_columns(destination)) if existing is not None else set()
        columns = [name for name in part_schema.names if name not in generated]
        if mode is LoadMode.UPSERT:
            self._check_keys(destination, existing, part_schema, keys)
        result = LoadResult(str(destination), mode.value, rows=sum(counts), chunks=len(parts))

        def fill(table: TableName) -> None:
            for part in parts:
                self.insert_from(table, part, columns)

        with self._atomic(destination, mode) as created:
            self._write(destination, part_schema, existing is not None, mode, keys, columns, fill, created)
        for part in parts:
            self.drop_table(part)
        return result

    def _without_generated(
        self, destination: TableName, first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]
    ) -> tuple[pa.RecordBatch | None, Iterator[pa.RecordBatch]]:
        """Leave the destination's generated columns out of every chunk: the server computes them
        (and PostgreSQL's COPY, MySQL's LOAD DATA refuse values for them)."""
        generated = set(self.generated_columns(destination))
        present = sorted(generated & set(first.schema.names)) if first is not None else []
        if first is None or not present:
            return first, rest
        log.info(
            "Loading into %s: column(s) %s are generated by the destination; their incoming values are not "
            "written, the server computes them.",
            destination,
            ", ".join(present),
        )

        def drop(batch: pa.RecordBatch) -> pa.RecordBatch:
            kept = [name for name in batch.schema.names if name not in generated]
            return batch.select(kept) if len(kept) < batch.num_columns else batch

        return drop(first), (drop(batch) for batch in rest)

    def _load_new_table(
        self,
        destination: TableName,
        schema: pa.Schema,
        fill: Callable[[TableName], None],
        columns: Sequence[str],
        keys: Sequence[str],
        created: list[TableName],
    ) -> None:
        """Append or upsert into a missing table where DDL commits at once: the rows go into a
        staging table made from `schema`, which `place_new_table` renames to `destination` at the
        end, so a killed load never leaves an empty or half-filled table behind."""
        staging = self.staging_for(destination)
        created.append(staging)
        self.create_table(staging, schema, primary_key=keys)
        fill(staging)
        self.place_new_table(destination, staging, columns, keys)
        created.remove(staging)

    def _check_keys(
        self, destination: TableName, existing: pa.Schema | None, incoming: pa.Schema, keys: Sequence[str]
    ) -> None:
        missing = [key for key in keys if incoming.get_field_index(key) < 0]
        if missing:
            raise LoadError(
                f"Upsert into {destination}: key column(s) {', '.join(map(repr, missing))} are not in the data."
            )
        if existing is not None and not self.has_unique_key(destination, keys):
            raise LoadError(
                f"Upsert into {destination} on ({', '.join(keys)}) needs a primary key or unique constraint on "
                f"exactly those columns; add one (ALTER TABLE ... ADD UNIQUE ({', '.join(keys)})) or use other keys."
            )

    def _counted(
        self,
        batches: Iterator[pa.RecordBatch],
        schema: pa.Schema,
        destination: str,
        result: LoadResult,
        decimal_rounding: str | None = None,
        timestamp_truncation: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            conformed = conform_batch(
                batch,
                schema,
                destination=destination,
                first_row=result.rows,
                decimal_rounding=decimal_rounding,
                timestamp_truncation=timestamp_truncation,
                limits=self.limits,
            )
            result.rows += batch.num_rows
            result.chunks += 1
            result.bytes += batch.nbytes
            yield conformed

    @contextmanager
    def _atomic(self, destination: TableName, mode: LoadMode) -> Iterator[list[TableName]]:
        """One transaction; on failure roll back and drop what this load created outside it.

        Driver errors are re-raised as LoadError saying that the destination is unchanged.
        """
        created: list[TableName] = []
        self.begin()
        try:
            yield created
            self.commit()
        except BaseException as error:
            self._rollback_quietly()
            if not self.ddl_is_transactional:
                for table in reversed(created):
                    self.drop_table(table)
            if isinstance(error, Exception) and not isinstance(error, EtlError):
                raise LoadError(
                    f"{mode.value.capitalize()} into {destination} failed and was rolled back, the table is "
                    f"unchanged: {type(error).__name__}: {error}"
                ) from error
            raise

    def _rollback_quietly(self) -> None:
        # The connection may be gone (a killed backend); the server has rolled back then.
        with suppress(Exception):
            self.rollback()


def _prepend(first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    if first is not None:
        yield first
    yield from rest


def _as_nullable_except(schema: pa.Schema, keys: Sequence[str]) -> pa.Schema:
    """A new table's columns are nullable except the key columns."""
    return pa.schema([field.with_nullable(field.name not in keys) for field in schema])
