"""The connection-form metadata generated from the connectors' schemas, as Airflow's form reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_etl_provider.get_provider_info import get_provider_info, rendered_connection_types
from airflow_etl_provider.hooks.registry import ORIGIN_BUILT_IN, registry
from airflow_etl_provider.ui_fields import conn_fields, connection_type_entry

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


@pytest.fixture(scope="module")
def connector_classes(salesforce_connector: type) -> dict[str, type]:
    """Every built-in connector and the example plugins-folder connector."""
    classes = {t: registry.connector_class(t) for t in registry.available_types()}
    return {t: c for t, c in classes.items() if registry.origin(t) == ORIGIN_BUILT_IN or c is salesforce_connector}


def _types(field: dict[str, Any]) -> list[str]:
    declared = field["schema"]["type"]
    return declared if isinstance(declared, list) else [declared]


def test_optional_fields_are_nullable_and_required_ones_are_not(connector_classes: dict[str, type]) -> None:
    """The form marks a non-nullable field required and keeps Save disabled while it is empty."""
    for conn_type, cls in connector_classes.items():
        schema = cls.full_config_schema()
        required = set(schema.get("required", ()))
        for name, field in conn_fields(schema).items():
            assert ("null" not in _types(field)) == (name in required), f"{conn_type}.{name}: {field['schema']}"
            if "enum" in field["schema"] and name not in required and "default" not in field["schema"]:
                assert None in field["schema"]["enum"], f"{conn_type}.{name} cannot be cleared"


def test_sqlite_and_mysql_optional_extras_can_stay_empty() -> None:
    forms = {item["entry"]["connection-type"]: item["entry"]["conn-fields"] for item in rendered_connection_types()}
    assert forms["sqlite"]["journal_mode"]["schema"]["type"] == ["string", "null"]
    assert forms["mysql"]["connect_timeout"]["schema"]["type"] == ["integer", "null"]
    assert forms["mysql"]["ssl_ca"]["schema"]["type"] == ["string", "null"]
    assert forms["filesystem"]["base_path"]["schema"]["type"] == "string"  # required: stays required


def test_fields_keep_the_schemas_declared_order(connector_classes: dict[str, type]) -> None:
    """The React form lists `conn-fields` in mapping order, so the metadata must keep it."""
    served = {entry["connection-type"]: entry for entry in get_provider_info()["connection-types"]}
    rendered = {item["entry"]["connection-type"]: item["entry"] for item in rendered_connection_types()}
    for conn_type, cls in connector_classes.items():
        declared = list(cls.full_config_schema()["properties"])
        assert list(connection_type_entry(cls)["conn-fields"]) == declared, conn_type
        if conn_type in rendered:
            assert list(rendered[conn_type]["conn-fields"]) == declared, conn_type
        if conn_type in served:
            assert list(served[conn_type]["conn-fields"]) == declared, conn_type


def test_help_texts_have_no_markdown_backticks(connector_classes: dict[str, type]) -> None:
    """The form shows descriptions as plain text: a code span would show its backticks."""
    for conn_type, cls in connector_classes.items():
        for name, field in connection_type_entry(cls)["conn-fields"].items():
            for text in (field["label"], field.get("description", "")):
                assert "`" not in text, f"{conn_type}.{name}: {text!r}"


def test_empty_defaults_are_left_null_so_the_form_does_not_mask_and_store_them() -> None:
    """The UI shows the default of a field named like a secret as "***" and saving stores it."""
    forms = {item["entry"]["connection-type"]: item["entry"]["conn-fields"] for item in rendered_connection_types()}
    for conn_type, fields in forms.items():
        for name, field in fields.items():
            assert field["schema"].get("default") != "", f"{conn_type}.{name}"
    token_url = forms["rest_api"]["oauth2_url"]["schema"]
    assert "default" not in token_url and "null" in token_url["type"]


def test_optional_selects_offer_a_labelled_not_set_choice() -> None:
    forms = {item["entry"]["connection-type"]: item["entry"]["conn-fields"] for item in rendered_connection_types()}
    journal = forms["sqlite"]["journal_mode"]["schema"]
    assert journal["enum"][-1] is None and journal["values_display"] == {"null": "Not set"}
