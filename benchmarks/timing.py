"""Timing primitives for the report: repeated measurement, medians, percentiles, table rows."""

import statistics
import time
from dataclasses import dataclass

__all__ = ["Row", "time_calls", "median", "percentile", "format_seconds", "QUIET_KERNEL", "interleaved"]

#: Kernel arguments for every kernel the report starts: ipykernel would otherwise warn on stderr,
#: each time, that its local TCP transport is unencrypted (errors are still shown).
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


@dataclass
class Row:
    """One line of the report: a figure, optionally compared with a baseline measured alongside."""

    section: str
    item: str
    figure: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


def time_calls(fn, repeats, warmup=1):
    """Call ``fn()`` ``warmup`` times untimed, then ``repeats`` times; return the durations (s)."""
    for _ in range(warmup):
        fn()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return durations


def interleaved(fns, repeats, warmup=1):
    """Time several zero-argument calls in turns (A B C A B C ...): a burst of load from other
    processes then hits all of them alike. Returns one list of durations (s) per function."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    durations = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, durations):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return durations


def median(values):
    return statistics.median(values)


def percentile(values, q):
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def format_seconds(seconds):
    if seconds >= 1:
        return f"{seconds:.1f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"
