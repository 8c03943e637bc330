"""MySQL / MariaDB schema discovery: what `get_schema` reports, read from information_schema.

A fixed number of queries per call (columns, keys, partitions, and on MariaDB the JSON
checks), never one per table. Expressions (defaults, generation expressions, partitioning)
are the server's own text, which differs between MySQL and MariaDB (`CURRENT_TIMESTAMP` /
`current_timestamp()`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from airflow_etl_provider.sql.mysql import is_generated, text_value
from airflow_etl_provider.sql.names import TableName
from airflow_etl_provider.types import ColumnInfo, ForeignKey, SchemaInfo, TableInfo

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

#: One quoted value of an enum(...) or set(...) column type; a quote inside is doubled.
_LABEL = re.compile(r"'((?:[^']|'')*)'")
_ON_UPDATE = re.compile(r"on update (.+)$", re.IGNORECASE)


def labels(column_type: str) -> tuple[str, ...]:
    """The values an `enum('a','b')` or `set(...)` column allows, () for other types."""
    if not re.match(r"(enum|set)\(", column_type, re.IGNORECASE):
        return ()
    return tuple(value.replace("''", "'") for value in _LABEL.findall(column_type))


def _column(name: str, declared: str, nullable: bool, default: Any, extra: str, expression: Any) -> ColumnInfo:
    extra_lower = extra.lower()
    generated = re.search(r"\b(virtual|stored|persistent) generated\b|\bpersistent\b", extra_lower)
    default_text = None if default is None or text_value(default) == "NULL" else text_value(default)
    on_update = _ON_UPDATE.search(extra)
    return ColumnInfo(
        name,
        declared,
        nullable=nullable,
        default=None if generated else default_text,
        generated=text_value(expression) if generated and expression is not None else None,
        generated_storage=("virtual" if "virtual" in extra_lower else "stored") if generated else None,
        identity="auto_increment" if "auto_increment" in extra_lower else None,
        on_update=on_update[1].strip() if on_update else None,
        labels=labels(declared),
    )


def read_schema(query: Query, *, is_mariadb: bool, table: TableName | None) -> SchemaInfo:
    """Tables and views of the connection's database (or `table` only) with columns, keys and partitions."""
    where, params = "c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME NOT LIKE '\\_etl\\_%%'", []
    if table is not None:
        where = "c.TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND c.TABLE_NAME = %s"
        params = [table.schema, table.name]
    json_columns = set()
    if is_mariadb:  # MariaDB's JSON is longtext with a json_valid check named after the column
        json_columns = {
            (text_value(t), text_value(c))
            for t, c in query(
                "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS c "
                "WHERE CONSTRAINT_SCHEMA = COALESCE(%s, DATABASE()) AND CHECK_CLAUSE LIKE 'json\\_valid(%%'",
                [table.schema if table is not None else None],
            )
        }
    columns = query(
        "SELECT c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA, "
        f"CASE WHEN {is_generated('c.EXTRA')} THEN c.GENERATION_EXPRESSION END "
        "FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
        "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
        f"WHERE {where} ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        params,
    )
    constraints = query(
        "SELECT c.TABLE_NAME, tc.CONSTRAINT_TYPE, c.CONSTRAINT_NAME, c.COLUMN_NAME, "
        "c.REFERENCED_TABLE_NAME, c.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE "
        "FROM information_schema.KEY_COLUMN_USAGE c JOIN information_schema.TABLE_CONSTRAINTS tc "
        "ON tc.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND tc.TABLE_NAME = c.TABLE_NAME "
        "AND tc.CONSTRAINT_NAME = c.CONSTRAINT_NAME "
        "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA "
        "AND r.TABLE_NAME = c.TABLE_NAME AND r.CONSTRAINT_NAME = c.CONSTRAINT_NAME "
        f"WHERE {where} ORDER BY c.TABLE_NAME, c.CONSTRAINT_NAME, c.ORDINAL_POSITION",
        params,
    )
    partitions = query(
        "SELECT c.TABLE_NAME, c.PARTITION_NAME, c.PARTITION_METHOD, c.PARTITION_EXPRESSION "
        f"FROM information_schema.PARTITIONS c WHERE {where} AND c.PARTITION_NAME IS NOT NULL "
        "ORDER BY c.TABLE_NAME, c.PARTITION_ORDINAL_POSITION, c.SUBPARTITION_ORDINAL_POSITION",
        params,
    )
    return _schema_info(columns, constraints, partitions, json_columns)


def _schema_info(
    columns: list[tuple[Any, ...]],
    constraints: list[tuple[Any, ...]],
    partitions: list[tuple[Any, ...]],
    json_columns: set[tuple[str, str]],
) -> SchemaInfo:
    by_table: dict[str, dict[str, Any]] = {}
    for table, kind, name, declared, nullable, default, extra, expression in columns:
        table, name, declared = text_value(table), text_value(name), text_value(declared)
        entry = by_table.setdefault(table, {"kind": "view" if "VIEW" in text_value(kind) else "table", "columns": []})
        if (table, name) in json_columns:
            declared = "json"
        entry["columns"].append(_column(name, declared, nullable == "YES", default, text_value(extra), expression))
    keys: dict[tuple[str, str], dict[str, Any]] = {}
    for table, kind, name, column, ref_table, ref_column, on_update, on_delete in constraints:
        key = keys.setdefault(
            (text_value(table), text_value(name)),
            {"kind": text_value(kind), "columns": [], "refs": [], "rules": (on_update, on_delete)},
        )
        key["columns"].append(text_value(column))
        if ref_table:
            key["target"] = text_value(ref_table)
            key["refs"].append(text_value(ref_column))
    partitioning: dict[str, dict[str, Any]] = {}
    for table, name, method, expression in partitions:
        entry = partitioning.setdefault(
            text_value(table), {"names": [], "key": f"{text_value(method)} ({text_value(expression)})"}
        )
        if text_value(name) not in entry["names"]:  # one row per subpartition
            entry["names"].append(text_value(name))
    tables = []
    for name, entry in by_table.items():
        own = [key for (table, _), key in keys.items() if table == name]
        primary = next((tuple(k["columns"]) for k in own if k["kind"] == "PRIMARY KEY"), ())
        parts = partitioning.get(name)
        tables.append(
            TableInfo(
                name=name,
                kind="partitioned table" if parts else entry["kind"],
                columns=tuple(entry["columns"]),
                primary_key=primary,
                unique=tuple(tuple(k["columns"]) for k in own if k["kind"] == "UNIQUE"),
                foreign_keys=tuple(
                    ForeignKey(
                        tuple(k["columns"]),
                        k["target"],
                        tuple(k["refs"]),
                        on_update=text_value(k["rules"][0]) or "NO ACTION",
                        on_delete=text_value(k["rules"][1]) or "NO ACTION",
                    )
                    for k in own
                    if k["kind"] == "FOREIGN KEY"
                ),
                partitions=tuple(parts["names"]) if parts else (),
                partition_key=parts["key"] if parts else None,
            )
        )
    return SchemaInfo(tuple(tables))
