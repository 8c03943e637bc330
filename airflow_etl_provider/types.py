"""Small typed records shared by every connector: schema discovery and load results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Protocol


class Log(Protocol):
    """What connector code logs through: a stdlib logger or Airflow's task logger (`hook.log`)."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


class Operation(str, Enum):
    """What a connector can do; the registry and the SDK report these."""

    TEST_CONNECTION = "test_connection"
    GET_SCHEMA = "get_schema"
    EXTRACT = "extract"
    LOAD = "load"
    PREVIEW = "preview"


class LoadMode(str, Enum):
    """How `load` treats rows already in the destination."""

    APPEND = "append"
    REPLACE = "replace"
    UPSERT = "upsert"

    @classmethod
    def parse(cls, value: str | LoadMode) -> LoadMode:
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise ValueError(f"Unknown load mode {value!r}; use one of: {known}.") from None


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key; `on_update` / `on_delete` are its rules as SQL spells them ("CASCADE", ...)."""

    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    on_update: str = "NO ACTION"
    on_delete: str = "NO ACTION"


@dataclass(frozen=True)
class ColumnInfo:
    """A column. A generated column has its expression in `generated`, never in `default`.

    `generated_storage` is "stored" or "virtual"; `identity` is "always" or "by default"
    (PostgreSQL identity) or "auto_increment" (MySQL); `on_update` is MySQL's
    `ON UPDATE` expression; `labels` are the values an enum (or MySQL set) column allows.
    """

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    generated: str | None = None
    generated_storage: str | None = None
    identity: str | None = None
    on_update: str | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexInfo:
    """A unique index that no constraint stands for; `columns` holds expressions as written."""

    name: str
    columns: tuple[str, ...]
    unique: bool = True
    predicate: str | None = None


@dataclass(frozen=True)
class TypeInfo:
    """A user-defined type columns may have: an enum (its `labels`) or a domain (base type, checks)."""

    name: str
    kind: str
    labels: tuple[str, ...] = ()
    base_type: str | None = None
    nullable: bool = True
    default: str | None = None
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableInfo:
    """A table, view, file or endpoint, whatever the connector calls a data set.

    A partitioned table (kind "partitioned table") names its `partitions` and its
    `partition_key`; a partition (kind "partition") names its parent in `partition_of` and
    its `partition_bound`. Copying every table whose `partition_of` is None copies each row once.
    `unique` lists the column sets unique over all rows (constraints and plain unique
    indexes); `indexes` the unique indexes that are not constraints.
    """

    name: str
    columns: tuple[ColumnInfo, ...]
    kind: str = "table"
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[IndexInfo, ...] = ()
    partitions: tuple[str, ...] = ()
    partition_key: str | None = None
    partition_of: str | None = None
    partition_bound: str | None = None

    def column(self, name: str) -> ColumnInfo:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class SchemaInfo:
    tables: tuple[TableInfo, ...] = ()
    types: tuple[TypeInfo, ...] = ()

    def table(self, name: str) -> TableInfo:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadResult:
    """What one `load` call wrote; the operator puts it into its XCom summary."""

    destination: str
    mode: str
    rows: int = 0
    chunks: int = 0
    bytes: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
