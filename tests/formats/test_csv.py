from __future__ import annotations

import io
import time

import pyarrow as pa
import pytest

from airflow_etl_provider.exceptions import FormatOptionError, SourceError
from airflow_etl_provider.formats import get_format
from airflow_etl_provider.formats.base import FileSource
from airflow_etl_provider.formats.csv import READ_AHEAD_BLOCKS

CSV = get_format("csv")


def source(data: bytes, name: str = "data.csv") -> FileSource:
    return FileSource(name=name, open=lambda: io.BytesIO(data))


def write(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    assert CSV.write(table.to_batches(max_chunksize=2), sink, **options) == table.num_rows
    return sink.getvalue()


def read(data: bytes, chunk_size: int = 1000, name: str = "data.csv", **options) -> pa.Table:
    return pa.Table.from_batches(list(CSV.read(source(data, name), chunk_size=chunk_size, **options)))


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


def broken_file(rows: int = 20_000, broken_line: int = 15_001) -> bytes:
    """`rows` data lines after a header; the value on `broken_line` opens a quote it never closes."""
    lines = ["id,text"] + [f"{i},row {i}" for i in range(1, rows + 1)]
    lines[broken_line - 1] = f'{broken_line - 1},"broken'
    return ("\n".join(lines) + "\n").encode()


def test_an_unterminated_quote_near_the_end_names_the_line_where_it_opened():
    """Arrow's reader takes the rest of the file as one value: 15,000 of 20,000 rows, no error."""
    with pytest.raises(SourceError, match=r"broken.csv, line 15001: .*no closing quote"):
        read(broken_file(), name="broken.csv")


def test_an_unterminated_quote_on_the_last_line_is_refused():
    with pytest.raises(SourceError, match=r"data.csv, line 3: .*no closing quote"):
        read(b'a,b\n1,"x"\n2,"y\n')


def test_a_straddling_value_is_blamed_on_its_open_quote_not_the_block_size():
    """A small block size makes Arrow fail with "try to increase block size?", which would hide it again."""
    with pytest.raises(SourceError, match=r"broken.csv, line 15001: .*no closing quote") as caught:
        read(broken_file(), name="broken.csv", block_size=16_384)
    assert "increase block size" not in str(caught.value)


@pytest.mark.parametrize("block_size", [4_096, 1 << 20])
def test_a_quoted_value_longer_than_max_field_bytes_is_refused_while_reading(block_size):
    """The long value crosses the first block boundary when blocks are 4 KiB."""
    data = b"a,b\n" + b'1,"short"\n' * 300 + b'2,"' + b'x""' * 1_000 + b'"\n3,z\n'
    back = read(data, max_field_bytes=3_000, block_size=block_size)
    assert back.column("b").to_pylist() == ["short"] * 300 + ['x"' * 1_000, "z"]
    with pytest.raises(SourceError, match=r"data.csv, line 302: .*longer than max_field_bytes \(2999\)"):
        read(data, max_field_bytes=2_999, block_size=block_size)


def test_max_field_bytes_stops_reading_a_runaway_quote_before_the_end_of_the_file():
    reads = []

    class Counting(io.BytesIO):
        def read(self, size=-1):
            reads.append(self.tell())
            return super().read(size)

    data = b'a,b\n1,"never closed\n' + b"2,filler row\n" * 400_000  # 5.2 MB
    src = FileSource(name="big.csv", open=lambda: Counting(data))
    with pytest.raises(SourceError, match=r"big.csv, line 2: .*longer than max_field_bytes"):
        list(CSV.read(src, chunk_size=1000, block_size=65_536, max_field_bytes=100_000))
    assert max(reads) < 1_000_000


def test_quotes_inside_unquoted_values_are_literal_and_do_not_hide_an_open_quote():
    """Arrow opens a quote only at the start of a value: 12" is a literal quote, as in `5,12" pipe`."""
    good = b'a,b\n1,12" pipe\n2,"say ""hi"", then"\n3,"x"y"\n'
    assert read(good).column("b").to_pylist() == ['12" pipe', 'say "hi", then', 'xy"']
    with pytest.raises(SourceError, match=r"data.csv, line 3: .*no closing quote"):
        read(b'a,b\n1,12" pipe\n2,"open\n3,x\n')


def test_escaped_quotes_split_across_blocks_read_back_intact():
    values = ['q""uote' * (i % 7) + ',\n"' * (i % 3) for i in range(3_000)]
    table = pa.table({"id": list(range(3_000)), "text": values})
    for block_size in (1_024, 4_099):
        back = read(write(table), block_size=block_size)
        assert back.column("text").to_pylist() == values


def test_an_unterminated_quote_is_found_in_other_encodings_and_after_a_bom():
    with pytest.raises(SourceError, match=r"data.csv, line 2: .*no closing quote"):
        read('a,b\n1,"é\n2,x\n'.encode("latin-1"), encoding="latin-1")
    with pytest.raises(SourceError, match=r"data.csv, line 3: .*no closing quote"):
        read(b'\xef\xbb\xbf"a","b"\n1,"x"\n2,"y\n')
    assert read(b'\xef\xbb\xbf"a","b"\n1,"x"\n').to_pylist() == [{"a": 1, "b": "x"}]
    with pytest.raises(SourceError, match="Empty CSV file"):  # as for an empty file, not an IndexError
        read(b"\xef\xbb\xbf")


def open_quote_line(data: bytes) -> int | None:
    """The line of the quoted value still open at the end, following Arrow's parser byte by byte."""
    state, line, opened = "field_start", 1, None
    for byte in data:
        char = chr(byte)
        if state == "quoted":
            state = "quote_in_quoted" if char == '"' else "quoted"
        elif state == "quote_in_quoted" and char == '"':
            state = "quoted"
        elif char == '"' and state == "field_start":
            state, opened = "quoted", line
        else:
            state = "field_start" if char in ",\n\r" else "field"
        line += char == "\n"
    return opened if state == "quoted" else None


@pytest.mark.parametrize("seed", range(16))
def test_the_quote_check_agrees_with_a_byte_by_byte_parser_at_every_block_size(seed):
    """Random bytes (literal quotes everywhere) and truncated well-formed files, cut into blocks of every size."""
    import random

    rng = random.Random(seed)
    sloppy = "".join(rng.choice('ab,,"""\n\r ') for _ in range(1_500))
    fields = ['"' + "".join(rng.choice('a,""\n') for _ in range(rng.randrange(6))) + '"' for _ in range(600)]
    well_formed = "".join(field + rng.choice(",\n") for field in fields)[: rng.randrange(1, 4_000)]
    for data in (sloppy.encode(), well_formed.encode()):
        check_guard(data)


def check_guard(data: bytes) -> None:
    from airflow_etl_provider.formats.csv_quotes import QuoteGuard

    expected = open_quote_line(data)
    for block_size in (1, 2, 3, 7, 64, 4_096):
        guard = QuoteGuard(
            io.BytesIO(data),
            name="r.csv",
            reopen=lambda: io.BytesIO(data),
            quote_char='"',
            delimiter=",",
            max_field_bytes=1 << 20,
        )
        while guard.read(block_size):
            pass
        if expected is None:
            guard.finish()
        else:
            with pytest.raises(SourceError, match=rf"r.csv, line {expected}: "):
                guard.finish()


def test_declared_bool_columns_read_the_spellings_postgres_and_mysql_write():
    """PostgreSQL's COPY ... CSV writes t/f; MySQL writes 1/0; case does not matter."""
    data = b"id,flag\n1,t\n2,f\n3,T\n4,FALSE\n5,1\n6,0\n7,true\n8,\n9,False\n"
    back = read(data, column_types={"flag": "bool"})
    assert back.schema.field("flag").type == pa.bool_()
    assert back.column("flag").to_pylist() == [True, False, True, False, True, False, True, None, False]


def test_an_invalid_bool_spelling_names_the_line_and_column():
    data = b'id,flag,note\n1,t,x\n2,f,"multi\nline"\n3,maybe,y\n4,f,z\n'
    with pytest.raises(SourceError, match=r"data.csv, line 5: column #2 \('flag'\): invalid value 'maybe' for .*bool"):
        read(data, column_types={"flag": "bool", "id": "int64"})


class _CountingStream(io.BytesIO):
    """Remembers how far the reader has read."""

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.read_up_to = self.tell()
        return block


def test_arrow_reads_only_a_few_blocks_beyond_the_batches_taken():
    """Left alone, Arrow's streaming reader fetches up to 32 blocks ahead of its consumer, all in memory."""
    block_size = 4096
    data = b"n,s\n" + b"".join(b'%d,"row ""%d"""\n' % (i, i) for i in range(60_000))
    assert len(data) > 200 * block_size
    stream = _CountingStream(data)
    batches = CSV.read(FileSource(name="data.csv", open=lambda: stream), chunk_size=100, block_size=block_size)
    first = next(batches)
    time.sleep(0.5)  # plenty of time for Arrow's I/O thread to run ahead as far as it may
    assert first.num_rows == 100
    assert stream.read_up_to <= (READ_AHEAD_BLOCKS + 3) * block_size
    rest = list(batches)
    assert sum(b.num_rows for b in rest) == 60_000 - 100
    assert rest[-1].column("s").to_pylist()[-1] == 'row "59999"'


def test_a_read_stopped_early_does_not_hang():
    data = b"n\n" + b"".join(b"%d\n" % i for i in range(200_000))
    batches = CSV.read(source(data), chunk_size=10, block_size=4096)
    assert next(batches).num_rows == 10
    started = time.monotonic()
    batches.close()
    assert time.monotonic() - started < 2
