"""Provider metadata: valid against Airflow's own strict schema, forms in sync with the connectors."""

from __future__ import annotations

import json
from pathlib import Path

import airflow
import jsonschema

from airflow_etl_provider.get_provider_info import get_provider_info, rendered_connection_types
from airflow_etl_provider.ui_fields import render_connection_types


def test_provider_info_is_valid_against_airflow_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_package_name_matches_distribution() -> None:
    from importlib.metadata import distribution

    assert get_provider_info()["package-name"] == distribution("airflow-etl-provider").metadata["Name"]


def test_rendered_forms_match_connector_schemas() -> None:
    """`connection_types.json` is regenerated with `python -m airflow_etl_provider.ui_fields`."""
    assert rendered_connection_types() == json.loads(json.dumps(render_connection_types()))


def test_embedded_connectors_have_forms_with_their_fields() -> None:
    forms = {item["connection-type"]: item for item in get_provider_info()["connection-types"]}
    assert {"sqlite", "filesystem"} <= set(forms)
    assert forms["sqlite"]["conn-fields"]["timeout"]["schema"]["type"] == ["number", "null"]
    assert "base_path" in forms["filesystem"]["conn-fields"]
    assert "password" in forms["filesystem"]["ui-field-behaviour"]["hidden-fields"]


def test_types_owned_by_installed_official_providers_are_left_to_them() -> None:
    forms = {item["connection-type"] for item in get_provider_info()["connection-types"]}
    assert "postgres" not in forms  # apache-airflow-providers-postgres is installed and owns that form
