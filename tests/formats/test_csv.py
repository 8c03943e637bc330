from __future__ import annotations

import io

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats import FormatOptionError, get_format
from airflow_etl_provider.formats.base import FileSource

CSV = get_format("csv")


def source(data: bytes, name: str = "data.csv") -> FileSource:
    return FileSource(name=name, open=lambda: io.BytesIO(data))


def write(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    assert CSV.write(table.to_batches(max_chunksize=2), sink, **options) == table.num_rows
    return sink.getvalue()


def read(data: bytes, chunk_size: int = 1000, **options) -> pa.Table:
    return pa.Table.from_batches(list(CSV.read(source(data), chunk_size=chunk_size, **options)))


def test_every_type_round_trips_with_declared_types(table, declared_types):
    back = read(write(table), column_types=declared_types)
    assert back.equals(table), back.to_pylist()


def test_inferred_types_keep_ints_with_nulls_and_text_byte_identical(table, declared_types):
    back = read(write(table))
    assert back.schema.field("count").type == pa.int64()
    assert back.column("count").to_pylist() == table.column("count").to_pylist()
    assert back.column("name").to_pylist() == table.column("name").to_pylist()
    assert back.column("flag").to_pylist() == table.column("flag").to_pylist()


def test_decimals_are_plain_text_and_binary_is_base64(table, declared_types):
    text = write(table).decode()
    assert "-9999999999999999.99" in text
    assert "AP8Q" in text  # base64 of b"\x00\xff\x10"


def test_batches_have_exactly_chunk_size_rows_across_blocks():
    data = b"n,s\n" + b"".join(b"%d,row %d\n" % (i, i) for i in range(10_000))
    batches = list(CSV.read(source(data), chunk_size=3000, block_size=4096))
    assert [b.num_rows for b in batches] == [3000, 3000, 3000, 1000]
    assert batches[-1].column("n").to_pylist()[-1] == 9999


def test_wrong_column_count_names_the_file_and_line_after_a_multiline_value():
    data = b'a,b\n1,"two\nlines"\n2,x\n3,y,extra\n'
    with pytest.raises(SourceError, match=r"Malformed CSV in data.csv, line 5: expected 2 columns, got 3"):
        read(data)


def test_a_value_of_the_wrong_type_names_line_and_column():
    data = b"a,b\n1,x\n2,y\nnot-a-number,z\n"
    with pytest.raises(SourceError, match=r"data.csv, line 4: column #1: invalid value 'not-a-number' for type int64"):
        read(data, column_types={"a": "int64"})


def test_delimiter_header_and_encoding_options():
    table = pa.table({"a": [1, 2], "b": ["é", "ß"]})
    data = write(table, delimiter=";", header=False, encoding="latin-1")
    assert data == '1;"é"\n2;"ß"\n'.encode("latin-1")
    back = read(data, delimiter=";", header=False, column_names=["a", "b"], encoding="latin-1")
    assert back.equals(table)


def test_quoting_all_quotes_every_text_value():
    assert write(pa.table({"s": ["x"]}), quoting="all").splitlines() == [b'"s"', b'"x"']


def test_a_header_only_file_gives_one_empty_batch_with_its_columns():
    batches = list(CSV.read(source(b"a,b\n"), chunk_size=10))
    assert [b.num_rows for b in batches] == [0]
    assert batches[0].schema.names == ["a", "b"]


def test_unknown_options_are_refused_with_the_known_ones():
    with pytest.raises(FormatOptionError, match="Unknown csv option.*delimter.*Known: .*delimiter"):
        list(CSV.read(source(b"a\n1\n"), chunk_size=1, delimter=";"))
