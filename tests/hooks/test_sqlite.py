"""SQLite connector against real database files."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import ConnectorConfigError, LoadError
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook

PARIS = dt.timezone(dt.timedelta(hours=1))
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("qty", pa.int64()),
        pa.field("amount", pa.decimal128(38, 10)),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("day", pa.date32()),
        pa.field("ok", pa.bool_()),
        pa.field("ratio", pa.float64()),
        pa.field("note", pa.string()),
        pa.field("raw", pa.binary()),
    ]
)


def make_batch(ids: range, note: str = "x") -> pa.RecordBatch:
    n = len(ids)
    return pa.RecordBatch.from_pylist(
        [
            {
                "id": i,
                "qty": None if i % 3 == 0 else i * 10,
                "amount": Decimal("9999999999999999999999999999.9999999999")
                if i % 5 == 0
                else Decimal(f"{i}.0000000001"),
                "at": dt.datetime(2026, 3, 1, 12, 0, i % 60, 123456, tzinfo=PARIS),
                "day": dt.date(2026, 1, 1 + i % 28),
                "ok": i % 2 == 0,
                "ratio": i / 7,
                "note": f'{note} {i}, "quoted"\nnew line é 🎉',
                "raw": bytes([i % 256, 0, 255]),
            }
            for i in ids
        ][:n],
        schema=SCHEMA,
    )


@pytest.fixture
def hook(sqlite_conn_id: str) -> Iterator[SQLiteConnectorHook]:
    connector = hook_for(sqlite_conn_id)
    assert isinstance(connector, SQLiteConnectorHook)
    with connector:
        yield connector


def table_rows(hook: SQLiteConnectorHook, table: str = "items") -> list[tuple]:
    return hook.db.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()


def test_round_trip_keeps_types_and_values(hook: SQLiteConnectorHook) -> None:
    batch = make_batch(range(1, 121))
    hook.load([batch.slice(0, 50), batch.slice(50)], "items", mode="append")
    chunks = list(hook.extract("items", chunk_size=50))
    assert [c.num_rows for c in chunks] == [50, 50, 20]
    table = pa.Table.from_batches(chunks)
    assert table.schema.equals(SCHEMA.remove(0).insert(0, pa.field("id", pa.int64())), check_metadata=False)
    expected = pa.Table.from_batches([batch]).cast(table.schema)
    assert table.equals(expected)


def test_query_source_uses_declared_types(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 11))], "items")
    (batch,) = hook.extract("SELECT id, amount, at FROM items WHERE qty IS NULL", chunk_size=100)
    assert batch.schema.field("amount").type == pa.decimal128(38, 10)
    assert batch.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert batch.column("id").to_pylist() == [3, 6, 9]


def test_replace_swaps_in_new_rows_and_keeps_indexes(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 6))], "items")
    hook.db.execute('CREATE INDEX "items_qty" ON "items" ("qty")')
    hook.load([make_batch(range(100, 103))], "items", mode="replace")
    assert [row[0] for row in table_rows(hook)] == [100, 101, 102]
    indexes = hook.db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'").fetchall()
    assert ("items_qty",) in indexes


def test_upsert_updates_and_inserts_and_is_idempotent(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 6), note="old")], "items", mode="upsert", keys=["id"])
    first = hook.load([make_batch(range(4, 9), note="new")], "items", mode="upsert", keys=["id"])
    after_once = table_rows(hook)
    hook.load([make_batch(range(4, 9), note="new")], "items", mode="upsert", keys=["id"])
    assert table_rows(hook) == after_once
    assert first.rows == 5
    notes = {row[0]: row[7].split(" ")[0] for row in after_once}
    assert notes == {1: "old", 2: "old", 3: "old", 4: "new", 5: "new", 6: "new", 7: "new", 8: "new"}


def test_upsert_without_unique_key_is_refused(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 3))], "items")
    with pytest.raises(LoadError, match="primary key or unique constraint"):
        hook.load([make_batch(range(1, 3))], "items", mode="upsert", keys=["qty"])


def bad_third_chunk() -> Iterator[pa.RecordBatch]:
    yield make_batch(range(1000, 1010))
    yield make_batch(range(1010, 1020))
    good = make_batch(range(1020, 1030))
    amounts = good.column("amount").to_pylist()
    yield pa.RecordBatch.from_arrays(
        [
            good.column(i)
            if name != "amount"
            else pa.array([str(a) for a in amounts[:4]] + ["not a number"] + [str(a) for a in amounts[5:]])
            for i, name in enumerate(good.schema.names)
        ],
        names=good.schema.names,
    )


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_bad_value_in_third_chunk_leaves_table_unchanged(hook: SQLiteConnectorHook, mode: str) -> None:
    hook.load([make_batch(range(1, 21))], "items", mode="upsert", keys=["id"])
    before = table_rows(hook)
    with pytest.raises(LoadError) as raised:
        hook.load(bad_third_chunk(), "items", mode=mode, keys=["id"] if mode == "upsert" else None)
    message = str(raised.value)
    assert "row 25" in message and "'amount'" in message and "not a number" in message
    assert table_rows(hook) == before
    assert not hook.db.execute("SELECT name FROM sqlite_master WHERE name LIKE '_etl_stage_%'").fetchall()


def test_failed_load_into_missing_table_creates_nothing(hook: SQLiteConnectorHook) -> None:
    with pytest.raises(LoadError):
        hook.load(bad_third_chunk(), "fresh")
    assert hook.db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'fresh'").fetchone() == (0,)


def test_null_in_not_null_column_names_row_and_column(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 3))], "items", mode="upsert", keys=["id"])
    bad = pa.RecordBatch.from_pydict({"id": pa.array([7, None], pa.int64())})
    with pytest.raises(LoadError, match=r"row 2, column 'id' is NULL"):
        hook.load([bad], "items")


def test_unknown_column_is_named(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 3))], "items")
    with pytest.raises(LoadError, match="'colour'"):
        hook.load([pa.RecordBatch.from_pydict({"id": [5], "colour": ["red"]})], "items")


def test_hostile_table_names_are_quoted(hook: SQLiteConnectorHook) -> None:
    hostile = 'x"; DROP TABLE items; --'
    hook.load([make_batch(range(1, 3))], "items")
    for name in ("Order Items", "select", hostile):
        hook.load([make_batch(range(1, 4))], f'"{name.replace(chr(34), chr(34) * 2)}"', mode="replace")
    assert len(table_rows(hook)) == 2
    assert len(table_rows(hook, "Order Items")) == 3
    assert len(hook.db.execute('SELECT * FROM "x""; DROP TABLE items; --"').fetchall()) == 3


def test_schema_reports_columns_and_constraints(hook: SQLiteConnectorHook) -> None:
    hook.db.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, tier TEXT DEFAULT 'basic');
        CREATE TABLE orders (
            id INTEGER, line INTEGER, customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE,
            total DECIMAL_TEXT(12,2), PRIMARY KEY (id, line));
        CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
        """
    )
    schema = hook.get_schema()
    assert {t.name for t in schema.tables} == {"customers", "orders", "big_orders"}
    customers = schema.table("customers")
    assert customers.primary_key == ("id",)
    assert customers.unique == (("email",),)
    assert customers.column("email").nullable is False
    assert customers.column("tier").default == "'basic'"
    orders = schema.table("orders")
    assert orders.primary_key == ("id", "line")
    assert orders.foreign_keys[0].columns == ("customer_id",)
    assert orders.foreign_keys[0].referred_table == "customers"
    assert (orders.foreign_keys[0].on_update, orders.foreign_keys[0].on_delete) == ("NO ACTION", "CASCADE")
    assert orders.column("total").type == "DECIMAL_TEXT(12,2)"
    assert schema.table("big_orders").kind == "view"


def test_preview_reads_only_limit(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 301))], "items")
    frame = hook.preview("items", limit=7)
    assert len(frame) == 7
    assert str(frame["qty"].dtype) == "int64[pyarrow]"


def test_test_connection_reports_success_and_missing_directory(tmp_path: Path, airflow_connection) -> None:
    ok, message = SQLiteConnectorHook(airflow_connection("sqlite", host=str(tmp_path / "a.db"))).test_connection()
    assert ok and "SQLite" in message
    ok, message = SQLiteConnectorHook(
        airflow_connection("sqlite", host=str(tmp_path / "no" / "a.db"))
    ).test_connection()
    assert not ok and "does not exist" in message


def test_invalid_extra_names_connection_and_field(airflow_connection, tmp_path: Path) -> None:
    conn_id = airflow_connection("sqlite", host=str(tmp_path / "a.db"), extra={"journal_mode": "FAST", "timeout": -1})
    with pytest.raises(ConnectorConfigError) as raised:
        _ = SQLiteConnectorHook(conn_id).config
    assert conn_id in str(raised.value) and "journal_mode" in str(raised.value) and "timeout" in str(raised.value)


def test_untyped_query_columns_are_inferred(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 4))], "items")
    (batch,) = hook.extract("SELECT count(*) AS n, max(id) + 0.5 AS m FROM items")
    assert batch.to_pylist() == [{"n": 3, "m": 3.5}]


def test_timestamps_keep_their_instant(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(1, 2))], "items")
    stored = hook.db.execute("SELECT at FROM items").fetchone()[0]
    assert stored.startswith("2026-03-01 11:00:01.123456")  # 12:00 at +01:00 is 11:00 UTC
    (batch,) = hook.extract("items")
    assert batch.column("at")[0].as_py() == dt.datetime(2026, 3, 1, 11, 0, 1, 123456, tzinfo=dt.timezone.utc)


def test_decimal_text_is_never_coerced_to_float(hook: SQLiteConnectorHook) -> None:
    hook.load([make_batch(range(5, 6))], "items")
    assert sqlite3.connect(hook.database_path).execute("SELECT typeof(amount) FROM items").fetchone() == ("text",)
