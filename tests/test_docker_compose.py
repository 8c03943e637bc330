"""docker-compose.yaml is checked against the Compose Specification (no Docker engine runs here)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
#: The Compose Specification's JSON Schema (compose-spec/compose-spec, Apache-2.0), kept here
#: so the check runs wherever the repository is cloned.
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def test_compose_file_matches_the_compose_specification(compose: dict) -> None:
    _validator().validate(compose)


def test_the_specification_check_rejects_a_malformed_file(compose: dict) -> None:
    broken = {**compose, "services": {**compose["services"], "postgres": {"image": 15, "ports": "5432"}}}
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(broken)


def _validator() -> jsonschema.Draft7Validator:
    # The schema names draft-07 in a form jsonschema does not recognise; say it explicitly.
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def test_compose_runs_airflow_with_this_provider_and_every_connector_service(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "mysql", "minio", "airflow-apiserver", "airflow-scheduler"} <= set(services)
    assert services["mysql"]["image"].startswith("mysql:8.4")
    assert services["airflow-apiserver"]["image"].startswith("apache/airflow:3.3")
    env = services["airflow-apiserver"]["environment"]
    assert "/opt/airflow/provider" in env["_PIP_ADDITIONAL_REQUIREMENTS"]
    for conn in ("AIRFLOW_CONN_WAREHOUSE_POSTGRES", "AIRFLOW_CONN_SHOP_MYSQL", "AIRFLOW_CONN_LAKE_S3"):
        json.loads(env[conn])
