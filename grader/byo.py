"""Bring your own nbgrader assignment: test cells written the way nbgrader's documentation writes them.

Instructors' own test cells use bare ``assert``, ``raise AssertionError``, ``try/except/else``,
``np.testing.assert_*``, helper functions and the student's namespace. This module decides, per test cell,
where it is judged:

**Outside the student's process** (like the course's ``cu.checks`` cells), when every assertion of the cell
is one of the shapes below, written at the top level of the cell, and nothing but further checks follows the
first one. The student's run only *records* the student's values; the expected ones come from the solution's
reference run; the verdict is computed here, in the grader's process:

* ``assert A <op> B`` (``==  !=  <  <=  >  >=  in  not in``; ``is``/``is not`` only against
  ``None``/``True``/``False``; chained comparisons), ``assert not ...``, ``assert X and Y`` (one check each),
  ``assert A`` (the truth of a value);
* ``assert P(...)`` with ``P`` one of :data:`PREDICATES` (``np.allclose``, ``math.isclose``, ``torch.equal``,
  ``isinstance`` against plain-data types...), and the statement ``F(...)`` with ``F`` one of
  :data:`ASSERTIONS` (``np.testing.assert_allclose``, ``torch.testing.assert_close``...);
* ``try: <expr>`` / ``except E: pass`` / ``else: raise AssertionError(...)`` ("raises E").

Each operand is either *trusted* — a constant, or computed from constants, allow-listed builtins and
``numpy``/``math``/``torch`` (deterministically), possibly through variables of the test cell used for
nothing else — or the *student's* value (anything else, with no comparison inside it). Student operands are
evaluated in the sandbox, in source order, as the student's process would; trusted ones are never computed
there (hidden expected values stay hidden) and the operation itself (the comparison, ``np.allclose``...) runs
here on the decoded values, so redefining ``np.allclose``, ``AssertionError`` or ``__eq__``-tricks in the
student's process changes nothing. ``a or b`` is not judged outside (``b`` may not run in nbgrader).

**Inside the sandbox**, everything else: the cell runs as written, with every protection of the sandbox,
and nbgrader's own rule gives the score (no error and no stderr output: full points; a number as the cell's
result: partial credit). A student's code could fake such a pass, so ``status``, the graded notebook and the
feedback say so per cell ("judged inside the sandbox"). ``autograde --strict`` refuses such assignments.

A cell judged outside whose reference values are not plain data (an object the sandbox cannot record) is
moved inside after the reference run (:func:`apply_inside`), rather than judged on a value it cannot see.
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib
from dataclasses import dataclass, field

import numpy as np
import torch

from grader import lint
from grader import rewrite as rw
from grader.astutil import dotted_name, parse
from grader.wire import DecodeError, Opaque, decode

KIND = "assert"  # the recorder kind of an assert check (the worker encodes the values as plain data)
INSIDE_KEY = "__inside__"  # in reference.json: grade_id -> {INSIDE_KEY: reason} for cells moved inside
INSIDE_LABEL = "judged inside the sandbox"

#: ``assert P(...)``: predicates computed here on the decoded values (the truth of the result is the verdict).
PREDICATES = {
    "numpy.allclose",
    "numpy.isclose",
    "numpy.array_equal",
    "numpy.array_equiv",
    "numpy.all",
    "numpy.any",
    "math.isclose",
    "torch.allclose",
    "torch.equal",
    "torch.isclose",
    "torch.all",
    "torch.any",
    "builtins.isinstance",
    "builtins.all",
    "builtins.any",
}
#: ``F(...)`` as a statement: assertion functions called here on the decoded values (no exception: passed).
ASSERTIONS = {
    "numpy.testing.assert_allclose",
    "numpy.testing.assert_array_equal",
    "numpy.testing.assert_equal",
    "numpy.testing.assert_almost_equal",
    "numpy.testing.assert_array_almost_equal",
    "numpy.testing.assert_approx_equal",
    "numpy.testing.assert_array_less",
    "numpy.testing.assert_array_max_ulp",
    "torch.testing.assert_close",
}
#: Types ``isinstance`` can be judged against: the recorded value keeps exactly these types.
PLAIN_TYPES = {
    "builtins.int",
    "builtins.float",
    "builtins.complex",
    "builtins.bool",
    "builtins.str",
    "builtins.list",
    "builtins.tuple",
    "builtins.dict",
    "numpy.ndarray",
    "numpy.generic",
    "numpy.number",
    "numpy.integer",
    "numpy.floating",
    "numpy.bool_",
    "numpy.float64",
    "numpy.float32",
    "numpy.int64",
    "numpy.int32",
    "torch.Tensor",
}
#: Modules whose functions compute trusted (expected) values.
TRUSTED_MODULES = {"numpy", "math", "torch", "cmath"}
#: Builtins allowed in trusted values (deterministic, no input/output).
TRUSTED_BUILTINS = {
    "abs",
    "all",
    "any",
    "bool",
    "complex",
    "dict",
    "divmod",
    "enumerate",
    "float",
    "int",
    "len",
    "list",
    "max",
    "min",
    "pow",
    "range",
    "reversed",
    "round",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "ValueError",
    "TypeError",
    "KeyError",
    "IndexError",
    "ZeroDivisionError",
    "NameError",
    "AttributeError",
    "RuntimeError",
    "NotImplementedError",
    "ArithmeticError",
    "LookupError",
    "AssertionError",
    "Exception",
    "StopIteration",
    "OverflowError",
    "FileNotFoundError",
    "OSError",
    "UnboundLocalError",
    "RecursionError",
}
#: Attributes of trusted modules that are not deterministic data (memory, files, clocks).
UNTRUSTED_ATTRIBUTES = {
    "empty",
    "empty_like",
    "load",
    "loadtxt",
    "genfromtxt",
    "fromfile",
    "memmap",
    "save",
    "open",
    "time",
    "random",
    "seed",
    "manual_seed",
    "initial_seed",
}
COMPARE_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


class Inside(Exception):
    """This cell is judged inside the sandbox; the message says why (for the instructor)."""


@dataclass
class AssertSpec(rw.CheckSpec):
    """One check of an nbgrader-style test cell, judged here."""

    form: str = "truth"  # truth: bool(expression) | call: an assertion function must not raise
    expression: str = ""  # the trusted evaluation, over __s[i] (student values), __t[j] (trusted), __f[k]
    functions: list[str] = field(default_factory=list)  # dotted names of the real functions, for __f[k]
    students: list[str] = field(default_factory=list)  # source of each student operand
    statement: str = ""  # the assertion as written (for messages)
    message: str | None = None  # the assert's literal message


def judged_where(cell: rw.RewrittenCell) -> str:
    return getattr(cell, "judged", "outside")


# ----------------------------------------------------------------------------- names and trust


def import_aliases(sources: list[str]) -> dict[str, str]:
    """``{alias: module path}`` from the import statements in ``sources`` (trusted modules only)."""
    out: dict[str, str] = {}
    for source in sources:
        try:
            tree = parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] in TRUSTED_MODULES:
                        if a.asname:
                            out[a.asname] = a.name
                        else:
                            out[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] in TRUSTED_MODULES:
                    for a in node.names:
                        if a.name != "*":
                            out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def bound_names(sources: list[str]) -> set[str]:
    """Every name assigned, defined or imported anywhere in ``sources`` (so never a trusted builtin)."""
    out: set[str] = set()
    for source in sources:
        try:
            tree = parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                out.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                out |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.arg):
                out.add(node.arg)
    return out


@dataclass
class Context:
    """What the notebook around a test cell says about names: trusted imports and names it rebinds."""

    aliases: dict[str, str]  # alias -> dotted module path (trusted modules), from cells nobody answers
    rebound: set[str]  # names (re)bound by cells other than imports of trusted modules
    loaded: dict[str, int] = field(default_factory=dict)  # name -> how many code cells read it

    def resolve(self, node: ast.AST) -> str | None:
        """The real dotted name a function reference means (``np.allclose`` -> ``numpy.allclose``), or None."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            return self.aliases[head] + (f".{rest}" if rest else "")
        if not rest and (head in TRUSTED_BUILTINS or head == "isinstance") and head not in self.rebound:
            return f"builtins.{head}"
        return None


def _comprehension_names(node: ast.AST) -> set[str]:
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.comprehension):
            out |= {n.id for n in ast.walk(sub.target) if isinstance(n, ast.Name)}
    return out


def _is_trusted(node: ast.AST, ctx: Context, local: set[str]) -> bool:
    """Computed from constants, trusted modules, allow-listed builtins and trusted cell variables only."""
    allowed = local | _comprehension_names(node)
    for sub in ast.walk(node):
        if isinstance(sub, (ast.NamedExpr, ast.Lambda, ast.Yield, ast.YieldFrom, ast.Await, ast.Starred)):
            return False
        if isinstance(sub, ast.Name):
            if sub.id in allowed:
                continue
            if sub.id in ctx.aliases:
                continue
            if sub.id in TRUSTED_BUILTINS and sub.id not in ctx.rebound:
                continue
            return False
        if isinstance(sub, ast.Attribute) and sub.attr in UNTRUSTED_ATTRIBUTES:
            return False
    if lint.global_rng_calls(node):
        return False
    return True


def _trusted_function(dotted: str) -> bool:
    """A function of a trusted module (or an allow-listed builtin) that computes plain data deterministically."""
    parts = dotted.split(".")
    if parts[0] == "builtins":
        return parts[-1] in TRUSTED_BUILTINS and not parts[-1][0].isupper()
    if parts[0] not in TRUSTED_MODULES or any(p in UNTRUSTED_ATTRIBUTES for p in parts):
        return False
    return not (parts[0] == "numpy" and "random" in parts) and ".".join(parts[-1:]) not in lint.TORCH_RANDOM


def _is_student_operand(node: ast.AST) -> bool:
    """A value the student's process may compute: no comparison made there, no scope tricks."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Compare, ast.BoolOp, ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await, ast.Starred)):
            return False
        if isinstance(sub, ast.Call):
            name = dotted_name(sub.func) or ""
            if name.split(".")[-1] in lint.COMPARISONS or name.split(".")[-1] in ("isinstance", "issubclass"):
                return False
    return True


# ----------------------------------------------------------------------------- the checks of a cell


class _Builder:
    """Turns one assertion into a trusted expression over student (__s) and trusted (__t) operands."""

    def __init__(self, ctx: Context, local: set[str]):
        self.ctx = ctx
        self.local = local
        self.students: list[ast.AST] = []
        self.trusted: list[ast.AST] = []
        self.functions: list[str] = []

    def operand(self, node: ast.AST) -> ast.AST:
        """A value: a constant, a trusted value (__t), an operation computed here, or a student value (__s).

        Any operation that involves a trusted value or a constant (arithmetic, a comparison, a function of
        numpy/math/torch or a plain builtin) is computed here, so the student's code never sees the trusted
        value and cannot answer it with a crafted object."""
        if isinstance(node, ast.Constant):
            return ast.Constant(node.value)
        if _is_trusted(node, self.ctx, self.local):
            self.trusted.append(node)
            return _sub("__t", len(self.trusted) - 1)
        if isinstance(node, ast.BinOp):
            return ast.BinOp(self.operand(node.left), copy.deepcopy(node.op), self.operand(node.right))
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(copy.deepcopy(node.op), self.operand(node.operand))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in node.elts):
            return type(node)([self.operand(e) for e in node.elts], ast.Load())
        if isinstance(node, ast.Call):
            dotted = self.ctx.resolve(node.func)
            if dotted is not None and (dotted in PREDICATES or _trusted_function(dotted)):
                return self.call(node, dotted)
        if not _is_student_operand(node):
            raise Inside(f"line {node.lineno}: `{ast.unparse(node)[:60]}` compares inside the student's process")
        self.students.append(node)
        return _sub("__s", len(self.students) - 1)

    def compare(self, node: ast.Compare) -> ast.AST:
        sides = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            if type(op) not in COMPARE_OPS:
                raise Inside(f"line {node.lineno}: comparison {type(op).__name__}")
            if isinstance(op, (ast.Is, ast.IsNot)):
                pair = sides[i : i + 2]
                if not any(isinstance(s, ast.Constant) and s.value in (None, True, False) for s in pair):
                    raise Inside(f"line {node.lineno}: `is` against something other than None/True/False")
        left = self.operand(node.left)
        return ast.Compare(left, [copy.deepcopy(o) for o in node.ops], [self.operand(c) for c in node.comparators])

    def function(self, dotted: str) -> ast.AST:
        self.functions.append(dotted)
        return _sub("__f", len(self.functions) - 1)

    def call(self, node: ast.Call, dotted: str) -> ast.AST:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise Inside(f"line {node.lineno}: *args/**kwargs")
        if dotted == "builtins.isinstance":
            if len(node.args) != 2 or node.keywords:
                raise Inside(f"line {node.lineno}: isinstance needs two arguments")
            kinds = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            types = []
            for kind in kinds:
                if isinstance(kind, ast.Name) and kind.id not in self.ctx.aliases:
                    real = f"builtins.{kind.id}" if kind.id not in self.ctx.rebound else None
                else:
                    real = self.ctx.resolve(kind)
                if real not in PLAIN_TYPES:
                    raise Inside(f"line {node.lineno}: isinstance against `{ast.unparse(kind)}` (not a plain-data type)")
                types.append(self.function(real))
            second = types[0] if len(types) == 1 else ast.Tuple(types, ast.Load())
            return ast.Call(self.function(dotted), [self.operand(node.args[0]), second], [])
        args = [self.operand(a) for a in node.args]
        keywords = [ast.keyword(k.arg, self.operand(k.value)) for k in node.keywords]
        return ast.Call(self.function(dotted), args, keywords)

    def test(self, node: ast.AST) -> ast.AST:
        """The trusted version of an assert's test (one conjunct)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ast.UnaryOp(ast.Not(), self.test(node.operand))
        if isinstance(node, ast.BoolOp):
            raise Inside(f"line {node.lineno}: `or` (nbgrader may not evaluate its right side)")
        return self.operand(node)


def _sub(name: str, index: int) -> ast.Subscript:
    return ast.Subscript(ast.Name(name, ast.Load()), ast.Constant(index), ast.Load())


def _conjuncts(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [c for v in node.values for c in _conjuncts(v)]
    return [node]


def _fails_unconditionally(stmts: list[ast.stmt]) -> bool:
    """``raise AssertionError(...)`` / ``raise AssertionError`` / ``assert False[, msg]``."""
    if len(stmts) != 1:
        return False
    stmt = stmts[0]
    if isinstance(stmt, ast.Assert):
        return isinstance(stmt.test, ast.Constant) and stmt.test.value is False
    if isinstance(stmt, ast.Raise) and stmt.exc is not None and stmt.cause is None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "AssertionError"
    return False


def _raises_form(stmt: ast.Try, ctx: Context) -> tuple[ast.AST, str] | None:
    """``try: <expr> / except E: pass / else: <fail>`` -> (the expression, the exception's dotted name)."""
    if stmt.finalbody or len(stmt.handlers) != 1 or len(stmt.body) != 1 or not isinstance(stmt.body[0], ast.Expr):
        return None
    handler = stmt.handlers[0]
    if not (len(handler.body) == 1 and isinstance(handler.body[0], ast.Pass)) or not _fails_unconditionally(stmt.orelse):
        return None
    if handler.type is None:
        return None
    if isinstance(handler.type, ast.Name) and handler.type.id in TRUSTED_BUILTINS and handler.type.id not in ctx.rebound:
        if not isinstance(getattr(builtins, handler.type.id, None), type):
            return None
        return stmt.body[0].value, handler.type.id
    return None


def _has_assertions(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Assert, ast.Raise, ast.Try)) for n in ast.walk(node))


def plan_cell(source: str, ctx: Context, strict: bool = False) -> rw.RewrittenCell:
    """How one nbgrader-style test cell is run and judged.

    Returns the rewritten cell (``judged`` = "outside") or the cell as written (``judged`` = "inside", with
    ``inside_reason``).

    Raises:
        rw.RewriteError: ``strict`` and the cell cannot be judged outside.
    """
    try:
        return _outside(source, ctx)
    except Inside as why:
        if strict:
            raise rw.RewriteError(f"judged inside the sandbox ({why}); without --strict it would be") from None
        return inside_cell(source, str(why))


def inside_cell(source: str, reason: str) -> rw.RewrittenCell:
    cell = rw.RewrittenCell(student_source=source, reference_source=source, checks=[], passed_label=None, removed=[])
    cell.judged = "inside"
    cell.inside_reason = reason
    return cell


def _outside(source: str, ctx: Context) -> rw.RewrittenCell:
    try:
        tree = parse(source)
    except SyntaxError as err:
        raise Inside(f"the cell does not parse ({err.msg})") from None
    # Trusted variables: top-level, assigned once, from a trusted value; used only by trusted values.
    stores: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            stores[node.id] = stores.get(node.id, 0) + 1
    candidates: dict[str, ast.Assign] = {}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stores.get(stmt.targets[0].id) == 1
            and stmt.targets[0].id not in ctx.aliases
            and ctx.loaded.get(stmt.targets[0].id, 0) <= 1  # read by another cell: it must exist there
        ):
            candidates[stmt.targets[0].id] = stmt
    local = set(candidates)
    while True:
        local = {n for n in local if _is_trusted(candidates[n].value, ctx, local - {n})}
        checks, first = _checks(tree, ctx, local)
        used_by_trusted = {id(n) for b in checks for t in b[1].trusted for n in ast.walk(t)}
        used_by_trusted |= {id(sub) for name in local for sub in ast.walk(candidates[name])}
        misused = {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in local and id(n) not in used_by_trusted
        }
        if not misused:
            break
        local -= misused
    if not checks:
        for stmt in tree.body:
            if _has_assertions(stmt):
                raise Inside(
                    f"line {stmt.lineno}: an assertion the grader cannot record (`{ast.unparse(stmt).splitlines()[0][:60]}`)"
                )
        raise Inside("no assertion: the cell passes unless it raises an error")
    check_stmts = {id(stmt) for stmt, *_ in checks}
    trusted_assigns = {id(candidates[n]) for n in local}
    for stmt in tree.body:
        if id(stmt) in check_stmts or id(stmt) in trusted_assigns:
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if _has_assertions(stmt):
            raise Inside(
                f"line {stmt.lineno}: an assertion the grader cannot record (`{ast.unparse(stmt).splitlines()[0][:60]}`)"
            )
        if tree.body.index(stmt) > first:
            raise Inside(f"line {stmt.lineno}: a statement after the first check (nbgrader stops at a failed assert)")
    specs = [spec for _stmt, _b, spec in checks]
    for index, spec in enumerate(specs):
        spec.index = index
        if not spec.name:
            spec.name = f"check {index + 1}"
    student_body, reference_body = [], []
    for stmt in tree.body:
        if id(stmt) in trusted_assigns:
            reference_body.append(stmt)
            continue
        found = [(b, s) for st, b, s in checks if st is stmt]
        if not found:
            student_body.append(stmt)
            reference_body.append(stmt)
        for builder, spec in found:  # `assert A and B`: one check each
            student_body.append(_record_call(spec, builder, reference=False, line=stmt))
            reference_body.append(_record_call(spec, builder, reference=True, line=stmt))
    student = ast.fix_missing_locations(ast.Module(body=student_body, type_ignores=[]))
    reference = ast.fix_missing_locations(ast.Module(body=reference_body, type_ignores=[]))
    cell = rw.RewrittenCell(
        student_source=ast.unparse(student),
        reference_source=ast.unparse(reference),
        checks=specs,
        passed_label=None,
        removed=[ast.unparse(candidates[n]) for n in sorted(local)],
    )
    cell.judged = "outside"
    cell.inside_reason = ""
    return cell


def _checks(tree: ast.Module, ctx: Context, local: set[str]):
    """[(statement, builder, spec)] for every top-level check, and the position of the first one."""
    out = []
    first = len(tree.body)
    for position, stmt in enumerate(tree.body):
        made = _check(stmt, ctx, local)
        if made is None:
            continue
        first = min(first, position)
        out.extend((stmt, b, s) for b, s in made)
    return out, first


def _check(stmt: ast.stmt, ctx: Context, local: set[str]):
    line = stmt.lineno
    if isinstance(stmt, ast.Assert):
        message = None
        if stmt.msg is not None:
            try:
                message = str(ast.literal_eval(stmt.msg))
            except (ValueError, SyntaxError, TypeError):
                message = None
        made = []
        for conjunct in _conjuncts(stmt.test):
            builder = _Builder(ctx, local)
            expression = builder.test(conjunct)
            if not builder.students:
                raise Inside(f"line {line}: `{ast.unparse(conjunct)[:60]}` does not involve the student's code")
            made.append((builder, _spec(builder, "truth", expression, line, f"assert {ast.unparse(conjunct)}", message)))
        return made
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        dotted = ctx.resolve(stmt.value.func)
        if dotted in ASSERTIONS:
            builder = _Builder(ctx, local)
            expression = builder.call(stmt.value, dotted)
            if not builder.students:
                raise Inside(f"line {line}: the assertion does not involve the student's code")
            return [(builder, _spec(builder, "call", expression, line, ast.unparse(stmt.value), None))]
        return None
    if isinstance(stmt, ast.Try):
        form = _raises_form(stmt, ctx)
        if form is None:
            return None
        expr, exc = form
        if not _is_student_operand(expr):
            raise Inside(f"line {line}: the tried expression compares inside the student's process")
        builder = _Builder(ctx, local)
        builder.students.append(expr)
        builder.trusted.append(ast.Name(exc, ast.Load()))
        spec = AssertSpec(
            index=-1,
            function="try/except",
            kind="raises",
            line=line,
            name=f"the try/except {exc} on line {line}",  # no inputs: the name is shown for hidden tests too
            statement=f"try: {ast.unparse(expr)} / except {exc}: pass / else: fail",
        )
        return [(builder, spec)]
    return None


def _spec(builder: _Builder, form: str, expression: ast.AST, line: int, statement: str, message) -> AssertSpec:
    return AssertSpec(
        index=-1,
        function="assert",
        kind=KIND,
        line=line,
        name=f"the {'assert' if form == 'truth' else 'assertion'} on line {line}",  # shown for hidden tests: no values
        form=form,
        expression=ast.unparse(ast.fix_missing_locations(expression)),
        functions=list(builder.functions),
        students=[ast.unparse(s) for s in builder.students],
        statement=statement,
        message=message,
    )


def _record_call(spec: AssertSpec, builder: _Builder, reference: bool, line: ast.stmt) -> ast.stmt:
    def thunk(nodes: list[ast.AST]) -> ast.Lambda:
        if spec.kind == "raises":
            body = copy.deepcopy(nodes[0])
        else:
            body = ast.Tuple([copy.deepcopy(n) for n in nodes], ast.Load())
        return ast.Lambda(args=rw._no_args(), body=body)

    args = [ast.Constant(spec.index), ast.Constant(spec.kind), thunk(builder.students)]
    if reference:
        args.append(thunk(builder.trusted) if builder.trusted else ast.Lambda(args=rw._no_args(), body=ast.Tuple([], ast.Load())))
    call = ast.Call(func=ast.Name(rw.RECORD, ast.Load()), args=args, keywords=[])
    return ast.copy_location(ast.Expr(call), line)


# ----------------------------------------------------------------------------- judging (trusted process)


def _function(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def has_opaque(value) -> bool:
    if isinstance(value, Opaque):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_opaque(v) for v in value)
    if isinstance(value, dict):
        return any(has_opaque(k) or has_opaque(v) for k, v in value.items())
    return False


def _short(value) -> str:
    if isinstance(value, torch.Tensor) and value.numel() > 8:
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


def judge(spec: AssertSpec, record: dict, reference: dict):
    """The verdict on one recorded assert check (``compare.Verdict``), computed on decoded plain data."""
    from grader.compare import Verdict

    if "actual_error" in record:
        info = record["actual_error"] if isinstance(record["actual_error"], dict) else {}
        return Verdict(
            False,
            f"{spec.statement}: evaluating it raised {str(info.get('ename', 'an error'))[:80]}: {str(info.get('evalue', ''))[:300]}",
        )
    if "actual" not in record:
        return Verdict(False, f"{spec.statement}: no value was recorded.")
    try:
        students = decode(record["actual"])
        trusted = decode(reference.get("expected", {"tuple": []}))
    except DecodeError as err:
        return Verdict(False, f"{spec.statement}: the recorded value could not be read ({err}).")
    if not isinstance(students, tuple) or len(students) != len(spec.students) or not isinstance(trusted, tuple):
        return Verdict(False, f"{spec.statement}: the recorded values do not match the check.")
    namespace = {"__s": students, "__t": trusted, "__f": [_function(f) for f in spec.functions]}
    got = "; ".join(f"`{src[:60]}` is {_short(v)}" for src, v in zip(spec.students, students))
    if has_opaque(students):
        return Verdict(False, f"{spec.statement}: failed ({got}: not plain data the grader can compare).")
    try:
        result = eval(compile(spec.expression, "<check>", "eval"), {"__builtins__": {}}, namespace)  # noqa: S307
        ok = True if spec.form == "call" else bool(result)
        error = ""
    except Exception as err:  # noqa: BLE001 - in nbgrader this exception fails the cell too
        ok, error = False, f" ({type(err).__name__}: {str(err)[:300]})"
    if ok:
        return Verdict(True, "")
    text = f"{spec.statement}: failed{error}; {got}."
    if spec.message:
        text += f"\n{spec.message}"
    return Verdict(False, text)


def check_reference(spec: AssertSpec, record: dict):
    """The solution's own record passes its check (its student values against its trusted ones)."""
    from grader.compare import Verdict

    if "expected_error" in record:
        info = record["expected_error"]
        return Verdict(False, f"{spec.statement}: computing the expected value raised {info.get('ename')}: {info.get('evalue')}")
    return judge(spec, record, record)


def opaque_in_reference(record: dict) -> bool:
    """The solution's values in this record are not plain data (so the cell is better judged inside)."""
    for key in ("actual", "expected"):
        if key in record:
            try:
                if has_opaque(decode(record[key])):
                    return True
            except DecodeError:
                return True
    return False


def apply_inside(tests: dict, references: dict, sources: dict[str, str]) -> None:
    """Move the cells that the reference run marked (``INSIDE_KEY``) inside the sandbox."""
    for grade_id, refs in references.items():
        if isinstance(refs, dict) and INSIDE_KEY in refs and grade_id in tests and judged_where(tests[grade_id]) == "outside":
            tests[grade_id] = inside_cell(sources[grade_id], str(refs[INSIDE_KEY]))


# ----------------------------------------------------------------------------- nbgrader's rule, inside


def nbgrader_score(outputs: list[dict], points: float, grade_id: str, source: str) -> float:
    """The score nbgrader gives a test cell with these outputs (its own ``determine_grade``)."""
    import nbformat
    from nbgrader.utils import determine_grade

    cell = nbformat.from_dict(
        {
            "cell_type": "code",
            "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": grade_id, "points": points}},
            "source": source,
            "outputs": outputs,
            "execution_count": None,
        }
    )
    score, _max = determine_grade(cell)
    return float(score)


def shown_exception_name(ename: object) -> str:
    """An exception's class name as a student may see it after hidden tests: the name if Python defines that
    exception, else "Exception" (a class that student code made up could be named after a hidden input)."""
    return str(ename) if isinstance(getattr(builtins, str(ename), None), type) else "Exception"


def inside_outputs(outputs: list[dict], hidden: bool) -> list[dict]:
    """The (sanitized) outputs of an inside-judged test cell as nbgrader scores them; for a hidden test, nothing
    the student's code wrote, only the parts nbgrader scores (an error's name, that stderr was written, a number)."""
    out = []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "error":
            if hidden:
                name = shown_exception_name(o.get("ename"))
                o = {"output_type": "error", "ename": name, "evalue": "(hidden test)", "traceback": [f"{name} in a hidden test"]}
            out.append(o)
        elif not hidden:
            out.append(o)
        elif kind == "stream" and o.get("name") == "stderr":
            out.append({"output_type": "stream", "name": "stderr", "text": "(output of a hidden test: not shown)\n"})
        elif kind == "execute_result":
            text = str((o.get("data") or {}).get("text/plain", ""))
            try:
                float(text)
            except ValueError:
                continue
            out.append({**o, "data": {"text/plain": text}, "metadata": {}})
    return out


def is_nbgrader_style(source: str) -> bool:
    """A test cell written nbgrader's way (assertions of its own, or no cu.checks call at all)."""
    try:
        tree = parse(source)
    except SyntaxError:
        return True
    if any(isinstance(n, (ast.Assert, ast.Raise, ast.Try)) for n in ast.walk(tree)):
        return True
    return not any(rw.check_function(n) for n in ast.walk(tree))


def context(cells: list[dict]) -> Context:
    """The names around the test cells of one source notebook (cells as the pipeline reads them)."""
    from grader.submission import role_of

    code = [c for c in cells if c["cell_type"] == "code"]
    answers = [c["source"] for c in code if role_of(c) == "answer"]
    others = [c["source"] for c in code if role_of(c) != "answer"]
    aliases = import_aliases(others)
    in_answers = bound_names(answers)
    rebound = in_answers | (bound_names(others) - set(aliases))
    loaded: dict[str, int] = {}
    for c in code:
        try:
            tree = parse(c["source"])
        except SyntaxError:
            continue
        for name in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}:
            loaded[name] = loaded.get(name, 0) + 1
    return Context(aliases={k: v for k, v in aliases.items() if k not in in_answers}, rebound=rebound, loaded=loaded)


def note_output(reason: str) -> dict:
    return {
        "output_type": "stream",
        "name": "stdout",
        "text": f"Autograder: this cell is {INSIDE_LABEL} with nbgrader's own rule ({reason}).\n",
    }
