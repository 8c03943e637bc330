"""Binary COPY into PostgreSQL: every supported type exact, CSV kept for what has no binary form."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from airflow_etl_provider.arrow_kinds import JSON
from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.sql import postgres_binary
from airflow_etl_provider.sql.names import TableName
from airflow_etl_provider.sql.postgres import FIRST_TIMESTAMP
from airflow_etl_provider.sql.postgres_binary import PIECE_BYTES, binary_encoder, binary_payloads

D = decimal.Decimal
COLUMNS = (
    "d numeric(12,2), d38 numeric(38,10), i2 int2, i4 int4, i8 int8, t text, v varchar(5), c char(3), j jsonb, "
    "js json, ts timestamp, tz timestamptz, dt date, b bool, f8 float8, f4 float4, by bytea, tm time, "
    "ai int4[], at text[], ad numeric(12,2)[], aj jsonb[]"
)
EXPECTED = [
    (
        "-1234567890.12",
        "-9999999999999999999999999999.9999999999",
        "32767",
        "2147483647",
        "9223372036854775807",
        'a"b\n\t\\c,',
        "abcde",
        "ab",
        '{"a": [1, 2.50], "z": 1}',
        '{"z": 1,   "a": [1, 2.50]}',
        "4714-11-24 00:00:00 BC",
        "4714-11-24 00:00:00+00 BC",
        "4714-11-24 BC",
        "true",
        "NaN",
        "Infinity",
        "\\x00ff",
        "00:00:00",
        "{1,NULL,3}",
        '{"a,b","c\\"d",NULL,""}',
        "{1.50,NULL}",
        '{"{\\"a\\": 1}",NULL}',
    ),
    (
        "0.01",
        "0.0000000001",
        "-32768",
        "-2147483648",
        "-9223372036854775808",
        "",
        "",
        "",
        "[]",
        "[]",
        "0001-12-31 23:59:59.999999 BC",
        "1969-12-31 23:59:59.999999+00",
        "0001-12-31 BC",
        "false",
        "-Infinity",
        "-Infinity",
        "\\x",
        "23:59:59.999999",
        "{}",
        "{}",
        "{}",
        "{}",
    ),
    tuple([None] * 22),
    (
        "100.00",
        "12345.6789000000",
        "0",
        "0",
        "0",
        "ünï€😀",
        "é",
        "xyz",
        "null",
        '"s"',
        "2000-01-01 00:00:00",
        "9999-12-31 23:59:59.999999+00",
        "2000-01-01",
        "true",
        "-0",
        "3.4e+38",
        "\\x78",
        "00:00:00.000001",
        "{NULL}",
        '{"NULL"}',
        "{-99999999.99}",
        "{[]}",
    ),
]


def _batch() -> pa.RecordBatch:
    def col(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
        return pa.array(values, arrow_type)

    return pa.RecordBatch.from_pydict(
        {
            "d": col([D("-1234567890.12"), D("0.01"), None, D("100.00")], pa.decimal128(12, 2)),
            "d38": col(
                [D("-9999999999999999999999999999.9999999999"), D("1e-10"), None, D("12345.6789")],
                pa.decimal128(38, 10),
            ),
            "i2": col([32767, -32768, None, 0], pa.int64()),  # cast to the columns' widths first
            "i4": col([2**31 - 1, -(2**31), None, 0], pa.int64()),
            "i8": col([2**63 - 1, -(2**63), None, 0], pa.int64()),
            "t": col(['a"b\n\t\\c,', "", None, "ünï€😀"], pa.string()),
            "v": col(["abcde", "", None, "é"], pa.large_string()),
            "c": col(["ab", "", None, "xyz"], pa.string()),
            "j": pa.ExtensionArray.from_storage(JSON, pa.array(['{"z": 1, "a": [1, 2.50]}', "[]", None, "null"])),
            "js": pa.ExtensionArray.from_storage(JSON, pa.array(['{"z": 1,   "a": [1, 2.50]}', "[]", None, '"s"'])),
            "ts": col([FIRST_TIMESTAMP, -62_135_596_800_000_001, None, 946_684_800_000_000], pa.timestamp("us")),
            "tz": col([FIRST_TIMESTAMP, -1, None, 253_402_300_799_999_999], pa.timestamp("us", tz="UTC")),
            "dt": col([-2_440_588, -719_163, None, 10_957], pa.date32()),
            "b": col([True, False, None, True], pa.bool_()),
            "f8": col([float("nan"), float("-inf"), None, -0.0], pa.float64()),
            "f4": col([float("inf"), float("-inf"), None, 3.4e38], pa.float32()),
            "by": col([b"\x00\xff", b"", None, b"x"], pa.binary()),
            "tm": col([0, 86_399_999_999, None, 1], pa.time64("us")),
            "ai": col([[1, None, 3], [], None, [None]], pa.list_(pa.int32())),
            "at": col([["a,b", 'c"d', None, ""], [], None, ["NULL"]], pa.list_(pa.string())),
            "ad": col([[D("1.50"), None], [], None, [D("-99999999.99")]], pa.list_(pa.decimal128(12, 2))),
            "aj": col([['{"a": 1}', None], [], None, ["[]"]], pa.list_(pa.string())),
        }
    )


@pytest.fixture
def admin(postgres_database: Any) -> Iterator[psycopg.Connection]:
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        conn.execute("SET TimeZone = UTC")
        yield conn


@pytest.fixture
def hook(postgres_conn_id: str) -> Iterator[PostgresConnectorHook]:
    with PostgresConnectorHook(postgres_conn_id) as hook:
        yield hook


def _text(admin: psycopg.Connection, table: str, columns: str) -> list[tuple[Any, ...]]:
    names = ", ".join(f"{c.split()[0]}::text" for c in columns.split(", "))
    return admin.execute(f"SELECT {names} FROM {table} ORDER BY ctid").fetchall()


def test_every_supported_type_round_trips_exactly_in_binary(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    admin.execute(f"CREATE TABLE t ({COLUMNS})")
    batch = _batch()
    loader = hook.loader()
    loader.load([batch.slice(0, 2), batch.slice(2)], TableName("t"))
    assert loader.copy_formats == ["binary"]
    assert _text(admin, "t", COLUMNS) == EXPECTED


def test_a_column_without_binary_encoding_keeps_csv_with_values_exact(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    admin.execute("CREATE TABLE t (id int4, u uuid, p point, at timestamptz[], name varchar[])")
    batch = pa.RecordBatch.from_pydict(
        {
            "id": pa.array([1, None], pa.int32()),
            "u": pa.array(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None]),
            "at": pa.array([[0, None], None], pa.list_(pa.timestamp("us", tz="UTC"))),
        }
    )
    loader = hook.loader()
    loader.load([batch], TableName("t"))
    loader.load(
        [pa.RecordBatch.from_pydict({"p": pa.array(["(1.5,-2)"]), "name": pa.array([["x", None]])})], TableName("t")
    )
    assert loader.copy_formats == ["csv", "csv"]
    rows = admin.execute("SELECT id, u::text, p::text, at::text, name::text FROM t ORDER BY ctid").fetchall()
    assert rows == [
        (1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None, '{"1970-01-01 00:00:00+00",NULL}', None),
        (None, None, None, None, None),
        (None, None, "(1.5,-2)", None, "{x,NULL}"),
    ]


def test_dates_before_year_one_load_over_csv(hook: PostgresConnectorHook, admin: psycopg.Connection) -> None:
    """The CSV path wrote '-4713-11-24', which the server refused ("time zone displacement out of range")."""
    admin.execute("CREATE TABLE t (u uuid, d date)")  # uuid keeps the whole COPY on CSV
    first, last = -2_440_588, -719_163  # 4714-11-24 BC (PostgreSQL's first date) and 0001-12-31 BC
    batch = pa.RecordBatch.from_pydict(
        {"u": pa.nulls(4, pa.string()), "d": pa.array([first, last, 0, None], pa.date32())}
    )
    loader = hook.loader()
    loader.load([batch], TableName("t"))
    assert loader.copy_formats == ["csv"]
    rows = admin.execute("SELECT d::text FROM t ORDER BY ctid").fetchall()
    assert rows == [("4714-11-24 BC",), ("0001-12-31 BC",), ("1970-01-01",), (None,)]


def test_an_overflowing_cast_names_row_and_column(hook: PostgresConnectorHook, admin: psycopg.Connection) -> None:
    admin.execute("CREATE TABLE t (i4 int4)")
    batch = pa.RecordBatch.from_pydict({"i4": pa.array([1, 2**31], pa.int64())})
    with pytest.raises(LoadError, match=r"row 2, column 'i4'"):
        hook.loader().load([batch], TableName("t"))
    assert admin.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_a_nul_byte_in_text_is_a_clear_error_and_nothing_is_written(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    admin.execute("CREATE TABLE t (id int4, name text)")
    batch = pa.RecordBatch.from_pydict({"id": pa.array([1, 2], pa.int32()), "name": pa.array(["ok", "a\x00b"])})
    loader = hook.loader()
    with pytest.raises(LoadError, match=r"(?s)rolled back.*0x00.*line 2, column name"):
        loader.load([batch], TableName("t"))
    assert loader.copy_formats == ["binary"]
    assert admin.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_a_new_table_from_arrow_is_loaded_in_binary(hook: PostgresConnectorHook, admin: psycopg.Connection) -> None:
    batch = pa.RecordBatch.from_pydict(
        {"id": pa.array([1, 2], pa.int64()), "doc": pa.array([{"k": [1, 2]}, None]), "tags": pa.array([["a"], []])}
    )
    loader = hook.loader()
    loader.load([batch], TableName("fresh"), mode="replace")
    assert loader.copy_formats == ["binary"]
    rows = admin.execute("SELECT id, doc::text, tags::text FROM fresh ORDER BY id").fetchall()
    assert rows == [(1, '{"k": [1, 2]}', "{a}"), (2, None, "{}")]


def _one_shot(encoder_for: Any, batch: pa.RecordBatch) -> bytes:
    encoder = encoder_for()
    return encoder.write_header() + encoder.write_batch(batch) + encoder.finish()


def test_a_chunk_is_encoded_in_pieces_of_about_a_megabyte() -> None:
    """The sender's queue holds a few pieces, never a few whole chunks' encodings."""
    rows = 200_000
    batch = pa.RecordBatch.from_pydict(
        {
            "id": pa.array(range(rows), pa.int64()),
            "note": pa.array([f"note {i} " * 4 for i in range(rows)]),
            "doc": pa.ExtensionArray.from_storage(JSON, pa.array([f'{{"k": {i}}}' for i in range(rows)])),
        }
    )
    assert batch.nbytes > 8 * PIECE_BYTES
    declared = {"id": "int8", "note": "text", "doc": "jsonb"}

    def encoder_for() -> Any:
        encoders = binary_encoder(batch.schema, declared)
        assert not isinstance(encoders, str)
        return encoders()

    encoders = binary_encoder(batch.schema, declared)
    assert not isinstance(encoders, str)
    payloads = list(binary_payloads(encoders, [batch.slice(0, 150_000), batch.slice(150_000)]))
    assert max(len(payload) for payload in payloads) < 3 * PIECE_BYTES
    assert len(payloads) > 8
    # the same stream as one payload per batch: pieces are whole rows, in order
    assert b"".join(payloads) == _one_shot(encoder_for, _plain_storage(batch))


def test_every_row_of_a_chunk_is_handed_over_before_the_next_chunk_is_read() -> None:
    """A slow source never keeps rows back: one encoder for the stream held up to a megabyte of
    them until it had more (the kill test's "every row received" point was never reached)."""
    batch = pa.RecordBatch.from_pydict({"id": pa.array(range(1000), pa.int64())})
    encoders = binary_encoder(batch.schema, {"id": "int8"})
    assert not isinstance(encoders, str)
    received = bytearray()
    received_when_pulled: list[int] = []

    def source() -> Any:
        for _ in range(3):
            received_when_pulled.append(len(received))
            yield batch

    for payload in binary_payloads(encoders, source()):
        received += payload
    header, trailer = 19, 2
    one_chunk = len(_one_shot(encoders, batch)) - header - trailer
    # when the second chunk is read, the server can have every row of the first
    assert received_when_pulled == [header, header + one_chunk, header + 2 * one_chunk]
    assert bytes(received) == _one_shot(encoders, pa.concat_batches([batch] * 3))


def _plain_storage(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [column.storage if isinstance(column, pa.ExtensionArray) else column for column in batch.columns],
        names=batch.schema.names,
    )


def test_rows_encoded_in_many_pieces_load_in_order(
    hook: PostgresConnectorHook, admin: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_binary, "PIECE_BYTES", 1024)
    admin.execute(f"CREATE TABLE t ({COLUMNS})")
    batch = _batch()
    many = pa.concat_batches([batch] * 200)
    loader = hook.loader()
    loader.load([many.slice(0, 301), many.slice(301)], TableName("t"))
    assert loader.copy_formats == ["binary"]
    assert _text(admin, "t", COLUMNS) == EXPECTED * 200
