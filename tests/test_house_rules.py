"""House rules checked by machine: type hints (mypy), lint and format (ruff), configured in pyproject.toml.

Every ``course_utils`` module is listed in pyproject's strict ``[[tool.mypy.overrides]]`` (a new
module that is not fails `test_every_course_utils_module_is_strict`) and must type-check with every
function annotated: a mypy error in a strict module fails `test_mypy`. ``ruff check .`` and
``ruff format --check .`` must pass on the whole repository.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (the test extra installs it there)
    import tomli as tomllib

import pytest

from conftest import ROOT

_ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):(?P<line>\d+): error: ", re.MULTILINE)


def _strict_modules() -> list[str]:
    """Modules of the pyproject overrides that disallow untyped and incomplete definitions."""
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    modules: list[str] = []
    for override in mypy.get("overrides", []):
        if override.get("disallow_untyped_defs") and override.get("disallow_incomplete_defs"):
            names = override["module"]
            modules += [names] if isinstance(names, str) else names
    return modules


def _path(module: str) -> str:
    """A module's file: ``a/b.py``, or ``a/b/__init__.py`` for a package."""
    base = module.replace(".", "/")
    return f"{base}/__init__.py" if (ROOT / base / "__init__.py").is_file() else f"{base}.py"


def test_strict_modules_are_listed_and_exist():
    modules = _strict_modules()
    assert modules, "pyproject.toml lists no strict mypy modules (disallow_untyped_defs + disallow_incomplete_defs)"
    missing = [m for m in modules if not (ROOT / _path(m)).is_file()]
    assert not missing, f"strict mypy modules that do not exist: {missing}"


def test_every_course_utils_module_is_strict():
    """A new course_utils module joins the strict list (issue 19: type hints on every public function)."""
    strict = {_path(m) for m in _strict_modules()}
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "course_utils").rglob("*.py") if "resources" not in p.parts)
    assert files, "found no course_utils modules"
    loose = [f for f in files if f not in strict]
    assert not loose, f"add these to the strict [[tool.mypy.overrides]] in pyproject.toml (and annotate them): {loose}"


def test_mypy():
    """The strict modules (every course_utils module): 0 mypy errors."""
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--cache-dir", "build/mypy", "course_utils"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    output = run.stdout + run.stderr
    # 0: no errors, 1: type errors found; anything else is mypy failing to run (bad config, crash).
    assert run.returncode in (0, 1), f"mypy did not run (exit {run.returncode}):\n{output}"
    assert re.search(r"^(Success: no issues found|Found \d+ errors?) in \d+ (source )?files?", output, re.MULTILINE), output
    strict = {_path(m) for m in _strict_modules()}
    errors: dict[str, int] = {}
    for match in _ERROR.finditer(output):
        errors[match["path"]] = errors.get(match["path"], 0) + 1
    in_strict = [line for line in output.splitlines() if line.split(":", 1)[0] in strict]
    rest = {path: n for path, n in sorted(errors.items()) if path not in strict}
    print(f"\nmypy: {len(strict)} strict modules clean; {sum(rest.values())} errors in the rest {rest} ({seconds:.0f} s)")
    assert not in_strict, "mypy errors in the strict modules (pyproject [tool.mypy]):\n" + "\n".join(in_strict)


def test_mypy_catches_a_missing_annotation(tmp_path):
    """The strict options really reject an unannotated function (the check above can fail)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f(x):\n    return x\n")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--disallow-untyped-defs", "--cache-dir", str(ROOT / "build" / "mypy-probe"), str(probe)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1 and "no-untyped-def" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("module", _strict_modules())
def test_figures_declare_they_return_a_figure(module):
    """Every ``figure_*`` function (public, or ``_figure_*`` behind a widget) of a strict module is annotated ``-> Figure``."""
    tree = ast.parse((ROOT / _path(module)).read_text())
    wrong = [
        f"{node.name} -> {ast.unparse(node.returns) if node.returns else 'nothing'}"
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.lstrip("_").startswith("figure_")
        and (node.returns is None or ast.unparse(node.returns) not in ("Figure", "'Figure'"))
    ]  # fmt: skip
    assert not wrong, f"{module}: figure functions must return matplotlib.figure.Figure: {wrong}"


def test_ruff_check():
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", ".", "--output-format", "concise"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, f"ruff check . found problems (config in pyproject [tool.ruff]):\n{run.stdout}{run.stderr}"


def test_ruff_format():
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, f"run `ruff format .` (the lesson sources in src/ are left as written):\n{run.stdout}{run.stderr}"
