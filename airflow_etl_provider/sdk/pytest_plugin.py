"""Pytest fixtures for connector tests, loaded through the `pytest11` entry point.

Installing airflow-etl-provider makes them available in every pytest run (`pytest -p
no:airflow_etl_provider` turns them off); the conformance suite's examples use them. The
module imports nothing from Airflow, so loading it costs a pytest run nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

__all__ = ["airflow_connection"]


@pytest.fixture
def airflow_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define Airflow connections for one test; call it with a type and fields, get the conn id.

    `airflow_connection("inventory", extra={"folder": "/data"})` sets `AIRFLOW_CONN_<ID>`
    (the JSON form: `host`, `port`, `login`, `password`, `schema`, `extra`) until the test
    ends. The id is unique unless given with `conn_id=`.
    """

    def define(conn_type: str, conn_id: str | None = None, **fields: object) -> str:
        conn_id = conn_id or f"test_{conn_type}_{uuid.uuid4().hex[:10]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, **fields}))
        return conn_id

    return define
