"""docker-compose.yaml is checked against the Compose Specification (no Docker engine runs here)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO.parent / "shared" / "schemas" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def test_compose_file_matches_the_compose_specification(compose: dict) -> None:
    if not SCHEMA.exists():
        pytest.fail(f"Compose schema not found at {SCHEMA}", pytrace=False)
    jsonschema.validate(compose, json.loads(SCHEMA.read_text()))


def test_compose_runs_airflow_with_this_provider_and_every_connector_service(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "mysql", "minio", "airflow-apiserver", "airflow-scheduler"} <= set(services)
    assert services["mysql"]["image"].startswith("mysql:8.4")
    assert services["airflow-apiserver"]["image"].startswith("apache/airflow:3.3")
    env = services["airflow-apiserver"]["environment"]
    assert "/opt/airflow/provider" in env["_PIP_ADDITIONAL_REQUIREMENTS"]
    for conn in ("AIRFLOW_CONN_WAREHOUSE_POSTGRES", "AIRFLOW_CONN_SHOP_MYSQL", "AIRFLOW_CONN_LAKE_S3"):
        json.loads(env[conn])
