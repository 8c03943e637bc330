"""Arrow chunks as PostgreSQL's binary COPY format, for the columns whose binary form we can write exactly.

Binary COPY saves the server's text parsing (about a third of a load's server time) and our own
CSV encoding, but each value must be in the exact binary form of the destination column's type:
an int8 payload into an int4 column is an error, not a conversion. The loader's
`conform_batch` has already cast every column to the Arrow type of its destination column
(refusing an overflowing value with its row and column), so here the Arrow type and the
column's declared type are paired, and a pair not in the table below keeps the whole COPY in CSV.

Array columns only where the encoder writes the element type PostgreSQL checks (`pgpq` writes
text elements for varchar[] and timestamp elements for timestamptz[], which the server refuses).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping

import pyarrow as pa
from pgpq import _pgpq as pgpq

from airflow_etl_provider.arrow_batches import byte_slices

Builder = Callable[[pa.Field], "pgpq.EncoderBuilder"]


def _text(field: pa.Field) -> pgpq.EncoderBuilder:
    if pa.types.is_large_string(field.type):
        return pgpq.LargeStringEncoderBuilder(field)
    if pa.types.is_string_view(field.type):
        return pgpq.StringViewEncoderBuilder(field)
    return pgpq.StringEncoderBuilder(field)


def _jsonb(field: pa.Field) -> pgpq.EncoderBuilder:
    """jsonb's binary form is a version byte before the text; json's is the text itself."""
    if pa.types.is_large_string(field.type):
        return pgpq.LargeStringEncoderBuilder.new_with_output(field, pgpq.Jsonb())
    if pa.types.is_string_view(field.type):
        return pgpq.StringViewEncoderBuilder.new_with_output(field, pgpq.Jsonb())
    return pgpq.StringEncoderBuilder.new_with_output(field, pgpq.Jsonb())


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def _is_micros(arrow_type: pa.DataType, tz: bool) -> bool:
    return pa.types.is_timestamp(arrow_type) and arrow_type.unit == "us" and (arrow_type.tz is not None) == tz


#: Declared type -> (does the Arrow type carry it exactly, the encoder for it).
_SCALARS: dict[str, tuple[Callable[[pa.DataType], bool], Builder]] = {
    "bool": (pa.types.is_boolean, pgpq.BooleanEncoderBuilder),
    "int2": (pa.types.is_int16, pgpq.Int16EncoderBuilder),
    "int4": (pa.types.is_int32, pgpq.Int32EncoderBuilder),
    "int8": (pa.types.is_int64, pgpq.Int64EncoderBuilder),
    "float4": (pa.types.is_float32, pgpq.Float32EncoderBuilder),
    "float8": (pa.types.is_float64, pgpq.Float64EncoderBuilder),
    "numeric": (pa.types.is_decimal128, pgpq.Decimal128EncoderBuilder),
    "text": (_is_text, _text),
    "varchar": (_is_text, _text),  # the server checks the length, as for CSV
    "bpchar": (_is_text, _text),  # and pads
    "json": (_is_text, _text),
    "jsonb": (_is_text, _jsonb),
    "bytea": (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), pgpq.BinaryEncoderBuilder),
    "date": (pa.types.is_date32, pgpq.Date32EncoderBuilder),
    "time": (lambda t: pa.types.is_time64(t) and t.unit == "us", pgpq.Time64MicrosecondEncoderBuilder),
    "timestamp": (lambda t: _is_micros(t, tz=False), pgpq.TimestampMicrosecondEncoderBuilder),
    "timestamptz": (lambda t: _is_micros(t, tz=True), pgpq.TimestampMicrosecondEncoderBuilder),
}

#: Element types whose arrays `pgpq` writes with the element type OID the server expects.
_ARRAY_ELEMENTS = frozenset(
    {
        "bool",
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "numeric",
        "text",
        "jsonb",
        "bytea",
        "date",
        "time",
        "timestamp",
    }
)


def _plain(arrow_type: pa.DataType) -> pa.DataType:
    """`arrow_type` with JSON (an extension type, also as list elements) as its text: the encoder
    takes plain Arrow types."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        return arrow_type.storage_type
    if pa.types.is_list(arrow_type):
        return pa.list_(arrow_type.value_field.with_type(_plain(arrow_type.value_type)))
    return arrow_type


def _encoder(field: pa.Field, declared: str) -> pgpq.EncoderBuilder | None:
    arrow_type = field.type
    if declared.endswith("[]"):
        element = declared.removesuffix("[]")
        if element not in _ARRAY_ELEMENTS or not pa.types.is_list(arrow_type):
            return None
        inner = _encoder(arrow_type.value_field, element)
        return None if inner is None else pgpq.ListEncoderBuilder.new_with_inner(field, inner)
    fits, build = _SCALARS.get(declared, (None, None))
    if fits is None or build is None or not fits(arrow_type):
        return None
    return build(field)


#: The end of a binary COPY stream: a tuple field count of -1.
TRAILER = b"\xff\xff"

#: Makes a new encoder for one COPY's batches (see `binary_encoder`).
EncoderFactory = Callable[[], pgpq.ArrowToPostgresBinaryEncoder]


def binary_encoder(schema: pa.Schema, declared: Mapping[str, str | None]) -> EncoderFactory | str:
    """What makes encoders for batches of `schema`, or why this COPY needs CSV.

    `declared` maps the table's column names to their type names as `pg_column` gives them
    (`int4`, `numeric`, `text[]`), None for a type we do not map.
    """
    plain = pa.schema([field.with_type(_plain(field.type)) for field in schema])
    encoders = {}
    for field in plain:
        type_name = declared.get(field.name)
        encoder = None if type_name is None else _encoder(field, type_name)
        if encoder is None:
            return f"column {field.name!r} ({type_name or 'an unmapped type'}) from Arrow {field.type}"
        encoders[field.name] = encoder
    return functools.partial(pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders, plain, encoders)


def _storage(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch in the plain types `binary_encoder` was built for."""
    plain = pa.schema([field.with_type(_plain(field.type)) for field in batch.schema])
    return batch if plain == batch.schema else batch.cast(plain)


#: Rows of a batch encoded at a time are chosen so that one piece of the COPY stream is about
#: this size: the sender's queue then holds a few of these, not a few whole chunks.
PIECE_BYTES = 1 << 20


def binary_payloads(new_encoder: EncoderFactory, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """One COPY's binary stream: the header, the batches' rows in pieces of about `PIECE_BYTES`, the trailer.

    Each piece is encoded by an encoder of its own (about a microsecond to make) and handed
    over whole: one encoder for the stream would keep back up to a megabyte of rows until it
    had more, so rows the server could already hold would wait on a slow source, and a piece
    is never a whole chunk, so the bytes alive at once are a few pieces, not a few chunks.
    """
    yield new_encoder().write_header()
    for batch in batches:
        for piece in byte_slices(_storage(batch), PIECE_BYTES):
            encoder = new_encoder()
            encoder.write_header()  # the stream has its header already; the encoder needs its own
            rows = encoder.write_batch(piece) + encoder.finish()
            yield rows[: -len(TRAILER)]
    yield TRAILER
