"""MySQL / MariaDB into Arrow: the text-protocol decoder and the origin of result columns.

Rows are fetched raw (the text protocol's bytes) and each column is parsed by Arrow's own
casts, which is several times faster than letting the driver build Python objects. Column
types come from the declared types (`sql.mysql.arrow_type_for`) when known, else from the
cursor's description alone. On MariaDB, which of a query's result columns are bare JSON
table columns is read from the server's own rewrite of the query (EXPLAIN EXTENDED).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa

from airflow_etl_provider.arrow_kinds import JSON
from airflow_etl_provider.exceptions import SourceError
from airflow_etl_provider.sql.mysql import (
    MAX_DECIMAL_PRECISION,
    MAX_DECIMAL_SCALE,
    SIGNED_INTS,
    UNSIGNED_INTS,
    decimal_type,
)


@dataclass(frozen=True)
class ColumnType:
    """What a result column is, from the most precise metadata available."""

    name: str
    arrow_type: pa.DataType


def description_type(type_code: int, flags: int, charset: int | None) -> pa.DataType:
    """Arrow type from a cursor.description entry alone (used when no declared type is known).

    The driver reports neither display width nor precision, so TINYINT is an int8 and a
    decimal gets MySQL's widest DECIMAL(65,30).
    """
    from mysql.connector.constants import FieldFlag, FieldType

    unsigned = bool(flags & FieldFlag.UNSIGNED)
    ints = {
        FieldType.TINY: "tinyint",
        FieldType.SHORT: "smallint",
        FieldType.INT24: "mediumint",
        FieldType.LONG: "int",
        FieldType.LONGLONG: "bigint",
        FieldType.YEAR: "year",
    }
    if type_code in ints:
        return UNSIGNED_INTS.get(ints[type_code], pa.int16()) if unsigned else SIGNED_INTS[ints[type_code]]
    simple = {
        FieldType.FLOAT: pa.float32(),
        FieldType.DOUBLE: pa.float64(),
        FieldType.DATE: pa.date32(),
        FieldType.NEWDATE: pa.date32(),
        FieldType.DATETIME: pa.timestamp("us"),
        FieldType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
        FieldType.TIME: pa.time64("us"),
        FieldType.JSON: JSON,
        FieldType.DECIMAL: decimal_type(MAX_DECIMAL_PRECISION, MAX_DECIMAL_SCALE),
        FieldType.NEWDECIMAL: decimal_type(MAX_DECIMAL_PRECISION, MAX_DECIMAL_SCALE),
        FieldType.BIT: pa.binary(),
        FieldType.GEOMETRY: pa.binary(),
    }
    if type_code in simple:
        return simple[type_code]
    return pa.binary() if charset == 63 else pa.string()


# -- text protocol -> Arrow ---------------------------------------------------------------


def _parse_time(text: str) -> int:
    """Microseconds since midnight of a MySQL TIME value; durations outside a day do not fit time64."""
    negative = text.startswith("-")
    hours, minutes, seconds = text.lstrip("-").split(":")
    whole, _, fraction = seconds.partition(".")
    micros = ((int(hours) * 60 + int(minutes)) * 60 + int(whole)) * 1_000_000 + int((fraction + "000000")[:6])
    if negative or micros >= 86_400_000_000:
        raise ValueError(f"TIME {text!r} is a duration outside a day; select it as a string or number instead")
    return micros


def raw_column(raw: pa.Array, arrow_type: pa.DataType) -> pa.Array:
    """One column of raw text-protocol values (a binary array) as an Arrow array of `arrow_type`."""
    if pa.types.is_binary(arrow_type):
        return raw
    text = raw.cast(pa.string())
    if pa.types.is_boolean(arrow_type):
        return text.cast(pa.int8()).cast(pa.bool_())
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz:
        return text.cast(pa.timestamp(arrow_type.unit)).cast(arrow_type)
    if pa.types.is_time(arrow_type):
        return pa.array([None if v is None else _parse_time(v) for v in text.to_pylist()], pa.int64()).cast(arrow_type)
    return text.cast(arrow_type)


def raw_cells(rows: Sequence[Sequence[Any]]) -> pa.Array:
    """Rows fetched by a raw cursor as one binary array of their cells, row after row.

    One pass over the rows: transposing them in Python would cost more than fetching them.
    """
    return pa.array(list(chain.from_iterable(rows)), type=pa.binary())


def cells_batch(cells: pa.Array, columns: Sequence[ColumnType], *, source: str) -> pa.RecordBatch:
    """Row-major raw cells (`raw_cells`) as one RecordBatch; a value that does not parse names its column.

    Each column is a strided `take` of the cells, parsed by Arrow's casts.
    """
    width = len(columns)
    if len(cells) % width:
        raise SourceError(f"Reading {source}: rows do not all have {width} columns.")
    arrays = []
    for index, column in enumerate(columns):
        try:
            arrays.append(raw_column(cells.take(np.arange(index, len(cells), width)), column.arrow_type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as error:
            raise SourceError(
                f"Reading {source}: column {column.name!r} holds a value that is not {column.arrow_type}: {error}"
            ) from error
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([pa.field(c.name, c.arrow_type) for c in columns]))


# -- EXPLAIN EXTENDED -> column origins ---------------------------------------------------

_IDENT = r"`((?:[^`]|``)+)`"
#: A select item that is a bare table column, as MariaDB prints it: `db`.`table or alias`.`column` AS `name`.
_COLUMN_ITEM = re.compile(rf"{_IDENT}\.{_IDENT}\.{_IDENT} AS {_IDENT}")
#: A select item that is a column of a derived table: `derived`.`column` AS `name`.
_DERIVED_ITEM = re.compile(rf"{_IDENT}\.{_IDENT} AS {_IDENT}")
#: A table reference with an alias in the FROM clause: `db`.`table` `alias`.
_ALIASED_TABLE = re.compile(rf"{_IDENT}\.{_IDENT} {_IDENT}")
_DERIVED_ALIAS = re.compile(rf" {_IDENT}")
_SET_OPERATIONS = (" union ", " except ", " intersect ")
#: `select` with the options MariaDB may print before the first item.
_SELECT = re.compile(r"select (?:(?:distinct|all|straight_join|high_priority|sql_\w+) )*", re.IGNORECASE)


def _unquote(identifier: str) -> str:
    return identifier.replace("``", "`")


def column_origins(rewritten: str) -> dict[str, tuple[str, str, str]]:
    """Result column name -> (schema, table, column) for bare column references of the outer select.

    `rewritten` is MariaDB's canonical form of a query (EXPLAIN EXTENDED's note). A derived
    table in first place of FROM (one the optimizer did not merge) is followed inside; set
    operations (UNION...) give {} because a column there may also come from another branch.
    """
    items, rest = _outer_select(rewritten)
    if items is None or any(rest.lower().startswith(op, i) for i in _top_level(rest) for op in _SET_OPERATIONS):
        return {}
    derived: dict[str, dict[str, tuple[str, str, str]]] = {}
    if rest.startswith("("):
        close = next((i + 1 for i in _top_level(rest[1:]) if rest[i + 1] == ")"), None)
        alias = _DERIVED_ALIAS.match(rest, close + 1) if close else None
        if alias:
            derived[_unquote(alias[1])] = column_origins(rest[1:close])
    aliases = {(_unquote(m[0]), _unquote(m[2])): _unquote(m[1]) for m in _ALIASED_TABLE.findall(rest)}
    origins = {}
    for item in (item.strip() for item in items):
        if match := _COLUMN_ITEM.fullmatch(item):
            schema, table, column, name = (_unquote(part) for part in match.groups())
            origins[name] = (schema, aliases.get((schema, table), table), column)
        elif (match := _DERIVED_ITEM.fullmatch(item)) and (
            origin := derived.get(_unquote(match[1]), {}).get(_unquote(match[2]))
        ):
            origins[_unquote(match[3])] = origin
    return origins


def _outer_select(sql: str) -> tuple[list[str] | None, str]:
    """The outer select list split into items and the text after its FROM (None: no select ... from)."""
    lowered, items, start = sql.lower(), [], -1
    for index in _top_level(sql):
        if start < 0:
            if select := _SELECT.match(sql, index):
                start = select.end()
        elif index < start:
            continue
        elif sql[index] == ",":
            items.append(sql[start:index])
            start = index + 1
        elif lowered.startswith(" from ", index):
            items.append(sql[start:index])
            return items, sql[index + len(" from ") :]
    return None, ""


def _top_level(sql: str) -> Iterator[int]:
    """Indexes of `sql` outside quotes and parentheses (an unmatched closing parenthesis included)."""
    depth, quote, index = 0, "", 0
    while index < len(sql):
        char = sql[index]
        if quote:
            if (char == "\\" and quote == "'") or (char == quote and sql.startswith(quote, index + 1)):
                index += 1  # an escaped character, or a doubled quote
            elif char == quote:
                quote = ""
        else:
            if depth == 0:
                yield index
            if char in "'`\"":
                quote = char
            elif char in "()":
                depth += 1 if char == "(" else -1
        index += 1
