"""Partitioned transfers: one source split into mapped tasks, published at once (docs/partitioned.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["partitioned_transfer"]


def __getattr__(name: str) -> Any:
    # Lazy: the PostgreSQL hook imports `partitioned.snapshot`, which must not pull in the operators.
    if name == "partitioned_transfer":
        from airflow_etl_provider.partitioned.group import partitioned_transfer

        return partitioned_transfer
    raise AttributeError(name)
