"""How a partitioned transfer splits its source: partitions that cover every row exactly once.

Three ways, chosen by `partition_by`:

- a column (`partition_by="id"`): ranges of its values, `even` (equal widths between the
  minimum and maximum: two index lookups) or by `quantiles` (equal row counts: one sort of the
  column on the source). The first range is open below and also takes the NULLs, the last is
  open above, so a row is in exactly one range whatever its value;
- `"ctid"` (PostgreSQL tables): ranges of the table's pages, read with TID range scans as
  DuckDB's postgres scanner does; no index needed, each part reads its own pages only;
- a file source (folder, prefix or glob): its files in name order, split into contiguous
  groups of (nearly) equal count, each group a `names_from` / `names_before` range.

Values travel as query parameters, never spliced into the SQL.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_etl_provider.exceptions import EtlError
from airflow_etl_provider.hooks.base import ConnectorHook
from airflow_etl_provider.hooks.file_base import FileConnectorHook
from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.incremental.sql import bind_value, placeholder
from airflow_etl_provider.sql.names import is_query

CTID = "ctid"
METHODS = ("even", "quantiles")
FILE_RANGE_OPTIONS = ("names_from", "names_after", "names_before")


@dataclass(frozen=True)
class Partition:
    """One part's share of the source: a SQL condition with its parameters, or extract options."""

    index: int
    where: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""


def plan_partitions(
    hook: ConnectorHook, source: str, partition_by: str | None, partitions: int, *, method: str = "even"
) -> list[Partition]:
    """The partitions of `source` on the open `hook`; fewer than asked when there are fewer values or files."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}.")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
    if isinstance(hook, FileConnectorHook):
        return file_groups(hook, source, partitions)
    if not isinstance(hook, SqlConnectorHook):
        raise EtlError(
            f"Connection {hook.conn_id!r} ({hook.conn_type}) cannot be partitioned: only SQL tables and queries, "
            "and file folders, prefixes or globs can be split."
        )
    if not partition_by:
        raise ValueError("partition_by is required for a SQL source: a column (e.g. 'id'), or 'ctid' on PostgreSQL.")
    with hook:
        if partition_by == CTID:
            return ctid_ranges(hook, source, partitions)
        return key_ranges(hook, source, partition_by, partitions, method=method)


def partition_select(hook: SqlConnectorHook, source: str, partition: Partition) -> str:
    """The SELECT one part runs: the source's rows that meet the partition's condition."""
    select = hook.select_for(source)
    if partition.where is None:
        return select
    if is_query(source):
        return f"SELECT * FROM ({select}) AS _etl_q WHERE {partition.where}"
    return f"{select} WHERE {partition.where}"


# -- key ranges ---------------------------------------------------------------------------------


def key_ranges(
    hook: SqlConnectorHook, source: str, key: str, partitions: int, *, method: str = "even"
) -> list[Partition]:
    """Ranges of column `key`: [-inf, b1) plus NULLs, [b1, b2), ..., [bn-1, +inf)."""
    with hook:
        column = hook.quote_identifier(key)
        select = hook.select_for(source)
        if method == "even":
            ((low, high),) = _rows(hook, f"SELECT MIN({column}), MAX({column}) FROM ({select}) AS _etl_q")
            bounds = _even_bounds(low, high, partitions, key)
        else:
            bounds = _quantile_bounds(hook, select, column, partitions)
        return _ranges(hook, column, bounds, label=key, with_nulls=True)


def _rows(hook: SqlConnectorHook, query: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row of `query` on the hook's open connection."""
    cursor = hook.db.cursor()
    try:
        if parameters:
            cursor.execute(query, parameters)
        else:  # no parameters: the text is sent as written (a `%` in a query stays a `%`)
            cursor.execute(query)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _even_bounds(low: Any, high: Any, partitions: int, key: str) -> list[Any]:
    """n-1 inner bounds of equal width between `low` and `high` (fewer when the values are few)."""
    if low is None or low == high:
        return []
    if isinstance(low, bool):
        raise EtlError(f"partition_by={key!r} is a boolean column; split on a number, date or timestamp.")
    if isinstance(low, int):
        step = (high - low) / partitions
        bounds: list[Any] = [low + int(step * i) for i in range(1, partitions)]
    elif isinstance(low, decimal.Decimal | float | dt.date):
        step = (high - low) / partitions
        bounds = [low + step * i for i in range(1, partitions)]
    else:
        raise EtlError(
            f"partition_by={key!r} has values of type {type(low).__name__}; even ranges need a number, date or "
            "timestamp column. Use method='quantiles' (any sortable type) or partition_by='ctid'."
        )
    return sorted({bound for bound in bounds if low < bound <= high})


def _quantile_bounds(hook: SqlConnectorHook, select: str, column: str, partitions: int) -> list[Any]:
    """The smallest value of each of n equal-count groups but the first (NTILE over the sorted column)."""
    starts = [
        start
        for (start,) in _rows(
            hook,
            f"SELECT MIN(_etl_k) FROM (SELECT {column} AS _etl_k, NTILE({int(partitions)}) OVER (ORDER BY {column}) "
            f"AS _etl_tile FROM ({select}) AS _etl_q WHERE {column} IS NOT NULL) AS _etl_t "
            "GROUP BY _etl_tile ORDER BY _etl_tile",
        )
    ]
    return sorted(set(starts[1:]))


def _ranges(
    hook: SqlConnectorHook,
    expression: str,
    bounds: Sequence[Any],
    *,
    label: str,
    cast: str = "",
    with_nulls: bool = False,
) -> list[Partition]:
    """Partitions `[-inf, b1)`, `[b1, b2)`, ... `[bn-1, +inf)` of `expression`, bounds as parameters
    (`cast` appended to each placeholder); with `with_nulls` the first also takes NULLs."""
    lower, upper = placeholder(hook.dialect, "_etl_lo") + cast, placeholder(hook.dialect, "_etl_hi") + cast
    edges: list[Any] = [None, *bounds, None]
    parts = []
    for index in range(len(edges) - 1):
        low, high = edges[index], edges[index + 1]
        conditions, parameters = [], {}
        if low is not None:
            conditions.append(f"{expression} >= {lower}")
            parameters["_etl_lo"] = bind_value(hook.dialect, low)
        if high is not None:
            conditions.append(f"{expression} < {upper}")
            parameters["_etl_hi"] = bind_value(hook.dialect, high)
        where = " AND ".join(conditions) or None
        if where and with_nulls and index == 0:
            where = f"({where} OR {expression} IS NULL)"
        parts.append(Partition(index, where, parameters, label=f"{label} in [{_shown(low)}, {_shown(high)})"))
    return parts


def _shown(value: Any) -> str:
    return "…" if value is None else str(value)


# -- PostgreSQL pages ---------------------------------------------------------------------------


def ctid_ranges(hook: SqlConnectorHook, source: str, partitions: int) -> list[Partition]:
    """Page ranges of a PostgreSQL table: [0, p1), ..., [pn-1, end), the last open for pages added later."""
    if hook.dialect != "postgres":
        raise EtlError(f"partition_by='ctid' needs PostgreSQL; connection {hook.conn_id!r} is {hook.conn_type}.")
    if is_query(source):
        raise EtlError("partition_by='ctid' splits a table's pages; a query has none: name a table, or use a column.")
    with hook:
        table = ".".join(hook.quote_identifier(part) for part in hook.table_name(source).parts())
        ((pages,),) = _rows(
            hook,
            "SELECT (pg_relation_size(%s::regclass) / current_setting('block_size')::int)::bigint",
            (table,),
        )
    bounds = sorted({pages * i // partitions for i in range(1, partitions)} - {0})
    return _ranges(hook, "ctid", [f"({page},0)" for page in bounds], label="pages", cast="::tid")


# -- files --------------------------------------------------------------------------------------


def file_groups(hook: FileConnectorHook, source: str, partitions: int) -> list[Partition]:
    """The files of `source` in name order, as contiguous groups of nearly equal count."""
    with hook:
        store = hook.store
        names = [store.display(name) for name in store.expand(source)]
    groups = min(partitions, len(names))
    starts = [len(names) * i // groups for i in range(groups)]
    parts = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < groups else len(names)
        options: dict[str, Any] = {}
        if index > 0:
            options["names_from"] = names[start]
        if index + 1 < groups:
            options["names_before"] = names[end]
        parts.append(Partition(index, options=options, label=f"{end - start} file(s) from {names[start]}"))
    return parts
