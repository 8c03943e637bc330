"""Table names, query detection and the one-read-only-statement check shared by the SQL connectors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

#: How a dialect's SQL is lexed: its quotes, comments and dollar-quoted strings.
Dialect = Literal["postgres", "mysql", "sqlite"]

#: What a query source must be; the start of every error that refuses one.
READ_ONLY_RULE = "the source must be one read-only statement (SELECT, WITH, VALUES or TABLE)"

_QUERY_START = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*|\(\s*)*(select|with|values|table|show|pragma|explain)\b",
    re.IGNORECASE | re.DOTALL,
)
_READ_STARTS = frozenset({"select", "with", "values", "table"})
#: Statements a WITH query may name `AS (...)` that write (PostgreSQL runs them even under LIMIT 0).
_WRITING_BODIES = frozenset({"insert", "update", "delete", "merge"})
_WORD = re.compile(r"[^\W][\w$]*")
_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d][\w]*)?\$")
#: MySQL runs the text of `/*! ... */` and MariaDB of `/*M! ... */` comments: they are code.
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!\d*")
_QUOTES: dict[str, str] = {"postgres": "'\"", "mysql": "'\"`", "sqlite": "'\"`["}


def is_query(source: str) -> bool:
    """True when `source` is a SQL query rather than a table name."""
    return bool(_QUERY_START.match(source))


@dataclass(frozen=True)
class _Token:
    """A word (lower-cased), a punctuation character, or a whole literal / quoted name (its quote)."""

    text: str
    start: int
    end: int


def read_statement(text: str, dialect: Dialect) -> str:
    """`text` as a subquery can embed it, if it is one SELECT, WITH, VALUES or TABLE statement that
    writes nothing: no trailing `;` or comment, else `ValueError` saying what it is instead.

    `;`, parentheses and keywords count only outside literals, quoted names and comments, lexed
    as `dialect` does. SELECT ... INTO and a WITH query naming INSERT/UPDATE/DELETE/MERGE are
    refused here because the servers would write them (a file, a table) or fail them with an
    unrelated message; any other write is left to the server's read-only transaction.
    """
    tokens = list(_tokens(text, dialect))
    if tokens and tokens[-1].text == ";":
        tokens.pop()
    if not tokens:
        raise ValueError("it holds no statement")
    words = [token.text for token in tokens]
    first = next((word for word in words if word != "("), "")
    if first not in _READ_STARTS:
        raise ValueError(f"it starts with {first.upper()!r}" if first.isidentifier() else "it is not a query")
    _check_one_statement(tokens)
    if "into" in words:
        raise ValueError("SELECT ... INTO writes its rows (to a table, a file or variables) instead of returning them")
    for index, word in enumerate(words):
        if word == "as" and _writing_body(words[index + 1 : index + 4]):
            raise ValueError("a WITH query holds a data-modifying statement")
    return text[: tokens[-1].end].strip()


def parameters_as_null(text: str, dialect: Dialect) -> str:
    """`text` with each bound-parameter placeholder (`?`, `:name`, `@name`, `$name`) outside
    literals and comments replaced by NULL: the same columns, for a probe that takes no parameters
    (SQLite refuses parameters in a view)."""
    tokens = list(_tokens(text, dialect))
    spans: list[tuple[int, int]] = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.text == "?":
            spans.append((token.start, token.end))
        elif (
            token.text in (":", "@", "$")
            and following
            and following.start == token.end
            and following.text.isidentifier()
        ):
            spans.append((token.start, following.end))
    for start, end in reversed(spans):
        text = f"{text[:start]}NULL{text[end:]}"
    return text


def _check_one_statement(tokens: list[_Token]) -> None:
    if semicolon := next((token for token in tokens if token.text == ";"), None):
        raise ValueError(f"it holds more than one statement (a ';' at character {semicolon.start + 1})")
    depth = 0
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        if depth < 0:
            raise ValueError(f"it has unbalanced parentheses (a ')' at character {token.start + 1} closes none)")
    if depth:
        raise ValueError("it has unbalanced parentheses (one is never closed)")


def _writing_body(words: list[str]) -> bool:
    """Whether the words after an `AS` open a data-modifying WITH query: `( DELETE`, `MATERIALIZED ( UPDATE`..."""
    while words and words[0] in ("not", "materialized"):
        words = words[1:]
    return len(words) >= 2 and words[0] == "(" and words[1] in _WRITING_BODIES


def _tokens(sql: str, dialect: Dialect) -> Iterator[_Token]:
    """Words and punctuation of `sql` outside comments; each literal or quoted name is one token."""
    index, size, in_executable_comment = 0, len(sql), False
    while index < size:
        char = sql[index]
        if char.isspace():
            index += 1
        elif _line_comment(sql, index, dialect):
            newline = sql.find("\n", index)
            index = size if newline < 0 else newline + 1
        elif dialect == "mysql" and (executable := _EXECUTABLE_COMMENT.match(sql, index)):
            in_executable_comment, index = True, executable.end()
        elif in_executable_comment and sql.startswith("*/", index):
            in_executable_comment = False
            yield _Token("*/", index, index + 2)
            index += 2
        elif sql.startswith("/*", index):
            index = _comment_end(sql, index, nested=dialect == "postgres")
        elif char in _QUOTES[dialect]:
            end = _quoted_end(sql, index, backslash=dialect == "mysql" and char in "'\"")
            yield _Token(char, index, end)
            index = end
        elif dialect == "postgres" and (tag := _DOLLAR_TAG.match(sql, index)):
            close = sql.find(tag[0], tag.end())
            if close < 0:
                raise ValueError(f"it has an unterminated {tag[0]} string starting at character {index + 1}")
            yield _Token("$", index, close + len(tag[0]))
            index = close + len(tag[0])
        elif word := _WORD.match(sql, index):
            if dialect == "postgres" and word[0] in "eE" and sql.startswith("'", word.end()):  # E'...' escapes
                end = _quoted_end(sql, word.end(), backslash=True)
                yield _Token("'", index, end)
                index = end
            else:
                yield _Token(word[0].lower(), index, word.end())
                index = word.end()
        else:
            yield _Token(char, index, index + 1)
            index += 1


def _line_comment(sql: str, index: int, dialect: Dialect) -> bool:
    if dialect == "mysql":  # `--` starts a comment only before a space or control character there
        after = sql[index + 2 : index + 3]
        return sql.startswith("#", index) or (sql.startswith("--", index) and (not after or after <= " "))
    return sql.startswith("--", index)


def _comment_end(sql: str, start: int, *, nested: bool) -> int:
    depth, index = 0, start
    while index < len(sql):
        if sql.startswith("/*", index):
            depth += 1 if nested or depth == 0 else 0
            index += 2
        elif sql.startswith("*/", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    raise ValueError(f"it has an unterminated /* comment starting at character {start + 1}")


def _quoted_end(sql: str, start: int, *, backslash: bool) -> int:
    """Index just after the literal or quoted name opening at `start` (doubled quotes stay inside)."""
    quote = "]" if sql[start] == "[" else sql[start]
    index = start + 1
    while index < len(sql):
        char = sql[index]
        escaped = backslash and char == "\\"
        if escaped or (char == quote and quote != "]" and sql.startswith(quote, index + 1)):
            index += 2  # a backslash escape, or a doubled quote
        elif char == quote:
            return index + 1
        else:
            index += 1
    raise ValueError(f"it has an unterminated {sql[start]} quote starting at character {start + 1}")


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
