"""Mutation testing of the graded cells: ``make mutants`` (``python -m bench.mutants``).

How strong are the exercises' tests? Every graded function's solution (the lines between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` of an answer cell in ``solutions/``) is
mutated by a small AST mutator, one change at a time; each mutant becomes a submission
(the perfect submission with that one answer cell replaced) and is graded by the real
sandboxed pipeline (:func:`grader.pipeline.autograde`, ``--jobs 2``, one run per
exercise). A mutant is *killed* when any autograded cell loses points or the submission
cannot be graded; it *survives* when it keeps full marks. Mutants that do not compile,
or whose code is the solution's own, are *invalid* and not counted. Survivors listed in
``bench/equivalent_mutants.yaml`` (with the reason they behave exactly like the solution)
are reported but left out of the kill rate.

Operators (each change is the smallest source span, so survivors read as one-line diffs):

- ``cmp``: a comparison flipped (``<`` -> ``>=``) or its boundary moved (``<`` -> ``<=``);
  ``==``/``!=``, ``is``/``is not``, ``in``/``not in`` swapped;
- ``arith``: ``+``/``-``, ``*``/``/``, ``/``/``//``, ``%``, ``**``, ``@`` swapped (also in ``+=``),
  and the operands of ``-``, ``/``, ``//``, ``@`` swapped;
- ``bool``: ``and``/``or`` swapped, ``not`` dropped, another condition negated, a comprehension's filter
  dropped;
- ``const``: a number ``±1``, ``True``/``False`` flipped;
- ``slice``: a computed slice bound ``±1``;
- ``dims``: two dimension arguments of ``permute``/``transpose``/``view``/... swapped, a tuple
  of dims reduced to its last entry, ``dim=<name>`` replaced by ``dim=0``;
- ``drop-call``: a call statement removed (``optimizer.zero_grad()``, ``model.eval()``,
  ``model.train(was_training)``, ``handle.remove()`` ...);
- ``drop-method``: ``.to(...)``, ``.cpu()``, ``.clone()``, ``.detach()``, ``.float()`` ... removed
  from an expression;
- ``drop-with``: a ``with`` block's body run without its context manager (``torch.no_grad()``);
- ``return-early``: ``return <first argument>`` (``return`` in a generator) before the body;
- ``loop-once``: ``break`` at the end of a loop's body;
- ``library``: the body replaced by the library call the exercise forbids (:data:`LIBRARY`).

``--max-per-function N`` grades a fixed-seed sample of each function's mutants (the library
replacement always kept) so a run fits a time budget; ``--exercise ex03`` and ``--function``
filter; ``--list`` prints the mutants without grading. Graded mutants are cached in
``build/mutants/course`` (keyed by the submission and the solution), so a re-run only grades
what changed. The table goes to stdout, the survivors' diffs to ``build/mutants/survivors.md``.
The exit status is 1 if fewer than 95% of the counted mutants are killed overall or in any
exercise (the table is printed anyway).
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import hashlib
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
BUILD = ROOT / "build" / "mutants"
EQUIVALENTS = Path(__file__).resolve().parent / "equivalent_mutants.yaml"
TARGET = 0.95
#: Mutants graded per function by default (483 mutants for the course). Estimated from per-notebook sandbox times
#: measured at load ~7 on 2 cores: ~19 min of grading plus ~2 min of reference runs; measured once at load 15-34:
#: 54 min. ``--max-per-function 0`` grades all 679.
DEFAULT_MAX_PER_FUNCTION = 20
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

#: The forbidden shortcut of each graded function whose exercise forbids one (``cu.restrictions.call_without``
#: in its tests): the solution region replaced by this body. It must lose points.
LIBRARY: dict[str, str] = {
    "conv2d": "return F.conv2d(x, weight, bias, stride=stride, padding=padding)",
    "max_pool2d": "return F.max_pool2d(x, kernel_size, stride)",
    "stable_softmax": "return torch.softmax(logits, dim=dim)",
    "group_accuracy": "return cu.fairness.group_accuracy(preds, labels, groups)",
    "worst_group_accuracy": "return cu.fairness.worst_group_accuracy(preds, labels, groups)",
    "balanced_weights": "return cu.fairness.balanced_weights(labels, groups)",
    "saliency_map": "return cu.saliency.saliency_map(model, x, target)",
    "corrupt": "return cu.corruptions.corrupt(x, kind, severity, generator)",
    "to_tensor": "import torchvision.transforms.v2.functional as TF; return TF.to_dtype(TF.to_image(img), torch.float32, scale=True)",
    "normalize": "import torchvision.transforms.v2.functional as TF; return TF.normalize(x, list(mean), list(std))",
    "rgb_to_gray": "import torchvision.transforms.v2.functional as TF; return TF.rgb_to_grayscale(x)",
    "dense_params": "return sum(p.numel() for p in torch.nn.Linear(in_features, out_features, bias=bias).parameters())",
    "shift_image": (
        "import torchvision.transforms.functional as TF0; "
        "return TF0.affine(x, angle=0.0, translate=[dx, dy], scale=1.0, shear=[0.0])"
    ),
    "random_translate": "return cu.speed.random_translate(x, max_shift, generator)",
    "model_cost": "return cu.models.count_params(model), cu.costs.measured_flops(model, input_shape) // 2",
    "residual_block": "return cu.architectures.basic_block(in_channels, out_channels, stride)",
    "depthwise_separable": "return cu.architectures.separable_block(in_channels, out_channels, stride)",
    "gradient_norms": "return cu.architectures.gradient_norms(model, x, y, loss_fn)",
    "count_trainable": "return cu.models.count_params(model, trainable_only=True)",
    "shard_indices": (
        "return torch.tensor(list(torch.utils.data.DistributedSampler(range(n), num_replicas=world_size, rank=rank, "
        "shuffle=shuffle, seed=seed)), dtype=torch.int64)"
    ),
    "linear_cost": (
        "m = torch.nn.Linear(in_features, out_features, bias=bias); "
        "return sum(p.numel() for p in m.parameters()), cu.costs.measured_flops(m, (in_features,)) // 2"
    ),
    "conv2d_cost": (
        "kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size); "
        "m = torch.nn.Conv2d(in_channels, out_channels, (kh, kw), bias=bias, groups=groups); "
        "return sum(p.numel() for p in m.parameters()), "
        "cu.costs.measured_flops(m, (in_channels, out_height + kh - 1, out_width + kw - 1)) // 2"
    ),
    "separable_cost_ratio": (
        "k, shape = kernel_size, (in_channels, 8, 8); "
        "return (cu.costs.measured_flops(torch.nn.Conv2d(in_channels, in_channels, k, padding=k // 2, groups=in_channels, "
        "bias=False), shape) + cu.costs.measured_flops(torch.nn.Conv2d(in_channels, out_channels, 1, bias=False), shape)) "
        "/ cu.costs.measured_flops(torch.nn.Conv2d(in_channels, out_channels, k, padding=k // 2, bias=False), shape)"
    ),
    "allreduce_seconds": (
        "return cu.distributed.ring_allreduce_seconds(num_params, world_size, bandwidth_gb_per_s, "
        "bytes_per_param=bytes_per_param, latency_s=latency_s)"
    ),
}

_CMP = {
    ast.Lt: (ast.GtE, ast.LtE),
    ast.LtE: (ast.Gt, ast.Lt),
    ast.Gt: (ast.LtE, ast.GtE),
    ast.GtE: (ast.Lt, ast.Gt),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}
_ARITH = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult, ast.FloorDiv),
    ast.FloorDiv: (ast.Div,),
    ast.Mod: (ast.FloorDiv,),
    ast.Pow: (ast.Mult,),
    ast.MatMult: (ast.Mult,),
    ast.BitAnd: (ast.BitOr,),
    ast.BitOr: (ast.BitAnd,),
}
_SWAPPABLE = (ast.Sub, ast.Div, ast.FloorDiv, ast.MatMult, ast.Mod, ast.Pow)
_DIM_METHODS = {"permute", "transpose", "swapaxes", "swapdims", "movedim", "view", "reshape", "expand", "unfold"}
_DIM_KEYWORDS = {"dim", "axis", "dims", "start_dim", "end_dim"}
_NOOP_METHODS = {"to", "cpu", "cuda", "clone", "detach", "float", "double", "long", "contiguous", "requires_grad_"}


# ----------------------------------------------------------------------------- finding the solutions


@dataclass(frozen=True)
class Region:
    """One answer cell's solution: the cell source and the line ranges (1-based, inclusive) inside its markers."""

    assignment: str
    notebook: str
    grade_id: str
    source: str
    spans: tuple[tuple[int, int], ...]

    def contains(self, node: ast.AST) -> bool:
        start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        return start is not None and any(a <= start and end <= b for a, b in self.spans)


def solution_spans(source: str) -> tuple[tuple[int, int], ...]:
    """The line ranges strictly between each ``### BEGIN SOLUTION`` and its ``### END SOLUTION``."""
    spans, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if BEGIN in line:
            if start is not None:
                raise ValueError(f"line {number}: {BEGIN} inside another solution block")
            start = number + 1
        elif END in line:
            if start is None:
                raise ValueError(f"line {number}: {END} without {BEGIN}")
            spans.append((start, number - 1))
            start = None
    if start is not None:
        raise ValueError(f"{BEGIN} at line {start - 1} is never closed")
    return tuple(spans)


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def find_regions(solutions: Path = SOLUTIONS, exercises: list[str] | None = None) -> list[Region]:
    """Every answer cell with a solution block in ``solutions/*/*.ipynb``, in course order."""
    regions = []
    for path in sorted(solutions.glob("*/*.ipynb")):
        assignment = path.parent.name
        if exercises and not any(assignment.startswith(e) for e in exercises):
            continue
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            source = _cell_source(cell)
            if cell.get("cell_type") == "code" and meta.get("solution") and BEGIN in source:
                regions.append(Region(assignment, path.name, meta["grade_id"], source, solution_spans(source)))
    return regions


# ----------------------------------------------------------------------------- the mutator


@dataclass
class Mutant:
    """One changed answer cell."""

    assignment: str
    grade_id: str
    operator: str
    line: int  # first changed line of the cell (1-based)
    original: str
    source: str  # the whole mutated cell, solution markers kept
    valid: bool = True
    why_invalid: str = ""

    @property
    def before(self) -> str:
        return self._changed()[0]

    @property
    def after(self) -> str:
        return self._changed()[1]

    def _changed(self) -> tuple[str, str]:
        old, new = [], []
        for line in difflib.ndiff(self.original.splitlines(), self.source.splitlines()):
            if line.startswith("- "):
                old.append(line[2:].strip())
            elif line.startswith("+ "):
                new.append(line[2:].strip())
        return "\n".join(old), "\n".join(new)

    @property
    def key(self) -> str:
        """Stable name (survives unrelated edits of the cell): function, operator and the changed lines."""
        return f"{self.grade_id}|{self.operator}|{self.before}|{self.after}"

    @property
    def student(self) -> str:
        return "mut-" + hashlib.sha256(f"{self.assignment}|{self.source}".encode()).hexdigest()[:12]

    def answer(self) -> str:
        """The cell as a student would hand it in (markers removed, like the perfect submission)."""
        return "\n".join(line for line in self.source.splitlines() if BEGIN not in line and END not in line)

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(self.original.splitlines(True), self.source.splitlines(True), "solution", "mutant", n=1)
        )


def _line_offsets(source: str) -> list[int]:
    """Byte offset of the start of every line (ast positions are UTF-8 byte columns)."""
    offsets, total = [0], 0
    for line in source.encode("utf-8").splitlines(True):
        total += len(line)
        offsets.append(total)
    return offsets


def _splice(source: str, node: ast.AST, text: str, end: ast.AST | None = None) -> str:
    """``source`` with the span of ``node`` (to the end of ``end``, default ``node``) replaced by ``text``."""
    end = end or node
    raw = source.encode("utf-8")
    offsets = _line_offsets(source)
    start = offsets[node.lineno - 1] + node.col_offset
    stop = offsets[end.end_lineno - 1] + end.end_col_offset
    return (raw[:start] + text.encode("utf-8") + raw[stop:]).decode("utf-8")


def _expr(node: ast.AST) -> str:
    """Source of an expression, parenthesised unless it is atomic (so it can replace any sub-expression)."""
    text = ast.unparse(node)
    atomic = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Dict)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0:
        return f"({text})"
    return text if isinstance(node, atomic) else f"({text})"


def _indent_of(source: str, lineno: int) -> str:
    line = source.splitlines()[lineno - 1]
    return line[: len(line) - len(line.lstrip())]


def _insert_line(source: str, before_line: int, text: str) -> str:
    lines = source.splitlines(True)
    lines.insert(before_line - 1, text + "\n")
    return "".join(lines)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _in_message(node: ast.AST, parents: dict) -> bool:
    """Inside an f-string or a ``raise`` (mutating an error message changes no behaviour the tests can see)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.JoinedStr, ast.Raise)):
            return True
    return False


def _function_of(node: ast.AST, parents: dict) -> ast.FunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def _number_variants(value) -> list:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, (int, float)):
        return [value + 1, value - 1]
    return []


def _mutations(region: Region) -> list[tuple[str, int, str]]:
    """``(operator, first line, mutated cell source)`` for every mutation of the region, in source order."""
    source = region.source
    tree = ast.parse(source)
    parents = _parents(tree)
    out: list[tuple[str, int, str]] = []

    def add(operator: str, node: ast.AST, text: str, end: ast.AST | None = None) -> None:
        out.append((operator, node.lineno, _splice(source, node, text, end)))

    for node in ast.walk(tree):
        probe = node.iter if isinstance(node, ast.comprehension) else node  # comprehensions have no position
        if not region.contains(probe) or _in_message(node, parents):
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                for new in _CMP.get(type(op), ()):
                    changed = copy.deepcopy(node)
                    changed.ops[i] = new()
                    add("cmp", node, _expr(changed))
        elif isinstance(node, ast.BinOp):
            for new in _ARITH.get(type(node.op), ()):
                add("arith", node, _expr(ast.BinOp(node.left, new(), node.right)))
            if isinstance(node.op, _SWAPPABLE):
                add("arith", node, _expr(ast.BinOp(node.right, node.op, node.left)))
        elif isinstance(node, ast.AugAssign):
            for new in _ARITH.get(type(node.op), ()):
                add("arith", node, ast.unparse(ast.AugAssign(node.target, new(), node.value)))
        elif isinstance(node, ast.BoolOp):
            new = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            add("bool", node, _expr(ast.BoolOp(new, node.values)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add("bool", node, _expr(node.operand))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            for value in _number_variants(-node.operand.value):
                add("const", node, _expr(ast.Constant(value)))
        elif isinstance(node, ast.Constant) and not isinstance(node.value, (str, bytes)):
            if isinstance(parents.get(node), ast.UnaryOp) and isinstance(parents[node].op, ast.USub):
                continue  # handled with its sign
            for value in _number_variants(node.value):
                add("const", node, _expr(ast.Constant(value)))
        elif isinstance(node, ast.Slice):
            for bound in (node.lower, node.upper):
                if bound is not None and not isinstance(bound, (ast.Constant, ast.UnaryOp)):
                    for op in (ast.Add(), ast.Sub()):
                        add("slice", bound, _expr(ast.BinOp(bound, op, ast.Constant(1))))
        elif isinstance(node, ast.Call):
            _call_mutations(node, add, statement=isinstance(parents.get(node), ast.Expr))
        elif isinstance(node, ast.comprehension):
            for test in node.ifs:
                add("bool", test, "True")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            add("drop-call", node, "pass")
        if (
            isinstance(node, (ast.If, ast.IfExp, ast.While))
            and not isinstance(node.test, (ast.Compare, ast.BoolOp))
            and not (isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not))
        ):
            add("bool", node.test, _expr(ast.UnaryOp(ast.Not(), node.test)))
        if isinstance(node, (ast.With, ast.For, ast.While)):
            _block_mutations(source, node, out)
    _return_early(region, tree, parents, out)
    return out


def _call_mutations(node: ast.Call, add, statement: bool) -> None:
    func = node.func
    method = func.attr if isinstance(func, ast.Attribute) else None
    if method in _DIM_METHODS and len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args):
        pairs = 1 if method == "unfold" else len(node.args) - 1  # unfold(dim, size, step): only dim is an axis
        for i in range(pairs):
            args = list(node.args)
            args[i], args[i + 1] = args[i + 1], args[i]
            if ast.dump(args[i]) != ast.dump(args[i + 1]):
                add("dims", node, ast.unparse(ast.Call(func, args, node.keywords)))
    for k, keyword in enumerate(node.keywords):
        if keyword.arg not in _DIM_KEYWORDS:
            continue
        value = keyword.value
        if isinstance(value, ast.Tuple) and len(value.elts) > 1:
            new_value: ast.AST = value.elts[-1]
        elif isinstance(value, ast.Name):
            new_value = ast.Constant(0)
        else:
            continue
        keywords = list(node.keywords)
        keywords[k] = ast.keyword(keyword.arg, new_value)
        add("dims", node, ast.unparse(ast.Call(func, node.args, keywords)))
    if method in _NOOP_METHODS and not statement:  # as a statement, drop-call removes it
        add("drop-method", node, _expr(func.value))


def _block_mutations(source: str, node: ast.AST, out: list) -> None:
    lines = source.splitlines(True)
    body_indent = _indent_of(source, node.body[0].lineno)
    if isinstance(node, ast.With):
        header_indent = _indent_of(source, node.lineno)
        first, last = node.body[0].lineno, node.body[-1].end_lineno
        if node.lineno < first:
            body = [
                line[len(body_indent) - len(header_indent) :] if line.startswith(body_indent) else line
                for line in lines[first - 1 : last]
            ]
            out.append(("drop-with", node.lineno, "".join(lines[: node.lineno - 1] + body + lines[last:])))
    else:
        after = node.body[-1].end_lineno
        out.append(("loop-once", node.lineno, _insert_line(source, after + 1, body_indent + "break")))


def _return_early(region: Region, tree: ast.AST, parents: dict, out: list) -> None:
    candidates = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and region.contains(node):
            function = _function_of(node, parents)
            if function is not None and node in function.body:
                candidates.append((node.lineno, node.col_offset, node, function))
    if not candidates:
        return
    _line, _col, first, function = min(candidates, key=lambda c: (c[0], c[1]))
    indent = _indent_of(region.source, first.lineno)
    generator = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(function))
    args = [a.arg for a in function.args.posonlyargs + function.args.args]
    value = "" if generator or not args else f" {args[0]}"
    out.append(("return-early", first.lineno, _insert_line(region.source, first.lineno, indent + "return" + value)))
    if region.grade_id in LIBRARY:
        lines = region.source.splitlines(True)
        a, b = region.spans[0]
        replaced = "".join(lines[: a - 1] + [indent + LIBRARY[region.grade_id] + "\n"] + lines[b:])
        out.append(("library", first.lineno, replaced))


def _normal(source: str) -> str | None:
    try:
        return ast.dump(ast.parse(source))
    except SyntaxError:
        return None


def mutants(region: Region) -> list[Mutant]:
    """The region's mutants in a deterministic order, without duplicates; uncompilable or unchanged ones are
    marked invalid."""
    original = _normal(region.source)
    seen: set[str] = set()
    out = []
    for operator, line, source in sorted(_mutations(region), key=lambda m: (m[1], m[0], m[2])):
        if source in seen:
            continue
        seen.add(source)
        mutant = Mutant(region.assignment, region.grade_id, operator, line, region.source, source)
        normal = _normal(source)
        if normal is None:
            mutant.valid, mutant.why_invalid = False, "does not compile"
        elif normal == original:
            mutant.valid, mutant.why_invalid = False, "same code as the solution"
        out.append(mutant)
    return out


def sample(found: list[Mutant], limit: int | None, seed: int) -> list[Mutant]:
    """At most ``limit`` valid mutants (a fixed-seed sample, library replacements always kept), in order."""
    valid = [m for m in found if m.valid]
    if limit is None or len(valid) <= limit:
        return found
    keep = [m for m in valid if m.operator == "library"][:limit]
    rest = [m for m in valid if m.operator != "library"]
    rng = random.Random(f"{seed}|{found[0].assignment}|{found[0].grade_id}")
    keep += rng.sample(rest, limit - len(keep))
    chosen = {id(m) for m in keep}
    return [m for m in found if id(m) in chosen or not m.valid]


# ----------------------------------------------------------------------------- known equivalent mutants


def _normalise(text: str) -> str:
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in str(text).strip().splitlines())


def load_equivalents(path: Path = EQUIVALENTS) -> list[dict]:
    """The committed list: each entry names a function, the changed lines before/after, and the reason."""
    import yaml

    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of entries")
    for i, entry in enumerate(entries):
        missing = {"function", "before", "after", "reason"} - set(entry or {})
        if missing:
            raise ValueError(
                f"{path}: entry {i + 1} lacks {sorted(missing)} (each needs function, before, after, "
                "reason; operator is optional)"
            )
        if not str(entry["reason"]).strip():
            raise ValueError(f"{path}: entry {i + 1} ({entry['function']}) gives no reason")
    return entries


def equivalent_reason(mutant: Mutant, entries: list[dict]) -> str | None:
    """The reason an entry gives for this mutant being equivalent, if one matches it."""
    for entry in entries:
        if (
            entry["function"] == mutant.grade_id
            and entry.get("operator", mutant.operator) == mutant.operator
            and _normalise(entry["before"]) == _normalise(mutant.before)
            and _normalise(entry["after"]) == _normalise(mutant.after)
        ):
            return str(entry["reason"]).strip()
    return None


# ----------------------------------------------------------------------------- grading


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, equivalent, invalid, error (the grader failed: not the mutant's doing)
    detail: str = ""


@dataclass
class Batch:
    """One exercise's outcomes, and the sandbox seconds its mutants took (summed over the notebooks run)."""

    assignment: str
    sandbox_seconds: float = 0.0
    runs: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


def _submission(assignment: str, answers: dict[str, str] | None = None) -> dict[str, dict]:
    """``{notebook name: notebook}``: the perfect submission, with some answer cells replaced."""
    from grader.submission import perfect_submission

    out = {}
    for path in sorted((EXERCISES / assignment).glob("*.ipynb")):
        released = json.loads(path.read_text(encoding="utf-8"))
        source = json.loads((SOLUTIONS / assignment / path.name).read_text(encoding="utf-8"))
        nb = perfect_submission(released, source)
        for cell in nb["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if answers and grade_id in answers:
                cell["source"] = answers[grade_id]
        out[path.name] = nb
    return out


def _write_submissions(root: Path, assignment: str, found: list[Mutant]) -> list[str]:
    students = {"perfect": _submission(assignment)}
    for m in found:
        if m.valid:
            students[m.student] = _submission(assignment, {m.grade_id: m.answer()})
    for student, notebooks in students.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for name, nb in notebooks.items():
            text = json.dumps(nb)
            path = folder / name
            if not path.exists() or path.read_text(encoding="utf-8") != text:  # unchanged: graded result reused
                path.write_text(text, encoding="utf-8")
    return list(students)


def grade(
    by_assignment: dict[str, list[Mutant]], workdir: Path, jobs: int, equivalents: list[dict], log=lambda message: None
) -> tuple[list[Batch], float]:
    """Grade every valid mutant (and the perfect submission of each exercise, as a control) in one
    ``autograde`` run of the real pipeline; return each exercise's outcomes and the wall time."""
    from grader import pipeline, state

    root = workdir
    students: set[str] = set()
    for assignment, found in by_assignment.items():
        target = root / "solutions" / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(SOLUTIONS / assignment, target)
        students |= set(_write_submissions(root, assignment, found))
    start = time.perf_counter()
    summary = pipeline.autograde(
        pipeline.Course(root), list(by_assignment), pipeline.RunOptions(jobs=jobs, students=sorted(students), log=log)
    )
    seconds = time.perf_counter() - start
    batches = []
    for assignment, found in by_assignment.items():
        if assignment in summary.refused:
            raise RuntimeError(f"{assignment}: the grader refused the assignment: {summary.refused[assignment]}")
        scores = state.Course(root).scores(assignment)
        control = scores.get("perfect", {})
        lost = {c: s for c, s in control.items() if s[0] < s[1]}
        if not control or lost:
            raise RuntimeError(
                f"{assignment}: the perfect submission did not get full marks ({lost or 'no scores'});"
                " the kill counts would mean nothing"
            )
        batch = Batch(assignment)
        for m in found:
            if not m.valid:
                batch.outcomes.append(Outcome(m, "invalid", m.why_invalid))
                continue
            result = state.read_json(root / "grading" / assignment / m.student / "result.json") or {}
            for notebook in result.get("notebooks", []):
                batch.sandbox_seconds += notebook.get("seconds", 0.0)
                batch.runs += 1
            error = summary.refused.get(f"{assignment}/{m.student}")
            if error:  # an exception in the grader's own process: a grader failure, not a verdict on the mutant
                batch.outcomes.append(Outcome(m, "error", f"the grader failed: {error}"))
                continue
            cells = scores.get(m.student)
            if not cells:
                batch.outcomes.append(Outcome(m, "killed", "could not be graded: no scores"))
                continue
            losing = sorted(c for c, (score, most) in cells.items() if score < most)
            if losing:
                batch.outcomes.append(Outcome(m, "killed", "lost points in " + ", ".join(losing)))
                continue
            reason = equivalent_reason(m, equivalents)
            batch.outcomes.append(Outcome(m, "equivalent" if reason else "survived", reason or ""))
        batches.append(batch)
    return batches, seconds


# ----------------------------------------------------------------------------- the report


def _rate(killed: int, counted: int) -> float | None:
    return killed / counted if counted else None


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    c = {s: sum(o.status == s for o in outcomes) for s in ("killed", "survived", "equivalent", "invalid")}
    c["generated"] = len(outcomes)
    return c


def _fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def table(batches: list[Batch]) -> tuple[str, bool]:
    """The Markdown table (per exercise, then per function) and whether the target is met everywhere."""
    rows = [
        "| exercise / graded function | generated | invalid | killed | surviving | equivalent | kill rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    met = True
    every: list[Outcome] = []
    for batch in batches:
        every += batch.outcomes
        c = _counts(batch.outcomes)
        rate = _rate(c["killed"], c["killed"] + c["survived"])
        met &= rate is None or rate >= TARGET
        rows.append(
            f"| **{batch.assignment}** | {c['generated']} | {c['invalid']} | {c['killed']} | {c['survived']} "
            f"| {c['equivalent']} | **{_fmt_rate(rate)}** |"
        )
        for grade_id in dict.fromkeys(o.mutant.grade_id for o in batch.outcomes):
            f = _counts([o for o in batch.outcomes if o.mutant.grade_id == grade_id])
            rows.append(
                f"| &nbsp;&nbsp;`{grade_id}` | {f['generated']} | {f['invalid']} | {f['killed']} "
                f"| {f['survived']} | {f['equivalent']} | {_fmt_rate(_rate(f['killed'], f['killed'] + f['survived']))} |"
            )
    c = _counts(every)
    rate = _rate(c["killed"], c["killed"] + c["survived"])
    met &= rate is None or rate >= TARGET
    rows.append(
        f"| **all** | {c['generated']} | {c['invalid']} | {c['killed']} | {c['survived']} | {c['equivalent']} "
        f"| **{_fmt_rate(rate)}** |"
    )
    return "\n".join(rows), met


def survivors_report(batches: list[Batch]) -> str:
    parts = [
        "# Surviving mutants\n",
        "Each kept full marks under the real grader. Kill it with a hidden test, or, if it behaves exactly "
        "like the solution on every valid input, add it to `bench/equivalent_mutants.yaml` with the reason.\n",
    ]
    for batch in batches:
        for status, title in (("survived", "surviving"), ("equivalent", "listed as equivalent")):
            chosen = [o for o in batch.outcomes if o.status == status]
            if not chosen:
                continue
            parts.append(f"\n## {batch.assignment}: {len(chosen)} {title}\n")
            for o in chosen:
                m = o.mutant
                parts.append(
                    f"\n### `{m.grade_id}` — {m.operator}, line {m.line}"
                    + (f" (equivalent: {o.detail})" if o.detail else "")
                    + "\n"
                )
                parts.append(
                    f"\nequivalence entry: `function: {m.grade_id}`, `operator: {m.operator}`, "
                    f"`before: {json.dumps(m.before)}`, `after: {json.dumps(m.after)}`\n"
                )
                parts.append(f"\n```diff\n{m.diff().rstrip()}\n```\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercise", action="append", help="only exercises whose name starts with this (repeatable)")
    parser.add_argument("--function", action="append", help="only this graded function (grade id; repeatable)")
    parser.add_argument(
        "--max-per-function",
        type=int,
        default=DEFAULT_MAX_PER_FUNCTION,
        metavar="N",
        help=f"grade at most N valid mutants per function, a fixed-seed sample (0: all; default {DEFAULT_MAX_PER_FUNCTION})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--jobs", type=int, default=2, help="sandboxes grading in parallel")
    parser.add_argument("--workdir", type=Path, default=BUILD / "course", help="grading course (kept as a cache)")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop (no grading)")
    args = parser.parse_args(argv)
    limit = args.max_per_function or None

    regions = find_regions(exercises=args.exercise)
    if args.function:
        regions = [r for r in regions if r.grade_id in args.function]
    if not regions:
        print("no graded function matches the filters", file=sys.stderr)
        return 2
    equivalents = load_equivalents()
    by_assignment: dict[str, list[Mutant]] = {}
    for region in regions:
        found = sample(mutants(region), limit, args.seed)
        by_assignment.setdefault(region.assignment, []).extend(found)
    if args.list:
        for assignment, found in by_assignment.items():
            for m in found:
                flag = "" if m.valid else f"  [invalid: {m.why_invalid}]"
                print(f"{assignment} {m.grade_id} {m.operator} line {m.line}: {m.before!r} -> {m.after!r}{flag}")
        return 0

    from grader import sandbox

    problem = sandbox.check_sandbox()
    if problem is not None:
        print(f"the sandboxed grader cannot run here: {problem}", file=sys.stderr)
        return 2
    n = sum(m.valid for found in by_assignment.values() for m in found)
    print(f"grading {n} mutants of {len(by_assignment)} exercises (--jobs {args.jobs}) ...", file=sys.stderr, flush=True)
    done = [0]

    def progress(message: str) -> None:
        if message.startswith("["):
            done[0] += 1
            if done[0] % 25 == 0:
                print(f"  {message}", file=sys.stderr, flush=True)
        elif "REFUSED" in message or "ERROR" in message or "recording reference" in message:
            print(f"  {message[:300]}", file=sys.stderr, flush=True)

    batches, seconds = grade(by_assignment, args.workdir, args.jobs, equivalents, progress)
    for batch in batches:
        if batch.runs:
            print(
                f"  {batch.assignment}: {batch.runs} mutant notebooks, {batch.sandbox_seconds / batch.runs:.1f} s each "
                "in the sandbox (mean; cached ones from their run)",
                file=sys.stderr,
            )
    text, met = table(batches)
    sample_note = f", at most {limit} mutants per function (seed {args.seed})" if limit else ", every mutant"
    print(
        f"\nMutation testing: {seconds:.0f} s of grading{sample_note}; "
        f"target ≥ {TARGET:.0%} killed overall and in every exercise (equivalent and invalid mutants not counted).\n"
    )
    print(text)
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "survivors.md").write_text(survivors_report(batches), encoding="utf-8")
    (BUILD / "results.json").write_text(
        json.dumps(
            [
                {
                    "assignment": o.mutant.assignment,
                    "function": o.mutant.grade_id,
                    "operator": o.mutant.operator,
                    "line": o.mutant.line,
                    "before": o.mutant.before,
                    "after": o.mutant.after,
                    "status": o.status,
                    "detail": o.detail,
                }
                for b in batches
                for o in b.outcomes
            ],
            indent=1,
        ),
        encoding="utf-8",
    )
    survivors = sum(o.status == "survived" for b in batches for o in b.outcomes)
    print(f"\n{survivors} surviving mutants: {BUILD / 'survivors.md'}")
    errors = [o for b in batches for o in b.outcomes if o.status == "error"]
    for o in errors:
        print(
            f"NOT GRADED: {o.mutant.assignment}/{o.mutant.student}: {o.detail} (run again: only these are graded)",
            file=sys.stderr,
        )
    if not met:
        print(f"TARGET MISSED: fewer than {TARGET:.0%} of the mutants killed somewhere", file=sys.stderr)
    return 0 if met and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
