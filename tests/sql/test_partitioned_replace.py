"""Loading partitioned tables twice, as a daily DAG does: the partitioning must survive.

The fixture has pagila's `payment` shape: a table partitioned by range on a date, monthly
partitions plus a DEFAULT one, a primary key that includes the partition key, a foreign key
to another table and an index declared on the parent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import LoadError
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook

PARTITIONS = ["payment_p2022_01", "payment_p2022_02", "payment_default"]


@pytest.fixture
def admin(postgres_database: Any) -> Iterator[psycopg.Connection]:
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        conn.execute("CREATE TABLE customer (customer_id int PRIMARY KEY)")
        conn.execute("INSERT INTO customer SELECT generate_series(1, 10)")
        conn.execute(
            "CREATE TABLE payment (payment_id int NOT NULL, customer_id int NOT NULL REFERENCES customer, "
            "amount numeric(5,2) NOT NULL, payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id)) "
            "PARTITION BY RANGE (payment_date)"
        )
        conn.execute(
            "CREATE TABLE payment_p2022_01 PARTITION OF payment "
            "FOR VALUES FROM ('2022-01-01 00:00:00+00') TO ('2022-02-01 00:00:00+00')"
        )
        conn.execute(
            "CREATE TABLE payment_p2022_02 PARTITION OF payment "
            "FOR VALUES FROM ('2022-02-01 00:00:00+00') TO ('2022-03-01 00:00:00+00')"
        )
        conn.execute("CREATE TABLE payment_default PARTITION OF payment DEFAULT")
        conn.execute("CREATE INDEX payment_customer_idx ON payment (customer_id)")
        yield conn


@pytest.fixture
def hook(postgres_conn_id: str) -> PostgresConnectorHook:
    return PostgresConnectorHook(postgres_conn_id)


def payments(ids: range, month: int) -> pa.RecordBatch:
    """Payments with ids `ids`, dated in `month` of 2022 (13: a date no monthly partition takes)."""
    day = dt.datetime(2022, month, 15, tzinfo=dt.UTC) if month <= 12 else dt.datetime(2023, 6, 1, tzinfo=dt.UTC)
    return pa.RecordBatch.from_pydict(
        {
            "payment_id": pa.array(list(ids), pa.int32()),
            "customer_id": pa.array([1 + i % 10 for i in ids], pa.int32()),
            "amount": pa.array([Decimal("2.99")] * len(ids), pa.decimal128(5, 2)),
            "payment_date": pa.array([day] * len(ids), pa.timestamp("us", tz="UTC")),
        }
    )


def partitioning(admin: psycopg.Connection) -> dict[str, Any]:
    """The parent's kind, its attached partitions with their row counts, and its indexes and keys."""
    (kind,) = admin.execute("SELECT relkind FROM pg_class WHERE oid = 'payment'::regclass").fetchone()
    attached = admin.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'payment'::regclass ORDER BY 1"
    ).fetchall()
    counts = {name: admin.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name, _ in attached}
    constraints = admin.execute(
        "SELECT conname, contype FROM pg_constraint WHERE conrelid = 'payment'::regclass ORDER BY 1"
    ).fetchall()
    indexes = admin.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'payment' ORDER BY 1").fetchall()
    return {"kind": kind, "partitions": attached, "rows": counts, "constraints": constraints, "indexes": indexes}


def test_replace_of_a_partitioned_table_keeps_its_partitions(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    hook.load([payments(range(1, 5), 1), payments(range(5, 8), 2)], "payment")
    before, described = partitioning(admin), hook.get_schema()
    for day in (1, 2):  # a daily DAG replaces the table every day
        start = day * 100
        hook.load(
            [
                payments(range(start, start + 3), 1),
                payments(range(start + 3, start + 5), 2),
                payments(range(900, 901), 13),
            ],
            "payment",
            mode="replace",
        )
        after = partitioning(admin)
        assert after["kind"] == "p"
        assert after["partitions"] == before["partitions"]
        assert after["constraints"] == before["constraints"] and after["indexes"] == before["indexes"]
        assert after["rows"] == {"payment_default": 1, "payment_p2022_01": 3, "payment_p2022_02": 2}
        assert admin.execute("SELECT min(payment_id) FROM payment WHERE payment_id < 900").fetchone() == (start,)
        assert hook.get_schema() == described
    hook.load(
        [payments(range(200, 202), 1), payments(range(950, 951), 2)],
        "payment",
        mode="upsert",
        keys=["payment_date", "payment_id"],
    )
    assert partitioning(admin)["rows"] == {"payment_default": 1, "payment_p2022_01": 3, "payment_p2022_02": 3}


def test_replace_of_one_partition_stays_attached_and_leaves_the_others(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    hook.load([payments(range(1, 5), 1), payments(range(5, 8), 2)], "payment")
    for start in (100, 200):
        hook.load([payments(range(start, start + 2), 2)], "payment_p2022_02", mode="replace")
        assert admin.execute(
            "SELECT relispartition, pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'payment_p2022_02'"
        ).fetchone() == (True, "FOR VALUES FROM ('2022-02-01 00:00:00+00') TO ('2022-03-01 00:00:00+00')")
        assert partitioning(admin)["rows"] == {"payment_default": 0, "payment_p2022_01": 4, "payment_p2022_02": 2}
        assert admin.execute("SELECT array_agg(payment_id ORDER BY 1) FROM payment_p2022_02").fetchone() == (
            [start, start + 1],
        )


def test_rows_outside_a_partitions_bounds_fail_the_replace_and_change_nothing(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    hook.load([payments(range(5, 8), 2)], "payment")
    with pytest.raises(LoadError, match="payment_p2022_02.*unchanged"):
        hook.load([payments(range(100, 102), 2), payments(range(102, 103), 1)], "payment_p2022_02", mode="replace")
    assert partitioning(admin)["rows"]["payment_p2022_02"] == 3


def test_replace_of_a_partitioned_table_others_reference_is_refused_before_writing(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    admin.execute(
        "CREATE TABLE refund (payment_id int, payment_date timestamptz, "
        "FOREIGN KEY (payment_date, payment_id) REFERENCES payment)"
    )
    hook.load([payments(range(5, 8), 2)], "payment")
    for table in ("payment", "payment_p2022_02"):
        with pytest.raises(LoadError, match=r"refused, nothing was written.*refund"):
            hook.load([payments(range(100, 102), 2)], table, mode="replace")
    assert partitioning(admin)["rows"]["payment_p2022_02"] == 3


def test_legacy_inheritance_child_stays_a_child_and_its_parent_is_refused(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    """The shape of pagila before PostgreSQL 10: monthly tables INHERITS (payment) with a CHECK."""
    admin.execute(
        "CREATE TABLE old_payment (payment_id int PRIMARY KEY, customer_id int NOT NULL, amount numeric(5,2), "
        "payment_date timestamptz NOT NULL)"
    )
    admin.execute(
        "CREATE TABLE old_payment_p2022_02 "
        "(CHECK (payment_date >= '2022-02-01+00' AND payment_date < '2022-03-01+00')) INHERITS (old_payment)"
    )
    hook.load([payments(range(1, 3), 2)], "old_payment_p2022_02")
    for start in (100, 200):
        hook.load([payments(range(start, start + 2), 2)], "old_payment_p2022_02", mode="replace")
        assert admin.execute(
            "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'old_payment_p2022_02'::regclass"
        ).fetchone() == ("old_payment",)
        assert admin.execute("SELECT array_agg(payment_id ORDER BY 1) FROM old_payment").fetchone() == (
            [start, start + 1],
        )
    with pytest.raises(
        LoadError, match=r"refused, nothing was written: tables inherit from it \(old_payment_p2022_02\)"
    ):
        hook.load([payments(range(1, 3), 1)], "old_payment", mode="replace")
    assert admin.execute("SELECT count(*) FROM old_payment").fetchone() == (2,)


def test_get_schema_reports_partitioned_tables_and_their_partitions(
    hook: PostgresConnectorHook, admin: psycopg.Connection
) -> None:
    info = hook.get_schema()
    payment = info.table("payment")
    assert payment.kind == "partitioned table"
    assert payment.partitions == tuple(sorted(PARTITIONS))
    assert payment.partition_key == "RANGE (payment_date)"
    part = info.table("payment_p2022_01")
    assert part.kind == "partition" and part.partition_of == "payment"
    assert part.partition_bound == "FOR VALUES FROM ('2022-01-01 00:00:00+00') TO ('2022-02-01 00:00:00+00')"
    assert info.table("payment_default").partition_bound == "DEFAULT"
    assert info.table("customer").kind == "table" and info.table("customer").partitions == ()
    # "copy every table" copies each row once: the tables to read are those that are not partitions
    assert sorted(t.name for t in info.tables if t.partition_of is None) == ["customer", "payment"]


# -- MySQL / MariaDB ------------------------------------------------------------------------


@pytest.fixture
def mysql_hook(mysql_conn_id: str) -> Iterator[MySqlConnectorHook]:
    hook = MySqlConnectorHook(mysql_conn_id)
    with hook:
        yield hook


def test_mysql_replace_keeps_partitioning_and_get_schema_reports_it(mysql_hook: MySqlConnectorHook) -> None:
    mysql_hook._query(
        "CREATE TABLE payment (payment_id int NOT NULL, customer_id int NOT NULL, amount decimal(5,2) NOT NULL, "
        "payment_date datetime NOT NULL, PRIMARY KEY (payment_id, payment_date)) "
        "PARTITION BY RANGE (MONTH(payment_date)) (PARTITION p01 VALUES LESS THAN (2), "
        "PARTITION p02 VALUES LESS THAN (3), PARTITION pmax VALUES LESS THAN MAXVALUE)"
    )
    naive = [payments(range(1, 4), 1), payments(range(4, 6), 2)]
    naive = [b.set_column(3, "payment_date", b.column(3).cast(pa.timestamp("us"))) for b in naive]
    mysql_hook.load(naive, "payment")
    for _ in range(2):
        mysql_hook.load(naive[:1], "payment", mode="replace")
        counts = mysql_hook._query(
            "SELECT PARTITION_NAME, TABLE_ROWS FROM information_schema.PARTITIONS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'payment' ORDER BY PARTITION_ORDINAL_POSITION"
        )
        assert [name for name, _ in counts] == ["p01", "p02", "pmax"]
        assert mysql_hook._query("SELECT COUNT(*) FROM payment PARTITION (p01)") == [(3,)]
    mysql_hook.load(naive[1:], "payment", mode="upsert", keys=["payment_id", "payment_date"])
    assert mysql_hook._query("SELECT COUNT(*) FROM payment PARTITION (p02)") == [(2,)]
    payment = mysql_hook.get_schema("payment").table("payment")
    assert payment.kind == "partitioned table"
    assert payment.partitions == ("p01", "p02", "pmax")
    assert payment.partition_key == "RANGE (month(`payment_date`))"
