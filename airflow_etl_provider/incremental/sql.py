"""The cursor range pushed down to a SQL source: the table or query wrapped in a SELECT whose
WHERE bounds the cursor with bound parameters, so the server reads only the changed rows (an
index on the cursor serves it: PostgreSQL, MySQL and SQLite all merge the derived table)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
from airflow_etl_provider.incremental.spec import CursorRange, CursorValue

#: The alias of the wrapped source; long and prefixed so it cannot clash with a user's name.
ALIAS = "_etl_incremental"


def ranged_select(
    hook: SqlConnectorHook,
    source: str,
    cursor_range: CursorRange,
    parameters: Any = None,
    row_order: str | None = None,
) -> tuple[str, Any]:
    """The query reading `cursor_range` of `source` and its parameters (the user's, then ours).

    Named parameters (a dict) get named placeholders, positional ones (or none) positional ones.
    """
    named = isinstance(parameters, dict)
    column = f"{ALIAS}.{hook.quote_identifier(cursor_range.cursor)}"
    values: dict[str, Any] = {}
    conditions: list[str] = []
    if cursor_range.start is not None:
        values["_etl_from"] = bind_value(hook.dialect, cursor_range.start)
        conditions.append(f"{column} {'>=' if cursor_range.start_closed else '>'} {{_etl_from}}")
    if cursor_range.end is not None:
        values["_etl_to"] = bind_value(hook.dialect, cursor_range.end)
        conditions.append(f"{column} < {{_etl_to}}")
    where = " AND ".join(conditions)
    if where and cursor_range.include_missing:
        where = f"({where}) OR {column} IS NULL"
    elif not where and not cursor_range.include_missing:
        where = f"{column} IS NOT NULL"
    placeholders = {name: placeholder(hook.dialect, name, named) for name in values}
    select = f"SELECT * FROM ({hook.select_for(source)}) AS {ALIAS}"
    if where:
        select += " WHERE " + where.format(**placeholders)
    if row_order is not None:
        select += f" ORDER BY {column} {row_order.upper()}"
    if named:
        return select, {**parameters, **values}
    return select, [*(parameters or ()), *values.values()]


def placeholder(dialect: str, name: str, named: bool = True) -> str:
    """A placeholder in the driver's style: named (`%(name)s`, `:name`) or positional."""
    if dialect == "sqlite":
        return f":{name}" if named else "?"
    return f"%({name})s" if named else "%s"


def bind_value(dialect: str, value: CursorValue) -> Any:
    """`value` as this driver binds it against the column: MySQL and SQLite compare naive UTC
    datetimes (their columns hold no zone); PostgreSQL takes the aware value (sessions run in UTC)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None and dialect != "postgres":
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if dialect == "sqlite" and isinstance(value, dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value
