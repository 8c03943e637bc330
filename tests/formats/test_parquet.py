from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_etl_provider.exceptions import FormatOptionError, SourceError
from airflow_etl_provider.formats import get_format
from airflow_etl_provider.formats.base import FileSource

PARQUET = get_format("parquet")


def source(data: bytes, name: str = "data.parquet") -> FileSource:
    return FileSource(name=name, open=lambda: io.BytesIO(data), open_seekable=lambda: io.BytesIO(data))


def write(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    PARQUET.write(table.to_batches(max_chunksize=3), sink, **options)
    return sink.getvalue()


def test_every_arrow_type_round_trips_exactly(table):
    nested = table.append_column("tags", pa.array([["a"], None, [], ["b", None]], pa.list_(pa.string())))
    back = pa.Table.from_batches(list(PARQUET.read(source(write(nested)), chunk_size=10)))
    assert back.schema == nested.schema
    assert back.equals(nested)


def test_reads_row_group_by_row_group_in_exact_chunks():
    table = pa.table({"n": pa.array(range(10_000), pa.int64())})
    data = write(table, row_group_size=1500)
    assert pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups > 3
    batches = list(PARQUET.read(source(data), chunk_size=4000))
    assert [b.num_rows for b in batches] == [4000, 4000, 2000]


@pytest.mark.parametrize("codec", ["zstd", "gzip", "none"])
def test_compression_codec_option(codec):
    data = write(pa.table({"n": [1, 2]}), compression_codec=codec)
    expected = "UNCOMPRESSED" if codec == "none" else codec.upper()
    assert pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0).compression == expected


def _dictionary_encoded(data: bytes) -> dict[str, bool]:
    row_group = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
    columns = [row_group.column(i) for i in range(row_group.num_columns)]
    return {c.path_in_schema: any("DICTIONARY" in e for e in c.encodings) for c in columns}


DICTIONARY_TABLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "status": ["new", "paid", "new", "paid"],
        "raw": pa.array([b"a", b"a", b"b", None]),
        "doc": pa.array(['{"a": 1}'] * 4, pa.json_(pa.string())),
    }
)


def test_by_default_only_text_and_binary_columns_are_dictionary_encoded():
    assert _dictionary_encoded(write(DICTIONARY_TABLE)) == {"id": False, "status": True, "raw": True, "doc": True}


@pytest.mark.parametrize(
    ("use_dictionary", "expected"),
    [
        (True, {"id": True, "status": True, "raw": True, "doc": True}),
        (False, {"id": False, "status": False, "raw": False, "doc": False}),
        (["id"], {"id": True, "status": False, "raw": False, "doc": False}),
    ],
)
def test_use_dictionary_option(use_dictionary, expected):
    data = write(DICTIONARY_TABLE, use_dictionary=use_dictionary)
    assert _dictionary_encoded(data) == expected
    assert pq.read_table(io.BytesIO(data)).equals(DICTIONARY_TABLE)


def test_a_malformed_use_dictionary_is_refused():
    with pytest.raises(FormatOptionError, match="use_dictionary must be true, false or a list"):
        write(DICTIONARY_TABLE, use_dictionary="yes")


def test_an_unknown_codec_is_refused():
    with pytest.raises(FormatOptionError, match="compression_codec 'zip'"):
        write(pa.table({"n": [1]}), compression_codec="zip")


def test_a_corrupt_file_names_the_file():
    with pytest.raises(SourceError, match="Cannot read Parquet file broken.parquet"):
        list(PARQUET.read(source(b"PAR1 not really", "broken.parquet"), chunk_size=10))


def test_an_empty_file_keeps_its_schema():
    sink = io.BytesIO()
    PARQUET.write([pa.RecordBatch.from_pylist([], schema=pa.schema([("n", pa.int64())]))], sink)
    data = sink.getvalue()
    batches = list(PARQUET.read(source(data), chunk_size=10))
    assert [b.num_rows for b in batches] == [0]
    assert batches[0].schema.names == ["n"]


# -- legacy INT96 timestamps (Impala, Hive, older Spark) -------------------------------------

FAR_FUTURE_US = 400_000_000_000_000_000  # 14645-06-30 15:06:40
FAR_PAST_US = -200_000_000_000_000_000  # -4368-04-02 04:26:40 (INT96 days count from 4713 BC)
NS_VALUE = 1_767_323_045_123_456_789  # 2026-01-02 03:04:05.123456789


def int96_file(values: list[int | None], unit: str = "us", chunk: int = 2) -> bytes:
    sink = io.BytesIO()
    table = pa.table({"id": range(len(values)), "t": pa.array(values, pa.timestamp(unit))})
    pq.write_table(table, sink, use_deprecated_int96_timestamps=True, row_group_size=chunk)
    return sink.getvalue()


def test_int96_timestamps_keep_their_nanoseconds():
    data = int96_file([NS_VALUE, None, -1], unit="ns")
    back = pa.Table.from_batches(list(PARQUET.read(source(data), chunk_size=2)))
    assert back.column("t").type == pa.timestamp("ns")
    assert back.column("t").cast(pa.int64()).to_pylist() == [NS_VALUE, None, -1]


def test_int96_timestamps_beyond_nanoseconds_range_are_refused_naming_row_and_column():
    data = int96_file([0, None, 1_000, FAR_FUTURE_US])  # Arrow would read the last as a year-1785 instant
    with pytest.raises(SourceError, match=r"row 4, column 't': INT96 timestamp '14645-06-30 15:06:40.000000'.*'us'"):
        list(PARQUET.read(source(data), chunk_size=2))


def test_int96_timestamp_unit_reads_far_years_exactly():
    data = int96_file([0, FAR_FUTURE_US, FAR_PAST_US])
    batches = list(PARQUET.read(source(data), chunk_size=2, int96_timestamp_unit="us"))
    back = pa.Table.from_batches(batches).column("t")
    assert back.type == pa.timestamp("us")
    assert back.cast(pa.int64()).to_pylist() == [0, FAR_FUTURE_US, FAR_PAST_US]


def test_unknown_int96_timestamp_unit_is_refused():
    with pytest.raises(FormatOptionError, match="int96_timestamp_unit"):
        list(PARQUET.read(source(int96_file([0])), chunk_size=2, int96_timestamp_unit="days"))
