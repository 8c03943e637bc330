"""MySQL connector against the real MariaDB on loopback, one fresh database per test."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import mysql.connector
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import ConnectorConfigError, LoadError, SourceError
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.sql.mysql import JSON, MySqlLoader, arrow_type_for, mysql_type
from airflow_etl_provider.sql.names import TableName

TYPES_DDL = """
CREATE TABLE typed (
  id INT PRIMARY KEY, flag TINYINT(1), small TINYINT, n BIGINT NULL, amount DECIMAL(12,2), huge DECIMAL(50,10),
  created DATETIME(6), seen TIMESTAMP(6) NULL, day DATE, doc JSON, data BLOB, txt TEXT CHARACTER SET utf8mb4,
  name VARCHAR(40), ratio DOUBLE, u INT UNSIGNED
)"""
TYPES_ROWS = """
INSERT INTO typed VALUES
 (1, 1, -5, NULL, 12.50, 12345678901234567890123456789012345678.1234567891, '2026-01-01 12:00:00.123456',
  '2026-01-01 12:00:00.5', '2026-02-03', '{"a": [1, 2], "b": "é"}', X'00FF5C0A09', 'tab\\tnew\\nline "q" \\\\ 😀',
  'Zoë', 0.1, 4000000000),
 (2, 0, 7, 9007199254740993, -0.01, 0, '1999-12-31 23:59:59', NULL, '1970-01-01', '[]', X'', '', NULL, -1.5e300, 0),
 (3, NULL, NULL, 42, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NULL', NULL, NULL)
"""
EXPECTED_TYPES = {
    "id": pa.int32(),
    "flag": pa.bool_(),
    "small": pa.int8(),
    "n": pa.int64(),
    "amount": pa.decimal128(12, 2),
    "huge": pa.decimal256(50, 10),
    "created": pa.timestamp("us"),
    "seen": pa.timestamp("us", tz="UTC"),
    "day": pa.date32(),
    "doc": JSON,
    "data": pa.binary(),
    "txt": pa.string(),
    "name": pa.string(),
    "ratio": pa.float64(),
    "u": pa.uint32(),
}


@pytest.fixture
def hook(mysql_conn_id: str) -> Iterator[MySqlConnectorHook]:
    hook = MySqlConnectorHook(mysql_conn_id)
    with hook:
        yield hook


def run(hook: MySqlConnectorHook, *statements: str) -> None:
    for statement in statements:
        hook._query(statement)


def rows(hook: MySqlConnectorHook, table: str) -> list[tuple]:
    return hook._query(f"SELECT * FROM `{table}` ORDER BY 1")


def tables(hook: MySqlConnectorHook) -> list[str]:
    return sorted(row[0] for row in hook._query("SHOW TABLES"))


def read(hook: MySqlConnectorHook, source: str, **options) -> pa.Table:
    return pa.Table.from_batches(list(hook.extract(source, **options)))


@pytest.fixture
def typed(hook: MySqlConnectorHook) -> MySqlConnectorHook:
    run(hook, "SET time_zone = '+02:00'", TYPES_DDL, TYPES_ROWS, "SET time_zone = '+00:00'")
    return hook


# -- configuration and test_connection ------------------------------------------------------


def test_config_defaults_and_unknown_extras_are_kept(airflow_connection: Callable[..., str]) -> None:
    conn_id = airflow_connection("mysql", host="db", login="u", password="p", extra={"cursor": "sscursor"})
    hook = MySqlConnectorHook(conn_id)
    assert hook.config["charset"] == "utf8mb4"
    assert hook.config["cursor"] == "sscursor"
    args = hook.connect_args()
    assert (args["host"], args["port"], args["user"], args["time_zone"]) == ("db", 3306, "u", "+00:00")
    assert "ssl_disabled" not in args  # the driver negotiates TLS when the server offers it
    assert args["connection_timeout"] == 30  # the common `timeout` when connect_timeout is not set


def test_config_ssl_options_reach_the_driver(airflow_connection: Callable[..., str]) -> None:
    conn_id = airflow_connection("mysql", host="db", extra={"use_ssl": True, "ssl_ca": "/ca.pem", "ssl_verify": False})
    args = MySqlConnectorHook(conn_id).connect_args()
    assert (args["ssl_disabled"], args["ssl_ca"], args["ssl_verify_cert"]) == (False, "/ca.pem", False)


def test_invalid_extra_names_the_field(airflow_connection: Callable[..., str]) -> None:
    conn_id = airflow_connection("mysql", host="db", extra={"connect_timeout": "soon"})
    with pytest.raises(ConnectorConfigError, match="connect_timeout"):
        MySqlConnectorHook(conn_id).connect_args()


def test_connection_form_comes_from_the_config_schema() -> None:
    import importlib.resources

    import jsonschema

    from airflow_etl_provider.ui_fields import connection_type_entry

    entry = connection_type_entry(MySqlConnectorHook)
    assert entry["connection-type"] == "mysql"
    assert {"charset", "use_ssl", "ssl_ca", "ssl_verify", "connect_timeout"} <= set(entry["conn-fields"])
    assert entry["conn-fields"]["charset"]["schema"]["default"] == "utf8mb4"
    schema = json.loads((importlib.resources.files("airflow") / "provider.yaml.schema.json").read_text())
    item_schema = schema["properties"]["connection-types"]["items"]
    jsonschema.validate(entry, {**item_schema, "definitions": schema.get("definitions", {})})


def test_test_connection_succeeds(mysql_conn_id: str, mysql_database) -> None:
    ok, message = MySqlConnectorHook(mysql_conn_id).test_connection()
    assert ok and mysql_database.name in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"password": "wrong-secret-pw"}, "check the login and password"),
        ({"port": 1}, "unreachable"),
        ({"host": "no-such-host.invalid"}, "does not resolve"),
        ({"schema": "no_such_database_etl"}, "database named in the schema field does not exist"),
    ],
)
def test_test_connection_tells_failures_apart(
    airflow_connection: Callable[..., str], mysql_database, fields: dict, expected: str
) -> None:
    db = mysql_database
    base = {"host": db.host, "port": db.port, "login": db.user, "password": "", "schema": db.name}
    conn_id = airflow_connection("mysql", **{**base, **fields}, extra={"connect_timeout": 3})
    ok, message = MySqlConnectorHook(conn_id).test_connection()
    assert not ok
    assert expected in message
    assert "wrong-secret-pw" not in message


# -- extract ---------------------------------------------------------------------------------


def test_extract_types_are_exact(typed: MySqlConnectorHook) -> None:
    table = read(typed, "typed")
    assert {field.name: field.type for field in table.schema} == EXPECTED_TYPES
    first, second, third = table.to_pylist()
    assert first["flag"] is True and second["flag"] is False and third["flag"] is None
    assert first["n"] is None and second["n"] == 9007199254740993
    assert first["amount"] == Decimal("12.50") and second["amount"] == Decimal("-0.01")
    assert first["huge"] == Decimal("12345678901234567890123456789012345678.1234567891")
    assert first["created"] == dt.datetime(2026, 1, 1, 12, 0, 0, 123456)
    # Written at +02:00, read back as the UTC instant.
    assert first["seen"] == dt.datetime(2026, 1, 1, 10, 0, 0, 500000, tzinfo=dt.timezone.utc)
    assert json.loads(first["doc"]) == {"a": [1, 2], "b": "é"} and second["doc"] == "[]"
    assert first["data"] == b"\x00\xff\\\n\t" and second["data"] == b""
    assert first["txt"] == 'tab\tnew\nline "q" \\ 😀' and second["txt"] == ""
    assert third["name"] == "NULL" and second["name"] is None
    assert second["ratio"] == -1.5e300 and first["u"] == 4000000000


def test_extract_streams_chunk_size_batches(hook: MySqlConnectorHook) -> None:
    run(
        hook,
        "CREATE TABLE seq (id BIGINT PRIMARY KEY, v INT NULL)",
        "INSERT INTO seq SELECT seq, IF(seq % 2, NULL, seq) FROM seq_1_to_2500",
    )
    batches = list(hook.extract("seq", chunk_size=1000))
    assert [batch.num_rows for batch in batches] == [1000, 1000, 500]
    assert batches[0].schema.field("v").type == pa.int32()
    assert batches[0].column("v").null_count == 500


def test_extract_stopped_early_leaves_the_session_usable(hook: MySqlConnectorHook) -> None:
    run(hook, "CREATE TABLE seq (id BIGINT)", "INSERT INTO seq SELECT seq FROM seq_1_to_5000")
    stream = hook.extract("seq", chunk_size=100)
    assert next(stream).num_rows == 100
    stream.close()
    assert hook._query("SELECT COUNT(*) FROM seq") == [(5000,)]


def test_extract_query_with_parameters_keeps_declared_types(typed: MySqlConnectorHook) -> None:
    table = read(typed, "SELECT id, amount, flag, seen FROM typed WHERE id < %s ORDER BY id", parameters=(3,))
    assert table.schema.field("amount").type == pa.decimal128(12, 2)
    assert table.schema.field("flag").type == pa.bool_()
    assert table.schema.field("seen").type == pa.timestamp("us", tz="UTC")
    assert table.column("id").to_pylist() == [1, 2]


def test_extract_query_keeps_json_of_table_columns_and_expressions_stay_strings(typed: MySqlConnectorHook) -> None:
    table = read(
        typed,
        "SELECT t.doc AS d, CONCAT(t.doc, '') AS c, t.txt, q.doc FROM typed t "
        "JOIN (SELECT id, doc FROM typed) q ON q.id = t.id WHERE t.id = %s",
        parameters=(1,),
    )
    assert table.schema.field("d").type == JSON
    assert table.schema.field("doc").type == JSON
    assert table.schema.field("c").type == pa.string()
    assert table.schema.field("txt").type == pa.string()
    assert json.loads(table.column("d")[0].as_py()) == {"a": [1, 2], "b": "é"}
    run(typed, "CREATE VIEW typed_view AS SELECT id, doc FROM typed")
    for query in (
        "SELECT doc, id FROM typed ORDER BY id LIMIT 2",
        "SELECT DISTINCT doc FROM typed",
        "SELECT doc FROM typed_view WHERE id = 1",
        "WITH c AS (SELECT id, doc FROM typed) SELECT `doc` AS `odd``, name` FROM c WHERE id = 1",
    ):
        assert read(typed, query).schema.types[0] == JSON, query
    union = read(typed, "SELECT doc FROM typed UNION ALL SELECT 'not json'")
    assert union.schema.field("doc").type == pa.string()


def test_extract_of_an_empty_result_carries_the_schema(typed: MySqlConnectorHook) -> None:
    (batch,) = typed.extract("SELECT id, amount FROM typed WHERE id < 0")
    assert batch.num_rows == 0
    assert batch.schema.field("amount").type == pa.decimal128(12, 2)
    assert list(typed.preview("SELECT id, amount FROM typed WHERE id < 0").columns) == ["id", "amount"]


def test_extract_missing_table_is_a_source_error(hook: MySqlConnectorHook) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        list(hook.extract("nope"))


def test_preview_pushes_the_limit_down(hook: MySqlConnectorHook) -> None:
    run(hook, "CREATE TABLE slow (id INT)", "INSERT INTO slow SELECT seq FROM seq_1_to_20")
    started = time.monotonic()
    frame = hook.preview("SELECT id, SLEEP(0.2) AS z FROM slow ORDER BY id", limit=3)
    assert list(frame["id"]) == [1, 2, 3]
    assert time.monotonic() - started < 2.5  # 20 rows would sleep 4 s


# -- load ------------------------------------------------------------------------------------


def sample_batch(start: int, count: int, *, label: str = "v") -> pa.RecordBatch:
    ids = list(range(start, start + count))
    return pa.RecordBatch.from_pydict(
        {
            "id": pa.array(ids, pa.int64()),
            "label": pa.array([f"{label}{i}" for i in ids]),
            "amount": pa.array([Decimal(i) / 100 for i in ids], pa.decimal128(12, 2)),
        }
    )


def test_created_table_types(hook: MySqlConnectorHook) -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "k": pa.array(["a"]),
            "i": pa.array([1], pa.int64()),
            "d": pa.array([Decimal("1.5")], pa.decimal128(20, 4)),
            "ts": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)], pa.timestamp("us", tz="UTC")),
            "s": pa.array(["x"]),
            "b": pa.array([b"\x01"]),
            "ok": pa.array([True]),
            "j": pa.array([{"a": 1}], pa.struct([("a", pa.int64())])),
        }
    )
    hook.load([batch], "made", mode="upsert", keys=["k"])
    declared = dict(
        hook._query(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'made'"
        )
    )
    assert declared == {
        "k": "varchar(255)",
        "i": "bigint(20)",
        "d": "decimal(20,4)",
        "ts": "datetime(6)",
        "s": "longtext",
        "b": "longblob",
        "ok": "tinyint(1)",
        "j": "longtext",  # MariaDB's JSON is LONGTEXT + json_valid check
    }
    assert hook.get_schema("made").table("made").column("j").type == "json"
    assert read(hook, "made").schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_decimal_wider_than_mysql_is_a_clear_error() -> None:
    with pytest.raises(LoadError, match="at most 65 digits"):
        mysql_type(pa.decimal256(70, 2))


def test_type_map_reads_declared_types() -> None:
    assert arrow_type_for("tinyint(1)") == pa.bool_()
    assert arrow_type_for("tinyint(4)") == pa.int8()
    assert arrow_type_for("bigint(20) unsigned") == pa.uint64()
    assert arrow_type_for("decimal(65,30)") == pa.decimal256(65, 30)
    assert arrow_type_for("datetime(6)", comment="UTC") == pa.timestamp("us", tz="UTC")
    assert arrow_type_for("longblob") == pa.binary()
    assert arrow_type_for("json") == JSON


def test_append_replace_upsert(hook: MySqlConnectorHook) -> None:
    result = hook.load([sample_batch(0, 3), sample_batch(3, 2)], "t", mode="append")
    assert (result.rows, result.chunks) == (5, 2)
    hook.load([sample_batch(5, 1)], "t", mode="append")
    assert len(rows(hook, "t")) == 6
    hook.load([sample_batch(100, 2)], "t", mode="replace")
    assert [row[0] for row in rows(hook, "t")] == [100, 101]
    run(hook, "ALTER TABLE t ADD PRIMARY KEY (id)")
    for _ in range(2):  # repeated upsert is idempotent
        hook.load([sample_batch(101, 2, label="new")], "t", mode="upsert", keys=["id"])
        assert rows(hook, "t") == [
            (100, "v100", Decimal("1.00")),
            (101, "new101", Decimal("1.01")),
            (102, "new102", Decimal("1.02")),
        ]
    assert tables(hook) == ["t"]


def test_upsert_json_from_struct_and_from_text(hook: MySqlConnectorHook) -> None:
    run(hook, "CREATE TABLE docs (id BIGINT PRIMARY KEY, doc JSON)")
    struct = pa.RecordBatch.from_pydict(
        {
            "id": pa.array([1, 2], pa.int64()),
            "doc": pa.array(
                [{"a": 1, "tags": ["x"]}, None], pa.struct([("a", pa.int64()), ("tags", pa.list_(pa.string()))])
            ),
        }
    )
    text = pa.RecordBatch.from_pydict({"id": pa.array([2], pa.int64()), "doc": pa.array(['{"b": "😀"}'])})
    hook.load([struct], "docs", mode="upsert", keys=["id"])
    hook.load([text], "docs", mode="upsert", keys=["id"])
    docs = {row[0]: json.loads(row[1]) for row in rows(hook, "docs")}
    assert docs == {1: {"a": 1, "tags": ["x"]}, 2: {"b": "😀"}}


def test_special_identifiers_are_quoted(hook: MySqlConnectorHook) -> None:
    batch = pa.RecordBatch.from_pydict({"we`ird col": pa.array([1], pa.int64())})
    hook.load([batch], "`odd ``name`", mode="append")
    assert read(hook, "`odd ``name`").column("we`ird col").to_pylist() == [1]


def test_insert_fallback_when_local_infile_is_off(hook: MySqlConnectorHook) -> None:
    loader = MySqlLoader(hook.db, infile_dir=None, is_mariadb=hook.is_mariadb)
    loader.load([sample_batch(0, 2500)], TableName("fallback"), mode="append")
    assert hook._query("SELECT COUNT(*), SUM(amount) FROM fallback") == [(2500, Decimal("31237.50"))]


# -- failures leave the table as it was --------------------------------------------------------


def snapshot(hook: MySqlConnectorHook) -> tuple:
    state = {table: (hook._query(f"SHOW CREATE TABLE `{table}`")[0][1], rows(hook, table)) for table in tables(hook)}
    return tuple(sorted(state.items()))


def failing_chunks(kill: Callable[[], None]) -> Iterator[pa.RecordBatch]:
    """Five chunks; the third is large, and `kill` runs while it is being sent.

    The loader sends a chunk while it reads the next, so pulling the fourth chunk happens while
    the third is loading.
    """
    start = 1000
    for index, size in enumerate([100, 100, 50_000, 100, 100]):
        if index == 3:
            kill()
        yield sample_batch(start, size)
        start += size


def bad_value() -> Iterator[pa.RecordBatch]:
    yield sample_batch(1000, 100)
    yield sample_batch(1100, 100)
    yield pa.RecordBatch.from_pydict({"id": pa.array(["1200", "not a number"]), "label": pa.array(["a", "b"])})


def value_the_server_rejects() -> Iterator[pa.RecordBatch]:
    """Chunk 3 fits the Arrow types but not VARCHAR(20): only the server can tell."""
    yield sample_batch(1000, 100)
    yield sample_batch(1100, 100)
    yield sample_batch(1200, 100, label="x" * 30)


@pytest.fixture
def existing(hook: MySqlConnectorHook) -> MySqlConnectorHook:
    run(
        hook,
        "CREATE TABLE t (id BIGINT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(12,2))",
        "INSERT INTO t VALUES (1, 'one', 1.00), (2, 'two', 2.00)",
    )
    return hook


MODES = [("append", None), ("replace", None), ("upsert", ["id"])]


@pytest.mark.parametrize(("mode", "keys"), MODES)
@pytest.mark.parametrize(
    ("chunks", "error"), [(bad_value, "row 202, column 'id'"), (value_the_server_rejects, "too long|truncated")]
)
def test_bad_value_in_chunk_three_leaves_table_unchanged(
    existing: MySqlConnectorHook, mode: str, keys, chunks: Callable[[], Iterator[pa.RecordBatch]], error: str
) -> None:
    before = snapshot(existing)
    with pytest.raises(LoadError, match=error):
        existing.load(chunks(), "t", mode=mode, keys=keys)
    assert snapshot(existing) == before


@pytest.mark.parametrize(("mode", "keys"), MODES)
def test_bad_value_into_new_table_leaves_nothing(hook: MySqlConnectorHook, mode: str, keys) -> None:
    with pytest.raises(LoadError):
        hook.load(bad_value(), "fresh", mode=mode, keys=keys)
    assert tables(hook) == []


@pytest.mark.parametrize(("mode", "keys"), [*MODES, ("append-new", None)])
def test_killed_connection_during_chunk_three_leaves_table_unchanged(
    existing: MySqlConnectorHook, mysql_conn_id: str, mysql_database, mode: str, keys
) -> None:
    target = "t"
    if mode == "append-new":
        mode, target = "append", "fresh"
    before = snapshot(existing)
    loader = MySqlConnectorHook(mysql_conn_id)

    def kill() -> None:
        admin = mysql.connector.connect(host=mysql_database.host, port=mysql_database.port, user=mysql_database.user)
        try:
            admin.cursor().execute(f"KILL CONNECTION {loader.db.connection_id}")
        finally:
            admin.close()

    with pytest.raises(LoadError, match="rolled back"):
        loader.load(failing_chunks(kill), target, mode=mode, keys=keys)
    assert snapshot(existing) == before


def test_duplicate_key_in_append_is_an_error_not_a_skip(existing: MySqlConnectorHook) -> None:
    before = snapshot(existing)
    with pytest.raises(LoadError, match="Duplicate entry"):
        existing.load([sample_batch(0, 3)], "t", mode="append")
    assert snapshot(existing) == before


def test_value_too_long_for_column_is_an_error(existing: MySqlConnectorHook) -> None:
    before = snapshot(existing)
    with pytest.raises(LoadError, match="too long|truncated"):
        existing.load([sample_batch(5, 1, label="x" * 30)], "t", mode="append")
    assert snapshot(existing) == before


def test_replace_of_a_table_other_tables_reference_is_refused_before_writing(hook: MySqlConnectorHook) -> None:
    """RENAME TABLE would move the references to the old table, whose DROP then fails after the swap."""
    run(
        hook,
        "CREATE TABLE parent (id BIGINT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(12,2))",
        "INSERT INTO parent VALUES (1, 'one', 1.00)",
        "CREATE TABLE child (id INT PRIMARY KEY, parent_id BIGINT, FOREIGN KEY (parent_id) REFERENCES parent (id))",
        "INSERT INTO child VALUES (10, 1)",
    )
    with pytest.raises(LoadError, match=r"refused, nothing was written: .*child .*Use mode='upsert'"):
        hook.load([sample_batch(100, 2)], "parent", mode="replace")
    assert rows(hook, "parent") == [(1, "one", Decimal("1.00"))]
    assert tables(hook) == ["child", "parent"]


def test_replace_of_a_self_referencing_table_works(hook: MySqlConnectorHook) -> None:
    run(
        hook,
        "CREATE TABLE tree (id BIGINT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(12,2), parent BIGINT, "
        "FOREIGN KEY (parent) REFERENCES tree (id))",
        "INSERT INTO tree VALUES (1, 'root', 0, NULL), (2, 'leaf', 0, 1)",
    )
    hook.load([sample_batch(100, 2)], "tree", mode="replace")
    assert [row[0] for row in rows(hook, "tree")] == [100, 101]
    assert tables(hook) == ["tree"]


@pytest.fixture
def linked(hook: MySqlConnectorHook) -> MySqlConnectorHook:
    """A table with a foreign key to another table, one to itself, and two triggers."""
    run(
        hook,
        "CREATE TABLE parent (id BIGINT PRIMARY KEY)",
        "INSERT INTO parent VALUES (1), (2)",
        "CREATE TABLE t (id BIGINT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(12,2), parent_id BIGINT, "
        "up BIGINT, CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE, "
        "CONSTRAINT fk_up FOREIGN KEY (up) REFERENCES t (id))",
        "INSERT INTO t VALUES (1, 'one', 1.00, 1, NULL)",
        "CREATE TRIGGER shout BEFORE INSERT ON t FOR EACH ROW SET NEW.label = UPPER(NEW.label)",
        "CREATE TRIGGER stamp BEFORE UPDATE ON t FOR EACH ROW SET NEW.amount = NEW.amount + 1",
    )
    return hook


def _links(hook: MySqlConnectorHook) -> dict[str, list[tuple]]:
    return {
        "foreign_keys": hook._query(
            "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, "
            "r.DELETE_RULE, r.UPDATE_RULE FROM information_schema.KEY_COLUMN_USAGE k "
            "JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
            "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = 't' "
            "ORDER BY 1"
        ),
        "triggers": hook._query(
            "SELECT TRIGGER_NAME, EVENT_MANIPULATION, ACTION_TIMING, ACTION_STATEMENT FROM information_schema.TRIGGERS "
            "WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 't' ORDER BY 1"
        ),
    }


def test_replace_keeps_foreign_keys_and_triggers(linked: MySqlConnectorHook) -> None:
    before = _links(linked)
    batch = sample_batch(100, 2).append_column("parent_id", pa.array([2, None], pa.int64()))
    linked.load([batch], "t", mode="replace")
    assert _links(linked) == before
    assert [row[:2] for row in rows(linked, "t")] == [(100, "v100"), (101, "v101")]  # no trigger fired
    run(linked, "INSERT INTO t (id, label, parent_id, up) VALUES (5, 'new', 1, 101)")
    assert rows(linked, "t")[0][:2] == (5, "NEW")  # the trigger is back
    for broken in ("(6, 'x', 999, NULL)", "(7, 'y', 1, 999)"):  # to parent, and to itself
        with pytest.raises(mysql.connector.Error, match="foreign key constraint fails"):
            run(linked, f"INSERT INTO t (id, label, parent_id, up) VALUES {broken}")
    run(linked, "DELETE FROM parent WHERE id = 2")  # ON DELETE CASCADE is back too
    assert [row[0] for row in rows(linked, "t")] == [5, 101]
    assert tables(linked) == ["parent", "t"]


def test_replace_with_rows_breaking_a_foreign_key_changes_nothing(linked: MySqlConnectorHook) -> None:
    before = (_links(linked), rows(linked, "t"))
    batch = sample_batch(100, 2).append_column("parent_id", pa.array([2, 999], pa.int64()))
    with pytest.raises(LoadError, match="foreign key constraint fails"):
        linked.load([batch], "t", mode="replace")
    assert (_links(linked), rows(linked, "t")) == before
    assert tables(linked) == ["parent", "t"]


def test_upsert_needs_a_unique_key(hook: MySqlConnectorHook) -> None:
    run(hook, "CREATE TABLE nokey (id BIGINT, label TEXT, amount DECIMAL(12,2))")
    with pytest.raises(LoadError, match="primary key or unique constraint"):
        hook.load([sample_batch(0, 1)], "nokey", mode="upsert", keys=["id"])


# -- schema ----------------------------------------------------------------------------------


def test_get_schema(hook: MySqlConnectorHook) -> None:
    run(
        hook,
        "CREATE TABLE parent (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL DEFAULT 'x', UNIQUE KEY (code))",
        "CREATE TABLE child (id INT, parent_id INT, doc JSON, PRIMARY KEY (id), "
        "FOREIGN KEY (parent_id) REFERENCES parent (id))",
    )
    schema = hook.get_schema()
    assert [table.name for table in schema.tables] == ["child", "parent"]
    parent = schema.table("parent")
    assert parent.primary_key == ("id",) and parent.unique == (("code",),)
    code = parent.column("code")
    assert (code.type, code.nullable, code.default) == ("varchar(10)", False, "'x'")
    child = schema.table("child")
    assert child.foreign_keys[0].columns == ("parent_id",)
    assert (child.foreign_keys[0].referred_table, child.foreign_keys[0].referred_columns) == ("parent", ("id",))
    assert child.column("doc").type == "json"
    assert [table.name for table in hook.get_schema("parent").tables] == ["parent"]


# -- round trips -----------------------------------------------------------------------------


def test_round_trip_mysql_arrow_mysql_keeps_types(typed: MySqlConnectorHook, mysql_conn_id: str) -> None:
    original = read(typed, "typed")
    source = MySqlConnectorHook(mysql_conn_id)  # its own session, as the operator's source hook has
    typed.load(source.extract("typed", chunk_size=2), "copy", mode="upsert", keys=["id"])
    copy = read(typed, "copy")
    assert copy.schema == original.schema
    assert copy.to_pylist() == original.to_pylist()


# TINYINT is left out: Postgres has no 1-byte integer, so it comes back as SMALLINT.
PORTABLE_COLUMNS = "id, flag, n, amount, created, seen, day, data, txt, name, ratio"


def through_postgres(typed: MySqlConnectorHook, mysql_conn_id: str, postgres_conn_id: str, select: str) -> pa.Table:
    """MySQL -> Arrow -> Postgres -> Arrow -> MySQL, each hop by the connectors' extract and load."""
    postgres = pytest.importorskip("airflow_etl_provider.hooks.postgres")
    pg = postgres.PostgresConnectorHook(postgres_conn_id)
    with pg:
        pg.load(MySqlConnectorHook(mysql_conn_id).extract(select, chunk_size=2), "typed", mode="append")
        typed.load(pg.extract("typed", chunk_size=2), "back", mode="upsert", keys=["id"])
    return read(typed, "SELECT * FROM back ORDER BY id")


def test_round_trip_through_postgres_keeps_types(
    typed: MySqlConnectorHook, mysql_conn_id: str, postgres_conn_id: str
) -> None:
    select = f"SELECT {PORTABLE_COLUMNS} FROM typed"
    original = read(typed, select)
    back = through_postgres(typed, mysql_conn_id, postgres_conn_id, select)
    assert {f.name: f.type for f in back.schema} == {f.name: f.type for f in original.schema}
    assert back.to_pylist() == original.to_pylist()


def test_round_trip_through_postgres_keeps_json(
    typed: MySqlConnectorHook, mysql_conn_id: str, postgres_conn_id: str
) -> None:
    back = through_postgres(typed, mysql_conn_id, postgres_conn_id, "SELECT id, doc FROM typed")
    assert back.schema.field("doc").type == JSON
    assert json.loads(back.column("doc")[0].as_py()) == {"a": [1, 2], "b": "é"}
