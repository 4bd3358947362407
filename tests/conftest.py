"""Shared fixtures: a session-wide dataset cache, and notebook execution with timings."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES = ROOT / "build" / "notebook-runtimes.json"

# Tests run offline, like CI: the hub is never contacted.
os.environ.setdefault("P2L_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "agg")
# `make test` runs the tests in two processes on two cores: one thread each, so that neither process's
# OpenMP threads wait for a core the other one holds (oversubscribed, they can run ten times slower).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = os.environ["P2L_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
# One cache for the whole run (and across runs): the first notebook that needs a dataset builds it.
os.environ.setdefault("P2L_CACHE", str(ROOT / "build" / "cache"))


def execute_notebook(path: Path, *, timeout: int = 120, env: dict | None = None):
    """Run a notebook top to bottom in a fresh kernel; return (executed notebook, seconds).

    Raises nbclient's CellExecutionError (with the failing cell and traceback) on any error.
    """
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    start = time.perf_counter()
    # The kernel gets its own environment (this process's is left alone, so notebooks can run in threads).
    client.execute(env={**os.environ, **(env or {})})
    return nb, time.perf_counter() - start


def record_runtime(name: str, seconds: float) -> None:
    """Keep measured notebook runtimes in build/notebook-runtimes.json (for the README's course map)."""
    RUNTIMES.parent.mkdir(parents=True, exist_ok=True)
    # `make test` runs tests in two processes (pytest-xdist): one writer at a time, and never a half-written file.
    with open(RUNTIMES.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(RUNTIMES.read_text()) if RUNTIMES.exists() else {}
        data[name] = round(seconds, 1)
        partial = RUNTIMES.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")
        partial.replace(RUNTIMES)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


#: Seconds of setup, call and teardown per test module, summed over this run's tests (whichever worker ran them).
_MODULE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    module = report.nodeid.split("::", 1)[0]
    _MODULE_SECONDS[module] = _MODULE_SECONDS.get(module, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _MODULE_SECONDS:  # the suite's time by part, for the README (summed over workers: not wall time)
        terminalreporter.write_sep("-", "seconds per test module (setup + call + teardown, summed over workers)")
        for module, seconds in sorted(_MODULE_SECONDS.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{seconds:8.1f}  {module}")
        terminalreporter.write_line(f"{sum(_MODULE_SECONDS.values()):8.1f}  in all")
    shots = ROOT / "build" / "screenshots"
    if shots.exists() and any(shots.iterdir()):
        terminalreporter.write_line(f"screenshots of every lesson and widget: {shots}")
    if RUNTIMES.exists():
        terminalreporter.write_line(f"measured notebook runtimes (s): {RUNTIMES}")


def widgets_in(root, kinds: type | tuple[type, ...] = object) -> list:
    """Every widget in ``root`` (itself included) that is one of ``kinds``, in document order (depth first)."""
    found = [root] if isinstance(root, kinds) else []
    for child in getattr(root, "children", ()):
        found += widgets_in(child, kinds)
    return found
