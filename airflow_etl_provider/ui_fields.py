"""Airflow connection-form metadata generated from a connector's JSON config schema.

The schema is the one source of truth: `config.validate_config` validates the same
properties that this module turns into `conn-fields` for the React connection form.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
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


#: How a select shows the null choice of an optional field (Airflow's form says "null").
NOT_SET_LABEL = "Not set"
#: A Markdown code span; the form shows help texts as plain text, backticks included.
_CODE_SPAN = re.compile(r"`([^`]*)`")


def _label(name: str, spec: dict[str, Any]) -> str:
    return spec.get("title") or name.replace("_", " ").capitalize()


def help_text(description: str) -> str:
    """A schema description as the form shows it: code spans quoted, not backticked."""
    return _CODE_SPAN.sub(r'"\1"', description)


def _form_schema(spec: dict[str, Any], required: bool) -> dict[str, Any]:
    """The field's JSON Schema; an optional field also accepts null, which the form needs.

    Airflow's form marks every field whose type does not include "null" as required and
    keeps Save disabled while it is empty, whatever its default.
    """
    field_schema = {key: spec[key] for key in FORM_SCHEMA_KEYWORDS if key in spec}
    field_schema.setdefault("type", "string")
    if not required:
        if field_schema.get("default") == "":
            # Empty means unset, and the form shows an empty default of a field named like a
            # secret (`token_url`) as "***", which saving would store; null is left alone.
            del field_schema["default"]
        types = field_schema["type"] if isinstance(field_schema["type"], list) else [field_schema["type"]]
        field_schema["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in field_schema and "default" not in field_schema and None not in field_schema["enum"]:
            # Without a default a select needs a way back to unset; with one it always has a value.
            field_schema["enum"] = [*field_schema["enum"], None]
            field_schema["values_display"] = {"null": NOT_SET_LABEL}
    return field_schema


def conn_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`conn-fields` for one connection type: one form field per top-level extra property.

    The form lists fields in the order of this mapping, so it keeps the schema's declared
    property order (the order a person fills them in).
    """
    required = set(schema.get("required", ()))
    fields: dict[str, dict[str, Any]] = {}
    for name, spec in schema.get("properties", {}).items():
        field: dict[str, Any] = {"label": _label(name, spec), "schema": _form_schema(spec, name in required)}
        if spec.get("description"):
            field["description"] = help_text(spec["description"])
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


def secret_fields(schema: dict[str, Any]) -> set[str]:
    """Extra properties declared secret (`format: password`); never logged or echoed."""
    return {name for name, spec in schema.get("properties", {}).items() if spec.get("format") == "password"}


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


#: Connection types whose form an official provider owns: our extras go into the Extra JSON.
EXTRA_JSON_TYPES = ("postgres", "aws", "http")
#: Examples for types whose schema has no `examples` (checked against the schema by a test).
EXTRA_JSON_EXAMPLES: dict[str, dict[str, Any]] = {
    "http": {"paginator": "json_link", "next_url_path": "links.next", "records_path": "data", "timeout": 60},
}
#: The generated part of `docs/connection_forms.md` sits between these lines.
DOC_BEGIN = "<!-- extra-json-reference: generated by python -m airflow_etl_provider.ui_fields -->"
DOC_END = "<!-- end of extra-json-reference -->"
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "connection_forms.md"


def extra_json_example(conn_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A valid Extra JSON: the type's listed example, else each `examples` value and the timeout."""
    if conn_type in EXTRA_JSON_EXAMPLES:
        return EXTRA_JSON_EXAMPLES[conn_type]
    return {
        name: spec["examples"][0] if "examples" in spec else spec["default"]
        for name, spec in schema.get("properties", {}).items()
        if "examples" in spec or name == "timeout"
    }


def extra_json_reference(cls: type[ConnectorHook]) -> str:
    """Markdown: the extras of one connector, for typing into an official form's Extra JSON."""
    schema = cls.full_config_schema()
    rows = ["| key | type | default | what it does |", "|---|---|---|---|"]
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type", "string")
        if spec.get("enum"):
            kind = " / ".join(f"`{json.dumps(value)}`" for value in spec["enum"] if value is not None)
        default = f"`{json.dumps(spec['default'])}`" if "default" in spec else "-"
        text = " ".join(spec.get("description", spec.get("title", "")).split()).replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | {default} | {text} |")
    example = json.dumps(extra_json_example(cls.conn_type, schema), indent=2)
    return "\n".join(
        [f"### `{cls.conn_type}`: {cls.hook_name}", "", *rows, "", "Example Extra JSON:", "", "```json", example, "```"]
    )


def render_extra_json_docs() -> str:
    from airflow_etl_provider.hooks.registry import registry

    sections = [extra_json_reference(registry.connector_class(conn_type)) for conn_type in EXTRA_JSON_TYPES]
    return "\n\n".join([DOC_BEGIN, *sections, DOC_END])


def documented_extra_json(text: str) -> str:
    """The generated block of a document (markers included)."""
    begin, end = text.index(DOC_BEGIN), text.index(DOC_END) + len(DOC_END)
    return text[begin:end]


if __name__ == "__main__":
    target = Path(__file__).with_name("connection_types.json")
    target.write_text(json.dumps(render_connection_types(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")
    doc = DOC_PATH.read_text(encoding="utf-8")
    DOC_PATH.write_text(doc.replace(documented_extra_json(doc), render_extra_json_docs()), encoding="utf-8")
    print(f"wrote {DOC_PATH}")
