"""Every public helper says which lesson introduces it, and that is where the course first uses it.

The public surface of `course_utils` is what lessons and exercises call: each module's ``__all__``.
Every name there ends its docstring with ``Introduced in lesson NN.`` (or ``lesson NN's exercise``)
and ``src/`` first uses it in that lesson (or exercise). A helper a lesson calls before the lesson
that teaches it says so: ``Introduced in lesson 04 (used in lesson 02 as a black box).`` A name no
lesson or exercise calls is not public: it leaves ``__all__`` and gets a leading underscore. The reverse
holds too: a module-level function, class, constant or type alias without a leading underscore is in its module's ``__all__``,
unless the grader, the benchmarks or an exercise's restriction list reach it by its dotted name.
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


#: Files outside ``course_utils`` and ``tests`` that may reach a helper by its dotted name without a lesson
#: calling it: the grader, the benchmarks, and the restriction lists of exercises
#: (``"course_utils.speed.training_step_flops"`` names what a student must not call).
TOOLING = sorted((ROOT / "grader").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py")) + SOURCES
LIBRARY = sorted(p for p in (ROOT / "course_utils").rglob("*.py") if "resources" not in p.parts)


def _unlisted(source: str) -> list[str]:
    """Module-level functions, classes, constants and type aliases of ``source`` without a leading underscore that its
    ``__all__`` omits."""
    tree = ast.parse(source)
    listed: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            listed = {e.value for e in getattr(node.value, "elts", []) if isinstance(e, ast.Constant)}
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):  # constants and type aliases
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [name for name in names if not name.startswith("_") and name not in listed]


def _names(text: str, module: str, name: str) -> bool:
    """``text`` reaches ``module.name`` by its dotted name (``data.cache_dir()``, ``"course_utils.speed.f"``)."""
    return re.search(rf"(?<![\w.])(?:course_utils\.|cu\.)?{module}\.{re.escape(name)}\b", text) is not None


def _reached_from_tooling(module: str, name: str) -> bool:
    return any(_names(p.read_text(encoding="utf-8"), module, name) for p in TOOLING)


@pytest.mark.parametrize("path", LIBRARY, ids=[p.relative_to(ROOT / "course_utils").as_posix() for p in LIBRARY])
def test_a_name_without_an_underscore_is_in_all(path):
    """Public by name is public in ``__all__``: a helper only widgets, other helpers or tests use gets a leading underscore."""
    unlisted = [n for n in _unlisted(path.read_text(encoding="utf-8")) if not _reached_from_tooling(path.stem, n)]
    assert not unlisted, (
        f"course_utils/{path.relative_to(ROOT / 'course_utils').as_posix()} defines {unlisted} without a leading "
        "underscore and outside __all__: add each to __all__ if a lesson or exercise calls it (with its "
        "'Introduced in lesson NN.'), else rename it with a leading underscore"
    )


def test_the_underscore_rule_catches_a_public_helper_missing_from_all():
    probe = (
        '__all__ = ["shown", "LISTED"]\n\ndef shown(): ...\n\ndef helper(): ...\n\nclass Thing: ...\n\ndef _private(): ...\n'
        'LISTED = 1\nLIMIT = 2\n_HIDDEN = 3\nAlias: TypeAlias = "int | str"\n'
    )
    assert _unlisted(probe) == ["helper", "Thing", "LIMIT", "Alias"]
    assert _names('forbidden = ["course_utils.speed.training_step_flops"]', "speed", "training_step_flops")
    assert _names("path = data.cache_dir()", "data", "cache_dir")
    assert not _names("path = metadata.cache_dir()", "data", "cache_dir")
    assert not _names("cu.speed.training_step_flops_per_image(model)", "speed", "training_step_flops")
