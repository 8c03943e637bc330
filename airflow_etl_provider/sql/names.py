"""Table names and query detection shared by the SQL connectors."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

_QUERY_START = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*|\(\s*)*(select|with|values|table|show|pragma|explain)\b",
    re.IGNORECASE | re.DOTALL,
)


def is_query(source: str) -> bool:
    """True when `source` is a SQL query rather than a table name."""
    return bool(_QUERY_START.match(source))


def strip_query(query: str) -> str:
    """A query as a subquery can embed it: no surrounding whitespace, no trailing `;`."""
    return query.strip().rstrip(";")


@dataclass(frozen=True)
class TableName:
    """A table, optionally qualified by its schema (PostgreSQL) or database (MySQL)."""

    name: str
    schema: str | None = None

    def parts(self) -> tuple[str, ...]:
        return (self.schema, self.name) if self.schema else (self.name,)

    def with_name(self, name: str) -> TableName:
        return TableName(name, self.schema)

    def __str__(self) -> str:
        return ".".join(self.parts())


#: `_etl_<kind>_<session>_<nonce>_`, the start of every `work_table_name`.
_WORK_TABLE = re.compile(r"_etl_[a-z]+_(\d+)_[0-9a-f]{8}_")


def work_table_name(kind: str, session: int, target: TableName, limit: int) -> TableName:
    """A table a load makes for itself next to `target` (`kind`: "stage", "old"), cut to `limit`.

    The id of the server session that makes it is in the name, so that a later load can tell
    what a killed load left from what a running load still uses.
    """
    return target.with_name(f"_etl_{kind}_{session}_{uuid.uuid4().hex[:8]}_{target.name}"[:limit])


def work_table_session(name: str, target: TableName, limit: int) -> int | None:
    """The session that made table `name` when it is a `work_table_name` of `target`, else None."""
    match = _WORK_TABLE.match(name)
    if match is None or (match.group(0) + target.name)[:limit] != name:
        return None
    return int(match.group(1))


def _split_identifiers(text: str, quote_chars: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote and text[i + 1 : i + 2] == quote:
                current.append(char)
                i += 1
            elif char == quote:
                quote = None
            else:
                current.append(char)
        elif char in quote_chars:
            quote = char
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if quote:
        raise ValueError(f"Unbalanced quote in table name {text!r}.")
    parts.append("".join(current))
    return parts


def parse_table_name(text: str, quote_chars: str = '"`') -> TableName:
    """Parse `table`, `schema.table` or their quoted forms (`"Order Items"`, `` `db`.`t` ``).

    Unquoted parts are taken literally (no case folding), so `Order Items` names exactly that.
    """
    parts = _split_identifiers(text.strip(), quote_chars)
    if len(parts) == 1 and parts[0]:
        return TableName(parts[0])
    if len(parts) == 2 and all(parts):
        return TableName(parts[1], parts[0])
    raise ValueError(f"{text!r} is not a table name; use 'table' or 'schema.table'.")
