"""Lineage: how transfers name what they read and write, as Airflow Assets and OpenLineage datasets.

`asset_uri(conn_id, target)` is the one public way to name a source or destination; anything
that keys state on a data set (an incremental load's bookmark, a downstream DAG's schedule)
uses it. Nothing here imports the optional OpenLineage provider; `openlineage.py` does, and
only when the OpenLineage listener calls the operator.
"""

from __future__ import annotations

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.lineage.datasets import LineageDataset
from airflow_etl_provider.lineage.transfer import datasets_read

__all__ = ["LineageDataset", "asset_uri", "dataset_for", "datasets_read"]


def dataset_for(conn_id: str, target: str) -> LineageDataset:
    """The data set `target` names on connection `conn_id` (a table, file, folder or endpoint).

    A SQL query is not one data set: its tables come from `datasets_read` (OpenLineage extra).
    """
    from airflow_etl_provider.hooks.registry import hook_for

    hook = hook_for(conn_id)
    dataset = hook.lineage_dataset(target)
    if dataset is None:
        raise EtlError(
            f"{target!r} on connection {conn_id!r} ({hook.conn_type}) is not one data set with an Asset URI: "
            "name a table, file, folder or endpoint."
        )
    return dataset


def asset_uri(conn_id: str, target: str) -> str:
    """The Airflow Asset URI of `target` on connection `conn_id`, e.g.
    `postgres://db:5432/warehouse/public/orders` or `s3://lake/exports/orders.parquet`."""
    return dataset_for(conn_id, target).uri
