"""Terminal tables and JSON for the `airflow-etl` commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

#: Wider cells are cut so a table stays readable in a terminal.
MAX_CELL = 60


def _cell(value: Any, cut: bool = True) -> str:
    if value is None:
        return ""
    sequence = isinstance(value, (list, tuple, set, frozenset))
    text = ", ".join(map(str, value)) if sequence else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL or not cut else text[: MAX_CELL - 1] + "…"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO | None = None, *, cut: bool = True
) -> None:
    """Print rows under headers, columns padded to their widest cell (cut at `MAX_CELL` unless told)."""
    out = out or sys.stdout
    cells = [[_cell(value, cut) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()

    print(line(headers), file=out)
    print(line(["-" * width for width in widths]), file=out)
    for row in cells:
        print(line(row), file=out)
    if not cells:
        print("(none)", file=out)


def as_json(data: Any, out: TextIO | None = None) -> None:
    """Print `data` as JSON; values JSON does not know (dates, decimals) become strings."""
    print(json.dumps(data, indent=2, default=str), file=out or sys.stdout)
