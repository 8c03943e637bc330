from __future__ import annotations

import io

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats import get_format
from airflow_etl_provider.formats import json as json_format
from airflow_etl_provider.formats.base import FileSource

JSON = get_format("json")
JSONL = get_format("jsonl")


def source(data: bytes, name: str = "data.json") -> FileSource:
    return FileSource(name=name, open=lambda: io.BytesIO(data))


def read(fmt, data: bytes, chunk_size: int = 100, **options) -> pa.Table:
    return pa.Table.from_batches(list(fmt.read(source(data), chunk_size=chunk_size, **options)))


def test_json_array_is_streamed_across_small_blocks(monkeypatch):
    monkeypatch.setattr(json_format, "BLOCK_CHARS", 7)  # every record and number straddles blocks
    records = "[\n" + ",\n".join(f'{{"n": {i * 1234567}, "s": "v{i} ✓"}}' for i in range(50)) + "\n]"
    batches = list(JSON.read(source(records.encode()), chunk_size=20))
    assert [b.num_rows for b in batches] == [20, 20, 10]
    table = pa.Table.from_batches(batches)
    assert table.column("n").to_pylist() == [i * 1234567 for i in range(50)]
    assert table.column("s").to_pylist()[-1] == "v49 ✓"


def test_records_path_skips_other_values_and_descends(monkeypatch):
    monkeypatch.setattr(json_format, "BLOCK_CHARS", 5)
    data = b'{"meta": {"skip": [1, 2, {"a": "]"}]}, "data": {"count": 2, "items": [{"a": 1}, {"a": 2}]}, "z": 0}'
    assert read(JSON, data, records_path="data.items").column("a").to_pylist() == [1, 2]
    with pytest.raises(SourceError, match="records_path 'data.rows' not found"):
        read(JSON, data, records_path="data.rows")


def test_a_top_level_object_without_records_path_says_how_to_fix_it():
    with pytest.raises(SourceError, match="set the records_path option"):
        read(JSON, b'{"data": []}')


def test_json_syntax_error_names_file_and_line():
    data = b'[\n{"a": 1},\n{"a": 2},\n{"a": oops}\n]'
    with pytest.raises(SourceError, match=r"Malformed JSON in data.json, line 4: Expecting value"):
        read(JSON, data)


def test_json_writer_wraps_records_path_and_reads_back():
    table = pa.table({"a": [1, None], "b": ["x", "y"]})
    sink = io.BytesIO()
    JSON.write(table.to_batches(), sink, records_path="result.rows")
    assert sink.getvalue().startswith(b'{"result":{"rows":[')
    assert read(JSON, sink.getvalue(), records_path="result.rows").equals(table)


def test_empty_array_and_empty_batches_write_valid_json():
    sink = io.BytesIO()
    JSON.write([pa.RecordBatch.from_pylist([], schema=pa.schema([("a", pa.int64())]))], sink)
    assert sink.getvalue() == b"[\n]\n"
    assert read(JSON, sink.getvalue(), column_types={"a": "int64"}).num_rows == 0


def test_jsonl_error_names_file_and_line():
    data = b'{"a": 1}\n\n{"a": 2}\n{"a": 3,,}\n'
    with pytest.raises(SourceError, match=r"Malformed JSON in data.json, line 4, column 9"):
        read(JSONL, data)


def test_jsonl_later_chunk_that_does_not_fit_the_first_types_names_rows():
    data = b"".join(b'{"a": %d}\n' % i for i in range(4)) + b'{"a": "text"}\n'
    with pytest.raises(SourceError, match=r"lines 5-5: values do not fit the types inferred"):
        read(JSONL, data, chunk_size=2)


def test_jsonl_new_field_after_the_first_chunk_is_refused_with_its_line():
    data = b'{"a": 1}\n{"a": 2}\n{"a": 3, "b": 1}\n'
    with pytest.raises(SourceError, match=r"line 3: field\(s\) b did not appear"):
        read(JSONL, data, chunk_size=2)


def test_jsonl_mixed_types_in_a_chunk_names_the_line():
    data = b'{"a": 1}\n{"a": [1]}\n'
    with pytest.raises(SourceError, match=r"line 2: column 'a' mixes value types"):
        read(JSONL, data)


def test_jsonl_missing_keys_become_nulls_and_nested_values_are_kept():
    table = read(JSONL, b'{"a": 1, "tags": ["x"]}\n{"b": {"c": true}}\n')
    assert table.to_pylist() == [{"a": 1, "tags": ["x"], "b": None}, {"a": None, "tags": None, "b": {"c": True}}]


def test_a_non_object_record_is_refused():
    with pytest.raises(SourceError, match="line 2: expected an object"):
        read(JSONL, b'{"a": 1}\n[1, 2]\n')


def test_a_column_declared_json_keeps_strings_as_json_text_and_encodes_nested_values():
    """Strings are JSON text (how the writers store a JSON column); objects, arrays and numbers are JSON values."""
    data = b'{"doc": "{\\"a\\": 1}"}\n{"doc": {"b": [1, "x"]}}\n{"doc": null}\n{"doc": 2.5}\n'
    for fmt in (JSONL, JSON):
        text = data if fmt is JSONL else b"[" + data.strip().replace(b"\n", b",") + b"]"
        back = read(fmt, text, column_types={"doc": "json"})
        assert back.schema.field("doc").type == pa.json_(pa.string())
        assert back.column("doc").to_pylist() == ['{"a": 1}', '{"b":[1,"x"]}', None, "2.5"]


def test_declared_bool_columns_take_json_booleans_and_text_spellings():
    back = read(JSONL, b'{"flag": "t"}\n{"flag": "F"}\n{"flag": null}\n', column_types={"flag": "bool"})
    assert back.column("flag").to_pylist() == [True, False, None]
