"""Records path with fallbacks, nested objects, and the running Arrow schema across chunks."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import time

import pyarrow as pa
import pytest

from airflow_etl_provider.arrow_kinds import JSON
from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.formats.arrow_types import parse_column_types
from airflow_etl_provider.rest.batching import ArrowBatcher, promote
from airflow_etl_provider.rest.encode import encode_records, record_batches
from airflow_etl_provider.rest.records import find_records, get_path, nest_record, shape_record
from airflow_etl_provider.rest.redact import Redactor
from airflow_etl_provider.rest.retry import RetryPolicy, parse_retry_after


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        ({"data": {"items": [1, 2]}}, "data.items", [1, 2]),
        ({"data": {"items": [1, 2]}}, "", [1, 2]),
        ({"data": [1]}, "", [1]),
        ({"results": [2], "count": 1}, "", [2]),
        ({"items": [3]}, "", [3]),
        ([4, 5], "", [4, 5]),
        ({"id": 9}, "", [{"id": 9}]),
        ({"payload": {"one": 1}}, "payload", [{"one": 1}]),
    ],
)
def test_find_records(body, path, expected) -> None:
    assert find_records(body, path) == expected


def test_missing_records_path_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        find_records({"data": []}, "data.items")


def test_get_path_handles_lists_and_missing_steps() -> None:
    assert get_path({"a": [{"b": 1}]}, "a.0.b") == 1
    assert get_path({"a": 1}, "a.b") is None


def test_nested_objects_flattened_or_json() -> None:
    record = {"id": 1, "address": {"city": "Oslo", "geo": {"lat": 59.9}}, "tags": ["a", "b"]}
    assert shape_record(record, "flatten") == {
        "id": 1,
        "address__city": "Oslo",
        "address__geo__lat": 59.9,
        "tags": '["a","b"]',
    }
    assert shape_record(record, "json") == {
        "id": 1,
        "address": '{"city":"Oslo","geo":{"lat":59.9}}',
        "tags": '["a","b"]',
    }
    assert shape_record(7) == {"value": 7}


def test_chunks_have_chunk_size_rows_whatever_the_page_size() -> None:
    batcher = ArrowBatcher(chunk_size=70)
    batches = []
    for page in range(10):  # pages of 33 rows
        batches += batcher.add({"id": page * 33 + i} for i in range(33))
    batches += batcher.flush()
    assert [b.num_rows for b in batches] == [70, 70, 70, 70, 50]


def test_late_field_lands_and_missing_fields_are_null() -> None:
    batcher = ArrowBatcher(chunk_size=3)
    rows = [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4, "email": "d@x"}, {"id": 5}]
    batches = [*batcher.add(rows), *batcher.flush()]
    assert batches[0].schema.names == ["id"]
    assert batches[1].schema == pa.schema([("id", pa.int64()), ("email", pa.string())])
    assert batches[1].column("email").to_pylist() == ["d@x", None]


def test_types_stay_stable_across_chunks() -> None:
    batcher = ArrowBatcher(chunk_size=2)
    rows = [
        {"a": None, "b": 1},
        {"a": None, "b": 2},
        {"a": "x", "b": 3},
        {"a": None, "b": None},
        {"a": None, "b": 4},
        {"a": "y", "b": 5},
    ]
    batches = [*batcher.add(rows), *batcher.flush()]
    assert [b.schema.field("b").type for b in batches] == [pa.int64()] * 3
    assert batches[2].schema.field("a").type == pa.string()  # fixed once seen, kept when a chunk is all null
    assert batches[2].column("a").to_pylist() == [None, "y"]


def test_incompatible_values_promote_the_column() -> None:
    batcher = ArrowBatcher(chunk_size=2)
    batches = [*batcher.add([{"n": 1}, {"n": 2}, {"n": 2.5}, {"n": 3}, {"n": "many"}, {"n": 4}])]
    assert [b.schema.field("n").type for b in batches] == [pa.int64(), pa.float64(), pa.string()]
    assert batches[2].column("n").to_pylist() == ["many", "4"]


def test_mixed_values_in_one_chunk_become_text() -> None:
    batch = next(ArrowBatcher(chunk_size=2).add([{"v": 1}, {"v": "one"}]))
    assert batch.column("v").to_pylist() == ["1", "one"]


def test_promote() -> None:
    assert promote(pa.null(), pa.int64()) == pa.int64()
    assert promote(pa.int64(), pa.float64()) == pa.float64()
    assert promote(pa.bool_(), pa.int64()) == pa.string()


def test_encode_decimals_timestamps_and_nan() -> None:
    record = {
        "price": decimal.Decimal("12345678901234567890.12"),
        "at": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
        "day": dt.date(2026, 1, 2),
        "ratio": float("nan"),
        "raw": b"\x00\x01",
    }
    assert json.loads(encode_records([record])) == [
        {
            "price": "12345678901234567890.12",
            "at": "2026-01-02T03:04:00+00:00",
            "day": "2026-01-02",
            "ratio": None,
            "raw": "AAE=",
        }
    ]
    assert json.loads(encode_records([{"p": decimal.Decimal("1.5")}], decimals="number")) == [{"p": 1.5}]


def test_record_batches_regroup_chunks_and_number_records() -> None:
    chunks = [pa.record_batch({"id": list(range(s, s + n))}) for s, n in ((0, 7), (7, 1), (8, 12))]
    groups = list(record_batches(iter(chunks), 5))
    assert [(start, len(records)) for start, records in groups] == [(0, 5), (5, 5), (10, 5), (15, 5)]
    assert groups[1][1][0] == {"id": 5}


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10
    assert parse_retry_after("soon") is None
    assert RetryPolicy(max_retries=5, backoff_factor=1, backoff_max=5).delay(4, None) == 5
    assert RetryPolicy(max_retries=1).delay(1, "3") == 3


def test_redactor_strips_credentials_from_urls_and_text() -> None:
    redactor = Redactor(secrets=["hunter2-secret"], query_params=["sig"])
    url = "https://user:pw@api.example.com/x?page=2&sig=abc&api_key=k123&q=hunter2-secret"
    assert redactor.url(url) == "https://api.example.com/x?page=2&sig=***&api_key=***&q=***"
    assert redactor.text("token hunter2-secret!") == "token ***!"


def test_batcher_is_fast_enough_for_streaming() -> None:
    rows = [{"id": i, "name": "x", "score": i / 3} for i in range(50_000)]
    started = time.perf_counter()
    batches = [*ArrowBatcher(chunk_size=10_000).add(rows)]
    assert sum(b.num_rows for b in batches) == 50_000
    assert time.perf_counter() - started < 5


def _extract(records: list[dict], chunk_size: int) -> list[pa.RecordBatch]:
    batcher = ArrowBatcher(chunk_size=chunk_size)
    return [*batcher.add(shape_record(r) for r in records), *batcher.flush()]


def test_null_parent_object_after_real_ones_adds_no_column() -> None:
    records = [
        {"Id": "A", "Owner": {"Name": "Ada"}},
        {"Id": "B", "Owner": {"Name": "Grace"}},
        {"Id": "C", "Owner": None},
        {"Id": "D", "Owner": {"Name": "Linus"}},
        {"Id": "E", "Owner": None},
    ]
    batches = _extract(records, chunk_size=2)
    expected = pa.schema([("Id", pa.string()), ("Owner__Name", pa.string())])
    assert [b.schema for b in batches] == [expected] * 3
    assert [r["Owner__Name"] for b in batches for r in b.to_pylist()] == ["Ada", "Grace", None, "Linus", None]


def test_column_null_at_first_joins_once_a_value_types_it() -> None:
    records = [
        {"id": 1, "Owner": None, "note": None},
        {"id": 2, "Owner": None, "note": None},
        {"id": 3, "Owner": {"Name": "Ada"}, "note": None},
        {"id": 4, "Owner": None, "note": "late"},
        {"id": 5, "Owner": None, "note": None},
    ]
    batches = _extract(records, chunk_size=2)
    assert [b.schema.names for b in batches] == [["id"], ["id", "Owner__Name", "note"], ["id", "Owner__Name", "note"]]
    assert not any(pa.types.is_null(f.type) for b in batches for f in b.schema)
    assert batches[1].column("note").to_pylist() == [None, "late"]
    assert batches[2].schema == batches[1].schema


def test_chunk_of_all_null_records_keeps_its_rows() -> None:
    [batch] = _extract([{"a": None}, {"a": None}], chunk_size=5)
    assert batch.num_rows == 2 and batch.num_columns == 0


def _batches(rows: list[dict], chunk_size: int, **kwargs) -> list[pa.RecordBatch]:
    batcher = ArrowBatcher(chunk_size, name="the test API", **kwargs)
    return [*batcher.add(rows), *batcher.flush()]


def test_iso_date_times_become_utc_timestamps_in_every_chunk() -> None:
    rows = [{"id": i, "at": "2026-01-01T12:00:00Z" if i % 2 else "2026-01-01T14:30:00.25+02:00"} for i in range(5)]
    batches = _batches(rows, 2, detect_timestamps=True)
    assert {b.schema.field("at").type for b in batches} == {pa.timestamp("us", tz="UTC")}
    values = pa.Table.from_batches(batches).column("at").to_pylist()
    assert values[0] == dt.datetime(2026, 1, 1, 12, 30, 0, 250000, tzinfo=dt.timezone.utc)
    assert values[1] == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_date_times_without_offset_are_naive_and_others_stay_text() -> None:
    rows = [
        {"local": "2026-01-01 12:00:00", "mixed": "2026-01-01T12:00:00Z", "day": "2026-01-01", "text": "soon"},
        {"local": None, "mixed": "2026-01-01T12:00:00", "day": "2026-01-02", "text": "2026-01-01T12:00:00Z"},
    ]
    schema = _batches(rows, 10, detect_timestamps=True)[0].schema
    assert schema.field("local").type == pa.timestamp("us")
    assert [schema.field(n).type for n in ("mixed", "day", "text")] == [pa.string()] * 3


def test_detection_off_keeps_text() -> None:
    assert _batches([{"at": "2026-01-01T12:00:00Z"}], 1)[0].schema.field("at").type == pa.string()


@pytest.mark.parametrize("bad", ["not a date", "2026-01-01T12:00:00", 1767268800])
def test_a_later_value_that_does_not_parse_names_the_record_and_field(bad) -> None:
    rows = [{"id": i, "created": "2026-01-01T12:00:00Z"} for i in range(1, 5)] + [{"id": 5, "created": bad}]
    with pytest.raises(SourceError) as error:
        _batches(rows, 2, detect_timestamps=True)
    message = str(error.value)
    assert "the test API, record 4 (id 5): field 'created'" in message and repr(bad) in message
    assert "timestamp[us, tz=UTC]" in message


def test_declared_column_types_use_the_formats_conversion() -> None:
    rows = [{"amount": "12.50", "n": None, "at": "2026-01-01T12:00:00+02:00"}, {"amount": 3, "n": 7, "at": None}]
    declared = parse_column_types({"amount": "decimal128(10,2)", "n": "int32", "at": "timestamp[us, tz=UTC]"})
    [batch] = _batches(rows, 10, column_types=declared)
    assert batch.schema.field("amount").type == pa.decimal128(10, 2) and batch.schema.field("n").type == pa.int32()
    assert batch.column("amount").to_pylist() == [decimal.Decimal("12.50"), decimal.Decimal("3.00")]
    assert batch.column("at").to_pylist()[0] == dt.datetime(2026, 1, 1, 10, tzinfo=dt.timezone.utc)


def test_a_declared_column_refuses_a_value_instead_of_nulling_it() -> None:
    declared = parse_column_types({"n": "int64"})
    with pytest.raises(SourceError, match=r"record 3: field 'n' holds 'three'.*declared in column_types"):
        _batches([{"n": 1}, {"n": 2}, {"n": 3}, {"n": "three"}], 2, column_types=declared)


def test_an_empty_object_is_null_when_flattened_and_json_text_otherwise() -> None:
    assert shape_record({"id": 1, "meta": {}, "tags": []}) == {"id": 1, "meta": None, "tags": "[]"}
    assert shape_record({"id": 1, "meta": {}}, "json") == {"id": 1, "meta": "{}"}
    rows = [shape_record(r) for r in ({"id": 1, "meta": {}}, {"id": 2, "meta": {"a": 5}}, {"id": 3, "meta": {}})]
    [batch] = _batches(rows, 10)
    assert batch.schema.names == ["id", "meta__a"] and batch.column("meta__a").to_pylist() == [None, 5, None]


def test_nest_record_reverses_flattening() -> None:
    record = {"id": 1, "address": {"city": "Oslo", "geo": {"lat": 59.9}}, "tags": "[]"}
    assert nest_record(shape_record(record)) == record
    assert nest_record({"__meta": 1, "a____b": 2}) == {"__meta": 1, "a____b": 2}
    with pytest.raises(ValueError, match="column 'address' holds a value and is also the parent of column"):
        nest_record({"address": "Oslo", "address__city": "Oslo"})
    with pytest.raises(ValueError, match="column 'address' holds a value"):
        nest_record({"address__city": "Oslo", "address": "Oslo"})


def test_json_columns_are_sent_as_json_values() -> None:
    column = pa.ExtensionArray.from_storage(JSON, pa.array(['{"a":[1,2]}', None, "3"]))
    [(start, records)] = list(record_batches(iter([pa.record_batch([column], names=["doc"])]), 10))
    assert json.loads(encode_records(records)) == [{"doc": {"a": [1, 2]}}, {"doc": None}, {"doc": 3}]


def test_a_declared_decimal_refuses_digits_beyond_its_scale_instead_of_rounding() -> None:
    declared = parse_column_types({"amount": "decimal128(10,2)"})
    [batch] = _batches([{"amount": 0.1}, {"amount": 12.5}], 10, column_types=declared)
    assert batch.column("amount").to_pylist() == [decimal.Decimal("0.10"), decimal.Decimal("12.50")]
    with pytest.raises(SourceError, match=r"record 1: field 'amount' holds 0.123.*data loss"):
        _batches([{"amount": 1}, {"amount": 0.123}], 10, column_types=declared)
