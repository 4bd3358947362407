"""Rewrite test cells so that the sandbox only *records* values and the grader judges them.

A test cell (see CONTRIBUTING.md, "Rules for test cells") calls
``cu.checks.check_*(actual, expected, name, ...)``. For a student's run every
such call becomes ``__p2l_record__(k, kind, lambda: actual)``: the expected
value is removed (so it is never computed, and never visible, in the student's
process), and so is any assignment whose only use is an expected value. For the
reference run of the solution the call also records ``lambda: expected``.
Names, tolerances, hints and ``match`` strings are read here, from the trusted
source, never from the sandbox.
"""

from __future__ import annotations

import ast
import copy
import inspect
from dataclasses import dataclass, field

from course_utils import checks as _checks
from grader.astutil import dotted_name, parse

RECORD = "__p2l_record__"
GUARD = "call_without"  # course_utils.restrictions.call_without: see guarded_routes

#: cu.checks function -> kind recorded in the sandbox.
KINDS = {
    "check_close": "close",
    "check_equal": "equal",
    "check_shape": "shape",
    "check_dtype": "dtype",
    "check_true": "true",
    "check_between": "between",
    "check_raises": "raises",
}
#: Parameters of each check, from course_utils itself.
SIGNATURES = {name: inspect.signature(getattr(_checks, name)) for name in KINDS}
#: The parameter holding the expected value (``check_true`` has none).
EXPECTED_PARAM = {
    "check_close": "expected",
    "check_equal": "expected",
    "check_shape": "shape",
    "check_dtype": "dtype",
    "check_raises": "exception",
}
OPTION_PARAMS = ("name", "atol", "rtol", "hint", "match", "low", "high")
COMPARE_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class RewriteError(ValueError):
    """A test cell the grader cannot judge outside the sandbox; the message says why and where."""


@dataclass
class CheckSpec:
    """One check call in a test cell, as the trusted grader understands it."""

    index: int
    function: str  # check_close, ...
    kind: str  # close | equal | shape | dtype | true | between | compare | raises
    line: int
    name: str
    options: dict = field(default_factory=dict)  # atol, rtol, hint, match, low, high (literals)
    op: str | None = None  # for kind == "compare"
    actual_src: str = ""
    expected_src: str = ""


@dataclass
class RewrittenCell:
    student_source: str
    reference_source: str
    checks: list[CheckSpec]
    passed_label: str | None
    removed: list[str]  # assignments dropped from the student version (expected-only variables)
    #: Library routes the cell's ``call_without`` calls forbid. In the student version each such call is the
    #: plain call; the sandbox watches the whole cell for these routes and the grader judges what it saw.
    forbidden: list[str] = field(default_factory=list)
    #: Lines of the student version that hold such a call. There a forbidden route reached from the test cell's
    #: own code counts too (the answer *is* the library function); elsewhere the test may call one itself
    #: (to build a reference block, say).
    guarded_lines: list[int] = field(default_factory=list)


def check_function(node: ast.AST) -> str | None:
    """``check_close`` for ``cu.checks.check_close(...)``/``checks.check_close``/``check_close``; else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in KINDS | {"passed": 0}:
        return func.attr
    if isinstance(func, ast.Name) and func.id in KINDS | {"passed": 0}:
        return func.id
    return None


def is_canonical(node: ast.Call) -> bool:
    """Spelled ``cu.checks.<function>`` as the rules ask."""
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "checks"
        and isinstance(func.value.value, ast.Name)
        and func.value.value.id == "cu"
    )


def bind(function: str, node: ast.Call) -> dict[str, ast.AST]:
    """Map the call's arguments to the check's parameter names (AST nodes)."""
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise RewriteError(f"line {node.lineno}: {function}(*args/**kwargs) cannot be graded; pass arguments explicitly")
    try:
        bound = SIGNATURES[function].bind_partial(*node.args, **{k.arg: k.value for k in node.keywords})
    except TypeError as err:
        raise RewriteError(f"line {node.lineno}: {function}: {err}") from None
    return dict(bound.arguments)


def _literal(node: ast.AST | None, what: str, line: int):
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        raise RewriteError(f"line {line}: the {what} must be a literal (it is read by the grader, outside the sandbox)") from None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def analyse(source: str) -> tuple[ast.Module, list[tuple[ast.Call, CheckSpec, ast.AST, ast.AST | None]], str | None]:
    """Parse a test cell: every check call with its spec, actual and expected nodes; the ``passed`` label."""
    try:
        tree = parse(source)
    except SyntaxError as err:
        raise RewriteError(f"the test cell does not parse: {err}") from None
    found = []
    label = None
    for node in ast.walk(tree):
        function = check_function(node)
        if function is None:
            continue
        if function == "passed":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                label = node.args[0].value
            continue
        args = bind(function, node)
        first = next(iter(SIGNATURES[function].parameters))
        if first not in args:
            raise RewriteError(f"line {node.lineno}: {function} has no actual value")
        actual = args[first]
        expected = args.get(EXPECTED_PARAM.get(function, ""), None)
        kind = KINDS[function]
        op = None
        if function in EXPECTED_PARAM and expected is None:
            raise RewriteError(f"line {node.lineno}: {function} needs the expected value as its second argument")
        if (
            function == "check_true"
            and isinstance(actual, ast.Compare)
            and len(actual.ops) == 1
            and type(actual.ops[0]) in COMPARE_OPS
        ):
            kind, op = "compare", COMPARE_OPS[type(actual.ops[0])]
            actual, expected = actual.left, actual.comparators[0]
        options = {}
        if function == "check_between" and not {"low", "high"} <= set(args):
            raise RewriteError(f"line {node.lineno}: check_between needs both bounds, low and high, as literals")
        for param in ("atol", "rtol", "match", "low", "high"):
            if param in args:
                options[param] = _literal(args[param], f"'{param}' of {function}", node.lineno)
        if "hint" in args:
            try:
                options["hint"] = ast.literal_eval(args["hint"])
            except (ValueError, SyntaxError, TypeError):
                pass  # a computed hint is dropped from feedback; the lint asks for a literal
        name = None
        if "name" in args:  # only a label: a non-literal name is shown as written
            try:
                name = ast.literal_eval(args["name"])
            except (ValueError, SyntaxError, TypeError):
                name = ast.unparse(args["name"])
        spec = CheckSpec(
            index=-1,
            function=function,
            kind=kind,
            line=node.lineno,
            name=str(name) if name is not None else "",
            options=options,
            op=op,
            actual_src=ast.unparse(actual),
            expected_src=ast.unparse(expected) if expected is not None else "",
        )
        found.append((node, spec, actual, expected))
    found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    for index, (_node, spec, _a, _e) in enumerate(found):
        spec.index = index
        if not spec.name:
            spec.name = f"check {index + 1}"
    return tree, found, label


def expected_only_assignments(tree: ast.Module, expected_nodes: list[ast.AST]) -> list[ast.stmt]:
    """Top-level assignments whose variables feed only expected values (directly or through each other)."""
    skip = {id(n) for e in expected_nodes for n in ast.walk(e)}
    sink = set().union(*(_names(e) for e in expected_nodes)) if expected_nodes else set()
    removed: list[ast.stmt] = []
    changed = True
    while changed:
        changed = False
        for stmt in tree.body:
            if stmt in removed or not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
                continue
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                continue
            names = {t.id for t in targets}
            if not names & sink:
                continue
            used_elsewhere = any(
                isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names and id(n) not in skip
                for other in tree.body
                if other is not stmt
                for n in ast.walk(other)
            )
            if not used_elsewhere:
                removed.append(stmt)
                skip.update(id(n) for n in ast.walk(stmt))
                sink |= _names(stmt.value)
                changed = True
    return removed


class _Replace(ast.NodeTransformer):
    def __init__(self, calls: dict[int, tuple[CheckSpec, ast.AST, ast.AST | None]], reference: bool):
        self.calls = calls
        self.reference = reference

    def visit_Call(self, node: ast.Call):
        if id(node) in self.calls:
            spec, actual, expected = self.calls[id(node)]
            if spec.kind == "raises":
                actual_thunk = copy.deepcopy(actual)
            else:
                actual_thunk = ast.Lambda(args=_no_args(), body=copy.deepcopy(actual))
            args = [ast.Constant(spec.index), ast.Constant(spec.kind), actual_thunk]
            if self.reference and expected is not None:
                args.append(ast.Lambda(args=_no_args(), body=copy.deepcopy(expected)))
            return ast.copy_location(ast.Call(func=ast.Name(RECORD, ast.Load()), args=args, keywords=[]), node)
        if check_function(node) == "passed":
            return ast.copy_location(ast.Constant(None), node)
        return self.generic_visit(node)


def _no_args() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def forbidden_statements(tree: ast.Module) -> list[tuple[int, str]]:
    """Assertions the grader cannot judge outside the sandbox (bare ``assert``/``raise``)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            out.append((node.lineno, "a bare `assert` (use a cu.checks function: its result is judged outside the sandbox)"))
        elif isinstance(node, ast.Raise):
            out.append((node.lineno, "a `raise` (use a cu.checks function: its result is judged outside the sandbox)"))
    return out


def _is_guard(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = dotted_name(node.func, partial=True)
    return name is not None and name.split(".")[-1] == GUARD


def guarded_routes(tree: ast.Module) -> list[str]:
    """The routes every ``call_without(routes, fn, ...)`` in a test cell forbids, sorted.

    ``routes`` must be a list of strings written in the call or assigned to a name once in the cell: the grader
    reads it here, from the trusted source, and the sandbox never decides it.

    Raises:
        RewriteError: a ``call_without`` whose routes cannot be read.
    """
    lists: dict[str, list[ast.AST]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            lists.setdefault(stmt.targets[0].id, []).append(stmt.value)
    routes: set[str] = set()
    for node in ast.walk(tree):
        if not _is_guard(node):
            continue
        assert isinstance(node, ast.Call)
        if len(node.args) < 2 or any(isinstance(a, ast.Starred) for a in node.args[:2]):
            raise RewriteError(f"line {node.lineno}: call_without needs the routes and the function as its first two arguments")
        listed = node.args[0]
        if isinstance(listed, ast.Name) and len(lists.get(listed.id, [])) == 1:
            listed = lists[listed.id][0]
        if not (
            isinstance(listed, ast.List)
            and listed.elts
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in listed.elts)
        ):
            raise RewriteError(
                f"line {node.lineno}: call_without's routes must be a list of strings written in this cell "
                "(inline or assigned to a name once), so that the grader can read them"
            )
        routes.update(e.value for e in listed.elts if isinstance(e, ast.Constant))
    return sorted(routes)


class _Unguard(ast.NodeTransformer):
    """``call_without(routes, fn, *args, **kwargs)`` -> ``fn(*args, **kwargs)``: the sandbox watches the cell."""

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if _is_guard(node):
            return ast.copy_location(ast.Call(func=node.args[1], args=node.args[2:], keywords=node.keywords), node)
        return node


def rewrite(source: str) -> RewrittenCell:
    """The student and reference versions of one test cell.

    Raises:
        RewriteError: the cell breaks a rule the grader depends on.
    """
    tree, found, label = analyse(source)
    forbidden = forbidden_statements(tree)
    if forbidden:
        line, what = forbidden[0]
        raise RewriteError(f"line {line}: {what}")
    if not found:
        raise RewriteError("the test cell has no cu.checks calls, so nothing could be graded")
    calls = {id(node): (spec, actual, expected) for node, spec, actual, expected in found}
    expected_nodes = [e for _n, _s, _a, e in found if e is not None]
    removed = expected_only_assignments(tree, expected_nodes)

    student_tree, student_calls, memo = _clone_with_ids(tree, calls)
    dropped = {id(memo[id(stmt)]) for stmt in removed}
    student_tree.body = [stmt for stmt in student_tree.body if id(stmt) not in dropped]
    student_tree = _Replace(student_calls, reference=False).visit(student_tree)
    forbidden = guarded_routes(tree)
    guarded_lines: list[int] = []
    if forbidden:
        # ast.unparse writes each simple statement on one line: unparse with the calls still in place, read off
        # their lines, then drop the calls from that very text (the lines stay where they are).
        ast.fix_missing_locations(student_tree)
        student_tree = parse(ast.unparse(student_tree))
        guarded_lines = sorted({n.lineno for n in ast.walk(student_tree) if _is_guard(n)})
        student_tree = _Unguard().visit(student_tree)
    reference_tree, reference_calls, _memo = _clone_with_ids(tree, calls)
    reference_tree = _Replace(reference_calls, reference=True).visit(reference_tree)
    ast.fix_missing_locations(student_tree)
    ast.fix_missing_locations(reference_tree)
    return RewrittenCell(
        student_source=ast.unparse(student_tree),
        reference_source=ast.unparse(reference_tree),
        checks=[spec for _n, spec, _a, _e in found],
        passed_label=label,
        removed=[ast.unparse(stmt) for stmt in removed],
        forbidden=forbidden,
        guarded_lines=guarded_lines,
    )


def _clone_with_ids(tree: ast.Module, calls: dict) -> tuple[ast.Module, dict, dict]:
    """Deep-copy ``tree``; re-key ``calls`` by the copied call nodes; return the copy memo too."""
    memo: dict = {}
    clone = copy.deepcopy(tree, memo)
    mapped = {}
    for key, (spec, actual, expected) in calls.items():
        mapped[id(memo[key])] = (spec, memo[id(actual)], memo[id(expected)] if expected is not None else None)
    return clone, mapped, memo
