"""Find the records in a JSON response and shape each one into a flat row."""

from __future__ import annotations

import json
from typing import Any

#: Where records usually sit when no `records_path` is configured, tried in this order.
FALLBACK_PATHS = ("data", "results", "items", "records")
NESTED_MODES = ("flatten", "json")
#: Joins parent and child keys of flattened objects (SQL-friendly, unlike ".").
FLATTEN_SEPARATOR = "__"


#: What `lookup` returns for a path that is not in the document (unlike a JSON null, which is).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted `path` (`data.items`, `meta.next`), or `MISSING` when a step is absent.

    Paginators tell a missing path (a wrong setting, which must not end paging quietly) from
    an explicit null (the API saying there is no next page).
    """
    value = document
    for step in path.split("."):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return MISSING
    return value


def get_path(document: Any, path: str) -> Any:
    """The value at a dotted `path`, or None when it is null or any step is missing."""
    value = lookup(document, path)
    return None if value is MISSING else value


def find_records(document: Any, records_path: str = "") -> list[Any]:
    """The list of records in a response body.

    With `records_path` that path must hold a list (a single object counts as one record).
    Without it: a top-level list, else the first of `data`, `results`, `items`, `records`
    holding a list (also one level down, e.g. `data.items`), else the body as one record.
    """
    if records_path:
        found = get_path(document, records_path)
        if found is None:
            raise KeyError(records_path)
        return found if isinstance(found, list) else [found]
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in FALLBACK_PATHS:
            value = document.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict):
                for inner in FALLBACK_PATHS:
                    if isinstance(value.get(inner), list):
                        return value[inner]
        return [document]
    return []


def shape_record(record: Any, nested: str = "flatten") -> dict[str, Any]:
    """One record as a flat dict of scalars.

    `flatten`: nested objects become `parent__child` columns; lists become JSON text.
    `json`: nested objects and lists become JSON text in one column.
    A record that is not an object becomes `{"value": record}`.
    """
    if not isinstance(record, dict):
        return {"value": _json_if_nested(record)}
    if not any(isinstance(value, (dict, list)) for value in record.values()):
        return record  # already flat: the common case, and the hot path
    if nested == "json":
        return {key: _json_if_nested(value) for key, value in record.items()}
    row: dict[str, Any] = {}
    _flatten_into(row, "", record)
    return row


def _flatten_into(row: dict[str, Any], prefix: str, obj: dict[str, Any]) -> None:
    for key, value in obj.items():
        name = f"{prefix}{FLATTEN_SEPARATOR}{key}" if prefix else key
        if isinstance(value, dict) and value:
            _flatten_into(row, name, value)
        elif isinstance(value, (dict, list)):
            row[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            row[name] = value


def _json_if_nested(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value
