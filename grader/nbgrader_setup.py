"""How the grader sets nbgrader up: its configuration and the environment it and its kernels run in.

The configuration is nbgrader's own file, ``grader/nbgrader_config.py`` (:data:`CONFIG_FILE`, loaded by
path), rooted at a course folder. The environment is the process environment nbgrader needs to score
notebooks reliably (:func:`grading_environment`), put in place for a while with :func:`temporary_environ`.
A course folder, the grader's repository exercises, the grading plan, the gradebook and the pipeline all
build on these; this module imports nothing else of the grader.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: nbgrader's configuration of the course (a traitlets Python config file, loaded by path).
CONFIG_FILE = Path(__file__).resolve().parent / "nbgrader_config.py"


def grading_environment(threads: int = 1) -> dict[str, str]:
    """Environment for nbgrader and its kernels.

    The venv's ``bin`` goes first on ``PATH`` (nbgrader runs ``alembic`` by
    name); warnings and plain progress bars are silenced because nbgrader
    scores any stderr output in a grade cell as a failure; one CPU thread per
    kernel so parallel graders do not fight over cores (measured: ~4x slower
    otherwise).
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(
        {
            "PYTHONWARNINGS": "ignore",
            "TQDM_DISABLE": "1",
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "P2L_THREADS": str(threads),
            "HF_HUB_OFFLINE": env.get("HF_HUB_OFFLINE", "1"),
            "HF_DATASETS_OFFLINE": env.get("HF_DATASETS_OFFLINE", "1"),
            "MPLBACKEND": "agg",
        }
    )
    return env


def load_config(root: Path, **overrides):
    """nbgrader's traitlets config from :data:`CONFIG_FILE`, rooted at the course folder ``root``.

    Args:
        root: the course folder (``CourseDirectory.root``; its gradebook is ``root/gradebook.db``).
        overrides: extra settings, ``Section__name=value`` (e.g. ``CourseDirectory__db_url="sqlite:///..."``).
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    extra = Config()
    for dotted, value in overrides.items():
        section, _, name = dotted.partition("__")
        extra[section][name] = value
    config.merge(extra)
    return config


@contextmanager
def temporary_environ(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the ``with`` block, then put the whole environment back as it was."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
