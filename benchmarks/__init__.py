"""The course's performance report: `make bench` (= `python -m benchmarks`).

Every figure is a median (or p50/p95) over repeated runs, and every comparison
is a ratio of two things measured in the same run, on the same machine. Tests
never assert on time; this report is where speed is watched.
"""
