"""How each connector names a source or destination for Airflow Assets and OpenLineage."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.lineage import asset_uri, dataset_for, datasets_read
from airflow_etl_provider.lineage.datasets import LineageDataset


def test_postgres_table_uses_the_connection_database_and_the_default_schema(airflow_connection) -> None:
    conn_id = airflow_connection("postgres", host="db.example.com", port=6543, login="etl", schema="warehouse")
    assert dataset_for(conn_id, "orders") == LineageDataset(
        namespace="postgres://db.example.com:6543",
        name="warehouse.public.orders",
        uri="postgres://db.example.com:6543/warehouse/public/orders",
    )
    assert asset_uri(conn_id, "sales.orders") == "postgres://db.example.com:6543/warehouse/sales/orders"


def test_postgres_schema_extra_and_default_port(airflow_connection) -> None:
    conn_id = airflow_connection("postgres", host="db", login="etl", schema="wh", extra={"schema": "mart"})
    dataset = dataset_for(conn_id, "orders")
    assert (dataset.namespace, dataset.name) == ("postgres://db:5432", "wh.mart.orders")


def test_every_asset_uri_is_one_airflow_accepts_as_it_is(airflow_connection, tmp_path) -> None:
    """Airflow normalises postgres:// (the official provider's rule: db/schema/table), s3:// and
    file:// URIs; ours must already be normal, or a consumer's schedule would name another Asset."""
    uris = [
        asset_uri(airflow_connection("postgres", host="db", port=5432, login="u", schema="wh"), "orders"),
        asset_uri(airflow_connection("mysql", host="my", port=3306, login="u", schema="shop"), "orders"),
        asset_uri(airflow_connection("sqlite", host=str(tmp_path / "w.db")), "orders"),
        asset_uri(airflow_connection("filesystem", extra={"base_path": str(tmp_path)}), "out/orders.parquet"),
        asset_uri(airflow_connection("aws", extra={"bucket": "lake", "prefix": "etl"}), "orders.parquet"),
        asset_uri(airflow_connection("rest_api", host="https://api.example.com/v1"), "orders"),
    ]
    assert [Asset(uri=uri).uri for uri in uris] == uris
    assert uris == [
        "postgres://db:5432/wh/public/orders",
        "mysql://my:3306/shop/orders",
        f"sqlite://localhost{tmp_path}/w.db/orders",
        f"file://{tmp_path}/out/orders.parquet",
        "s3://lake/etl/orders.parquet",
        "https://api.example.com/v1/orders",
    ]


def test_mysql_table_qualified_by_its_database(airflow_connection) -> None:
    conn_id = airflow_connection("mysql", host="my", login="u", schema="shop")
    dataset = dataset_for(conn_id, "archive.orders")
    assert (dataset.namespace, dataset.name, dataset.uri) == (
        "mysql://my:3306",
        "archive.orders",
        "mysql://my:3306/archive/orders",
    )


def test_files_globs_and_full_s3_uris(airflow_connection, tmp_path) -> None:
    files = airflow_connection("filesystem", extra={"base_path": str(tmp_path)})
    assert dataset_for(files, "in/*.csv") == LineageDataset("file", f"{tmp_path}/in", f"file://{tmp_path}/in")
    s3 = airflow_connection("aws", extra={"bucket": "lake"})
    assert dataset_for(s3, "s3://other/exports/2026/*.parquet") == LineageDataset(
        "s3://other", "exports/2026", "s3://other/exports/2026"
    )


def test_a_path_outside_the_base_directory_is_refused(airflow_connection, tmp_path) -> None:
    files = airflow_connection("filesystem", extra={"base_path": str(tmp_path)})
    with pytest.raises(EtlError, match="outside the base directory"):
        dataset_for(files, "../secret.csv")


def test_rest_endpoint_drops_credentials_and_query(airflow_connection) -> None:
    conn_id = airflow_connection("rest_api", host="https://api.example.com:8443/v1/")
    dataset = dataset_for(conn_id, "https://user:pw@api.example.com:8443/v1/orders/?api_key=s3cret&page=2")
    assert dataset == LineageDataset(
        "https://api.example.com:8443", "/v1/orders", "https://api.example.com:8443/v1/orders"
    )


def test_names_with_slashes_cannot_split_a_uri(airflow_connection) -> None:
    conn_id = airflow_connection("postgres", host="db", login="u", schema="wh")
    assert asset_uri(conn_id, '"odd/name"') == "postgres://db:5432/wh/public/odd%2Fname"


def test_a_query_is_not_one_data_set(airflow_connection) -> None:
    conn_id = airflow_connection("postgres", host="db", login="u", schema="wh")
    with pytest.raises(EtlError, match="not one data set"):
        asset_uri(conn_id, "SELECT 1")


def test_a_query_reads_the_tables_the_openlineage_sql_parser_names(airflow_connection) -> None:
    pytest.importorskip("airflow.providers.openlineage")
    conn_id = airflow_connection("postgres", host="db", login="u", schema="wh")
    query = "SELECT o.id, c.name FROM orders o JOIN sales.customers c ON c.id = o.customer_id"
    assert [d.name for d in datasets_read(hook_for(conn_id), query)] == ["wh.public.orders", "wh.sales.customers"]


def test_mysql_without_a_database_names_just_the_table(airflow_connection) -> None:
    conn_id = airflow_connection("mysql", host="my", login="u")
    assert dataset_for(conn_id, "orders") == LineageDataset("mysql://my:3306", "orders", "mysql://my:3306/orders")
