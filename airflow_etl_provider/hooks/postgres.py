"""PostgreSQL connector: streams tables and queries with binary COPY (ADBC), loads with COPY.

Works with Airflow `postgres` connections as they are (host, port, login, password, schema =
database). The connection itself is built by the official provider's `PostgresHook.get_conn`
(psycopg 3, IAM tokens, `cursor` and other extras it understands), so both read one
connection the same way; this hook only adds the few extras below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.rows import tuple_row

from airflow_etl_provider.arrow_batches import or_empty, rebatch
from airflow_etl_provider.exceptions import ConnectorConfigError, SourceError
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, ConnectorHook, batches_to_dataframe
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset, postgres_table
from airflow_etl_provider.partitioned.snapshot import DEFAULT_HOLD_SECONDS, HeldSnapshot, held_tokens, hold, release
from airflow_etl_provider.sql.names import TableName, is_query, parse_table_name
from airflow_etl_provider.sql.postgres import PgColumn, PostgresLoader, pg_column
from airflow_etl_provider.sql.postgres_catalog import read_schema
from airflow_etl_provider.sql.postgres_copy import CopyColumn, copy_blocker, copy_rows
from airflow_etl_provider.sql.postgres_read import adbc_conninfo, read_arrow, snapshot_sql, typed_select
from airflow_etl_provider.types import LoadMode, LoadResult, SchemaInfo

if TYPE_CHECKING:
    import pandas as pd

#: Extras this connector reads itself; libpq must not see them.
_OWN_EXTRAS = ("schema", "timeout", "retry_count")

#: SQLSTATE of a write refused in a read-only transaction.
READ_ONLY_SQL_TRANSACTION = "25006"

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PostgresConnectorHook(SqlConnectorHook):
    """Reads and writes a PostgreSQL database."""

    conn_type = "postgres"
    dialect = "postgres"
    hook_name = "PostgreSQL (ETL)"
    default_conn_name = "postgres_default"
    description = (
        "A PostgreSQL database: extract tables or queries with COPY; append, replace (staging swap) "
        "and upsert (ON CONFLICT) with COPY, each in one transaction."
    )
    form_owner_distribution = "apache-airflow-providers-postgres"
    config_schema = {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "schema": {
                "type": "string",
                "minLength": 1,
                "default": "public",
                "title": "Schema",
                "description": "Schema for unqualified table names and for schema discovery.",
            },
            "sslmode": {
                "type": "string",
                "enum": SSL_MODES,
                "examples": ["require"],
                "title": "SSL mode",
                "description": "libpq sslmode: whether and how strictly the connection uses TLS.",
            },
            "application_name": {
                "type": "string",
                "default": "airflow-etl-provider",
                "title": "Application name",
                "description": "Shown in pg_stat_activity, so a DBA can see which sessions are ETL loads.",
            },
            "connect_timeout": {
                "type": "integer",
                "minimum": 1,
                "examples": [10],
                "title": "Connect timeout (seconds)",
                "description": "How long to wait for the server to accept the connection (defaults to the timeout).",
            },
        },
    }
    ui_field_behaviour = {
        "relabeling": {"schema": "Database"},
        "placeholders": {"host": "db.example.com", "port": "5432", "schema": "analytics", "login": "etl"},
    }
    transient_errors = (
        ConnectionError,
        TimeoutError,
        psycopg.errors.SerializationFailure,
        psycopg.errors.DeadlockDetected,
        psycopg.errors.AdminShutdown,
        psycopg.errors.CannotConnectNow,
    )
    connect_errors = (psycopg.Error,)
    extract_options: ClassVar[Mapping[str, str]] = {
        **SqlConnectorHook.extract_options,
        "snapshot": "an id from pg_export_snapshot(): read exactly that snapshot (partitioned transfers share one)",
    }

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self._warned_types: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def schema(self) -> str:
        return str(self.config["schema"])

    def _libpq_connection(self) -> Any:
        """The Airflow connection with this connector's own extras replaced by libpq settings."""
        from airflow.sdk import Connection

        conn = self.connection
        extra = {key: value for key, value in self.connection.extra_dejson.items() if key not in _OWN_EXTRAS}
        extra["application_name"] = self.config["application_name"]
        extra["connect_timeout"] = int(self.config.get("connect_timeout") or self.timeout)
        return Connection(
            conn_id=self.conn_id,
            conn_type="postgres",
            host=conn.host,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            port=conn.port,
            extra=json.dumps(extra),
        )

    def _session_sql(self) -> list[str]:
        """Settings of every session: ours and the ADBC driver's own connection alike."""
        statements = ["SET TIME ZONE 'UTC'"]
        if self.schema != "public":
            statements.append(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema)).as_string())
        return statements

    def _connect(self) -> psycopg.Connection:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        db = PostgresHook(postgres_conn_id=self.conn_id, connection=self._libpq_connection()).get_conn()
        if not isinstance(db, psycopg.Connection):
            raise ConnectorConfigError(
                self.conn_id, "extra", "the postgres provider returned a psycopg2 connection; install psycopg>=3."
            )
        db.autocommit = True
        db.row_factory = tuple_row  # the provider's `cursor` extra may have set dict rows
        for statement in self._session_sql():
            db.execute(statement.encode())
        return db

    def loader(self) -> PostgresLoader:
        return PostgresLoader(self.db)

    # -- test_connection -----------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        try:
            with self:
                self.db.execute("SELECT 1").fetchone()
                version = self.db.info.parameter_status("server_version")
        except ConnectorConfigError as error:
            return False, str(error)
        except psycopg.Error as error:
            return False, f"Connection {self.conn_id!r}: {self._diagnose(error)[1]} ({self._where()})."
        return True, f"Connected to {self._where()} (PostgreSQL {version})."

    def _where(self) -> str:
        conn = self.connection
        return f"database {conn.schema!r} on {conn.host or 'localhost'}:{conn.port or 5432} as {conn.login!r}"

    def connect_failure(self, error: Exception) -> ConnectorConfigError:
        field, problem = self._diagnose(error)
        return ConnectorConfigError(self.conn_id, field, f"cannot connect to {self._where()}: {problem}")

    def _diagnose(self, error: Exception) -> tuple[str, str]:
        """(field to check, which of auth / host / database failed in words), without the password."""
        text = " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__
        text = self._without_password(text)
        lowered, sqlstate = text.lower(), getattr(error, "sqlstate", None)
        missing_role = "role" in lowered and "does not exist" in lowered
        if sqlstate in {"28P01", "28000"} or "authentication" in lowered or missing_role:
            field = "password" if sqlstate == "28P01" or "password" in lowered else "login"
            return field, f"authentication failed, check login and password: {text}"
        if sqlstate == "3D000" or ("database" in lowered and "does not exist" in lowered):
            return "schema", f"the database does not exist, check the Database (schema) field: {text}"
        if isinstance(error, psycopg.OperationalError) and sqlstate is None:
            return "host", f"the server is unreachable, check host, port and network: {text}"
        return "host", text

    # -- extract -------------------------------------------------------------------------

    def table_name(self, text: str) -> TableName:
        table = parse_table_name(text, quote_chars='"')
        return table if table.schema else TableName(table.name, self.schema)

    def _select_for(self, source: str, parameters: Sequence[Any] | dict[str, Any] | None) -> str:
        select = self.select_for(source)
        if parameters and is_query(source):
            return psycopg.ClientCursor(self.db).mogrify(select, parameters)
        return select

    @property
    def default_schema(self) -> str:
        return self.schema

    def table_dataset(self, table: TableName) -> LineageDataset:
        conn = self.connection
        # libpq's default database is the login's name.
        database = conn.schema or conn.login or "postgres"
        return postgres_table(conn.host, conn.port, database, table.schema or self.schema, table.name)

    def quote_identifier(self, identifier: str) -> str:
        return sql.Identifier(identifier).as_string(self.db)

    def _describe(self, select: str, source: str) -> list[PgColumn]:
        """Column names and types of `select` from its result description (no row is read).

        It runs in a READ ONLY transaction and over the extended protocol (`binary=True`), which
        takes one statement only: nothing the text holds can write or run a second statement.
        """
        columns = [pg_column(column.name, column.oid, column.typmod) for column in self._result_columns(select)]
        unknown = {column.type_name for column in columns if not column.known} - self._warned_types
        names = self._type_names(unknown)
        for column in columns:
            if column.type_name in unknown:
                unknown.discard(column.type_name)
                self._warned_types.add(column.type_name)
                self.log.warning(
                    "Reading %s from connection %r: column %r has type %s, which has no exact Arrow type; "
                    "it is read as text.",
                    source,
                    self.conn_id,
                    column.name,
                    names.get(column.type_name, column.type_name),
                )
        return columns

    def _result_columns(self, select: str) -> list[CopyColumn]:
        """The columns `select` returns with their type OIDs and modifiers (see `_describe`)."""
        with self.db.transaction(), self.db.cursor() as cursor:
            cursor.execute(b"SET TRANSACTION READ ONLY")
            cursor.execute(f"SELECT * FROM ({select}) AS q LIMIT 0".encode(), binary=True)
            result = cursor.pgresult
            assert result is not None
            return [
                CopyColumn(column.name, column.type_code, result.fmod(i))
                for i, column in enumerate(cursor.description or [])
            ]

    def _type_names(self, type_names: set[str]) -> dict[str, str]:
        """Names of the types psycopg knows by OID only (`oid 16385` -> `mpaa_rating (an enum)`)."""
        oids = [int(name[4:]) for name in type_names if name.startswith("oid ") and name[4:].isdigit()]
        if not oids:
            return {}
        rows = self.db.execute(
            "SELECT t.oid, format_type(t.oid, NULL), t.typtype FROM pg_type t WHERE t.oid = ANY(%s)", (oids,)
        ).fetchall()
        kinds = {"e": " (an enum)", "d": " (a domain)", "c": " (a composite type)", "r": " (a range type)"}
        return {f"oid {oid}": f"{name}{kinds.get(kind, '')}" for oid, name, kind in rows}

    def _stream(
        self, select: str, source: str, chunk_size: int, snapshot: str | None = None
    ) -> Iterator[pa.RecordBatch]:
        from adbc_driver_manager import Error as AdbcError

        try:
            columns = self._describe(select, source)
            schema = pa.schema([pa.field(c.name, c.arrow_type) for c in columns])
            conninfo = adbc_conninfo(self.db.info.get_parameters(), self.db.info.password)
            batches = read_arrow(conninfo, self._session_sql(), typed_select(select, columns), columns, snapshot)
            yield from or_empty(rebatch(batches, chunk_size), schema)
        except (psycopg.Error, AdbcError, pa.ArrowInvalid, OSError, ValueError) as error:  # OSError: the stream failed
            raise self._read_failure(source, error) from error

    def _read_failure(self, source: str, error: Exception) -> SourceError:
        """A read of `source` that failed, in words, without the password."""
        text = self._without_password(str(error))
        if getattr(error, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION:
            return self.not_read_only(source, f"the server refused a write: {text}")
        return SourceError(f"Cannot read {source!r} from connection {self.conn_id!r}: {text}")

    def _without_password(self, text: str) -> str:
        password = self.connection.password
        return text.replace(password, "***") if password else text

    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        """Stream a table or query with binary `COPY (...) TO STDOUT`, decoded by the ADBC driver.

        Option `parameters`: values for `%s` / `%(name)s` placeholders of a query, bound by
        psycopg on the client (COPY takes no server-side parameters). Option `snapshot`: an id
        from `pg_export_snapshot()` of a transaction still open; the read sees that snapshot.
        """
        with self:
            select = self._select_for(source, options.get("parameters"))
            yield from self._stream(select, source, chunk_size, options.get("snapshot"))

    def preview(self, source: str, limit: int = 100, **options: Any) -> pd.DataFrame:
        """The first `limit` rows; the LIMIT runs on the server."""
        with self:
            select = f"SELECT * FROM ({self._select_for(source, options.get('parameters'))}) AS q LIMIT {int(limit)}"
            batches = list(self._stream(select, source, max(1, int(limit))))
        return batches_to_dataframe(batches)

    # -- PostgreSQL to PostgreSQL ---------------------------------------------------------

    def load_from(
        self,
        source_hook: ConnectorHook,
        source: str,
        source_options: Mapping[str, Any],
        destination: str,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        **options: Any,
    ) -> tuple[LoadResult, pa.Schema] | None:
        """From another PostgreSQL connection into an existing table whose columns take the
        source's binary rows as they are (`postgres_copy`): server to server, no Arrow.

        Load options (`decimal_rounding`, `timestamp_truncation`) change nothing there: the
        types match, so no value is rounded or truncated."""
        if not isinstance(source_hook, PostgresConnectorHook):
            return None
        with source_hook, self:
            select = source_hook._select_for(source, source_options.get("parameters"))
            try:
                columns = source_hook._result_columns(select)
            except psycopg.Error as error:
                raise source_hook._read_failure(source, error) from error
            loader = self.loader()
            table = self.table_name(destination)
            blocker = copy_blocker(columns, loader.copy_columns(table))
            if blocker is None and source_hook.db.info.encoding != self.db.info.encoding:
                blocker = "the two connections use different client encodings"
            if blocker is not None:
                self.log.info("Loading %s through Arrow chunks, not binary COPY server to server: %s.", table, blocker)
                return None
            self.log.info("Loading %s by binary COPY from %r, server to server.", table, source_hook.conn_id)
            snapshot = source_options.get("snapshot")
            read_sql = [*(snapshot_sql(snapshot) if snapshot else []), "SET TRANSACTION READ ONLY"]
            names = [column.name for column in columns]
            moved = 0

            def fill(into: TableName) -> int:
                nonlocal moved
                rows, moved = copy_rows(
                    source_hook.db,
                    select,
                    read_sql,
                    self.db,
                    loader.copy_in_statement(into, names),
                    lambda error: source_hook._read_failure(source, error),
                )
                return rows

            result = loader.load_filled(table, names, fill, mode=mode, keys=keys)
        result.bytes = moved
        result.details["copy"] = "binary, server to server"
        schema = pa.schema([pa.field(c.name, pg_column(c.name, c.oid, c.typmod).arrow_type) for c in columns])
        return result, schema

    # -- one snapshot for many readers ---------------------------------------------------

    def hold_snapshot(self, token: str, hold_seconds: int = DEFAULT_HOLD_SECONDS) -> HeldSnapshot:
        """Export a snapshot that other sessions read (option `snapshot`) until `release_snapshot(token)`,
        held by a detached process for at most `hold_seconds`."""
        with self:
            return hold(adbc_conninfo(self.db.info.get_parameters(), self.db.info.password), token, hold_seconds)

    def held_snapshots(self, prefix: str) -> list[str]:
        """The tokens starting with `prefix` whose snapshot is still held."""
        with self:
            return held_tokens(self.db, prefix)

    def release_snapshot(self, token: str) -> int:
        """End the snapshot held for `token`: how many holder sessions were ended (0 if already gone)."""
        with self:
            return release(self.db, token)

    # -- schema discovery ----------------------------------------------------------------

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        """Tables, partitions, views, their keys and unique indexes, enums and domains of the schema."""
        names = [self.table_name(source).name] if source else None
        with self:
            return read_schema(self.db, self.schema, names)
