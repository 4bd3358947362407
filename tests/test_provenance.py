"""Every public helper says which lesson introduces it, and that is where the course first uses it.

The public surface of `course_utils` is what lessons and exercises call: each module's ``__all__``.
Every name there ends its docstring with ``Introduced in lesson NN.`` (or ``lesson NN's exercise``)
and ``src/`` first uses it in that lesson (or exercise). A helper a lesson calls before the lesson
that teaches it says so: ``Introduced in lesson 04 (used in lesson 02 as a black box).`` A name no
lesson or exercise calls is not public: it leaves ``__all__`` (and, better, gets a leading underscore).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import ROOT

SOURCES = sorted((ROOT / "src" / "lessons").glob("*.py")) + sorted((ROOT / "src" / "solutions").glob("*.py"))
#: Modules no lesson teaches, with the reason: their public names serve the tests, not students.
NOT_FOR_LESSONS = {"device_audit": "the test suite's CPU stand-in for a GPU (P2L_DEVICE_AUDIT=1), used through cu.setup()"}
#: Flat modules (``course_utils/viz.py``) and packages (``course_utils/widgets/``, read through its ``__init__.py``).
MODULES = sorted(
    [p for p in (ROOT / "course_utils").glob("*.py") if not p.name.startswith("_") and p.stem not in NOT_FOR_LESSONS]
    + [p.parent for p in (ROOT / "course_utils").glob("*/__init__.py")]
)
TAG = re.compile(
    r"Introduced in lesson (?P<n>\d\d[a-z]?)(?P<ex>'s exercise)?"
    r"(?: \(used in lesson (?P<early>\d\d[a-z]?)(?P<early_ex>'s exercise)? as a black box\))?"
)


def _where(path: Path) -> tuple[str, bool]:
    """(lesson number, is an exercise) of a source file: ``06b`` for ``06b_...``, exercises ``exNN_``."""
    exercise = path.parent.name == "solutions"
    return re.match(r"(?:ex)?(\d\d[a-z]?)_", path.name).group(1), exercise


def _order(place: tuple[str, bool]) -> tuple[str, bool]:
    return place  # "06" < "06b" < "07"; at one number the lesson (False) comes before its exercise (True)


def _public(module: Path) -> dict[str, ast.AST]:
    """``__all__`` of a module file, or of a package directory (its names defined in any of its modules)."""
    files = sorted(module.glob("*.py")) if module.is_dir() else [module]
    trees = {f: ast.parse(f.read_text(encoding="utf-8")) for f in files}
    names: list[str] = []
    for node in trees[module / "__init__.py" if module.is_dir() else module].body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            names = list(ast.literal_eval(node.value))
    defined = {n.name: n for tree in trees.values() for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return {name: defined.get(name) for name in names}


def _path(module: str) -> Path:
    package = ROOT / "course_utils" / module
    return package if package.is_dir() else package.with_suffix(".py")


def _first_use(module: str, name: str) -> tuple[str, bool] | None:
    pattern = re.compile(rf"(?<![\w.])(?:cu\.(?:{module}\.)?|{module}\.){re.escape(name)}\b")
    places = [_where(p) for p in SOURCES if pattern.search(p.read_text(encoding="utf-8"))]
    return min(places, key=_order) if places else None


CASES = [(m.stem, name) for m in MODULES for name in _public(m)]


def _label(place: tuple[str, bool]) -> str:
    return f"lesson {place[0]}'s exercise" if place[1] else f"lesson {place[0]}"


@pytest.mark.parametrize(("module", "name"), CASES, ids=[f"{m}.{n}" for m, n in CASES])
def test_public_helper_is_introduced_where_the_course_first_uses_it(module, name):
    node = _public(_path(module))[name]
    first = _first_use(module, name)
    if node is None or (isinstance(node, ast.ClassDef) and first is None):
        return  # a constant, or a class lessons only get back from a helper (documented with that helper)
    doc = ast.get_docstring(node) or ""
    tag = TAG.search(doc)
    assert tag, f"{module}.{name}: its docstring does not end with 'Introduced in lesson NN.'"
    assert first is not None, f"{module}.{name} is in __all__ but no lesson or exercise calls it: make it private"
    introduced = (tag["n"], bool(tag["ex"]))
    if tag["early"]:
        early = (tag["early"], bool(tag["early_ex"]))
        assert first == early, f"{module}.{name}: first used in {_label(first)}, tagged as a black box in {_label(early)}"
        assert _order(early) < _order(introduced), f"{module}.{name}: a black-box use must come before the lesson that teaches it"
    else:
        assert first == introduced, (
            f"{module}.{name}: says 'Introduced in {_label(introduced)}' but is first used in "
            f"{_label(first)}; fix the tag, or say '(used in {_label(first)} as a black box)'"
        )


def test_what_lessons_call_is_public():
    calls = set()
    for path in SOURCES:
        calls |= set(re.findall(r"(?<![\w.])cu\.(\w+)\.(\w+)\b", path.read_text(encoding="utf-8")))
    public = {m.stem: set(_public(m)) for m in MODULES}
    hidden = sorted(f"{m}.{n}" for m, n in calls if m in public and n not in public[m] and not n[0].isupper())
    assert not hidden, f"lessons or exercises call helpers missing from their module's __all__: {hidden}"
