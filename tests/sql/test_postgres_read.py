"""Pieces of the PostgreSQL reader that need no server (the hook's tests read from one)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from psycopg.conninfo import conninfo_to_dict

from airflow_etl_provider.sql.postgres import PgColumn
from airflow_etl_provider.sql.postgres_read import adbc_conninfo, conform_batch, typed_select


def test_the_driver_gets_every_setting_and_a_password_with_quotes_and_spaces() -> None:
    parameters = {
        "host": "db.example.com",
        "port": "5432",
        "dbname": "sales db",
        "sslmode": "verify-full",
        "options": "",
    }
    conninfo = adbc_conninfo(parameters, "p a'ss\\word")
    assert conninfo_to_dict(conninfo) == {
        "host": "db.example.com",
        "port": "5432",
        "dbname": "sales db",
        "sslmode": "verify-full",
        "password": "p a'ss\\word",
    }


def test_types_the_driver_reads_differently_are_converted_on_the_server() -> None:
    columns = [
        PgColumn("id", "int8", pa.int64()),
        PgColumn("amount", "numeric", pa.decimal128(12, 2)),
        PgColumn("amounts", "numeric[]", pa.list_(pa.decimal128(12, 2)), is_array=True),
        PgColumn("uid", "uuid", pa.string()),
        PgColumn("o", "oid", pa.int64()),
        PgColumn("span", "interval", pa.string(), known=False),
    ]
    select = typed_select("SELECT * FROM t", columns)
    assert select == (
        "SELECT c0, c1::text, c2::text[], c3::text, c4::int8, c5::text "
        "FROM (SELECT * FROM t) AS q(c0, c1, c2, c3, c4, c5)"
    )


def test_numeric_text_becomes_exact_decimals_also_inside_lists() -> None:
    columns = [
        PgColumn("amount", "numeric", pa.decimal128(38, 10)),
        PgColumn("amounts", "numeric[]", pa.list_(pa.decimal128(12, 2)), is_array=True),
    ]
    batch = pa.record_batch(
        [
            pa.array(["9999999999999999999999999999.9999999999", None, "-0.0000000001"]),
            pa.array([["1.50", None], None, []], pa.list_(pa.string())),
        ],
        names=["c0", "c1"],
    )
    conformed = conform_batch(batch, columns)
    assert conformed.schema.names == ["amount", "amounts"]
    assert conformed.column(0).to_pylist() == [
        Decimal("9999999999999999999999999999.9999999999"),
        None,
        Decimal("-0.0000000001"),
    ]
    assert conformed.column(1).to_pylist() == [[Decimal("1.50"), None], None, []]


def test_a_value_beyond_the_declared_scale_is_an_error_naming_the_column_not_a_rounding() -> None:
    batch = pa.record_batch([pa.array(["1.005"])], names=["c0"])
    with pytest.raises(pa.ArrowInvalid, match="column 'price' \\(numeric\\) cannot be read as decimal128\\(12, 2\\)"):
        conform_batch(batch, [PgColumn("price", "numeric", pa.decimal128(12, 2))])
