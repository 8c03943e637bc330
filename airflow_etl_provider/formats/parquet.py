"""Parquet: every Arrow type kept exactly; read row group by row group, written batch by batch.

Reading needs a random-access stream (local file, or S3 ranged reads) because the schema and
row-group index live in the footer; only the row groups being read are fetched.

Legacy INT96 timestamps (Impala, Hive, older Spark) carry nanoseconds and any year, but Arrow
reads them as timestamp[ns], which ends in 2262: a later or earlier value would come back as a
wrong instant, silently. They are read as timestamp[ns] and checked against a microsecond read
of the same columns; a value that does not fit is an error naming row and column, and
`int96_timestamp_unit="us"` (or "ms", "s") reads them all in that unit instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from airflow_etl_provider.arrow_batches import or_empty, rebatch
from airflow_etl_provider.exceptions import FormatOptionError, SourceError
from airflow_etl_provider.formats.arrow_types import apply_column_types, parse_column_types
from airflow_etl_provider.formats.base import FileFormat, FileSource, register_format

CODECS = ("snappy", "zstd", "gzip", "brotli", "lz4", "none")
INT96_UNITS = ("ns", "us", "ms", "s")
DEFAULT_ROW_GROUP_SIZE = 128 * 1024


def _repeats_often(arrow_type: pa.DataType) -> bool:
    if isinstance(arrow_type, pa.BaseExtensionType):
        return _repeats_often(arrow_type.storage_type)
    return (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_dictionary(arrow_type)
    )


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns dictionary-encoded by default: text, binary and dictionary columns.

    Repeated values (codes, statuses, names) are common there and dictionaries shrink them a
    lot. Numbers and timestamps rarely repeat within a row group: trying a dictionary first,
    then falling back to plain encoding, cost about 0.2 s per million rows of five columns and
    made the file larger, not smaller.
    """
    return [field.name for field in schema if _repeats_often(field.type)]


def int96_columns(parquet: pq.ParquetFile) -> list[str]:
    """Top-level columns stored as INT96 timestamps (nested ones are read as Arrow reads them)."""
    schema = parquet.schema
    return [
        schema.column(i).path
        for i in range(len(schema))
        if schema.column(i).physical_type == "INT96" and "." not in schema.column(i).path
    ]


def _checked_int96(
    batches: Iterable[pa.RecordBatch], check: Iterable[pa.RecordBatch], names: list[str], where: str
) -> Iterator[pa.RecordBatch]:
    """`batches` (INT96 read as ns), each checked against the same rows read as microseconds: an
    INT96 value outside timestamp[ns]'s years wraps around and then differs by far more than 1 us."""
    rows = 0
    for batch, micros in zip(batches, check, strict=True):
        for name in names:
            as_ns = batch.column(name).cast(pa.timestamp("us"), safe=False).cast(pa.int64())
            gap = pc.abs(pc.subtract(as_ns, micros.column(name).cast(pa.int64())))
            wrapped = pc.fill_null(pc.greater(gap, 1), False)
            if pc.any(wrapped).as_py():
                index = pc.index(wrapped, True).as_py()
                value = micros.column(name).slice(index, 1).cast(pa.string())[0].as_py()
                raise SourceError(
                    f"Reading Parquet file {where}: row {rows + index + 1}, column {name!r}: INT96 timestamp {value!r} "
                    "is outside timestamp[ns] (years 1677 to 2262); read the file with "
                    "int96_timestamp_unit='us' to keep such values (in microseconds)."
                )
        rows += batch.num_rows
        yield batch


class ParquetFormat(FileFormat):
    name = "parquet"
    extensions = (".parquet", ".pq")
    compressible = False
    read_options = frozenset({"columns", "column_types", "int96_timestamp_unit"})
    write_options = frozenset({"compression_codec", "row_group_size", "use_dictionary"})

    def read(self, source: FileSource, *, chunk_size: int, **options: Any) -> Iterator[pa.RecordBatch]:
        self.check_options(options, writing=False)
        declared = parse_column_types(options.get("column_types"))
        if source.open_seekable is None:
            raise SourceError(f"{source.name}: Parquet needs a random-access file; this store cannot provide one.")
        unit = options.get("int96_timestamp_unit", "ns")
        if unit not in INT96_UNITS:
            raise FormatOptionError(
                f"Unknown Parquet int96_timestamp_unit {unit!r}; use one of: {', '.join(INT96_UNITS)}."
            )
        with source.open_seekable() as stream:
            try:
                parquet = pq.ParquetFile(stream, coerce_int96_timestamp_unit=unit)
                schema = parquet.schema_arrow
                if options.get("columns"):
                    schema = pa.schema([schema.field(c) for c in options["columns"]])
                batches = parquet.iter_batches(batch_size=chunk_size, columns=options.get("columns"))
                int96 = [name for name in int96_columns(parquet) if name in schema.names]
                if unit == "ns" and int96:
                    microseconds = pq.ParquetFile(stream, coerce_int96_timestamp_unit="us")
                    check = microseconds.iter_batches(batch_size=chunk_size, columns=int96)
                    batches = _checked_int96(batches, check, int96, source.name)
                typed = (apply_column_types(b, declared, where=source.name) for b in or_empty(batches, schema))
                yield from rebatch(typed, chunk_size)
            except (pa.ArrowException, KeyError, ValueError, OSError) as error:
                raise SourceError(f"Cannot read Parquet file {source.name}: {error}") from error

    def write(self, batches: Iterable[pa.RecordBatch], sink: BinaryIO, **options: Any) -> int:
        self.check_options(options, writing=True)
        codec = options.get("compression_codec", "snappy")
        if codec not in CODECS:
            raise FormatOptionError(f"Unknown Parquet compression_codec {codec!r}; use one of: {', '.join(CODECS)}.")
        row_group_size = int(options.get("row_group_size", DEFAULT_ROW_GROUP_SIZE))
        use_dictionary = options.get("use_dictionary")
        if use_dictionary is not None and not isinstance(use_dictionary, (bool, list)):
            raise FormatOptionError("Parquet use_dictionary must be true, false or a list of column names.")
        writer: pq.ParquetWriter | None = None
        rows = 0
        try:
            for batch in batches:
                if writer is None:
                    dictionary = dictionary_columns(batch.schema) if use_dictionary is None else use_dictionary
                    writer = pq.ParquetWriter(sink, batch.schema, compression=codec, use_dictionary=dictionary)
                writer.write_batch(batch, row_group_size=row_group_size)
                rows += batch.num_rows
        except BaseException:
            if writer is not None:
                # Close now, while the sink is open; the caller discards what was written.
                with contextlib.suppress(Exception):
                    writer.close()
            raise
        if writer is not None:
            writer.close()
        return rows


register_format(ParquetFormat())
