"""Side-by-side benchmarks: `make bench` (``python -m bench``) runs every ``bench/bench_*.py``.

Each module defines ``run() -> list[Row]``; a row compares our way against a
baseline measured in the same run, on the same machine, so the ratio means
something even when absolute speeds vary between machines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    """One line of the benchmark table."""

    benchmark: str
    metric: str
    ours: float
    baseline: float | None
    unit: str
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.ours / self.baseline
