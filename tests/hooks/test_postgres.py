"""PostgresConnectorHook against the real PostgreSQL server on loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import ConnectorConfigError, LoadError, SourceError
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook

JSON = pa.json_(pa.string())

ALL_TYPES_DDL = """
CREATE TABLE all_types (
    id integer PRIMARY KEY,
    small smallint,
    big bigint,
    exact numeric(38,10),
    money numeric(10,2),
    plain numeric,
    f4 real,
    f8 double precision,
    flag boolean,
    body text,
    label varchar(40),
    day date,
    at timestamp,
    at_tz timestamptz,
    doc json,
    docb jsonb,
    uid uuid,
    raw bytea,
    ints integer[],
    words text[],
    amounts numeric(10,2)[],
    clock time
)
"""

ALL_TYPES_ROWS = """
INSERT INTO all_types VALUES
(1, -32768, -9223372036854775808, 9999999999999999999999999999.9999999999, 12345678.90, 1.5,
 3.14, 2.718281828459045, true, E'h\u00e9llo \u2713\\nline two, "quoted" \\\\ back', 'caf\u00e9',
 '2024-02-29', '2024-03-31 02:30:00.123456', '2024-03-31 02:30:00+02', '{"a": [1, 2.50, null],  "b": "x"}',
 '{"z": 1, "a": {"nested": true}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10',
 '{1,NULL,3}', '{"a,b","c\\"d",NULL,""}', '{1.50,NULL}', '23:59:59.999999'),
(2, 32767, 9223372036854775807, -9999999999999999999999999999.9999999999, -0.01, -123456789.0123456789,
 -1.5e-10, -1e308, false, '', '', '0001-01-01', '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999-08',
 '[]', '[]', '00000000-0000-0000-0000-000000000000', '\\x', '{}', '{}', '{}', '00:00:00'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL),
(4, 0, 0, 0.0000000001, 0, 0, 'Infinity', 'NaN', true, E'tab\\there\\r\\nCRLF', 'x', '2262-04-11',
 '2000-01-01 00:00:00', '2024-06-01 12:00:00+05:30', '{"k": "\u00fc\u00f1\u00ef\u00e7\u00f8d\u00e9"}', 'null',
 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x0a0d22', '{-2147483648}', '{"NULL"}', '{-99999999.99}', '12:00:00')
"""


@pytest.fixture
def admin(postgres_database: Any) -> Iterator[psycopg.Connection]:
    """A plain psycopg connection to the test database, for setup and checks."""
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        yield conn


@pytest.fixture
def hook(postgres_conn_id: str) -> PostgresConnectorHook:
    return PostgresConnectorHook(postgres_conn_id)


def rows(conn: psycopg.Connection, table: str, order: str = "1") -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def batches_of(table: pa.Table, size: int) -> list[pa.RecordBatch]:
    return table.to_batches(max_chunksize=size)


# -- configuration and connection ------------------------------------------------------------


def test_config_defaults_and_foreign_extras_are_accepted(
    postgres_database: Any, airflow_connection: Callable[..., str]
) -> None:
    db = postgres_database
    conn_id = airflow_connection(
        "postgres",
        host=db.host,
        port=db.port,
        login=db.user,
        schema=db.name,
        extra={"cursor": "dictcursor", "sslmode": "disable", "connect_timeout": 5},
    )
    hook = PostgresConnectorHook(conn_id)
    assert hook.config["schema"] == "public"
    assert hook.config["application_name"] == "airflow-etl-provider"
    with hook:
        # the official provider's `cursor` extra must not turn our rows into dicts
        assert hook.db.execute(
            "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        ).fetchone() == ("airflow-etl-provider",)
    assert list(hook.extract("SELECT 1 AS one"))[0].to_pylist() == [{"one": 1}]


def test_invalid_sslmode_names_the_field(postgres_database: Any, airflow_connection: Callable[..., str]) -> None:
    conn_id = airflow_connection(
        "postgres", host="127.0.0.1", schema=postgres_database.name, extra={"sslmode": "sometimes"}
    )
    with pytest.raises(ConnectorConfigError) as info:
        _ = PostgresConnectorHook(conn_id).config
    assert info.value.field == "sslmode"


def test_test_connection_ok(hook: PostgresConnectorHook, postgres_database: Any) -> None:
    ok, message = hook.test_connection()
    assert ok, message
    assert postgres_database.name in message and "PostgreSQL 15" in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"port": 1}, "unreachable"),
        ({"host": "no-such-host.invalid"}, "unreachable"),
        ({"schema": "no_such_database_here"}, "database does not exist"),
        ({"login": "no_such_role_here"}, "authentication failed"),
    ],
)
def test_test_connection_tells_failures_apart_without_the_password(
    postgres_database: Any, airflow_connection: Callable[..., str], fields: dict[str, Any], expected: str
) -> None:
    db = postgres_database
    settings = {"host": db.host, "port": db.port, "login": db.user, "schema": db.name, "password": "s3cret-passw0rd"}
    conn_id = airflow_connection("postgres", **{**settings, **fields}, extra={"connect_timeout": 3, "retry_count": 0})
    ok, message = PostgresConnectorHook(conn_id).test_connection()
    assert not ok
    assert expected in message, message
    assert "s3cret-passw0rd" not in message


# -- extract ------------------------------------------------------------------------------


def test_extract_hands_the_password_to_the_driver_but_never_to_an_error(
    postgres_database: Any, airflow_connection: Callable[..., str]
) -> None:
    db = postgres_database
    conn_id = airflow_connection(
        "postgres", host=db.host, port=db.port, login=db.user, schema=db.name, password="s3cret-passw0rd"
    )
    hook = PostgresConnectorHook(conn_id)
    assert [b.num_rows for b in hook.extract("SELECT g FROM generate_series(1, 10) g")] == [10]
    with pytest.raises(SourceError) as info:
        list(hook.extract("SELECT 1 / (3 - g) FROM generate_series(1, 5) g"))
    assert "division by zero" in str(info.value)
    assert "s3cret-passw0rd" not in str(info.value) and "s3cret-passw0rd" not in repr(info.value.__cause__)


def test_extract_maps_every_type_exactly(hook: PostgresConnectorHook, admin: psycopg.Connection) -> None:
    admin.execute(ALL_TYPES_DDL)
    admin.execute(ALL_TYPES_ROWS)
    table = pa.Table.from_batches(list(hook.extract("all_types")))
    expected = {
        "id": pa.int32(),
        "small": pa.int16(),
        "big": pa.int64(),
        "exact": pa.decimal128(38, 10),
        "money": pa.decimal128(10, 2),
        "plain": pa.decimal128(38, 10),
        "f4": pa.float32(),
        "f8": pa.float64(),
        "flag": pa.bool_(),
        "body": pa.string(),
        "label": pa.string(),
        "day": pa.date32(),
        "at": pa.timestamp("us"),
        "at_tz": pa.timestamp("us", tz="UTC"),
        "doc": JSON,
        "docb": JSON,
        "uid": pa.string(),
        "raw": pa.binary(),
        "ints": pa.list_(pa.int32()),
        "words": pa.list_(pa.string()),
        "amounts": pa.list_(pa.decimal128(10, 2)),
        "clock": pa.time64("us"),
    }
    assert {f.name: f.type for f in table.schema} == expected
    by_id = {row["id"]: row for row in table.to_pylist()}
    first, second, empty = by_id[1], by_id[2], by_id[3]
    assert first["exact"] == Decimal("9999999999999999999999999999.9999999999")
    assert second["exact"] == Decimal("-9999999999999999999999999999.9999999999")
    assert first["body"] == 'h\u00e9llo \u2713\nline two, "quoted" \\ back'
    assert first["doc"] == '{"a": [1, 2.50, null],  "b": "x"}'  # json text kept byte for byte
    assert first["at_tz"].isoformat() == "2024-03-31T00:30:00+00:00"
    assert second["at_tz"].isoformat() == "2000-01-01T07:59:59.999999+00:00"
    assert first["raw"] == b"\x00\xff\x10" and second["raw"] == b""
    assert first["ints"] == [1, None, 3] and first["words"] == ["a,b", 'c"d', None, ""]
    assert second["body"] == "" and empty["body"] is None
    assert all(value is None for key, value in empty.items() if key != "id")


def test_numeric_wider_than_38_digits_is_exact_decimal256_both_ways(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    admin.execute("CREATE TABLE wide (id int PRIMARY KEY, n numeric(50,10), ns numeric(50,10)[])")
    big = Decimal("1234567890123456789012345678901234567890.0123456789")
    admin.execute(
        "INSERT INTO wide VALUES (1, %s, ARRAY[%s, NULL]::numeric(50,10)[]), (2, -0.0000000001, '{}'), (3, NULL, NULL)",
        (big, -big),
    )
    table = pa.Table.from_batches(list(hook.extract("wide")))
    assert table.schema.field("n").type == pa.decimal256(50, 10)
    assert table.schema.field("ns").type == pa.list_(pa.decimal256(50, 10))
    assert table.column("n").to_pylist() == [big, Decimal("-0.0000000001"), None]
    assert table.column("ns").to_pylist() == [[-big, None], [], None]
    hook.load(table.to_batches(), "wide_copy")
    text = "SELECT id, n::text, ns::text FROM {} ORDER BY id"
    assert admin.execute(text.format("wide_copy")).fetchall() == admin.execute(text.format("wide")).fetchall()
    with pytest.raises(SourceError, match="column 'n' .*'NaN' is not a valid decimal256"):  # no decimal holds NaN
        list(hook.extract("SELECT 'NaN'::numeric(50,10) AS n"))


def test_extract_chunks_and_query_parameters(hook: PostgresConnectorHook) -> None:
    query = "SELECT g AS id, g AS id FROM generate_series(1, %s) g WHERE g > %s"
    sizes = [batch.num_rows for batch in hook.extract(query, chunk_size=3, parameters=(12, 2))]
    assert sizes == [3, 3, 3, 1]
    assert list(hook.extract("SELECT 1 AS a WHERE false"))[0].schema.names == ["a"]


def test_unknown_type_is_text_with_one_warning(hook: PostgresConnectorHook, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        batch = next(iter(hook.extract("SELECT interval '1 day 2 hours' AS span")))
    assert batch.schema.field("span").type == pa.string() and batch.column(0).to_pylist() == ["1 day 02:00:00"]
    # the hook logger writes through Airflow's structlog handler to stdout
    assert capsys.readouterr().out.count("has type interval, which has no exact Arrow type") == 1


def test_bad_source_is_a_source_error(hook: PostgresConnectorHook) -> None:
    with pytest.raises(SourceError, match="no_such_table"):
        list(hook.extract("no_such_table"))


def test_server_error_mid_stream_is_a_source_error(hook: PostgresConnectorHook) -> None:
    with hook:
        with pytest.raises(SourceError, match="division by zero"):
            list(hook.extract("SELECT 1 / (200000 - g) AS v FROM generate_series(1, 300000) g", chunk_size=1000))
        assert hook.db.execute("SELECT 42").fetchone() == (42,)


def test_stopping_early_leaves_the_connection_usable_and_ends_the_copy(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    with hook:
        stream = hook.extract("SELECT g FROM generate_series(1, 5000000) g", chunk_size=1000)
        assert next(stream).num_rows == 1000
        stream.close()
        assert hook.db.execute("SELECT 42").fetchone() == (42,)
    still_copying = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT c0 FROM (SELECT g FROM%'"
    deadline = time.monotonic() + 5
    while admin.execute(still_copying).fetchone() != (0,) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert admin.execute(still_copying).fetchone() == (0,)


def test_preview_pushes_the_limit_down(hook: PostgresConnectorHook) -> None:
    # Row 5 divides by zero: only a LIMIT evaluated by the server avoids it.
    frame = hook.preview("SELECT 10 / (5 - g) AS v FROM generate_series(1, 10) g", limit=3)
    assert frame["v"].tolist() == [2, 3, 5]


# -- load ---------------------------------------------------------------------------------


def test_type_round_trip_is_identical(hook: PostgresConnectorHook, admin: psycopg.Connection) -> None:
    admin.execute(ALL_TYPES_DDL)
    admin.execute(ALL_TYPES_ROWS)
    admin.execute("CREATE TABLE trip (LIKE all_types INCLUDING ALL)")
    source = PostgresConnectorHook(hook.conn_id)  # a second connection, as the operator uses
    result = hook.load(source.extract("all_types", chunk_size=2), "trip")
    assert (result.rows, result.chunks) == (4, 2)
    # Every column renders the same text (json byte for byte), except unconstrained numeric:
    # Arrow needs a scale, so 1.5 comes back as 1.5000000000, the same number.
    text = "SELECT id, (t.*)::text FROM (SELECT {cols} FROM {table}) t ORDER BY id"
    columns = admin.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = 'all_types'::regclass AND attnum > 0 AND attname <> 'plain'"
    ).fetchone()[0]
    assert (
        admin.execute(text.format(cols=columns, table="trip")).fetchall()
        == admin.execute(text.format(cols=columns, table="all_types")).fetchall()
    )
    plain = "SELECT id, plain FROM {} ORDER BY id"
    assert admin.execute(plain.format("trip")).fetchall() == admin.execute(plain.format("all_types")).fetchall()


def test_load_creates_a_missing_table_from_the_arrow_schema(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    data = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "amount": pa.array([Decimal("1.10"), None], pa.decimal128(12, 2)),
            "at": pa.array([0, 1_700_000_000_000_000], pa.timestamp("us", tz="UTC")),
            "name": ["a", None],
            "raw": pa.array([b"\x00", None], pa.binary()),
            "ok": [True, False],
            "day": pa.array([0, 19000], pa.date32()),
            "ratio": [0.5, None],
            "tags": [["x", "y"], None],
            "doc": pa.ExtensionArray.from_storage(JSON, pa.array(['{"a": [1, "\u00e9"]}', None])),
        }
    )
    hook.load(data.to_batches(), "created")
    types = dict(
        admin.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'created'::regclass AND attnum > 0"
        ).fetchall()
    )
    assert types == {
        "id": "bigint",
        "amount": "numeric(12,2)",
        "at": "timestamp with time zone",
        "name": "text",
        "raw": "bytea",
        "ok": "boolean",
        "day": "date",
        "ratio": "double precision",
        "tags": "text[]",
        "doc": "jsonb",
    }
    assert pa.Table.from_batches(list(hook.extract("created"))).equals(data)


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_json_over_large_string_loads_into_json_columns(
    hook: PostgresConnectorHook, admin: psycopg.Connection, mode: str
) -> None:
    admin.execute("CREATE TABLE docs (id int PRIMARY KEY, doc json)")
    wide_json = pa.json_(pa.large_string())
    doc = pa.ExtensionArray.from_storage(wide_json, pa.array(['{"a": [1, "\u00e9"]}', None], pa.large_string()))
    data = pa.table({"id": pa.array([1, 2], pa.int32()), "doc": doc})
    hook.load(data.to_batches(), "docs", mode=mode, keys=["id"] if mode == "upsert" else None)
    hook.load(data.to_batches(), "created_docs", mode=mode, keys=["id"] if mode == "upsert" else None)
    for table in ("docs", "created_docs"):
        back = pa.Table.from_batches(list(hook.extract(table)))
        assert back.schema.field("doc").type == JSON
        assert back.column("doc").to_pylist() == ['{"a": [1, "\u00e9"]}', None]


@pytest.mark.parametrize("name", ["Order Items", "select", 'x"; DROP TABLE victim; --'])
def test_awkward_and_hostile_table_names(hook: PostgresConnectorHook, admin: psycopg.Connection, name: str) -> None:
    admin.execute("CREATE TABLE victim (id int)")
    quoted = '"' + name.replace('"', '""') + '"'
    data = pa.table({"id": pa.array([1, 2], pa.int64())})
    for mode in ("upsert", "replace", "upsert"):  # the first upsert creates the table with its key
        hook.load(data.to_batches(), quoted, mode=mode, keys=["id"])
    hook.load([pa.RecordBatch.from_pydict({"id": [3]})], quoted)
    assert admin.execute(f"SELECT count(*) FROM {quoted}").fetchone() == (3,)
    assert admin.execute("SELECT to_regclass('victim') IS NOT NULL").fetchone() == (True,)
    assert sorted(pa.Table.from_batches(list(hook.extract(quoted))).column("id").to_pylist()) == [1, 2, 3]
    assert hook.preview(quoted, limit=1).shape == (1, 1)


@pytest.fixture
def target(admin: psycopg.Connection) -> str:
    admin.execute("CREATE TABLE parent (id int PRIMARY KEY)")
    admin.execute("INSERT INTO parent SELECT generate_series(1, 100)")
    admin.execute(
        "CREATE TABLE target (id serial PRIMARY KEY, name text NOT NULL, parent_id int REFERENCES parent(id), "
        "score numeric(6,2) CHECK (score >= 0))"
    )
    admin.execute("INSERT INTO target (name, parent_id, score) VALUES ('one', 1, 1.5), ('two', 2, 2.5)")
    admin.execute("CREATE INDEX target_name_idx ON target (lower(name)) WHERE score > 0")
    admin.execute("ALTER TABLE target ADD CONSTRAINT target_name_key UNIQUE (name)")
    return "target"


def chunks(count: int, start: int = 1, size: int = 5) -> list[pa.RecordBatch]:
    """`count` chunks of `size` rows with ids from `start`."""
    out = []
    for index in range(count):
        ids = list(range(start + index * size, start + (index + 1) * size))
        out.append(
            pa.RecordBatch.from_pydict(
                {
                    "id": pa.array(ids, pa.int32()),
                    "name": [f"n{i}" for i in ids],
                    "parent_id": pa.array([1] * size, pa.int32()),
                    "score": pa.array([Decimal("1.25")] * size, pa.decimal128(6, 2)),
                }
            )
        )
    return out


def test_append_replace_upsert(hook: PostgresConnectorHook, admin: psycopg.Connection, target: str) -> None:
    before_indexes = admin.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'target' ORDER BY 1"
    ).fetchall()
    assert len(before_indexes) == 3
    hook.load(chunks(2, start=10), target)
    assert admin.execute("SELECT count(*) FROM target").fetchone() == (12,)

    hook.load(chunks(1, start=1), target, mode="replace")
    assert [row[0] for row in rows(admin, target)] == [1, 2, 3, 4, 5]
    # the swapped-in table keeps its constraints, foreign key and serial sequence
    assert admin.execute("SELECT pg_get_serial_sequence('target', 'id')").fetchone() == ("public.target_id_seq",)
    assert admin.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'target'::regclass AND contype = 'p'"
    ).fetchone() == ("target_pkey",)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        admin.execute("INSERT INTO target (id, name, parent_id) VALUES (999, 'x', 12345)")
    schema = hook.get_schema("target").table("target")
    assert schema.primary_key == ("id",) and schema.foreign_keys[0].referred_table == "parent"

    update = pa.RecordBatch.from_pydict({"id": pa.array([1, 50], pa.int32()), "name": ["first", "fifty"]})
    hook.load([update], target, mode="upsert", keys=["id"])
    once = rows(admin, target)
    hook.load([update], target, mode="upsert", keys=["id"])
    assert rows(admin, target) == once
    assert {row[0]: row[1] for row in once}[1] == "first" and {row[0]: row[1] for row in once}[50] == "fifty"


def test_replace_creates_a_missing_table(hook: PostgresConnectorHook, admin: psycopg.Connection) -> None:
    hook.load([pa.RecordBatch.from_pydict({"id": [1, 2]})], "fresh", mode="replace")
    assert rows(admin, "fresh") == [(1,), (2,)]


def test_replace_refuses_when_a_view_depends_on_the_target(
    hook: PostgresConnectorHook, admin: psycopg.Connection, target: str
) -> None:
    admin.execute("CREATE VIEW target_names AS SELECT name FROM target")
    before = rows(admin, target)
    with pytest.raises(LoadError, match="depend"):
        hook.load(chunks(1), target, mode="replace")
    assert rows(admin, target) == before


@pytest.fixture
def roles(admin: psycopg.Connection) -> Iterator[tuple[str, str]]:
    """Two roles of this test only (roles are cluster-wide): a reader and an owner."""
    suffix = uuid.uuid4().hex[:8]
    reader, owner = f"etl_reader_{suffix}", f"etl_owner_{suffix}"
    admin.execute(f'CREATE ROLE "{reader}"')
    admin.execute(f'CREATE ROLE "{owner}"')
    try:
        yield reader, owner
    finally:
        admin.execute(f'DROP OWNED BY "{reader}", "{owner}" CASCADE')
        admin.execute(f'DROP ROLE "{reader}"')
        admin.execute(f'DROP ROLE "{owner}"')


def _table_properties(admin: psycopg.Connection, table: str) -> dict[str, Any]:
    """What a replace must keep besides rows, keys and indexes, as the catalogs say it."""
    (oid,) = admin.execute("SELECT to_regclass(%s)::oid", (table,)).fetchone()
    return {
        "owner": admin.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s", (oid,)).fetchone(),
        "grants": sorted(
            admin.execute(
                "SELECT pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable "
                "FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %s AND a.grantee <> c.relowner",
                (oid,),
            ).fetchall()
        ),
        "column_grants": sorted(
            admin.execute(
                "SELECT att.attname, pg_get_userbyid(a.grantee), a.privilege_type FROM pg_attribute att, "
                "aclexplode(att.attacl) a WHERE att.attrelid = %s",
                (oid,),
            ).fetchall()
        ),
        "comment": admin.execute("SELECT obj_description(%s, 'pg_class')", (oid,)).fetchone(),
        "column_comment": admin.execute("SELECT col_description(%s, 2)", (oid,)).fetchone(),
        "triggers": sorted(
            admin.execute(
                "SELECT tgname, tgenabled, regexp_replace(pg_get_triggerdef(oid), ' ON \\S+ ', ' ON t ') "
                "FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal",
                (oid,),
            ).fetchall()
        ),
        "rls": admin.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s", (oid,)
        ).fetchone(),
        "policies": sorted(
            admin.execute(
                "SELECT policyname, permissive, roles::text, cmd, qual, with_check FROM pg_policies "
                "WHERE schemaname = 'public' AND tablename = %s",
                (table,),
            ).fetchall()
        ),
    }


def test_replace_keeps_grants_comments_triggers_policies_and_owner(
    hook: PostgresConnectorHook, admin: psycopg.Connection, target: str, roles: tuple[str, str]
) -> None:
    reader, owner = roles
    admin.execute(f'GRANT SELECT, INSERT ON target TO "{reader}" WITH GRANT OPTION')
    admin.execute("GRANT SELECT ON target TO PUBLIC")
    admin.execute(f'GRANT UPDATE (name) ON target TO "{reader}"')
    admin.execute("COMMENT ON TABLE target IS 'orders, as loaded nightly'")
    admin.execute("COMMENT ON COLUMN target.name IS 'customer''s name'")
    admin.execute(
        "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := upper(NEW.name); "
        "RETURN NEW; END $$"
    )
    admin.execute("CREATE TRIGGER upper_name BEFORE INSERT ON target FOR EACH ROW EXECUTE FUNCTION stamp()")
    admin.execute("CREATE TRIGGER paused BEFORE UPDATE ON target FOR EACH ROW EXECUTE FUNCTION stamp()")
    admin.execute("ALTER TABLE target DISABLE TRIGGER paused")
    admin.execute("ALTER TABLE target ENABLE ROW LEVEL SECURITY")
    admin.execute(f'CREATE POLICY mine ON target FOR SELECT TO "{reader}" USING (parent_id < 50)')
    admin.execute("CREATE POLICY strict ON target AS RESTRICTIVE FOR ALL USING (true) WITH CHECK (score >= 0)")
    admin.execute(f'ALTER TABLE target OWNER TO "{owner}"')
    before = _table_properties(admin, "target")

    hook.load(chunks(2), target, mode="replace")

    assert rows(admin, target, "id")[0][1] == "n1"  # the trigger did not fire for the loaded rows
    assert _table_properties(admin, "target") == before
    assert before["owner"] == (owner,) and before["policies"] and before["column_grants"]


def test_a_member_of_the_owning_role_replaces_a_table_it_does_not_own(
    admin: psycopg.Connection,
    target: str,
    roles: tuple[str, str],
    postgres_database: Any,
    airflow_connection: Callable[..., str],
) -> None:
    """The usual production set-up: the ETL login is not a superuser and not the owner."""
    reader, owner = roles
    loader = f"{owner}_loader"
    admin.execute(f'CREATE ROLE "{loader}" LOGIN IN ROLE "{owner}"')
    try:
        admin.execute(f'GRANT CREATE ON SCHEMA public TO "{owner}"')
        admin.execute(f'GRANT REFERENCES ON parent TO "{owner}"')  # for target's foreign key
        admin.execute(f'ALTER TABLE target OWNER TO "{owner}"')
        admin.execute(f'GRANT SELECT ON target TO "{reader}"')
        db = postgres_database
        conn_id = airflow_connection("postgres", host=db.host, port=db.port, login=loader, schema=db.name)
        PostgresConnectorHook(conn_id).load(chunks(2), target, mode="replace")
        assert len(rows(admin, target)) == 10
        assert _table_properties(admin, "target")["owner"] == (owner,)
        assert _table_properties(admin, "target")["grants"] == [(reader, "SELECT", False)]
    finally:
        admin.execute(f'DROP OWNED BY "{loader}" CASCADE')
        admin.execute(f'DROP ROLE "{loader}"')


def test_upsert_without_unique_key_is_refused(
    hook: PostgresConnectorHook, admin: psycopg.Connection, target: str
) -> None:
    before = rows(admin, target)
    with pytest.raises(LoadError, match="primary key or unique constraint"):
        hook.load(chunks(1), target, mode="upsert", keys=["parent_id"])
    assert rows(admin, target) == before


def killing_chunks(hook: PostgresConnectorHook, admin: psycopg.Connection) -> Iterator[pa.RecordBatch]:
    """Chunks whose third request terminates the loading backend from another connection."""
    for index, chunk in enumerate(chunks(5, start=1000)):
        if index == 2:
            admin.execute("SELECT pg_terminate_backend(%s)", (hook.db.info.backend_pid,))
        yield chunk


def bad_chunks() -> Iterator[pa.RecordBatch]:
    good = chunks(5, start=1000)
    yield from good[:2]
    yield pa.RecordBatch.from_pydict(
        {"id": pa.array([2000, 2001], pa.int32()), "name": ["ok", "bad"], "score": ["1.00", "not a number"]}
    )
    yield from good[3:]


def server_rejected_chunks() -> Iterator[pa.RecordBatch]:
    """Chunk 3 passes Arrow's checks but violates the table's CHECK constraint on the server."""
    good = chunks(5, start=1000)
    yield from good[:2]
    yield pa.RecordBatch.from_pydict(
        {
            "id": pa.array([2000], pa.int32()),
            "name": ["neg"],
            "score": pa.array([Decimal("-1.00")], pa.decimal128(6, 2)),
        }
    )
    yield from good[3:]


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
@pytest.mark.parametrize("fault", ["killed", "bad value", "server rejects"])
def test_failed_load_leaves_destination_unchanged(
    hook: PostgresConnectorHook, admin: psycopg.Connection, target: str, mode: str, fault: str
) -> None:
    before = rows(admin, target)
    tables_before = admin.execute("SELECT count(*) FROM pg_class WHERE relkind = 'r'").fetchone()
    with hook, pytest.raises(LoadError) as info:
        stream = {
            "killed": lambda: killing_chunks(hook, admin),
            "bad value": bad_chunks,
            "server rejects": server_rejected_chunks,
        }[fault]()
        hook.load(stream, target, mode=mode, keys=["id"])
    message = str(info.value)
    if fault == "bad value":
        assert "row 12" in message and "'score'" in message
    elif fault == "killed":
        assert "terminating connection" in message
    assert rows(admin, target) == before
    assert admin.execute("SELECT count(*) FROM pg_class WHERE relkind = 'r'").fetchone() == tables_before


# -- schema discovery -----------------------------------------------------------------------


def test_get_schema_lists_tables_views_and_constraints(
    hook: PostgresConnectorHook, admin: psycopg.Connection, target: str
) -> None:
    admin.execute(
        "CREATE TABLE tagged (a int, b text DEFAULT 'x', UNIQUE (a, b), FOREIGN KEY (a) REFERENCES parent (id))"
    )
    admin.execute("CREATE VIEW names AS SELECT name FROM target")
    admin.execute("CREATE SCHEMA other")
    admin.execute("CREATE TABLE other.hidden (id int)")
    info = hook.get_schema()
    assert {t.name: t.kind for t in info.tables} == {
        "parent": "table",
        "target": "table",
        "tagged": "table",
        "names": "view",
    }
    tagged = info.table("tagged")
    assert tagged.unique == (("a", "b"),)
    assert tagged.foreign_keys[0].columns == ("a",) and tagged.foreign_keys[0].referred_columns == ("id",)
    assert tagged.column("b").default == "'x'::text" and tagged.column("b").type == "text"
    assert info.table("target").column("name").nullable is False
    assert info.table("target").column("score").type == "numeric(6,2)"


def test_configured_schema_is_used_for_unqualified_names(
    postgres_database: Any, airflow_connection: Callable[..., str], admin: psycopg.Connection
) -> None:
    admin.execute("CREATE SCHEMA sales")
    db = postgres_database
    conn_id = airflow_connection(
        "postgres", host=db.host, port=db.port, login=db.user, schema=db.name, extra={"schema": "sales"}
    )
    hook = PostgresConnectorHook(conn_id)
    hook.load([pa.RecordBatch.from_pydict({"id": [1, 2]})], "orders")
    assert admin.execute("SELECT count(*) FROM sales.orders").fetchone() == (2,)
    assert [t.name for t in hook.get_schema().tables] == ["orders"]
    assert hook.preview("orders", limit=1)["id"].tolist() == [1]
