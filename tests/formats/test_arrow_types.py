from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_etl_provider.formats.arrow_types import apply_column_types, parse_type


@pytest.mark.parametrize(
    "arrow_type",
    [
        pa.int64(),
        pa.string(),
        pa.bool_(),
        pa.float64(),
        pa.date32(),
        pa.decimal128(18, 2),
        pa.decimal256(40, 5),
        pa.timestamp("us"),
        pa.timestamp("us", tz="UTC"),
        pa.timestamp("ms", tz="Europe/Paris"),
        pa.time64("us"),
        pa.duration("s"),
        pa.binary(),
        pa.large_string(),
        pa.json_(pa.string()),
    ],
)
def test_parse_type_reads_what_arrow_prints(arrow_type):
    assert parse_type(str(arrow_type)) == arrow_type


@pytest.mark.parametrize("spelling", ["json", "JSON", "arrow.json", "extension<arrow.json>"])
def test_parse_type_reads_json_as_the_arrow_json_extension(spelling):
    assert parse_type(spelling) == pa.json_(pa.string())


def test_parse_type_accepts_short_decimal_and_refuses_nonsense():
    assert parse_type("decimal(10,3)") == pa.decimal128(10, 3)
    with pytest.raises(ValueError, match="Unknown Arrow type 'money'"):
        parse_type("money")


def test_apply_column_types_names_the_column_that_does_not_fit():
    batch = pa.record_batch({"a": pa.array(["1.5", "x"])})
    with pytest.raises(ValueError, match="f.csv: column 'a' cannot be read as decimal128"):
        apply_column_types(batch, {"a": pa.decimal128(5, 1)}, where="f.csv")
