"""The benchmark harness measures each movement's own process, whatever its parent holds."""

from __future__ import annotations

from benchmarks.harness import measure

#: Memory the parent holds when it starts the measured process.
PARENT_MB = 400


def allocate(megabytes: int) -> int:
    """A movement that touches `megabytes` MB and reports them as rows."""
    block = bytearray(megabytes << 20)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    return megabytes


def test_peak_rss_is_the_child_s_own_not_the_parent_s() -> None:
    held = bytearray(PARENT_MB << 20)
    for offset in range(0, len(held), 4096):
        held[offset] = 1
    # ru_maxrss survives fork + exec on Linux: read that way, the child's peak would be >= 400 MB.
    small = measure("small", "tests.benchmarks.test_harness:allocate", rows=10, megabytes=10)
    assert small.peak_rss_mb < PARENT_MB / 2
    big = measure("big", "tests.benchmarks.test_harness:allocate", rows=150, megabytes=150)
    assert 130 < big.peak_rss_mb - small.peak_rss_mb < 150  # the 140 MB more it touched
    assert big.start_rss_mb < small.start_rss_mb + 20
    del held
