"""PostgreSQL into Arrow: binary COPY decoded in C by the ADBC PostgreSQL driver.

The driver runs `COPY (...) TO STDOUT (FORMAT binary)` and decodes the wire format straight
into Arrow arrays, so no value passes through a Python object and the server skips text
formatting. Where the driver's form differs from the connector's type map (`pg_column`), the
server converts first: numeric travels as its exact decimal text and becomes decimal128/256
here (a cast that raises rather than rounds); uuid, oid and types without an Arrow equivalent
arrive as text or int8, as the map says.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence

import pyarrow as pa
from psycopg.conninfo import make_conninfo

from airflow_etl_provider.sql.postgres import PgColumn

#: Bytes of rows the driver gathers into one Arrow batch (the rows are then re-chunked).
BATCH_BYTES = 4 << 20

#: Every transaction of the driver's session is read-only.
READ_ONLY_SESSION = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

#: What `pg_export_snapshot()` returns (e.g. `00000003-0000001B-1`); checked because SET
#: TRANSACTION SNAPSHOT takes a literal, not a parameter.
SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?\Z")

#: Converted on the server: uuid and oid because the driver decodes them to other types than
#: the map's, numeric because the server prints it over twice as fast as the driver decodes it.
_SERVER_CASTS = {"uuid": "text", "oid": "int8", "numeric": "text"}


def _server_cast(column: PgColumn) -> str | None:
    if not column.known:
        return "text"
    element = column.type_name.removesuffix("[]")
    cast = _SERVER_CASTS.get(element)
    if cast is None:
        return None
    return f"{cast}[]" if column.is_array else cast


def typed_select(select: str, columns: Sequence[PgColumn]) -> str:
    """`select` with the server-side casts applied; columns are renamed positionally
    (`q(c0, c1, ...)`), so duplicate names are fine."""
    aliases = [f"c{i}" for i in range(len(columns))]
    exprs = []
    for alias, column in zip(aliases, columns, strict=True):
        cast = _server_cast(column)
        exprs.append(f"{alias}::{cast}" if cast else alias)
    return f"SELECT {', '.join(exprs)} FROM ({select}) AS q({', '.join(aliases)})"


def _conform(array: pa.Array, target: pa.DataType) -> pa.Array:
    """`array` as the driver delivered it, as `target` (the connector's type for the column)."""
    if isinstance(array, pa.ExtensionArray) and array.type != target:
        array = array.storage  # numeric as `arrow.opaque` over its exact decimal text
    if array.type == target:
        return array
    if isinstance(target, pa.BaseExtensionType):
        return pa.ExtensionArray.from_storage(target, _conform(array, target.storage_type))
    if pa.types.is_list(target) and pa.types.is_list(array.type):
        values = _conform(array.values, target.value_type)
        return pa.ListArray.from_arrays(array.offsets, values, type=target, mask=array.is_null())
    return array.cast(target)


def conform_batch(batch: pa.RecordBatch, columns: Sequence[PgColumn]) -> pa.RecordBatch:
    """A driver batch with the connector's Arrow types and the query's real column names."""
    arrays = []
    for array, column in zip(batch.columns, columns, strict=True):
        try:
            arrays.append(_conform(array, column.arrow_type))
        except pa.ArrowInvalid as error:
            raise pa.ArrowInvalid(
                f"column {column.name!r} ({column.type_name}) cannot be read as {column.arrow_type}: {error}. "
                "NaN, infinity and digits beyond the declared scale have no exact Arrow decimal: cast the "
                "column in the query (e.g. to float8 or text)."
            ) from error
    return pa.RecordBatch.from_arrays(arrays, names=[column.name for column in columns])


def adbc_conninfo(parameters: dict[str, str], password: str | None) -> str:
    """libpq connection string for the driver from an open psycopg connection's settings, so
    both connect exactly alike (credentials, TLS, IAM token already resolved)."""
    settings = {key: value for key, value in parameters.items() if value}
    if password:
        settings["password"] = password
    return make_conninfo("", **settings)


def snapshot_sql(snapshot: str) -> list[str]:
    """The statements that make a transaction read the exported snapshot `snapshot`."""
    if not SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"{snapshot!r} is not a snapshot identifier as pg_export_snapshot() returns them")
    return ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", f"SET TRANSACTION SNAPSHOT '{snapshot}'"]


def read_arrow(
    conninfo: str,
    session_sql: Sequence[str],
    select: str,
    columns: Sequence[PgColumn],
    snapshot: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream `select` (already wrapped by `typed_select`) as batches of the connector's types.

    `session_sql` runs first on the driver's own connection (time zone, search path), then the
    session is made read-only, so the COPY runs in a READ ONLY transaction: the server refuses
    any write the query would make (a data-modifying WITH, a function that writes, nextval).
    The driver prepares the query first, which takes one statement only. With `snapshot` (an
    id from `pg_export_snapshot()`) the COPY runs in a transaction that sees exactly that
    snapshot, so several readers see one state of the database. Closing the iterator
    early closes the stream and the connection; the server stops the COPY. The driver
    manager's low-level API is used because its DB-API module imports pandas.
    """
    import adbc_driver_manager
    import adbc_driver_postgresql
    from adbc_driver_manager._reader import AdbcRecordBatchReader

    with contextlib.ExitStack() as resources:
        database = resources.enter_context(adbc_driver_postgresql.connect(conninfo))
        connection = resources.enter_context(adbc_driver_manager.AdbcConnection(database))
        statement = resources.enter_context(adbc_driver_manager.AdbcStatement(connection))
        statement.set_options(**{adbc_driver_postgresql.StatementOptions.BATCH_SIZE_HINT_BYTES.value: str(BATCH_BYTES)})
        for sql in (*session_sql, READ_ONLY_SESSION):
            statement.set_sql_query(sql)
            statement.execute_update()
        if snapshot is not None:
            connection.set_autocommit(False)
            for sql in snapshot_sql(snapshot):
                statement.set_sql_query(sql)
                statement.execute_update()
        statement.set_sql_query(select)
        stream, _ = statement.execute_query()
        # The driver manager's reader (as its DB-API uses) raises the server's errors with their SQLSTATE.
        reader = AdbcRecordBatchReader._import_from_c(stream.address)
        resources.callback(reader.close)
        for batch in reader:
            yield conform_batch(batch, columns)
