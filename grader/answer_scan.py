"""Trusted-side review flags: read each submitted answer cell (outside any sandbox) and flag what needs a human look.

When grading, the sandbox watches every test cell that uses
`course_utils.restrictions.call_without` for the routes it forbids, from hooks
set before the student's code runs (``_prepare_watch`` in ``grader/_worker.py``),
and the grader fails the cell on what it reports. That watch still lives in the
student's process; what it cannot see is listed in its docstring. This scan is
the part that the student cannot reach at all: it runs in the instructor's
process, on the notebook file, and never executes it. It does not change a grade; it lists, per
submission, answer cells that

- reach a route the exercise forbids for that function by name (the
  ``call_without`` lists in the assignment's test cells: ``cu.speed.random_translate``,
  ``from course_utils.costs import measured_flops``, ``torch.ops.aten...``);
- use the tools needed to switch a guard off or hide what runs: profile/trace
  hooks, PyTorch dispatch-mode internals, ``exec``/``eval``/``compile``,
  ``importlib``/``__import__``, ``inspect``, ``sys.modules``, frame and code
  objects, threads and processes, ``globals()``, ``getattr``/``setattr`` on a library module with a computed
  name, and assignments to
  attributes of library modules (``cu.restrictions.call_without = ...``).

Usage: ``python -m grader.answer_scan COURSE [ASSIGNMENT ...]`` prints one line
per flag for every notebook under ``COURSE/submitted/<student>/<assignment>/``
and exits 0 (flags are for review, not failures). A flag is a reason to read
the answer, not proof of cheating: ``inspect`` has honest uses.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.astutil import dotted_name, parse

__all__ = ["Flag", "forbidden_routes", "scan_notebook", "scan_source"]

# Identifiers whose mere use in an answer deserves a look, with the reason.
SUSPICIOUS = {
    "setprofile": "installs or removes a profile hook (the guard's call watcher)",
    "settrace": "installs or removes a trace hook",
    "_python_dispatch": "PyTorch dispatch-mode internals (the guard's operator watcher)",
    "_pop_mode": "pops a PyTorch dispatch mode",
    "_push_mode": "pushes a PyTorch dispatch mode",
    "_pop_torch_dispatch_stack": "pops a PyTorch dispatch mode",
    "_set_dispatch_mode": "sets PyTorch's dispatch mode",
    "_unset_dispatch_mode": "unsets PyTorch's dispatch mode",
    "_DisableTorchDispatch": "disables PyTorch's Python dispatch",
    "TorchDispatchMode": "defines a dispatch mode",
    "restrictions": "touches the exercise guard (course_utils.restrictions)",
    "call_without": "touches the exercise guard (call_without)",
    "checks": "touches the self-check functions",
    "CheckFailed": "touches the self-check exception",
    "exec": "runs code built at run time",
    "eval": "runs code built at run time",
    "compile": "compiles code at run time",
    "__import__": "imports by a computed name",
    "importlib": "imports by a computed name",
    "inspect": "reads source or frames at run time",
    "getsource": "copies a library function's source",
    "_getframe": "reads the caller's frames",
    "__code__": "reads or replaces a function's code",
    "__globals__": "reads another module's globals",
    "globals": "reads or changes the notebook's globals",
    "__builtins__": "changes built-ins",
    "builtins": "changes built-ins",
    "ctypes": "reaches into the interpreter",
    "gc": "walks the interpreter's objects",
    "threading": "runs code in another thread (the guard watches the calling thread)",
    "concurrent": "runs code in another thread or process",
    "multiprocessing": "runs code in another process",
    "subprocess": "runs another program",
}
BUILTIN_ONLY = {"exec", "eval", "compile", "globals"}  # as attributes these are ordinary (model.eval(), torch.compile)
LIBRARY_ROOTS = {
    "cu",
    "course_utils",
    "torch",
    "F",
    "nn",
    "TF",
    "torchvision",
    "np",
    "numpy",
    "sys",
    "time",
    "timm",
    "math",
    "sklearn",
}


@dataclass(frozen=True)
class Flag:
    """One reason to review an answer cell."""

    cell: str
    line: int
    reason: str


def scan_source(source: str, cell: str = "cell", forbidden: set[str] | frozenset[str] = frozenset()) -> list[Flag]:
    """Flags for one answer cell's ``source``; ``forbidden`` holds dotted routes (``"course_utils.speed.random_translate"``)."""
    try:
        tree = parse(source)
    except SyntaxError as err:
        return [Flag(cell, err.lineno or 0, f"does not parse ({err.msg})")]
    tails = {tuple(path.split(".")[-2:]): path for path in forbidden if not path.startswith("aten.")}
    lasts = {path.split(".")[-1]: path for path in forbidden if not path.startswith("aten.")}
    flags: list[Flag] = []

    def flag(node: ast.AST, reason: str) -> None:
        item = Flag(cell, getattr(node, "lineno", 0), reason)
        if item not in flags:
            flags.append(item)

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in SUSPICIOUS:
            flag(node, f"{node.id}: {SUSPICIOUS[node.id]}")
        elif isinstance(node, ast.Name) and node.id.startswith("__p2l"):
            flag(node, f"{node.id}: touches the grader's own recorder")
        elif isinstance(node, ast.Attribute):
            if node.attr in SUSPICIOUS and node.attr not in BUILTIN_ONLY:
                flag(node, f"{node.attr}: {SUSPICIOUS[node.attr]}")
            if node.attr == "modules" and dotted_name(node.value, partial=True) == "sys":
                flag(node, "sys.modules: reaches modules by name")
            if node.attr == "ops" and dotted_name(node.value, partial=True) == "torch":
                flag(node, "torch.ops: calls PyTorch's operators directly")
            parts = dotted_name(node, partial=True).split(".")
            if tuple(parts[-2:]) in tails:
                flag(node, f"names a forbidden route: {tails[tuple(parts[-2:])]}")
            elif parts[0] in LIBRARY_ROOTS and parts[-1] in lasts:  # an alias: F.conv2d for torch.nn.functional.conv2d
                flag(node, f"names a forbidden route: {lasts[parts[-1]]}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                root = full.split(".")[0] if not module else module.split(".")[0]
                if alias.name.split(".")[0] in SUSPICIOUS or root in SUSPICIOUS:
                    flag(node, f"imports {full}: {SUSPICIOUS.get(alias.name.split('.')[0]) or SUSPICIOUS[root]}")
                if tuple(full.split(".")[-2:]) in tails:
                    flag(node, f"imports a forbidden route: {full}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr", "delattr"):
            on_library = bool(node.args) and dotted_name(node.args[0], partial=True).split(".")[0] in LIBRARY_ROOTS
            literal = len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
            if on_library and not literal:
                flag(node, f"{node.func.id} on a library module with a computed attribute name")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and dotted_name(target, partial=True).split(".")[0] in LIBRARY_ROOTS:
                    flag(node, f"rebinds a library attribute: {dotted_name(target, partial=True)}")
    return sorted(flags, key=lambda f: f.line)


def forbidden_routes(notebook: dict) -> dict[str, set[str]]:
    """``{graded function name: the routes its tests' call_without lists forbid}``, read from the test cells.

    Lists written inline or stored in a variable first (``library = [...]``) are both read.
    """
    routes: dict[str, set[str]] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = parse("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
        except SyntaxError:
            continue
        lists = {
            t.id: node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name) and isinstance(node.value, ast.List)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and dotted_name(node.func, partial=True).endswith("call_without")
                and len(node.args) >= 2
            ):
                listed, fn = node.args[0], node.args[1]
                listed = lists.get(listed.id, listed) if isinstance(listed, ast.Name) else listed
                if isinstance(listed, ast.List) and isinstance(fn, ast.Name):
                    routes.setdefault(fn.id, set()).update(
                        e.value for e in listed.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    )
    return routes


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def scan_notebook(notebook: dict, routes: dict[str, set[str]] | None = None, reference: dict | None = None) -> list[Flag]:
    """Flags for every answer cell (nbgrader ``solution`` cells) of a submitted ``notebook``, and for every other
    code cell without nbgrader metadata that is not in ``reference`` (the assignment's own notebook): the cells
    the student added or changed. ``routes`` and ``reference`` default to what ``notebook`` itself holds."""
    reference = notebook if reference is None else reference
    routes = forbidden_routes(reference) if routes is None else routes
    known = {_source(c) for c in reference.get("cells", []) if not c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    flags: list[Flag] = []
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or (meta and not meta.get("solution")):
            continue
        source = _source(cell)
        if not meta.get("solution") and source in known:
            continue
        try:
            defined = {n.name for n in ast.walk(parse(source)) if isinstance(n, ast.FunctionDef)}
        except SyntaxError:
            defined = set()
        forbidden = set().union(*(routes.get(name, set()) for name in defined)) if defined else set()
        flags.extend(scan_source(source, meta.get("grade_id") or f"cell {cell.get('id', '?')}", forbidden))
    return flags


def main(argv: list[str] | None = None) -> int:
    """Print the review flags of every submission in a course folder."""
    parser = argparse.ArgumentParser(prog="python -m grader.answer_scan", description=__doc__.split("\n\n")[0])
    parser.add_argument("course", type=Path)
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args(argv)
    count = 0
    from grader.state import Course

    course = Course(args.course)
    for path in sorted(course.submitted.glob("*/*/*.ipynb")):
        student, assignment = path.parent.parent.name, path.parent.name
        if args.assignments and assignment not in args.assignments:
            continue
        source_nb = course.solutions / assignment / path.name
        reference = source_nb if source_nb.exists() else None
        ref = json.loads(reference.read_text(encoding="utf-8")) if reference else None
        for item in scan_notebook(json.loads(path.read_text(encoding="utf-8")), reference=ref):
            print(f"{student}/{assignment}/{path.name}: {item.cell} line {item.line}: {item.reason}")
            count += 1
    print(f"{count} flag(s) for review", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
