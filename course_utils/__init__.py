"""course_utils — the small helper library of the Pixels to Labels course.

Import it as ``import course_utils as cu`` and call ``cu.setup()`` once at the
top of a lesson. Modules, by noun: `env` (platform, device, offline, doctor),
`data` (datasets, offline first), `shapes` (the drawn shapes), `models`,
`train` (fit / evaluate / predict), `viz` (figures with alt text), `widgets`,
`checks` (exercise self-checks). Importing has no side effects.
"""

from __future__ import annotations

import torch

from course_utils import checks, data, env, models, shapes, train, viz, widgets
from course_utils import convolution, pixels, restrictions, translation  # lessons 01-03: pixels, shifts, convolution
from course_utils import speed, stages  # lessons 04-05: the replay view, training fast
from course_utils import costs, imagenet  # lesson 06: layer costs, the challenge, top-k
from course_utils import architectures  # lesson 06b: residual stacks, separable convolutions, families
from course_utils import transfer  # lesson 07: labelled subsets, learning curves, patches
from course_utils import corruptions, fairness, saliency  # lesson 08: groups, explanations, shift
from course_utils.env import choose_device, doctor, is_online, seed_everything
from course_utils.train import evaluate, fit, predict
from course_utils.viz import (
    show,
    show_confusion,
    show_feature_maps,
    show_filters,
    show_history,
    show_images,
    show_probabilities,
)

__version__ = "0.1.0"

__all__ = [
    "checks", "data", "env", "models", "shapes", "train", "viz", "widgets",
    "convolution", "pixels", "restrictions", "translation",
    "speed", "stages",
    "costs", "imagenet",
    "architectures",
    "transfer",
    "corruptions", "fairness", "saliency",
    "choose_device", "doctor", "evaluate", "fit", "is_online", "predict", "seed_everything", "setup",
    "show", "show_confusion", "show_feature_maps", "show_filters", "show_history", "show_images",
    "show_probabilities",
]  # fmt: skip


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
    env.seed_everything(seed)
    n_threads = env.set_threads(threads)
    viz.setup_style()
    chosen = env.choose_device(device, verbose=False)
    online = env.is_online()
    if verbose:
        print(
            f"course_utils {__version__} · seed {seed} · device {chosen} · {n_threads} CPU thread(s) · "
            f"{'online' if online else 'offline: local data and weights only'}"
        )
    return chosen
