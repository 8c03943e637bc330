"""Follow CSV quoting over the raw bytes, so a missing closing quote is an error, not one huge value.

Arrow's CSV reader takes everything after an unterminated quote as a single value, to the end
of the file, and reports nothing when that fits in its blocks. `QuoteGuard` sits between the
source stream and Arrow and follows the same quoting rules on each block Arrow reads: a quote
opens a value only at the start of a field (elsewhere it is a literal character), `""` inside
a quoted value is one quote, and a lone quote closes the value. It raises `SourceError`, naming
the line where the value opened, when a quoted value is longer than `max_field_bytes` (while
reading, before the rest of the file is read) or is still open at the end of the input
(`finish`, after the last batch: a load consuming the reader is one transaction or one atomic
file write, so the rows before it are rolled back with it).

Cost: a block is searched for quote bytes with numpy and checked with a few array operations;
only a block holding a literal quote in an unquoted value (`12" pipe`) walks its quotes in
Python, and lines are counted (by reading the input again) only to report a problem.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from airflow_etl_provider.exceptions import SourceError

_BOM = b"\xef\xbb\xbf"
_LINE_END, _CARRIAGE_RETURN = ord("\n"), ord("\r")
#: Stands for a literal quote ending a block: it neither opens nor escapes a quote.
_PLAIN = 0


class QuoteGuard(io.RawIOBase):
    """A read-only pass-through stream of UTF-8 CSV bytes that checks the quoting as it goes.

    `reopen` gives the same bytes again from the start: the line of a problem is only counted
    when there is one.
    """

    def __init__(
        self,
        raw: Any,
        *,
        name: str,
        reopen: Callable[[], AbstractContextManager[Any]],
        quote_char: str,
        delimiter: str,
        max_field_bytes: int,
    ):
        self._raw = raw
        self._name = name
        self._reopen = reopen
        self._quote = ord(quote_char)
        self._delimiter = ord(delimiter)
        self._max_field_bytes = max_field_bytes
        self._offset = 0  # bytes of the stream before the current block
        self._inside = False  # inside a quoted value at the end of what was read
        self._previous = _LINE_END  # the byte before the current block (a file starts a field)
        self._open_at: int | None = None  # offset of the opening quote of the last quoted value

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        block = self._raw.read(size)
        if block:
            self._follow(bytes(block))
        return block

    def finish(self) -> None:
        """Refuse a quoted value still open once Arrow has read the whole input.

        Called when the last batch is read rather than at the end of the stream: Arrow reads a
        block ahead, so the batches before the end would not be delivered at all.
        """
        if self._inside and self._open_at is not None:
            raise self.error_at(
                self._open_at,
                "the quoted value opened on this line has no closing quote (it runs to the end of the file); "
                'close it, and write a quote inside a value as two quotes ("")',
            )

    def open_value(self) -> tuple[int, int] | None:
        """(offset of its opening quote, bytes read since) of the quoted value still open, if any."""
        if not self._inside or self._open_at is None:
            return None
        return self._open_at, self._offset - self._open_at - 1

    def error_at(self, offset: int, problem: str) -> SourceError:
        """A SourceError naming the line holding byte `offset` (the input is read again to count it)."""
        try:
            with self._reopen() as stream:
                line = _line_at(stream, offset)
        except (OSError, ValueError):  # the problem is reported either way
            return SourceError(f"Malformed CSV in {self._name}, byte {offset}: {problem}.")
        return SourceError(f"Malformed CSV in {self._name}, line {line}: {problem}.")

    def _follow(self, block: bytes) -> None:
        if self._offset == 0 and block.startswith(_BOM):  # Arrow skips a UTF-8 byte order mark
            block, self._offset = block[len(_BOM) :], len(_BOM)
            if not block:
                return
        data = np.frombuffer(block, np.uint8)
        quotes = np.flatnonzero(data == self._quote)
        if quotes.size:
            self._follow_quotes(data, quotes)
        else:
            self._previous = block[-1]
        self._offset += len(block)
        open_value = self.open_value()
        if open_value and open_value[1] > self._max_field_bytes:
            raise self._too_long(open_value[0])

    def _follow_quotes(self, data: np.ndarray, quotes: np.ndarray) -> None:
        openings, ends, inside = self._classify(data, quotes)
        self._check_lengths(openings, ends)
        if openings.size:
            self._open_at = self._offset + int(openings[-1])
        self._inside = inside
        # A last quote met inside a value may pair with a quote starting the next block.
        last = int(data[-1])
        ended = ends.size and ends[-1] == data.size - 1
        self._previous = self._quote if ended else _PLAIN if last == self._quote else last

    def _classify(self, data: np.ndarray, quotes: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """The quotes that open a value, those met inside one, and whether one is open at the block end.

        Quotes alternate between "met outside a value" and "met inside one". Met inside, a quote
        ends the value, unless the next byte is a quote (the pair is one literal quote); met
        outside, it opens a value after a field start, or is the second quote of such a pair.
        Any other quote met outside is a literal one, after which the alternation no longer
        holds: such a block is walked quote by quote.
        """
        first_outside = 1 if self._inside else 0
        outside, inside = quotes[first_outside::2], quotes[1 - first_outside :: 2]
        before = data[outside - 1]
        if outside.size and outside[0] == 0:
            before[0] = self._previous
        opens = (before == self._delimiter) | (before == _LINE_END) | (before == _CARRIAGE_RETURN)
        if not (opens | (before == self._quote)).all():
            return self._walk(data, quotes)
        return outside[opens], inside, bool((first_outside + quotes.size) % 2)

    def _walk(self, data: np.ndarray, quotes: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """`_classify` for a block holding literal quotes, one quote at a time."""
        openings: list[int] = []
        ends: list[int] = []
        inside = self._inside
        for position in quotes.tolist():
            before = int(data[position - 1]) if position else self._previous
            if inside:
                inside = False
                ends.append(position)
            elif before == self._quote and (ends[-1] == position - 1 if ends else position == 0):
                inside = True  # "" inside a value: the value goes on
            elif before in (self._delimiter, _LINE_END, _CARRIAGE_RETURN):
                inside = True
                openings.append(position)
        return np.array(openings, np.int64), np.array(ends, np.int64), inside

    def _check_lengths(self, openings: np.ndarray, ends: np.ndarray) -> None:
        """Refuse a value of this block longer than `max_field_bytes`.

        Each quote met inside a value is measured from the last opening quote before it, which
        may be in an earlier block (`self._open_at`, not yet moved to this block's openings);
        the first quote of a `""` pair gives a shorter length than the real end, so the
        longest is still found. Only the quotes far enough from the first start are measured.
        """
        carried = [] if self._open_at is None else [self._open_at - self._offset]
        first = carried[0] if carried else int(openings[0]) if openings.size else None
        if first is None or not ends.size or ends[-1] - first - 1 <= self._max_field_bytes:
            return
        starts = np.concatenate((carried, openings)).astype(np.int64)
        far = ends[ends - first - 1 > self._max_field_bytes]
        owners = np.searchsorted(starts, far) - 1
        too_long = np.flatnonzero(far - starts[owners] - 1 > self._max_field_bytes)
        if too_long.size:
            raise self._too_long(self._offset + int(starts[owners[too_long[0]]]))

    def _too_long(self, opened_at: int) -> SourceError:
        return self.error_at(
            opened_at,
            f"the quoted value opened on this line is longer than max_field_bytes ({self._max_field_bytes}); "
            "its closing quote is probably missing. If values really are that long, raise max_field_bytes "
            "(and block_size)",
        )


def _line_at(stream: Any, offset: int) -> int:
    """The 1-based line of byte `offset` of `stream`."""
    newlines = 0
    while offset > 0:
        block = stream.read(min(offset, 1 << 20))
        if not block:
            break
        newlines += block.count(b"\n")
        offset -= len(block)
    return newlines + 1
