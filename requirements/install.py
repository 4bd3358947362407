"""Install the course and its pinned packages into the running venv (what `make install` calls).

    .venv/bin/python requirements/install.py lab,grader,test

uv installs the same packages as pip, from the same places, in well under half the time (it unpacks
wheels in parallel and compiles bytecode on both cores: measured on the 2-core CI machine, 52 s instead
of 120 s for this set). So we fetch uv into the venv (one small wheel from the package index) and hand
it pip's own configuration: its indexes, find-links and constraints, with pip's rule of taking the best
version from any index. If uv cannot be had (no index, an unusual platform), or fails, pip does the
whole install as before. Standard library only: it runs before anything else is installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "requirements" / "ci.txt"
UV = "uv==0.13.9"
QUIET = ["--quiet", "--disable-pip-version-check"]


def pip_configuration() -> dict[str, str]:
    """pip's settings as ``pip config list`` shows them (environment variables over configuration files)."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    settings: dict[str, str] = {}
    for line in sorted(listed.splitlines(), key=lambda line: line.startswith(":env:")):
        match = re.match(r"^[^.]*\.([a-z-]+)='(.*)'$", line.strip())
        if match:
            settings[match[1]] = match[2]
    return settings


def uv_arguments(settings: dict[str, str]) -> list[str]:
    """The uv flags that make it look where pip looks and obey the same constraints."""
    args = ["--index-strategy", "unsafe-best-match"]  # pip's rule: the best version on any index
    if "index-url" in settings:
        args += ["--index-url", settings["index-url"]]
    for url in settings.get("extra-index-url", "").split():
        args += ["--extra-index-url", url]
    for place in settings.get("find-links", "").split():
        args += ["--find-links", place]
    for path in settings.get("constraint", "").split():
        args += ["-c", path]
    if settings.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        args.append("--no-index")
    return args


def main(extras: str) -> int:
    target = ["-c", str(CONSTRAINTS), "-e", f"{ROOT}[{extras}]"]
    # One try, ten seconds: offline, pip (with whatever it can reach or has cached) takes over at once.
    fetch = [sys.executable, "-m", "pip", "install", *QUIET, "--retries", "0", "--timeout", "10", UV]
    got_uv = subprocess.run(fetch, capture_output=True).returncode == 0
    if got_uv:
        uv = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--compile-bytecode", "--python", sys.executable]
        if subprocess.run([*uv, *uv_arguments(pip_configuration()), *target]).returncode == 0:
            return drop_slow_optional_packages(uv[:3])
        print("install: uv failed (above); installing with pip instead", file=sys.stderr)
    else:
        print(f"install: could not fetch {UV}; installing with pip (slower)", file=sys.stderr)
    installed = subprocess.run([sys.executable, "-m", "pip", "install", *QUIET, *target]).returncode
    return installed or drop_slow_optional_packages([sys.executable, "-m", "pip"])


#: Installed only as optional extras of what the course needs, and slow to import in every process that
#: imports them. ``rfc3987-syntax`` is jsonschema's checker for the "iri" string formats (pulled in by
#: jupyter-events' ``jsonschema[format-nongpl]``): importing jsonschema builds its ~35 Earley parsers, 2.4 s
#: on the 2-core CI machine, in every process that imports nbformat (JupyterLab, each nbgrader command,
#: each new gradebook's ``alembic heads`` subprocess, each ``python -m grader`` command). No schema the
#: course's packages ship uses an "iri" format (searched), and jsonschema skips a format it has no checker
#: for (python-jsonschema/jsonschema#1428 asks for the import to be lazy).
SLOW_OPTIONAL = ["rfc3987-syntax"]


def drop_slow_optional_packages(installer: list[str]) -> int:
    """Uninstall ``SLOW_OPTIONAL`` with ``installer`` (``python -m uv`` or ``python -m pip``); 0 on success."""
    if installer[-1] == "uv":
        command = [*installer, "pip", "uninstall", "--quiet", "--python", sys.executable, *SLOW_OPTIONAL]
    else:
        command = [*installer, "uninstall", "--yes", *QUIET, *SLOW_OPTIONAL]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "lab,grader,test"))
