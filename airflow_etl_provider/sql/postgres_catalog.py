"""PostgreSQL schema discovery: what `get_schema` reports, read from the catalogs.

A fixed number of catalog queries per call (tables, columns, constraints, unique indexes,
types), never one per table. Expressions (defaults, generation expressions, partition
bounds, checks, index predicates) are the server's own text (`pg_get_expr` and friends).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from airflow_etl_provider.types import ColumnInfo, ForeignKey, IndexInfo, SchemaInfo, TableInfo, TypeInfo

#: A relation's name as seen from the schema being described: bare in it, qualified elsewhere.
_NAME = "CASE WHEN {n}.nspname = %(schema)s THEN {c}.relname ELSE {n}.nspname || '.' || {c}.relname END"

#: The relations described: tables, partitioned tables and their partitions, views, foreign tables.
_WHERE = (
    "n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
    "AND (%(names)s::text[] IS NULL OR c.relname = ANY(%(names)s)) AND c.relname NOT LIKE '\\_etl\\_stage\\_%%'"
)

_TABLES = f"""
SELECT c.relname, c.relkind, c.relispartition, {_NAME.format(n="pn", c="pc")},
       pg_get_expr(c.relpartbound, c.oid),
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       array(SELECT {_NAME.format(n="kn", c="k")} FROM pg_inherits ki JOIN pg_class k ON k.oid = ki.inhrelid
             JOIN pg_namespace kn ON kn.oid = k.relnamespace
             WHERE ki.inhparent = c.oid AND k.relispartition ORDER BY 1)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class pc ON pc.oid = i.inhparent LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE {_WHERE}
ORDER BY c.relname
"""

_COLUMNS = f"""
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity,
       array(SELECT e.enumlabel FROM pg_enum e
             WHERE e.enumtypid = coalesce(nullif(t.typbasetype, 0), a.atttypid) ORDER BY e.enumsortorder)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE {_WHERE}
ORDER BY c.relname, a.attnum
"""

_CONSTRAINTS = f"""
SELECT c.relname, k.contype,
       array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(n, o) JOIN pg_attribute a
             ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
       CASE WHEN rn.nspname = n.nspname THEN r.relname ELSE rn.nspname || '.' || r.relname END,
       array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u(n, o) JOIN pg_attribute a
             ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o),
       k.confupdtype, k.confdeltype
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class r ON r.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE {_WHERE} AND k.contype IN ('p', 'u', 'f')
  AND NOT (k.contype = 'f' AND k.conparentid <> 0 AND k.conrelid = (SELECT conrelid FROM pg_constraint
                                                                    WHERE oid = k.conparentid))
ORDER BY c.relname, k.conname
"""

#: Unique indexes no constraint stands for (CREATE UNIQUE INDEX), partial and expression ones included.
_UNIQUE_INDEXES = f"""
SELECT c.relname, ic.relname,
       array(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) AS k),
       pg_get_expr(x.indpred, x.indrelid), x.indexprs IS NULL
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class ic ON ic.oid = x.indexrelid
WHERE {_WHERE} AND x.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
ORDER BY c.relname, ic.relname
"""

#: Enums and domains of the schema (with one table asked for: those its columns use).
_TYPES = f"""
SELECT t.typname, t.typtype,
       array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END, NOT t.typnotnull, t.typdefault,
       array(SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'
             ORDER BY k.conname)
FROM pg_type t JOIN pg_namespace tn ON tn.oid = t.typnamespace
WHERE tn.nspname = %(schema)s AND t.typtype IN ('e', 'd')
  AND (%(names)s::text[] IS NULL OR t.oid IN (
      SELECT a.atttypid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_WHERE} AND a.attnum > 0))
ORDER BY t.typname
"""

_KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}
#: pg_constraint.confupdtype / confdeltype.
_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_GENERATED = {"s": "stored", "v": "virtual"}
_IDENTITY = {"a": "always", "d": "by default"}


def read_schema(db: psycopg.Connection, schema: str, names: Sequence[str] | None) -> SchemaInfo:
    """Tables (partitioned ones and their partitions told apart), their columns, keys and unique
    indexes, and the enums and domains of `schema`; only the tables `names` when given."""
    params: dict[str, Any] = {"schema": schema, "names": list(names) if names else None}

    def rows(statement: str) -> list[tuple[Any, ...]]:
        return db.execute(statement.encode(), params).fetchall()

    columns: dict[str, list[ColumnInfo]] = {}
    for table, name, type_name, nullable, default, generated, identity, labels in rows(_COLUMNS):
        columns.setdefault(table, []).append(
            ColumnInfo(
                name,
                type_name,
                nullable=nullable,
                default=None if generated else default,
                generated=default if generated else None,
                generated_storage=_GENERATED.get(generated),
                identity=_IDENTITY.get(identity),
                labels=tuple(labels),
            )
        )
    keys: dict[str, dict[str, Any]] = {}
    for table, kind, cols, target, target_cols, on_update, on_delete in rows(_CONSTRAINTS):
        entry = keys.setdefault(table, {"pk": (), "unique": [], "fks": [], "indexes": []})
        if kind == "p":
            entry["pk"] = tuple(cols)
        elif kind == "u":
            entry["unique"].append(tuple(cols))
        else:
            entry["fks"].append(
                ForeignKey(tuple(cols), target, tuple(target_cols), _RULES[on_update], _RULES[on_delete])
            )
    for table, name, cols, predicate, plain in rows(_UNIQUE_INDEXES):
        entry = keys.setdefault(table, {"pk": (), "unique": [], "fks": [], "indexes": []})
        entry["indexes"].append(IndexInfo(name, tuple(cols), predicate=predicate))
        if plain and predicate is None:
            entry["unique"].append(tuple(cols))
    tables = []
    for table, relkind, is_partition, parent, bound, partition_key, partitions in rows(_TABLES):
        entry = keys.get(table, {"pk": (), "unique": [], "fks": [], "indexes": []})
        tables.append(
            TableInfo(
                name=table,
                kind="partition" if is_partition else _KINDS[relkind],
                columns=tuple(columns.get(table, ())),
                primary_key=entry["pk"],
                unique=tuple(entry["unique"]),
                foreign_keys=tuple(entry["fks"]),
                indexes=tuple(entry["indexes"]),
                partitions=tuple(partitions),
                partition_key=partition_key,
                partition_of=parent,
                partition_bound=bound,
            )
        )
    types = tuple(
        TypeInfo(
            name,
            "enum" if kind == "e" else "domain",
            labels=tuple(labels),
            base_type=base,
            nullable=nullable,
            default=default,
            checks=tuple(checks),
        )
        for name, kind, labels, base, nullable, default, checks in rows(_TYPES)
    )
    return SchemaInfo(tuple(tables), types)
