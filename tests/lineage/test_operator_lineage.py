"""What ExtractLoadOperator announces: its Asset outlet and event, inlets, and OpenLineage facets."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.registry import hook_for
from airflow_etl_provider.lineage.datasets import LineageDataset
from airflow_etl_provider.operators.extract_load import ExtractLoadOperator

ROWS = 250


@pytest.fixture
def shop(tmp_path, airflow_connection: Callable[..., str]) -> str:
    conn_id = airflow_connection("sqlite", host=str(tmp_path / "shop.db"))
    with hook_for(conn_id) as hook:
        hook.load(
            [
                pa.RecordBatch.from_pydict(
                    {"id": pa.array(range(ROWS), pa.int64()), "price": pa.array([i * 0.5 for i in range(ROWS)])}
                )
            ],
            "items",
        )
    return conn_id


@pytest.fixture
def lake(tmp_path, airflow_connection: Callable[..., str]) -> str:
    (tmp_path / "lake").mkdir()
    return airflow_connection("filesystem", extra={"base_path": str(tmp_path / "lake")})


def _alias_events(events: OutletEventAccessors, alias: AssetAlias) -> list:
    return list(events[alias].asset_alias_events)


def test_the_destination_is_an_outlet_asset_whose_event_carries_the_transfer(shop, lake, tmp_path) -> None:
    operator = ExtractLoadOperator(
        task_id="t",
        source_conn_id=shop,
        source="items",
        destination_conn_id=lake,
        destination="{{ params.name }}.parquet",
    )
    [alias] = operator.outlets
    assert alias == AssetAlias(name=f"etl:{lake}:{{{{ params.name }}}}.parquet")

    operator.destination = "items.parquet"  # as Airflow renders it before execute
    events = OutletEventAccessors()
    summary = operator.execute({"outlet_events": events})

    [event] = _alias_events(events, alias)
    assert event.dest_asset_key.uri == f"file://{tmp_path}/lake/items.parquet"
    assert event.extra == {"rows": ROWS, "bytes": summary["load"]["bytes"], "chunks": 1, "mode": "append", "files": 1}
    assert operator.inlets == [Asset(uri=f"sqlite://localhost{tmp_path}/shop.db/items")]


def test_given_inlets_and_outlets_win_and_given_assets_get_the_figures(shop, lake) -> None:
    mine = Asset("s3://elsewhere/items.parquet")
    operator = ExtractLoadOperator(
        task_id="t",
        source_conn_id=shop,
        source="items",
        destination_conn_id=lake,
        destination="items.parquet",
        outlets=[mine],
        inlets=[Asset("x-my://in")],
    )
    assert operator.outlets == [mine] and operator.outlet_alias is None
    events = OutletEventAccessors()
    events[mine].extra["owner"] = "me"
    operator.execute({"outlet_events": events})
    assert operator.inlets == [Asset("x-my://in")]
    assert events[mine].extra == {
        "owner": "me",
        "rows": ROWS,
        "bytes": events[mine].extra["bytes"],
        "chunks": 1,
        "mode": "append",
        "files": 1,
    }


def test_a_failed_transfer_emits_no_asset_event(shop, lake) -> None:
    operator = ExtractLoadOperator(
        task_id="t", source_conn_id=shop, source="missing", destination_conn_id=lake, destination="items.parquet"
    )
    events = OutletEventAccessors()
    with pytest.raises(EtlError, match="missing"):
        operator.execute({"outlet_events": events})
    assert _alias_events(events, operator.outlet_alias) == []


def test_openlineage_facets_on_complete_identity_column_lineage(shop, lake, tmp_path) -> None:
    pytest.importorskip("airflow.providers.openlineage")
    operator = ExtractLoadOperator(
        task_id="t", source_conn_id=shop, source="items", destination_conn_id=lake, destination="out/items.csv"
    )
    start = operator.get_openlineage_facets_on_start()
    assert [(d.namespace, d.name) for d in start.inputs] == [(f"sqlite://localhost{tmp_path}/shop.db", "items")]
    assert [(d.namespace, d.name) for d in start.outputs] == [("file", f"{tmp_path}/lake/out/items.csv")]
    assert start.outputs[0].outputFacets == {}

    operator.execute({})
    complete = operator.get_openlineage_facets_on_complete(None)
    [output] = complete.outputs
    assert [(f.name, f.type) for f in output.facets["schema"].fields] == [("id", "int64"), ("price", "double")]
    statistics = output.outputFacets["outputStatistics"]
    assert (statistics.rowCount, statistics.fileCount) == (ROWS, 1)
    assert statistics.size == (tmp_path / "lake/out/items.csv").stat().st_size
    price = output.facets["columnLineage"].fields["price"].inputFields
    assert [(f.name, f.field, f.transformations[0].subtype) for f in price] == [("items", "price", "IDENTITY")]


def test_through_a_transform_column_lineage_is_unknown_and_says_why(shop, lake) -> None:
    pytest.importorskip("airflow.providers.openlineage")

    def with_total(batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch.append_column("total", pc.multiply(batch["price"], 2))

    operator = ExtractLoadOperator(
        task_id="t",
        source_conn_id=shop,
        source="items",
        destination_conn_id=lake,
        destination="items.parquet",
        transform=with_total,
    )
    operator.execute({})
    complete = operator.get_openlineage_facets_on_complete(None)
    [source], [output] = complete.inputs, complete.outputs
    assert [f.name for f in source.facets["schema"].fields] == ["id", "price"]
    assert [f.name for f in output.facets["schema"].fields] == ["id", "price", "total"]
    fields = output.facets["columnLineage"].fields
    assert set(fields) == {"id", "price", "total"}
    assert all(f.inputFields == [] for f in fields.values())
    assert "with_total" in fields["total"].transformationDescription
    assert "not known" in fields["total"].transformationDescription


def test_a_query_source_names_its_tables_and_their_columns(shop, lake, tmp_path) -> None:
    pytest.importorskip("airflow.providers.openlineage")
    operator = ExtractLoadOperator(
        task_id="t",
        source_conn_id=shop,
        source="SELECT id, price AS cost FROM items",
        destination_conn_id=lake,
        destination="items.parquet",
    )
    operator.execute({})
    complete = operator.get_openlineage_facets_on_complete(None)
    assert [d.name for d in complete.inputs] == ["items"]
    cost = complete.outputs[0].facets["columnLineage"].fields["cost"].inputFields
    assert [(f.name, f.field) for f in cost] == [("items", "price")]
    assert operator.inlets == [Asset(uri=f"sqlite://localhost{tmp_path}/shop.db/items")]


def test_a_uri_airflow_refuses_costs_the_event_not_the_transfer(shop, lake, monkeypatch) -> None:
    operator = ExtractLoadOperator(
        task_id="t", source_conn_id=shop, source="items", destination_conn_id=lake, destination="items.parquet"
    )
    # The Postgres provider's normaliser refuses a URI without database, schema and table.
    refused = LineageDataset("postgres://db:5432", "items", "postgres://db:5432/items")
    monkeypatch.setattr(operator.destination_hook, "lineage_dataset", lambda target: refused)
    events = OutletEventAccessors()
    assert operator.execute({"outlet_events": events})["rows"] == ROWS
    assert _alias_events(events, operator.outlet_alias) == []


def test_the_hooks_report_to_airflows_hook_lineage_collector(shop, lake, tmp_path, monkeypatch) -> None:
    from airflow.sdk import lineage

    collector = lineage.HookLineageCollector()
    monkeypatch.setattr(lineage, "get_hook_lineage_collector", lambda: collector)
    operator = ExtractLoadOperator(
        task_id="t", source_conn_id=shop, source="items", destination_conn_id=lake, destination="items.parquet"
    )
    operator.execute({})
    collected = collector.collected_assets
    assert [(a.asset.uri, a.context) for a in collected.inputs] == [
        (f"sqlite://localhost{tmp_path}/shop.db/items", operator.source_hook)
    ]
    assert [(a.asset.uri, a.context) for a in collected.outputs] == [
        (f"file://{tmp_path}/lake/items.parquet", operator.destination_hook)
    ]
