"""docs/connection_forms.md lists the extras of the types whose form an official provider owns."""

from __future__ import annotations

import json
import re

from airflow_etl_provider.config import validate_config
from airflow_etl_provider.hooks.registry import registry
from airflow_etl_provider.ui_fields import (
    DOC_PATH,
    EXTRA_JSON_TYPES,
    documented_extra_json,
    render_extra_json_docs,
)


def test_extra_json_reference_matches_the_connector_schemas() -> None:
    """Regenerate with `python -m airflow_etl_provider.ui_fields`."""
    assert documented_extra_json(DOC_PATH.read_text(encoding="utf-8")) == render_extra_json_docs()


def test_every_schema_key_is_documented_for_each_official_form() -> None:
    block = documented_extra_json(DOC_PATH.read_text(encoding="utf-8"))
    sections = dict(re.findall(r"### `(\w+)`: [^\n]*\n(.*?)(?=\n### |\n<!-- end)", block, flags=re.S))
    assert set(sections) == set(EXTRA_JSON_TYPES)
    for conn_type, text in sections.items():
        keys = re.findall(r"^\| `(\w+)` \|", text, flags=re.M)
        assert keys == list(registry.connector_class(conn_type).full_config_schema()["properties"]), conn_type


def test_documented_examples_are_valid_extras() -> None:
    block = documented_extra_json(DOC_PATH.read_text(encoding="utf-8"))
    examples = re.findall(r"### `(\w+)`.*?```json\n(.*?)```", block, flags=re.S)
    assert [conn_type for conn_type, _ in examples] == list(EXTRA_JSON_TYPES)
    for conn_type, example in examples:
        schema = registry.connector_class(conn_type).full_config_schema()
        extra = json.loads(example)
        assert extra and set(extra) <= set(schema["properties"]), conn_type
        validate_config(f"docs_{conn_type}", schema, extra)
