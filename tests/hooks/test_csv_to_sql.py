"""CSV files between real databases and the file connectors: what a bad file leaves behind, and
what a CSV file keeps of a table's types."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.filesystem import FilesystemConnectorHook
from airflow_etl_provider.hooks.mysql import MySqlConnectorHook
from airflow_etl_provider.hooks.postgres import PostgresConnectorHook
from airflow_etl_provider.hooks.s3 import S3ConnectorHook
from airflow_etl_provider.hooks.sqlite import SQLiteConnectorHook


@pytest.fixture
def files(filesystem_conn_id: str) -> tuple[FilesystemConnectorHook, Path]:
    hook = FilesystemConnectorHook(filesystem_conn_id)
    with hook:
        base = Path(hook.config["base_path"])
    return hook, base


@pytest.fixture
def make_s3_hook(
    moto_server: str, s3_bucket: str, airflow_connection: Callable[..., str]
) -> Callable[[], S3ConnectorHook]:
    def make() -> S3ConnectorHook:
        conn_id = airflow_connection(
            "aws",
            login="testing",
            password="testing",
            extra={"endpoint_url": moto_server, "region_name": "us-east-1", "bucket": s3_bucket},
        )
        return S3ConnectorHook(conn_id)

    return make


def write_broken_csv(path: Path) -> None:
    """20,000 rows; the value on line 15,001 opens a quote it never closes (no error from Arrow)."""
    lines = ["id,text"] + [f"{i},row {i}" for i in range(1, 20_001)]
    lines[15_000] = '15000,"broken'
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("mode", ["append", "replace"])
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_an_unterminated_quote_at_the_end_of_a_file_leaves_the_table_as_it_was(
    files, database: str, mode: str, request: pytest.FixtureRequest
) -> None:
    """The error comes after the last batch; the rows loaded before it are rolled back with it."""
    hook_class: Callable[[str], SQLiteConnectorHook | PostgresConnectorHook] = (
        SQLiteConnectorHook if database == "sqlite" else PostgresConnectorHook
    )
    destination = hook_class(request.getfixturevalue(f"{database}_conn_id"))
    destination.load([pa.RecordBatch.from_pydict({"id": [1, 2], "text": ["a", "b"]})], "target")
    reader, base = files
    write_broken_csv(base / "broken.csv")

    delivered = []

    def chunks():
        for batch in reader.extract("broken.csv", chunk_size=1_000):
            delivered.append(batch.num_rows)
            yield batch

    with pytest.raises(EtlError, match=r"broken.csv, line 15001: .*no closing quote"):
        destination.load(chunks(), "target", mode=mode)
    assert sum(delivered) >= 14_000  # the rows were written before the error came
    after = pa.Table.from_batches(list(destination.extract("SELECT id, text FROM target ORDER BY id")))
    assert after.to_pylist() == [{"id": 1, "text": "a"}, {"id": 2, "text": "b"}]


def test_jsonb_goes_through_a_gzipped_csv_on_s3_and_comes_back_as_jsonb(
    postgres_conn_id: str, postgres_database, make_s3_hook
) -> None:
    import psycopg

    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        conn.execute("CREATE TABLE docs (id integer PRIMARY KEY, payload jsonb, raw json)")
        conn.execute(
            """INSERT INTO docs VALUES
            (1, '{"a": [1, 2.50, null], "b": "comma, \\"quote\\"\\nline"}', '{"z": 1,  "a": 2}'),
            (2, '[]', 'null'), (3, NULL, NULL), (4, '"text"', '"ünï ✓"')"""
        )
        postgres = PostgresConnectorHook(postgres_conn_id)
        s3 = make_s3_hook()
        s3.load(postgres.extract("docs", chunk_size=2), "exports/docs.csv.gz", mode="replace")
        back = s3.extract("exports/docs.csv.gz", chunk_size=2, column_types={"payload": "json", "raw": "json"})
        postgres.load(back, "docs_copy")

        types = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'docs_copy' "
            "ORDER BY ordinal_position"
        ).fetchall()
        assert types == [("id", "bigint"), ("payload", "jsonb"), ("raw", "jsonb")]  # CSV ids read as int64
        original = conn.execute("SELECT id, payload, raw::jsonb FROM docs ORDER BY id").fetchall()
        assert conn.execute("SELECT id, payload, raw FROM docs_copy ORDER BY id").fetchall() == original


def test_booleans_postgres_writes_to_csv_load_back_into_boolean_columns(
    files, postgres_conn_id: str, postgres_database, mysql_conn_id: str
) -> None:
    """COPY ... CSV writes t/f: read as text they fit an existing boolean column, or declared as bool."""
    import psycopg

    reader, base = files
    db = postgres_database
    with psycopg.connect(host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=True) as conn:
        conn.execute("CREATE TABLE flags (id integer, flag boolean)")
        conn.execute("INSERT INTO flags VALUES (1, true), (2, false), (3, NULL)")
        copy_out = "COPY flags TO STDOUT WITH (FORMAT csv, HEADER)"
        with (base / "flags.csv").open("wb") as out, conn.cursor().copy(copy_out) as copy:
            for data in copy:
                out.write(data)
        assert (base / "flags.csv").read_text() == "id,flag\n1,t\n2,f\n3,\n"
        conn.execute("CREATE TABLE flags_copy (id integer, flag boolean)")

        postgres = PostgresConnectorHook(postgres_conn_id)
        postgres.load(reader.extract("flags.csv"), "flags_copy")  # text 't' into a boolean column
        postgres.load(reader.extract("flags.csv", column_types={"flag": "bool"}), "flags_declared")
        for table in ("flags_copy", "flags_declared"):
            assert conn.execute(f"SELECT id, flag FROM {table} ORDER BY id").fetchall() == [
                (1, True),
                (2, False),
                (3, None),
            ]
    mysql = MySqlConnectorHook(mysql_conn_id)
    mysql.load(reader.extract("flags.csv", column_types={"flag": "bool"}), "flags")
    (base / "bad.csv").write_text("id,flag\n1,t\n2,yes\n")
    with pytest.raises(EtlError, match=r"row 2, column 'flag': value 'yes' cannot be stored as bool"):
        mysql.load(reader.extract("bad.csv"), "flags")
    assert [(r["id"], r["flag"]) for r in pa.Table.from_batches(list(mysql.extract("flags"))).to_pylist()] == [
        (1, True),
        (2, False),
        (3, None),
    ]
