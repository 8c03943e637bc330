"""What an Arrow type holds, asked the same way by every connector and file format."""

from __future__ import annotations

import pyarrow as pa

#: JSON text marked as JSON: Arrow's canonical `arrow.json` extension type over UTF-8 strings,
#: the type every connector reads JSON columns as, and the one Parquet keeps.
JSON = pa.json_(pa.string())


def is_binary(arrow_type: pa.DataType) -> bool:
    """Bytes of any width: binary, large_binary or fixed_size_binary."""
    return (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    )


def is_json(arrow_type: pa.DataType) -> bool:
    """JSON text marked as JSON (the `arrow.json` extension, over any string storage)."""
    return getattr(arrow_type, "extension_name", None) == "arrow.json"


def describe_columns(schema: pa.Schema | None) -> str:
    """A schema's columns as error messages name them: `id int64, note string`."""
    return ", ".join(f"{field.name} {field.type}" for field in schema or [])
