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

    `flatten`: nested objects become `parent__child` columns; an empty object `{}` is null
    (it has no child to make a column of); lists become JSON text.
    `json`: nested objects and lists (empty ones too) become JSON text in one column.
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
        if isinstance(value, dict):
            if value:
                _flatten_into(row, name, value)
            else:
                row[name] = None  # like a null parent: its known children are null in this row
        elif isinstance(value, list):
            row[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            row[name] = value


def _json_if_nested(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def nest_record(record: dict[str, Any]) -> dict[str, Any]:
    """The inverse of flattening: `{"address__city": "Oslo"}` -> `{"address": {"city": "Oslo"}}`.

    A key with an empty part (`__meta`, `a____b`) is kept as it is. Raises ValueError when a
    column is both a value and the parent of others (`address` and `address__city`).
    """
    nested: dict[str, Any] = {}
    for key, value in record.items():
        parts = key.split(FLATTEN_SEPARATOR)
        if len(parts) == 1 or not all(parts):
            parts = [key]
        node = nested
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(_clash(FLATTEN_SEPARATOR.join(parts[: depth + 1]), key))
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise ValueError(_clash(key, f"{key}{FLATTEN_SEPARATOR}..."))
        node[parts[-1]] = value
    return nested


def _clash(parent: str, child: str) -> str:
    return (
        f"column {parent!r} holds a value and is also the parent of column {child!r}, so the record cannot "
        "be sent as nested objects; rename one of them, or load with nested='json' to send the keys as they are"
    )
