"""Connection extra validation against a connector's JSON Schema.

The same schema drives the UI form (see `ui_fields.py`) and this validation, so the two
cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from airflow_etl_provider.exceptions import ConnectorConfigError

#: Extras every connector honours, merged into each connector's own schema.
COMMON_CONFIG_PROPERTIES: dict[str, dict[str, Any]] = {
    "timeout": {
        "type": "number",
        "minimum": 1,
        "default": 30,
        "title": "Timeout (seconds)",
        "description": "How long one network call or statement may take before it fails.",
    },
    "retry_count": {
        "type": "integer",
        "minimum": 0,
        "maximum": 10,
        "default": 2,
        "title": "Retries",
        "description": "How many times a transient failure (dropped connection, timeout) is retried.",
    },
}


def full_config_schema(own_schema: dict[str, Any]) -> dict[str, Any]:
    """A connector's schema with the common extras added (its own definitions win)."""
    schema: dict[str, Any] = copy.deepcopy(own_schema) if own_schema else {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    properties = schema.setdefault("properties", {})
    for name, spec in COMMON_CONFIG_PROPERTIES.items():
        properties.setdefault(name, copy.deepcopy(spec))
    return schema


def _field_path(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        # The missing property is named in the message, not in the path.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return ".".join([*map(str, error.absolute_path), missing]).strip(".")
    return ".".join(map(str, error.absolute_path)) or "extra"


def is_secret(spec: dict[str, Any]) -> bool:
    """Whether an extra property holds a secret (`format: password`, or `secret: true`): never logged or echoed."""
    return spec.get("format") == "password" or bool(spec.get("secret"))


def secret_fields(schema: dict[str, Any]) -> set[str]:
    """The extra properties of `schema` that hold secrets."""
    return {name for name, spec in schema.get("properties", {}).items() if is_secret(spec)}


def _describe(error: jsonschema.ValidationError) -> str:
    spec = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        return "is required but missing; set it in the connection's extra."
    if error.validator == "additionalProperties":
        return f"{error.message}; remove it or check its spelling."
    expected = spec.get("description") or spec.get("title") or ""
    got = repr(error.instance)
    hint = f" Expected: {expected}" if expected else ""
    if is_secret(spec):
        got = "(hidden)"
    return f"{error.message.replace(repr(error.instance), got)}.{hint}"


def validate_config(conn_id: str, schema: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Validate `extra` against `schema`; return it with the schema's defaults filled in.

    Every problem is reported in one error, each line naming its field. A `null` value counts
    as unset: the UI form stores null for a field the user cleared.
    """
    extra = {key: value for key, value in extra.items() if value is not None}
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(extra), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        problems = "; ".join(f"{_field_path(e)} {_describe(e)}" for e in errors[1:])
        message = _describe(first) + (f" Also: {problems}" if problems else "")
        raise ConnectorConfigError(conn_id, _field_path(first), message)
    config = dict(extra)
    for name, spec in schema.get("properties", {}).items():
        if name not in config and "default" in spec:
            config[name] = copy.deepcopy(spec["default"])
    return config
