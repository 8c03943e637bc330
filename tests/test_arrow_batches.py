from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_etl_provider.arrow_batches import or_empty, rebatch


def _batches(sizes: list[int]) -> list[pa.RecordBatch]:
    start = 0
    out = []
    for size in sizes:
        out.append(pa.record_batch({"n": pa.array(range(start, start + size), pa.int64())}))
        start += size
    return out


@pytest.mark.parametrize(
    ("sizes", "chunk_size", "expected"),
    [
        ([7, 3, 11, 0, 4], 5, [5, 5, 5, 5, 5]),
        ([1] * 9, 4, [4, 4, 1]),
        ([100], 30, [30, 30, 30, 10]),
        ([2, 2], 10, [4]),
    ],
)
def test_rebatch_yields_exact_chunk_sizes_in_order(sizes, chunk_size, expected):
    out = list(rebatch(_batches(sizes), chunk_size))
    assert [b.num_rows for b in out] == expected
    values = [v for b in out for v in b.column(0).to_pylist()]
    assert values == list(range(sum(sizes)))


def test_rebatch_is_lazy_and_holds_one_chunk():
    pulled = []

    def source():
        for batch in _batches([3] * 100):
            pulled.append(batch.num_rows)
            yield batch

    stream = rebatch(source(), 6)
    first = next(stream)
    assert first.num_rows == 6
    assert len(pulled) == 2


def test_an_empty_stream_keeps_its_schema_in_one_empty_batch():
    empty = pa.RecordBatch.from_pylist([], schema=pa.schema([("a", pa.string())]))
    out = list(rebatch([empty, empty], 10))
    assert [b.num_rows for b in out] == [0]
    assert out[0].schema.names == ["a"]
    assert list(rebatch([], 10)) == []


def test_or_empty_adds_a_schema_batch_only_when_nothing_came():
    schema = pa.schema([("a", pa.int64())])
    assert [b.num_rows for b in or_empty(iter([]), schema)] == [0]
    assert [b.num_rows for b in or_empty(iter(_batches([2])), schema)] == [2]


def test_rebatch_refuses_a_chunk_size_below_one():
    with pytest.raises(ValueError, match="chunk_size"):
        list(rebatch(_batches([1]), 0))
