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
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None


@dataclass(frozen=True)
class TableInfo:
    """A table, view, file or endpoint, whatever the connector calls a data set."""

    name: str
    columns: tuple[ColumnInfo, ...]
    kind: str = "table"
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> ColumnInfo:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class SchemaInfo:
    tables: tuple[TableInfo, ...] = ()

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
