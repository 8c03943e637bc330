"""The harness itself: a killed process really dies mid-stream, and a clean run really runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import killable_chunks, run_and_kill, run_to_end


def test_run_and_kill_kills_a_process_blocked_in_its_source(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    out = tmp_path / "rows"
    run_and_kill(
        f"""
        with open({str(out)!r}, "w") as sink:
            for batch in killable_chunks(1000, 100, {str(marker)!r}, block_after=3):
                sink.write(f"{{batch.num_rows}}\\n")
                sink.flush()
        """,
        marker,
    )
    assert out.read_text().split() == ["100", "100", "100"]


def test_run_and_kill_fails_when_the_process_ends_before_the_marker(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="before the kill point"):
        run_and_kill("print('done')", tmp_path / "never")


def test_run_to_end_streams_every_row() -> None:
    assert sum(batch.num_rows for batch in killable_chunks(1050, 100, None, block_after=0)) == 1050
    assert run_to_end("print(sum(b.num_rows for b in killable_chunks(1050, 100, None, 0)))").strip() == "1050"
