"""Where are we running, on what device, and is the network there?

Everything here is cheap and side-effect free on import; `setup()` in
`course_utils/__init__.py` calls the pieces a lesson needs.
"""

from __future__ import annotations

import os
import random
import socket
import sys
import time

import numpy as np
import torch

__all__ = ["HUB_HOST", "Timer", "is_online", "set_threads", "timer"]

#: The host the Hugging Face hub client talks to; reaching it is what "online" means here.
HUB_HOST = ("huggingface.co", 443)

_online_cache: bool | None = None


def _detect_platform() -> str:
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


def _choose_device(prefer: str | None = None, *, verbose: bool = True) -> torch.device:
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


def _seed_everything(seed: int = 0) -> None:
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

    Introduced in lesson 05 (used in lesson 02 as a black box).
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

    Introduced in lesson 07.
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


def timer() -> Timer:
    """A stopwatch: ``with cu.env.timer() as t: ...`` then ``t.seconds``.

    Introduced in lesson 06.
    """
    return Timer()


class Timer:
    """Context manager measuring wall-clock seconds (synchronising CUDA if used)."""

    seconds: float = 0.0

    def __enter__(self) -> Timer:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self._start
