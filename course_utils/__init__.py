"""course_utils — the small helper library of the Pixels to Labels course.

Import it as ``import course_utils as cu`` and call ``cu.setup()`` once at the
top of a lesson. Modules, by noun: `env` (platform, device, offline), `checkup` (`cu.doctor()`),
`data` (datasets, offline first), `shapes` (the drawn shapes), `models`,
`train` (fit / evaluate / predict), `viz` (figures with alt text), `widgets`,
`checks` (exercise self-checks), `claims` (`cu.expect`: the prose's claims
about a run, checked in that run). Importing has no side effects, and loads a
submodule only when it is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import torch

#: Submodules, loaded on first use (``cu.widgets`` imports ipywidgets; the grader's judge imports
#: ``course_utils.checks`` alone and must not pay for, or depend on, the rest).
_MODULES = (
    "checks", "checkup", "claims", "data", "env", "models", "shapes", "train", "viz", "widgets",
    "convolution", "pixels", "restrictions", "translation",  # lessons 01-03: pixels, shifts, convolution
    "speed", "stages",  # lessons 04-05: the replay view, training fast
    "costs", "imagenet",  # lesson 06: layer costs, the challenge, top-k
    "architectures",  # lesson 06b: residual stacks, separable convolutions, families
    "transfer",  # lesson 07: labelled subsets, learning curves, patches
    "corruptions", "fairness", "saliency",  # lesson 08: groups, explanations, shift
    "distributed",  # lesson 09: data-parallel training, the ring all-reduce's cost
    "device_audit",  # P2L_DEVICE_AUDIT=1: the test suite's CPU stand-in for a GPU
)  # fmt: skip

#: Functions every lesson calls as ``cu.name``, and the module that defines each.
_FUNCTIONS = {
    "is_online": "env", "doctor": "checkup", "expect": "claims",
    "evaluate": "train", "fit": "train", "predict": "train",
    "show": "viz", "show_confusion": "viz", "show_filters": "viz", "show_history": "viz", "show_images": "viz",
}  # fmt: skip

if TYPE_CHECKING:  # what a type checker and an editor see; at run time __getattr__ loads lazily
    from course_utils import (  # noqa: F401
        architectures,
        checks,
        checkup,
        claims,
        convolution,
        corruptions,
        costs,
        data,
        device_audit,
        distributed,
        env,
        fairness,
        imagenet,
        models,
        pixels,
        restrictions,
        saliency,
        shapes,
        speed,
        stages,
        train,
        transfer,
        translation,
        viz,
        widgets,
    )
    from course_utils.checkup import doctor  # noqa: F401
    from course_utils.claims import expect  # noqa: F401
    from course_utils.env import is_online  # noqa: F401
    from course_utils.train import evaluate, fit, predict  # noqa: F401
    from course_utils.viz import show, show_confusion, show_filters, show_history, show_images  # noqa: F401

__version__ = "0.1.0"

__all__ = [*_MODULES, *_FUNCTIONS, "setup"]


def __getattr__(name: str) -> Any:
    """Load a submodule, or the module defining a top-level function, on first use (PEP 562)."""
    if name in _MODULES:
        return importlib.import_module(f"course_utils.{name}")
    if name in _FUNCTIONS:
        value = getattr(importlib.import_module(f"course_utils.{_FUNCTIONS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def setup(seed: int = 0, *, device: str | None = None, threads: int | None = None, verbose: bool = True) -> torch.device:
    """Prepare a lesson: seed everything, set threads and plot style, check the network.

    Args:
        seed: seed for Python, NumPy and PyTorch.
        device: force a device (``"cpu"``, ``"cuda"``, ``"mps"``); default: the best available.
        threads: PyTorch CPU threads; default ``$P2L_THREADS`` or every core.
        verbose: print one line saying what was set up.

    Returns:
        The chosen ``torch.device``.

    Introduced in lesson 00.
    """
    from course_utils import env, viz

    env._seed_everything(seed)
    n_threads = env.set_threads(threads)
    viz._setup_style()
    chosen = env._choose_device(device, verbose=False)
    online = env.is_online()
    if verbose:
        print(
            f"course_utils {__version__} · seed {seed} · device {chosen} · {n_threads} CPU thread(s) · "
            f"{'online' if online else 'offline: local data and weights only'}"
        )
    return chosen
