"""Airflow connection-form metadata generated from a connector's JSON config schema.

The schema is the one source of truth: `config.validate_config` validates the same
properties that this module turns into `conn-fields` for the React connection form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_etl_provider.hooks.base import ConnectorHook

#: JSON Schema keywords the Airflow form understands (airflow/provider.yaml.schema.json).
FORM_SCHEMA_KEYWORDS = (
    "type",
    "default",
    "format",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "minLength",
    "maxLength",
)


def _label(name: str, spec: dict[str, Any]) -> str:
    return spec.get("title") or name.replace("_", " ").capitalize()


def conn_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`conn-fields` for one connection type: one form field per top-level extra property."""
    fields: dict[str, dict[str, Any]] = {}
    for name, spec in schema.get("properties", {}).items():
        field_schema = {key: spec[key] for key in FORM_SCHEMA_KEYWORDS if key in spec}
        field_schema.setdefault("type", "string")
        field: dict[str, Any] = {"label": _label(name, spec), "schema": field_schema}
        if spec.get("description"):
            field["description"] = spec["description"]
        fields[name] = field
    return fields


def connection_type_entry(cls: type[ConnectorHook]) -> dict[str, Any]:
    """One `connection-types` item of the provider info for a connector class."""
    entry: dict[str, Any] = {
        "connection-type": cls.conn_type,
        "hook-class-name": f"{cls.__module__}.{cls.__qualname__}",
        "hook-name": cls.hook_name,
        "conn-fields": conn_fields(cls.full_config_schema()),
    }
    if cls.ui_field_behaviour:
        entry["ui-field-behaviour"] = cls.ui_field_behaviour
    return entry


def render_connection_types() -> list[dict[str, Any]]:
    """Form metadata of every built-in connector, as stored in `connection_types.json`."""
    from airflow_etl_provider.hooks.registry import ORIGIN_BUILT_IN, registry

    rendered = []
    for conn_type in registry.available_types():
        if registry.origin(conn_type) != ORIGIN_BUILT_IN:
            continue
        cls = registry.connector_class(conn_type)
        rendered.append({"entry": connection_type_entry(cls), "form_owner_distribution": cls.form_owner_distribution})
    return rendered


if __name__ == "__main__":
    import json
    from pathlib import Path

    target = Path(__file__).with_name("connection_types.json")
    target.write_text(json.dumps(render_connection_types(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target}")
