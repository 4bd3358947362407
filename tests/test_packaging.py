"""Install files agree: pyproject ranges, the CI lock, and environment.yml."""

from __future__ import annotations

import re
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (the test extra installs it there)
    import tomli as tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from conftest import ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "ci.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"lock line is not pinned: {line!r}"
            pins[_norm(name)] = version
    return pins


def _install_script():
    """requirements/install.py as a module (what `make install` runs; standard library only)."""
    sys.path.insert(0, str(ROOT / "requirements"))
    try:
        import install
    finally:
        sys.path.pop(0)
    return install


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for spec in pip:
        if spec.startswith("-e"):
            continue
        name, _, version = spec.partition("==")
        pins[_norm(name)] = version
    return pins


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _direct_requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    # Only what this interpreter installs (tomli is for Python 3.10 only).
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_ci_pins_the_torch_on_this_machine():
    lock = _lock()
    assert lock["torch"] == "2.14.1" and lock["torchvision"] == "0.29.1"
    assert lock["nbgrader"] == "0.9.6"


def test_lock_satisfies_every_supported_range():
    lock = _lock()
    for req in _direct_requirements():
        name = _norm(req.name)
        assert name in lock, f"{req.name} is a dependency but not pinned in requirements/ci.txt"
        assert lock[name] in req.specifier, f"lock pins {name}=={lock[name]}, outside {req}"


def test_environment_yml_installs_the_same_set():
    lock, conda = _lock(), _conda_pins()
    direct = {_norm(r.name) for r in _direct_requirements()}
    assert direct <= set(conda), f"environment.yml lacks {sorted(direct - set(conda))}"
    for name, version in conda.items():
        assert lock.get(name) == version, f"environment.yml pins {name}=={version}, the lock {lock.get(name)}"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def test_supported_ranges_cover_colab_and_laptops():
    project = _pyproject()["project"]
    python = SpecifierSet(project["requires-python"])
    assert all(v in python for v in ("3.10", "3.11", "3.12", "3.13")) and "3.9" not in python
    torch = next(Requirement(r) for r in project["dependencies"] if r.startswith("torch>"))
    assert "2.4.0" in torch.specifier and "2.3.1" not in torch.specifier and "2.14.1" in torch.specifier
    vision = next(Requirement(r) for r in project["dependencies"] if r.startswith("torchvision>"))
    assert "0.19.0" in vision.specifier and "0.18.1" not in vision.specifier
    # What Colab preinstalls, at Colab's versions (tests/test_colab.py): a range that excluded one would make the
    # bootstrap upgrade it inside Colab's running kernel (IPython there crashes the runtime).
    from test_colab import COLAB_PINS, COLAB_SCIENTIFIC

    ranges = {_norm(Requirement(r).name): Requirement(r).specifier for r in project["dependencies"]}
    colab = {**dict(pin.split("==") for pin in COLAB_PINS), **COLAB_SCIENTIFIC}
    outside = {
        name: (v, str(ranges[_norm(name)])) for name, v in colab.items() if v not in ranges.get(_norm(name), SpecifierSet())
    }
    assert not outside, f"Colab's version outside the course's range: {outside}"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make lab" in readme
    for pkg in ("dataset-fashion-mnist", "bubblewrap", "chromium"):
        assert pkg in ci


def test_importing_the_checks_loads_no_lesson_module_and_no_widgets():
    # The grader's judge imports course_utils.checks on its own: that must not pull in ipywidgets,
    # datasets, matplotlib or any lesson's module (they load on first use, e.g. cu.widgets).
    code = (
        "import sys, course_utils.checks, course_utils as cu\n"
        "heavy = ('ipywidgets', 'datasets', 'matplotlib', 'course_utils.widgets', 'course_utils.data')\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "cu.widgets\n"
        "print('ipywidgets' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split("\n")[:2] == ["[]", "True"], out


def test_every_public_name_resolves():
    import course_utils as cu

    missing = [name for name in cu.__all__ if not hasattr(cu, name)]
    assert not missing, f"course_utils.__all__ names what does not exist: {missing}"


def test_the_installed_environment_is_the_lock():
    """Whichever installer `make install` used (uv or pip), this venv holds exactly the pinned versions."""
    import importlib.metadata as md

    def installed(name: str) -> str | None:  # what `import` finds first (vendored copies further down sys.path don't count)
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    slow_optional = _install_script().SLOW_OPTIONAL  # installed with the rest, then removed (see the test below)
    expected = {name: None if name in slow_optional else pin for name, pin in _lock().items()}
    wrong = {name: (pin, installed(name)) for name, pin in expected.items() if installed(name) != pin}
    assert not wrong, f"installed versions differ from requirements/ci.txt (pin, installed): {wrong}"


def test_uv_is_told_where_pip_looks():
    """requirements/install.py hands uv pip's indexes, find-links and constraints, and pip's best-version rule."""
    install = _install_script()
    settings = {
        "index-url": "https://mirror.example/simple",
        "extra-index-url": "file:///opt/a/simple file:///opt/b/simple",
        "find-links": "/opt/wheels",
        "constraint": "/etc/pip/constraints.txt",
    }
    args = install.uv_arguments(settings)
    pairs = list(zip(args[::2], args[1::2], strict=False))
    assert ("--index-strategy", "unsafe-best-match") in pairs
    assert ("--index-url", "https://mirror.example/simple") in pairs
    assert ("--extra-index-url", "file:///opt/a/simple") in pairs and ("--extra-index-url", "file:///opt/b/simple") in pairs
    assert ("--find-links", "/opt/wheels") in pairs and ("-c", "/etc/pip/constraints.txt") in pairs
    assert install.uv_arguments({"no-index": "true"})[-1] == "--no-index"
    assert install.uv_arguments({}) == ["--index-strategy", "unsafe-best-match"]


def test_course_utils_modules_import_each_other_without_a_cycle():
    """Module-level imports between course_utils's modules form no cycle (data and env once imported each
    other): each module can be read, and loaded, after the ones it names at its top. Imports inside functions
    (loaded on first use) do not count."""
    import ast

    package = ROOT / "course_utils"
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        name = ".".join(("course_utils", *path.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in tree.body:  # top level only (TYPE_CHECKING blocks are not run)
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {t for t in targets if t.startswith("course_utils.") and t != name}
    graph = {k: {t for t in v if t in graph} for k, v in graph.items()}
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(node) :], node]))
        if node not in done:
            for target in sorted(graph[node]):
                visit(target, [*stack, node])
            done.add(node)

    for module in sorted(graph):
        visit(module, [])
    assert len(graph) > 20 and any(graph.values()), graph  # it did read the package


def test_the_install_leaves_out_jsonschema_s_slow_iri_checker():
    """`make install` uninstalls ``rfc3987-syntax`` (requirements/install.py says why): importing nbformat, as
    JupyterLab, every nbgrader command and every new gradebook's ``alembic`` subprocess do, then does not
    build its ~35 parsers. What nbformat validates still validates."""
    install = _install_script()
    assert install.SLOW_OPTIONAL == ["rfc3987-syntax"]
    code = (
        "import sys, nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "nb.cells[0]['outputs'] = 'not a list'\n"
        "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n    print('invalid caught')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('rfc3987', 'lark'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["invalid caught", "[]"], out
