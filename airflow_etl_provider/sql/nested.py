"""Nested columns (list, struct, map) as JSON text: how every SQL destination stores them.

One encoding for every destination and every load, new table or existing one: maps become
objects, timestamps, dates, times and decimals their exact text as Arrow prints it (any year,
any unit: no Python datetime in between, so year 14645 or nanoseconds are kept), bytes base64.
JSON has no NaN or infinity, so such a value is refused rather than written as invalid JSON.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pyarrow as pa

from airflow_etl_provider.arrow_kinds import JSON


def _is_list(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
        or pa.types.is_list_view(arrow_type)
        or pa.types.is_large_list_view(arrow_type)
    )


def textual_type(arrow_type: pa.DataType) -> pa.DataType:
    """`arrow_type` with its temporal and decimal leaves as strings (Arrow's exact text, any year
    and unit), the rest as it is."""
    if pa.types.is_struct(arrow_type):
        return pa.struct([field.with_type(textual_type(field.type)) for field in arrow_type])
    if pa.types.is_map(arrow_type):
        return pa.map_(
            textual_type(arrow_type.key_type), arrow_type.item_field.with_type(textual_type(arrow_type.item_type))
        )
    if _is_list(arrow_type):
        item = arrow_type.value_field.with_type(textual_type(arrow_type.value_type))
        if pa.types.is_fixed_size_list(arrow_type):
            return pa.list_(item, arrow_type.list_size)
        if pa.types.is_large_list(arrow_type) or pa.types.is_large_list_view(arrow_type):
            return pa.large_list(item)
        return pa.list_(item)
    if pa.types.is_dictionary(arrow_type):
        return textual_type(arrow_type.value_type)
    if isinstance(arrow_type, pa.BaseExtensionType):
        return textual_type(arrow_type.storage_type)
    if (pa.types.is_temporal(arrow_type) and not pa.types.is_duration(arrow_type)) or pa.types.is_decimal(arrow_type):
        return pa.string()
    return arrow_type


def _plain(value: object) -> Any:
    """What `json.dumps` cannot take itself: bytes (as base64) and durations (as text)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def nested_as_json(values: pa.Array) -> pa.Array:
    """A nested column as `JSON` text; raises ValueError for what JSON cannot hold (NaN, infinity,
    a map with one key twice, a map keyed by bytes)."""
    textual = textual_type(values.type)
    if textual != values.type:
        values = values.cast(textual)
    try:
        rows = values.to_pylist(maps_as_pydicts="strict")
    except KeyError as error:
        raise ValueError(str(error).strip('"')) from error
    texts = []
    for row in rows:
        try:
            texts.append(None if row is None else json.dumps(row, ensure_ascii=False, allow_nan=False, default=_plain))
        except ValueError as error:
            raise ValueError(f"JSON cannot hold NaN or infinity ({error})") from error
        except TypeError as error:  # a map key JSON objects cannot have
            raise ValueError(f"not representable as JSON: {error}") from error
    return pa.ExtensionArray.from_storage(JSON, pa.array(texts, pa.string()))
