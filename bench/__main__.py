"""Run every benchmark in bench/ and print one Markdown table (paste it into the README)."""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from pathlib import Path

import torch


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}, torch {torch.__version__}"


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    rows = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        start = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run())
        print(f"  {name} took {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print(f"Machine: {machine()}\n")
    print("| benchmark | metric | ours | baseline | ratio | target |")
    print("|---|---|---:|---:|---:|---|")
    for r in rows:
        baseline = "—" if r.baseline is None else f"{r.baseline:,.1f} {r.unit}"
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        print(f"| {r.benchmark} | {r.metric} | {r.ours:,.1f} {r.unit} | {baseline} | {ratio} | {r.target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
