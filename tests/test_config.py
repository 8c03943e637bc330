"""Validation of a connection's extra against a connector's JSON Schema."""

from __future__ import annotations

import pytest

from airflow_etl_provider.config import full_config_schema, secret_fields, validate_config
from airflow_etl_provider.exceptions import ConnectorConfigError

SCHEMA = full_config_schema(
    {
        "type": "object",
        "properties": {
            "bucket": {"type": "string", "description": "Bucket name, e.g. my-data."},
            "api_key": {"type": "string", "format": "password", "minLength": 20},
            "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
        },
        "required": ["bucket"],
        "additionalProperties": False,
    }
)


def test_defaults_are_filled_in_including_common_extras() -> None:
    config = validate_config("c1", SCHEMA, {"bucket": "x"})
    assert config == {"bucket": "x", "mode": "a", "timeout": 30, "retry_count": 2}


def test_error_names_connection_field_and_expectation() -> None:
    with pytest.raises(ConnectorConfigError) as raised:
        validate_config("warehouse", SCHEMA, {"bucket": 5})
    assert raised.value.conn_id == "warehouse" and raised.value.field == "bucket"
    assert "Connection 'warehouse', field 'bucket'" in str(raised.value)
    assert "Bucket name" in str(raised.value)


def test_missing_required_field_is_named() -> None:
    with pytest.raises(ConnectorConfigError) as raised:
        validate_config("c", SCHEMA, {})
    assert raised.value.field == "bucket" and "required" in str(raised.value)


def test_every_problem_is_reported() -> None:
    with pytest.raises(ConnectorConfigError) as raised:
        validate_config("c", SCHEMA, {"bucket": "b", "mode": "z", "retry_count": 99, "bukcet": 1})
    message = str(raised.value)
    assert "mode" in message and "retry_count" in message and "bukcet" in message


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(ConnectorConfigError) as raised:
        validate_config("c", SCHEMA, {"bucket": "b", "api_key": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(raised.value) and "api_key" in str(raised.value)


def test_one_rule_says_which_fields_are_secret() -> None:
    """`format: password` and `secret: true` both mark a secret, for the error messages and for secret_fields."""
    schema = {"type": "object", "properties": {"pin": {"type": "string", "secret": True, "pattern": "^[0-9]+$"}}}
    assert secret_fields(SCHEMA) == {"api_key"} and secret_fields(schema) == {"pin"}
    with pytest.raises(ConnectorConfigError) as raised:
        validate_config("c", schema, {"pin": "letmein"})
    assert "letmein" not in str(raised.value) and "(hidden)" in str(raised.value)


def test_null_values_count_as_unset() -> None:
    config = validate_config("c", SCHEMA, {"bucket": "x", "mode": None, "api_key": None})
    assert config["mode"] == "a" and "api_key" not in config
