"""Lint exercise test cells against the rules the sandboxed grader relies on (CONTRIBUTING.md).

``python -m grader lint [NOTEBOOK ...]`` (default: every ``solutions/*/*.ipynb``)
prints one line per problem: ``path: cell <grade_id> line <n>: what to change``.
Each rule exists because the grader judges test cells *outside* the student's
Python process:

* every assertion is a ``cu.checks.check_*`` call (no ``assert``/``raise``);
* the expected value is written inline as the second argument, never stored in
  a variable first (the grader removes expected values from the student's run);
* ``atol``, ``rtol``, ``match`` and ``hint`` are literals (read from the source);
* inputs come from literals or explicitly seeded generators, never the global
  random state (``torch.randn(...)`` without ``generator=``, ``np.random.rand``,
  ``random.random``...), so the student's run sees the solution's inputs;
* ``check_true`` gets the student's value itself or ``value <op> expected``, not
  a comparison computed in the student's process (``torch.allclose`` etc.);
* the cell ends with ``cu.checks.passed("...")``.
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grader import rewrite as rw
from grader.astutil import dotted_name, parse

TORCH_RANDOM = {
    "rand",
    "randn",
    "randint",
    "randperm",
    "normal",
    "rand_like",
    "randn_like",
    "randint_like",
    "bernoulli",
    "multinomial",
    "poisson",
}
TENSOR_RANDOM_METHODS = {"uniform_", "normal_", "random_", "bernoulli_", "exponential_", "cauchy_", "geometric_", "log_normal_"}
NUMPY_SEEDED = {"default_rng", "RandomState", "Generator", "SeedSequence", "PCG64", "MT19937", "Philox", "SFC64", "BitGenerator"}
PY_RANDOM = {
    "random",
    "randint",
    "randrange",
    "choice",
    "choices",
    "shuffle",
    "sample",
    "uniform",
    "gauss",
    "normalvariate",
    "lognormvariate",
    "expovariate",
    "betavariate",
    "gammavariate",
    "triangular",
    "getrandbits",
    "randbytes",
    "vonmisesvariate",
    "paretovariate",
    "weibullvariate",
}
#: Two-sided comparisons: inside check_true they compute the expected value in the student's process.
COMPARISONS = {
    "allclose",
    "isclose",
    "equal",
    "array_equal",
    "array_equiv",
    "eq",
    "assert_close",
    "assert_allclose",
    "assert_equal",
}


@dataclass
class Violation:
    path: str
    cell: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}: cell {self.cell} line {self.line}: {self.message}"


def _has_generator(call: ast.Call) -> bool:
    return any(k.arg == "generator" for k in call.keywords)


def global_rng_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls that draw from a global random state."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted_name(node.func, partial=True)
        parts = name.split(".")
        if len(parts) == 2 and parts[0] == "torch" and parts[1] in TORCH_RANDOM and not _has_generator(node):
            out.append(
                (node.lineno, f"`{name}(...)` uses the global random state: pass generator=torch.Generator().manual_seed(N)")
            )
        elif isinstance(node.func, ast.Attribute) and node.func.attr in TENSOR_RANDOM_METHODS and not _has_generator(node):
            out.append((node.lineno, f"`.{node.func.attr}(...)` uses the global random state: pass generator=..."))
        elif len(parts) == 3 and parts[:2] in (["np", "random"], ["numpy", "random"]) and parts[2] not in NUMPY_SEEDED:
            out.append((node.lineno, f"`{name}(...)` uses NumPy's global random state: use np.random.default_rng(N)"))
        elif (
            len(parts) == 3
            and parts[:2] in (["np", "random"], ["numpy", "random"])
            and parts[2] == "default_rng"
            and not node.args
            and not node.keywords
        ):
            out.append((node.lineno, "`np.random.default_rng()` without a seed is not deterministic"))
        elif len(parts) == 2 and parts[0] == "random" and parts[1] in PY_RANDOM:
            out.append((node.lineno, f"`{name}(...)` uses Python's global random state: use random.Random(N)"))
    return out


def lint_test_cell(source: str) -> list[tuple[int, str]]:
    """Problems in one test cell, as ``(line, message)``."""
    problems: list[tuple[int, str]] = []
    try:
        tree = parse(source)
    except SyntaxError as err:
        return [(err.lineno or 0, f"the cell does not parse: {err.msg}")]
    problems += rw.forbidden_statements(tree)
    calls = []
    for node in ast.walk(tree):
        function = rw.check_function(node)
        if function is None:
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and dotted_name(node.func, partial=True).startswith("cu.checks.")
                and node.func.attr not in rw.KINDS
                and node.func.attr != "passed"
            ):
                problems.append(
                    (node.lineno, f"`cu.checks.{node.func.attr}` is not a check the grader knows ({', '.join(sorted(rw.KINDS))})")
                )
            continue
        if not rw.is_canonical(node):
            problems.append((node.lineno, f"write `cu.checks.{function}(...)` (the grader looks for that spelling)"))
        if function != "passed":
            calls.append((node, function))
    for node, function in calls:
        try:
            args = rw.bind(function, node)
        except rw.RewriteError as err:
            problems.append((node.lineno, str(err).split(": ", 1)[-1]))
            continue
        expected_param = rw.EXPECTED_PARAM.get(function)
        if expected_param and expected_param not in args:
            problems.append((node.lineno, f"{function} needs the expected value as its second argument"))
        for param in ("atol", "rtol", "match", "hint"):
            if param in args:
                try:
                    ast.literal_eval(args[param])
                except (ValueError, SyntaxError, TypeError):
                    problems.append(
                        (node.lineno, f"`{param}=` must be a literal (the grader reads it from the source, outside the sandbox)")
                    )
        if function == "check_true":
            value = args.get("value")
            if value is not None:
                for sub in ast.walk(value):
                    if isinstance(sub, ast.Call) and (dotted_name(sub.func, partial=True).split(".")[-1] in COMPARISONS):
                        problems.append(
                            (
                                node.lineno,
                                f"check_true({dotted_name(sub.func, partial=True)}(...)) is decided inside the "
                                "student's process: use check_close/check_equal with the "
                                "expected value inline",
                            )
                        )
                        break
                if isinstance(value, ast.Compare):
                    if len(value.ops) != 1:
                        problems.append(
                            (node.lineno, "check_true(a < b < c): write one comparison per check, student's value on the left")
                        )
                    elif _is_literal(value.left) and not _is_literal(value.comparators[0]):
                        problems.append((node.lineno, "check_true(literal <op> value): put the student's value on the left"))
    if not calls:
        problems.append((1, "no cu.checks calls: nothing in this test cell can be graded"))
    try:
        _tree, found, _label = rw.analyse(source)
        expected_nodes = [e for _n, _s, _a, e in found if e is not None]
        for stmt in rw.expected_only_assignments(_tree, expected_nodes):
            names = ", ".join(t.id for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]))
            problems.append(
                (
                    stmt.lineno,
                    f"`{names}` is only used to compute an expected value: write that "
                    "computation inline in the check (e.g. rebuild a seeded model there "
                    "instead of keeping a copy); expected values never run in the "
                    "student's process",
                )
            )
    except rw.RewriteError:
        pass  # reported above
    problems += global_rng_calls(tree)
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Expr) and rw.check_function(last.value) == "passed"):
        problems.append((getattr(last, "lineno", 1), 'end the cell with cu.checks.passed("...")'))
    return sorted(set(problems))


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, SyntaxError, TypeError):
        return False


def lint_notebook(path: Path, root: Path | None = None) -> list[Violation]:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    shown = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    out = []
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code"):
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for line, message in lint_test_cell(source):
            out.append(Violation(shown, meta.get("grade_id", f"#{index}"), line, message))
    return out


def lint_all(paths: list[Path] | None = None, root: Path | None = None) -> list[Violation]:
    from grader.repo_exercises import ROOT, SOLUTIONS

    root = root or ROOT
    paths = paths or sorted(SOLUTIONS.glob("*/*.ipynb"))
    out = []
    for path in paths:
        out += lint_notebook(Path(path).resolve(), root)
    return out


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv or [])]
    violations = lint_all(paths or None)
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} problem(s): see CONTRIBUTING.md, 'Rules for test cells'", file=sys.stderr)
        return 1
    print("test cells follow the grading rules")
    return 0
