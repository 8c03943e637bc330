"""MySQL / MariaDB connector over mysql-connector-python.

Works with Airflow `mysql` connections as they are (host, port, login, password, schema =
database; extra keys it does not know are kept). The official MySQL provider is never
imported: when it is installed it owns the connection form, otherwise ours is shown.
Sessions run with `time_zone = '+00:00'`, so TIMESTAMP columns are read and written as UTC,
and without multi-statement support, so one `execute` never runs a second statement. Reads
run in `START TRANSACTION READ ONLY`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import mysql.connector
import pyarrow as pa
from mysql.connector import errors as mysql_errors
from mysql.connector.constants import ClientFlag
from mysql.connector.errorcode import ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION

from airflow_etl_provider.exceptions import ConnectorConfigError, SourceError
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, batches_to_dataframe
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset, mysql_table
from airflow_etl_provider.sql.mysql import MySqlLoader, arrow_type_for, quote_identifier, text_value
from airflow_etl_provider.sql.mysql_catalog import read_schema
from airflow_etl_provider.sql.mysql_cext import (
    READER_PROCESS_C,
    CellStream,
    CExtensionUnavailable,
    read_path,
)
from airflow_etl_provider.sql.mysql_cext import reader_process as reader_process_stream
from airflow_etl_provider.sql.mysql_read import ColumnType, cells_batch, column_origins, description_type, raw_cells
from airflow_etl_provider.sql.names import TableName, is_query
from airflow_etl_provider.types import SchemaInfo

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_PORT = 3306
#: errno -> (the form field to check, what the person filling the form should check).
_CONNECT_ERRORS = {
    1045: ("password", "the server refused the login/password (access denied); check the login and password fields"),
    1044: ("schema", "the login may not use this database (access denied); check the schema field or the grants"),
    1049: ("schema", "the database named in the schema field does not exist; check the schema field"),
    2003: ("host", "the server is unreachable (nothing answered at that host and port); check host, port and firewall"),
    2005: ("host", "the host name does not resolve; check the host field"),
}
#: How a failed DNS lookup reads when the pure-Python driver reports it as 2003.
_UNRESOLVED = re.compile(r"name or service not known|name resolution|nodename nor servname", re.IGNORECASE)


class MySqlConnectorHook(SqlConnectorHook):
    """Reads and writes MySQL and MariaDB databases."""

    conn_type = "mysql"
    dialect = "mysql"
    hook_name = "MySQL (ETL)"
    default_conn_name = "mysql_default"
    description = (
        "MySQL or MariaDB: stream a table or query with exact types; append, replace (RENAME TABLE swap) "
        "and upsert (ON DUPLICATE KEY UPDATE) through LOAD DATA LOCAL INFILE."
    )
    form_owner_distribution = "apache-airflow-providers-mysql"
    config_schema = {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "charset": {
                "type": "string",
                "default": "utf8mb4",
                "title": "Character set",
                "description": "Connection character set; utf8mb4 keeps every Unicode character (emoji included).",
            },
            "use_ssl": {
                "type": "boolean",
                "default": False,
                "title": "Use TLS",
                "description": "Require TLS; when off, TLS is still used if the server offers it.",
            },
            "ssl_ca": {
                "type": "string",
                "title": "TLS CA file",
                "description": "Path of the CA certificate file that signed the server certificate.",
            },
            "ssl_verify": {
                "type": "boolean",
                "default": True,
                "title": "Verify server certificate",
                "description": "Check the server certificate against the CA file (when TLS is on).",
            },
            "c_extension": {
                "type": "boolean",
                "default": True,
                "title": "Read with the C extension",
                "description": (
                    "Read large results with mysql-connector's C extension, in a reader process when it cannot "
                    "load in the task's own; off reads with the pure-Python protocol (several times slower)."
                ),
            },
            "connect_timeout": {
                "type": "integer",
                "minimum": 1,
                "title": "Connect timeout (seconds)",
                "description": "How long opening the connection may take (defaults to the timeout).",
            },
        },
    }
    ui_field_behaviour = {
        "hidden-fields": [],
        "relabeling": {"schema": "Database", "login": "User"},
        "placeholders": {"host": "mysql.example.com", "port": str(DEFAULT_PORT), "schema": "analytics"},
    }
    transient_errors = (ConnectionError, TimeoutError, mysql_errors.OperationalError, mysql_errors.InterfaceError)
    connect_errors = (mysql_errors.Error,)

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self._infile_dir: str | None = None
        self._server_version = ""
        #: The protocol the last read took (`sql.mysql_cext`): tests and the task log say which ran.
        self.read_path: str | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def connect_args(self) -> dict[str, Any]:
        """Driver arguments from the connection; the C extension is used when it loads."""
        conn, config = self.connection, self.config
        args: dict[str, Any] = {
            "host": conn.host or "localhost",
            "port": int(conn.port or DEFAULT_PORT),
            "user": conn.login or "",
            "password": conn.password or "",
            "charset": config["charset"],
            "connection_timeout": int(config.get("connect_timeout") or self.timeout),
            "time_zone": "+00:00",
            "autocommit": True,
            "use_pure": not mysql.connector.HAVE_CEXT,
            "client_flags": [-ClientFlag.MULTI_STATEMENTS],
        }
        if conn.schema:
            args["database"] = conn.schema
        # Connections made for the official provider keep TLS settings in an `ssl` object.
        provider_ssl = config.get("ssl")
        ca = config.get("ssl_ca") or (provider_ssl.get("ca") if isinstance(provider_ssl, dict) else None)
        if config["use_ssl"] or ca:  # else the driver's default: TLS whenever the server offers it
            args.update(ssl_disabled=False, ssl_verify_cert=bool(config["ssl_verify"]))
            if ca:
                args["ssl_ca"] = ca
        return args

    def open(self) -> None:
        self._infile_dir = tempfile.mkdtemp(prefix="etl_mysql_infile_")
        super().open()
        self._server_version = self._db.server_info or ""

    def _connect(self) -> Any:
        return mysql.connector.connect(**self.connect_args(), allow_local_infile_in_path=self._infile_dir)

    def _drop_session(self) -> None:
        """Abandon an unbuffered result mid-way: end the session, and open a new one if still in use."""
        with suppress(mysql_errors.Error):
            self.db.shutdown()
        self._db = self._connect() if self._open_depth > 1 else None

    def close(self) -> None:
        super().close()
        if self._infile_dir is not None:
            shutil.rmtree(self._infile_dir, ignore_errors=True)
            self._infile_dir = None

    @property
    def is_mariadb(self) -> bool:
        return "mariadb" in self._server_version.lower()

    @contextmanager
    def _rolled_back(self, *, read_only: bool) -> Iterator[None]:
        """A transaction that is always rolled back: READ ONLY ones make the server refuse any write."""
        self._query("START TRANSACTION READ ONLY" if read_only else "START TRANSACTION")
        try:
            yield
        finally:
            self.db.rollback()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.db.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return cursor.fetchall()
        finally:
            cursor.close()

    # -- test ----------------------------------------------------------------------------

    def _where(self) -> str:
        conn = self.connection
        return f"{conn.host or 'localhost'}:{conn.port or DEFAULT_PORT}"

    def _diagnose(self, error: Exception) -> tuple[str, str]:
        """(form field to check, what failed in words) for an error opening the connection."""
        errno = getattr(error, "errno", None) or 0
        message = getattr(error, "msg", None) or str(error)
        if errno == 2003 and _UNRESOLVED.search(message):  # the pure driver's 2005
            errno = 2005
        field, advice = _CONNECT_ERRORS.get(errno, ("host", "see the driver's message"))
        return field, f"{advice} (error {getattr(error, 'errno', None)}: {message})"

    def connect_failure(self, error: Exception) -> ConnectorConfigError:
        conn = self.connection
        field, problem = self._diagnose(error)
        where = f"{self._where()} as {conn.login or ''!r}, database {conn.schema!r}"
        return ConnectorConfigError(self.conn_id, field, f"cannot connect to MySQL at {where}: {problem}")

    def test_connection(self) -> tuple[bool, str]:
        try:
            with self:
                version, database = (text_value(value) for value in self._query("SELECT VERSION(), DATABASE()")[0])
        except ConnectorConfigError as error:  # settings, or the connection failing (`connect_failure`)
            return False, str(error)
        return True, f"Connected to {self._where()}, server {version}, database {database or '(none)'}."

    # -- reading -------------------------------------------------------------------------

    @property
    def default_schema(self) -> str | None:
        return self.connection.schema or None

    def table_dataset(self, table: TableName) -> LineageDataset:
        conn = self.connection
        return mysql_table(conn.host, conn.port, table.schema or conn.schema or "", table.name)

    def quote_identifier(self, identifier: str) -> str:
        return quote_identifier(identifier)

    def loader(self) -> MySqlLoader:
        """The dialect on this session, loading with LOAD DATA when the server allows it."""
        local_infile = bool(self._query("SELECT @@local_infile")[0][0])
        if not local_infile:
            self.log.warning(
                "Server of connection %r has local_infile=OFF; loading with multi-row INSERTs (slower). "
                "Enable it with SET GLOBAL local_infile = 1.",
                self.conn_id,
            )
        return MySqlLoader(self.db, infile_dir=self._infile_dir if local_infile else None, is_mariadb=self.is_mariadb)

    def _introspector(self) -> MySqlLoader:
        """The dialect for reading the catalog; no bulk path is needed."""
        return MySqlLoader(self.db, infile_dir=None, is_mariadb=self.is_mariadb)

    def _declared_columns(self, source: str, parameters: Any = None) -> list[ColumnType] | None:
        """Exact column types: information_schema for a table, a LIMIT 0 probe table for a query."""
        if not is_query(source):
            columns = self._introspector().table_columns(self.table_name(source))
            if not columns:
                raise SourceError(f"Table {source!r} does not exist in the database of connection {self.conn_id!r}.")
            return [ColumnType(name, arrow_type) for name, arrow_type, _ in columns]
        query = self.select_for(source)
        rows = self._probe_columns(query, parameters or ())
        if rows is None:  # e.g. duplicate column names: fall back to the driver's description
            return None
        json_names: set[str] = set()
        if self.is_mariadb and any(text_value(row[1]).lower() == "longtext" for row in rows):
            with self._rolled_back(read_only=True):
                json_names = self._json_result_columns(query, parameters)
        return [
            ColumnType(
                text_value(row[0]),
                arrow_type_for(
                    text_value(row[1]), comment=text_value(row[8]), is_json=text_value(row[0]) in json_names
                ),
            )
            for row in rows
        ]

    def _probe_columns(self, query: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]] | None:
        """SHOW FULL COLUMNS of an empty table created from `query` (None: the server cannot create one).

        The server evaluates constant parts of a query even under LIMIT 0 (a function in a derived
        table), and refuses temporary tables in a READ ONLY transaction. So the same LIMIT 0 select
        first runs READ ONLY, where any write it makes is refused, and the probe then runs in a
        transaction that is rolled back.
        """
        probe = quote_identifier(f"_etl_probe_{id(self):x}")
        empty = f"SELECT * FROM ({query}) AS _q LIMIT 0"
        try:
            with self._rolled_back(read_only=True):
                self._query(empty, parameters)
            with self._rolled_back(read_only=False):
                self._query(f"CREATE TEMPORARY TABLE {probe} AS {empty}", parameters)
                try:
                    return self._query(f"SHOW FULL COLUMNS FROM {probe}")
                finally:
                    self._query(f"DROP TEMPORARY TABLE IF EXISTS {probe}")
        except mysql_errors.Error as error:
            if error.errno == ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION:
                raise
            return None

    def _json_result_columns(self, query: str, parameters: Any) -> set[str]:
        """MariaDB: result columns that are bare references to JSON table columns.

        The probe table loses JSON's `json_valid` check, so the origin of each column is read from
        the server's own rewrite of the query (EXPLAIN EXTENDED's note 1003, fully qualified) and
        looked up among the check constraints. Expressions stay strings.
        """
        try:
            # WHERE 0 stops the optimizer before it reads const tables and prints their values.
            self._query(f"EXPLAIN EXTENDED SELECT * FROM ({query}) AS _q WHERE 0", parameters or ())
            notes = self._query("SHOW WARNINGS")
        except mysql_errors.Error:  # e.g. a statement EXPLAIN does not take: keep the probe's types
            return set()
        rewritten = next((text_value(note[2]) for note in notes if note[1] == 1003), "")
        origins = column_origins(rewritten)
        if not origins:
            return set()
        wanted = sorted(set(origins.values()))
        rows = self._query(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CHECK_CLAUSE = CONCAT('json_valid(`', CONSTRAINT_NAME, '`)') "
            f"AND (CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME) IN ({', '.join(['(%s, %s, %s)'] * len(wanted))})",
            [part for origin in wanted for part in origin],
        )
        json_columns = {tuple(text_value(value) for value in row) for row in rows}
        return {name for name, origin in origins.items() if origin in json_columns}

    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        """Stream `source` (a table or a SELECT) from an unbuffered cursor, `chunk_size` rows per batch."""
        with self:
            yield from self._stream(source, self.select_for(source), chunk_size, options.get("parameters"))

    def _stream(
        self, source: str, select: str, chunk_size: int, parameters: Any, *, reader_process: bool = True
    ) -> Iterator[pa.RecordBatch]:
        """Rows of `select` in one READ ONLY transaction, typed by the declared columns.

        A large read (`reader_process`) takes the C extension in a reader process when it
        cannot load here (`sql.mysql_cext`); `read_path` says which protocol read.
        """
        try:
            declared = self._declared_columns(source, parameters)
        except mysql_errors.Error as error:
            raise self._read_error(source, error) from error
        self.read_path = read_path(reader_process and bool(self.config["c_extension"]))
        if self.read_path == READER_PROCESS_C:
            self.log.info("Reading %s with mysql-connector's %s.", source, self.read_path)
            try:
                with reader_process_stream(self.connect_args(), select, parameters, chunk_size) as cells:
                    yield from self._typed(source, declared, cells, self._reader_errors(source, cells))
                return
            except CExtensionUnavailable:  # raised before any row: read here instead
                self.read_path = read_path(c_extension=False)
                self.log.info("No reader process loads the C extension either; reading with the %s.", self.read_path)
            except mysql_errors.Error as error:
                raise self._read_error(source, error) from error
        else:
            self.log.info("Reading %s with mysql-connector's %s.", source, self.read_path)
        with self._cells_here(source, select, chunk_size, parameters) as cells:
            yield from self._typed(source, declared, cells, cells.chunks)

    def _typed(
        self, source: str, declared: list[ColumnType] | None, cells: CellStream, chunks: Iterator[pa.Array]
    ) -> Iterator[pa.RecordBatch]:
        """Each chunk of cells as a typed batch; a result with no rows still gives one empty batch."""
        columns = declared or [
            ColumnType(name, description_type(type_code, flags, charset))
            for name, type_code, flags, charset in cells.description
        ]
        yielded = False
        for chunk in chunks:
            yielded = True
            batch = cells_batch(chunk, columns, source=source)
            del chunk  # the raw cells go before the next chunk of them is read, not after
            yield batch
        if not yielded:
            yield cells_batch(pa.array([], pa.binary()), columns, source=source)

    def _reader_errors(self, source: str, cells: CellStream) -> Iterator[pa.Array]:
        """The reader process's chunks, its driver errors raised as this connection's read errors."""
        try:
            yield from cells.chunks
        except mysql_errors.Error as error:
            raise self._read_error(source, error) from error

    @contextmanager
    def _cells_here(self, source: str, select: str, chunk_size: int, parameters: Any) -> Iterator[CellStream]:
        """The result read on this session's own connection (an unbuffered raw cursor)."""
        try:
            self._query("START TRANSACTION READ ONLY")
            cursor = self.db.cursor(raw=True)
            cursor.execute(select, parameters or ())
        except mysql_errors.Error as error:
            with suppress(mysql_errors.Error):
                self.db.rollback()
            raise self._read_error(source, error) from error
        description = [(d[0], d[1], d[7], d[8] if len(d) > 8 else None) for d in cursor.description]
        exhausted = False

        def chunks() -> Iterator[pa.Array]:
            nonlocal exhausted
            while rows := self._fetch(cursor, chunk_size, source):
                yield raw_cells(rows)
            exhausted = True

        try:
            yield CellStream(description, chunks())
        finally:
            if exhausted:
                cursor.close()
                self.db.rollback()  # the transaction only read
            else:  # stopped early: drop the unread rest of the result with the session
                self._drop_session()

    def _read_error(self, source: str, error: mysql_errors.Error) -> SourceError:
        if error.errno == ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION:
            return self.not_read_only(source, f"the server refused a write: {error.msg}")
        return SourceError(f"Cannot read {source!r} from connection {self.conn_id!r}: {error.msg}")

    def _fetch(self, cursor: Any, chunk_size: int, source: str) -> list[tuple[Any, ...]]:
        try:
            return cursor.fetchmany(chunk_size)
        except mysql_errors.Error as error:
            raise self._read_error(source, error) from error

    def preview(self, source: str, limit: int = 100, **options: Any) -> pd.DataFrame:
        """The first `limit` rows; the LIMIT is part of the query, so the server reads no more."""
        select = f"SELECT * FROM ({self.select_for(source)}) AS _preview LIMIT {int(limit)}"
        with self:
            batches = list(self._stream(source, select, max(1, limit), options.get("parameters"), reader_process=False))
        return batches_to_dataframe(batches)

    # -- schema --------------------------------------------------------------------------

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        """Tables and views with columns, keys, partitions (see `sql.mysql_catalog`)."""
        table = self.table_name(source) if source else None
        with self:
            return read_schema(self._query, is_mariadb=self.is_mariadb, table=table)
