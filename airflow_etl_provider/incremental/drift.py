"""Schema drift on incremental runs into a SQL table: a column the source gained is added to the
destination (`add_columns`), refused (`freeze`) or dropped (`discard`); a column whose type the
source widened is refused, naming it, rather than loaded into a column that cannot hold it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import pyarrow as pa

from airflow_etl_provider.exceptions import LoadError

SchemaEvolution = Literal["add_columns", "freeze", "discard"]


def widened(incoming: pa.DataType, existing: pa.DataType) -> bool:
    """Whether `existing` cannot hold every value of `incoming` (same family, smaller range)."""
    if pa.types.is_integer(incoming) and pa.types.is_integer(existing):
        return incoming.bit_width > existing.bit_width or (
            pa.types.is_unsigned_integer(incoming)
            and pa.types.is_signed_integer(existing)
            and incoming.bit_width >= existing.bit_width
        )
    if pa.types.is_decimal(incoming) and pa.types.is_decimal(existing):
        whole = incoming.precision - incoming.scale > existing.precision - existing.scale
        return whole or incoming.scale > existing.scale
    if pa.types.is_floating(incoming) and pa.types.is_floating(existing):
        return incoming.bit_width > existing.bit_width
    if pa.types.is_floating(incoming) or pa.types.is_decimal(incoming):
        return pa.types.is_integer(existing)
    return False


def evolving(
    chunks: Iterable[pa.RecordBatch],
    evolve: Callable[[pa.Schema], Callable[[pa.RecordBatch], pa.RecordBatch]],
) -> Iterator[pa.RecordBatch]:
    """`chunks`, the destination evolved for the first one's schema before any row goes out."""
    adapt: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None
    for batch in chunks:
        if adapt is None:
            adapt = evolve(batch.schema)
        yield adapt(batch)


def sql_evolver(
    hook: Any, destination: str, policy: SchemaEvolution, log: Any
) -> Callable[[pa.Schema], Callable[[pa.RecordBatch], pa.RecordBatch]]:
    """What `evolving` calls with the first chunk's schema, for SQL destination `destination`."""

    def evolve(schema: pa.Schema) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
        with hook:
            loader = hook.loader()
            table = hook.table_name(destination)
            prepared = loader.prepare_batch(pa.RecordBatch.from_pylist([], schema=schema)).schema
            existing = loader.table_schema(table)
            if existing is None:
                return _same
            for field in prepared:
                if field.name in existing.names:
                    stored = loader.stored_type(field.type)
                    current = existing.field(field.name).type
                    if widened(stored, current):
                        raise LoadError(
                            f"Column {field.name!r} of {destination} is {current} but the source now sends {stored}: "
                            f"its values may not fit. Widen the column at the destination (ALTER TABLE) and rerun."
                        )
            new = [field for field in prepared if field.name not in existing.names]
            if not new:
                return _same
            names = ", ".join(repr(field.name) for field in new)
            if policy == "freeze":
                raise LoadError(
                    f"The source has new column(s) {names} that {destination} lacks, and schema_evolution='freeze' "
                    "refuses them: add them to the table, or use 'add_columns' or 'discard'."
                )
            if policy == "discard":
                log.warning(
                    "Incremental load into %s: dropping new source column(s) %s (schema_evolution='discard')",
                    destination,
                    names,
                )
                kept = [name for name in schema.names if name not in {field.name for field in new}]
                return lambda batch: batch.select(kept)
            loader.begin()
            try:
                for field in new:
                    definition = loader.column_definition(field.with_nullable(True), is_key=False)
                    loader.execute(f"ALTER TABLE {loader.qualified(table)} ADD COLUMN {definition}")
                loader.commit()
            except Exception:
                loader.rollback()
                raise
            log.info("Incremental load into %s: added column(s) %s from the source", destination, names)
            return _same

    return evolve


def _same(batch: pa.RecordBatch) -> pa.RecordBatch:
    return batch
