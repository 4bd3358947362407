"""Sandboxed, warm notebook workers (the host side of ``grader/_worker.py``).

Each :class:`Worker` is one long-lived bubblewrap sandbox holding a warm
Python (torch, course_utils, IPython already imported). It runs one notebook
per job in a freshly forked child and hands back what happened as plain data.

What the sandbox sees (Linux, bubblewrap), an allow-list:

* an empty root with only the system bound read-only (the program and library
  folders of ``/usr`` and ``/usr/local`` — not their ``src`` — and the ``/bin``,
  ``/lib*`` links, a few files of ``/etc``), the Python environment
  the grader runs in wherever it lives (prefixes, standard library,
  site-packages; a venv under ``/tmp``, conda, ``--user`` installs),
  ``course_utils`` and the dataset cache — so the gradebook, the solutions,
  the hidden tests, the references, other checkouts and every other
  submission are not even there;
* no job file: the grader writes each cell to a pipe only once the previous
  one has ended (see ``_worker.py``);
* a private, size-limited ``/tmp`` and ``/dev/shm`` (the only writable places),
  wiped after every notebook;
* its own network (loopback only), pid, IPC and UTS namespaces;
* no privileges: as root, bubblewrap runs without a user namespace, drops every
  capability but ``setuid``/``setgid``, and the worker switches to an unused
  uid before importing anything; as a normal user, bubblewrap maps the user
  into a fresh user namespace with nested user namespaces disabled.

Limits per notebook: wall time per cell and per notebook, address space
(memory), processes, file size, tmpfs size, captured text per cell, figures
and their bytes, recorded values and the whole result stream. After every job
the grader checks, from outside, that no process but the worker survived in
the sandbox; if anything is off, the whole sandbox is killed and restarted.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader import wire

WORKER_SCRIPT = Path(__file__).resolve().parent / "_worker.py"
WIRE_MODULE = Path(__file__).resolve().parent / "wire.py"  # bound beside the worker in the sandbox
RUN_DIR = "/run/p2l"


#: Modules every worker imports before its first job (plus whatever the solution notebook imports).
def _course_modules() -> tuple[str, ...]:
    import course_utils

    return course_utils._MODULES


DEFAULT_PRELOAD = (
    "numpy", "torch", "torch.nn", "torch.nn.functional", "torchvision", "matplotlib.pyplot", "PIL.Image",
    "tqdm", "tqdm.auto", "ipywidgets", "course_utils",
    # course_utils loads its modules on first use; a warm worker has them all loaded already.
    *(f"course_utils.{name}" for name in _course_modules()),
)  # fmt: skip
#: An assignment that imports one of these gets DEFAULT_PRELOAD (`grader.plan.build_plan`); any other, only
#: WORKER_PRELOAD (what the worker's watch imports itself) and what its notebooks import.
STACK_ROOTS = frozenset({"torch", "torchvision", "course_utils", "matplotlib", "ipywidgets", "timm", "datasets"})
WORKER_PRELOAD = ("numpy", "torch", "course_utils.restrictions")


class SandboxUnavailable(RuntimeError):
    """No usable sandbox on this machine; the message says why and what is missing."""


class WorkerError(RuntimeError):
    """A worker could not be started or stopped answering."""


@dataclass
class Limits:
    """Per-notebook limits, enforced inside the sandbox and, as a backstop, from outside."""

    cell_seconds: float = 120.0
    notebook_seconds: float = 900.0
    memory_mb: int = 3072
    processes: int = 128
    text_per_cell: int = 100_000
    bytes_per_output: int = 2_000_000
    images: int = 30
    image_bytes: int = 8_000_000
    value_bytes: int = 64_000_000
    result_bytes: int = 128_000_000
    file_mb: int = 256
    tmpfs_mb: int = 1024
    grace_seconds: float = 10.0

    def for_worker(self) -> dict:
        out = asdict(self)
        out["memory_bytes"] = self.memory_mb * 2**20
        out["file_bytes"] = self.file_mb * 2**20
        return out


#: What can go wrong with a job besides its status (wire.STATUSES), and whether the graded notebook
#: tells the student (the rest reach them through the status's own note).
PROBLEM_KINDS = {
    "stream_corrupted": True,  # the result stream held a frame of another kind
    "stream_invalid": True,  # a result frame that is not a JSON object
    "stream_cut": True,  # the stream ended in the middle of a frame
    "too_many_events": False,
    "output_limit": False,
    "unresponsive": False,
    "ended": False,
    "survivors": True,  # processes outlived the notebook (the sandbox was restarted)
}


class Problem(str):
    """One problem with a job: its text for people, its :data:`PROBLEM_KINDS` kind for code."""

    kind: str

    def __new__(cls, kind: str, text: str) -> Problem:
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        problem = super().__new__(cls, text)
        problem.kind = kind
        return problem

    @property
    def shown_to_student(self) -> bool:
        return PROBLEM_KINDS[self.kind]


@dataclass
class JobResult:
    """What came back from one notebook run."""

    status: str  # one of wire.STATUSES
    events: list[dict] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0


# ----------------------------------------------------------------------------- environment


def _under(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
        return True
    except ValueError:
        return False


def python_paths() -> list[Path]:
    """Folders the sandboxed Python needs: the venv, the base installation, the course package."""
    import importlib.util

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.executable).resolve().parent.parent}
    spec = importlib.util.find_spec("course_utils")
    if spec and spec.submodule_search_locations:
        paths.update(Path(p).resolve() for p in spec.submodule_search_locations)
    return sorted({p.resolve() for p in paths if p.exists()})


#: What of /etc the worker's libraries read (dynamic linker, fonts, time zone, user names, MIME types, ...).
ETC_ALLOWED = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "localtime",
    "timezone",
    "passwd",
    "group",
    "nsswitch.conf",
    "host.conf",
    "hosts",
    "mime.types",
    "ssl",
    "ca-certificates",
    "os-release",
    "debian_version",
    "locale.alias",
    "matplotlibrc",
    "python3",
    "xdg",
)
#: System folders bound read-only when they exist (as symlinks when they are symlinks, e.g. /bin -> usr/bin).
#: Of ``/usr`` only what programs and libraries are read from: not ``/usr/src``, ``/usr/local/src``, ``/usr/games``
#: or ``/usr/local/etc``, where a course checkout (or anything else) may lie.
SYSTEM_DIRS = (
    *(f"/usr/{name}" for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "libexec", "share", "include")),
    *(f"/usr/local/{name}" for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "libexec", "share", "include")),
    *("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys/devices/system/cpu", "/var/cache/fontconfig"),
)


def python_view() -> list[Path]:
    """Every folder the worker's Python imports from: the prefixes (venv, base installation, conda env), the
    standard library, site-packages (the venv's, the system's, the user's) and ``course_utils``."""
    import site
    import sysconfig

    found = set(python_paths())
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            found.add(Path(sysconfig.get_paths()[key]))
        except KeyError:
            pass
    try:
        found.update(Path(p) for p in site.getsitepackages())
    except AttributeError:
        pass
    found.update(user_site_dirs())
    return sorted({p.resolve() for p in found if p.exists()})


def user_site_dirs() -> list[Path]:
    """The grader's user site-packages (``pip install --user``), when its Python reads one.

    The worker runs ``python -I``, which skips the user site (its ``HOME`` is not the grader's either):
    it adds these folders itself (``P2L_SITE_DIRS``), so a package the grader imports from there imports
    in the sandbox too."""
    import site

    if not site.ENABLE_USER_SITE or not hasattr(site, "getusersitepackages"):
        return []
    user = Path(site.getusersitepackages())
    return [user.resolve()] if user.is_dir() else []


def view_args(hide: list[Path], extra: list[Path], cache: Path | None, writable_cache: bool, tmpfs_mb: int = 1024) -> list[str]:
    """bubblewrap arguments for an allow-list view: an empty root with only the system (``/usr`` and friends,
    some of ``/etc``), the Python installation and its packages, ``course_utils``, the dataset cache and
    private ``/tmp``, ``/dev/shm``, ``/dev``, ``/proc``. Nothing under a ``hide`` folder is bound unless it is
    one of those (a venv inside the course folder is fine, its ``solutions/`` is not visible)."""
    args = [
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--perms",
        "1777",
        "--size",
        str(tmpfs_mb * 2**20),
        "--tmpfs",
        "/tmp",
        "--perms",
        "1777",
        "--size",
        str(min(tmpfs_mb, 256) * 2**20),
        "--tmpfs",
        "/dev/shm",
    ]
    made: set[str] = {"/", "/tmp", "/dev", "/proc", "/dev/shm"}

    def parents(path: Path) -> None:
        for parent in reversed(path.parents):
            if str(parent) not in made:
                made.add(str(parent))
                args.extend(["--perms", "0755", "--dir", str(parent)])

    covered: list[Path] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            parents(path)
            args.extend(["--symlink", os.readlink(path), str(path)])
            made.add(str(path))
        elif path.is_dir():
            parents(path)
            args.extend(["--ro-bind", str(path), str(path)])
            made.add(str(path))
            covered.append(path)
    for name in ETC_ALLOWED:
        path = Path("/etc") / name
        if path.exists() or path.is_symlink():
            parents(path)
            args.extend(["--ro-bind", str(path), str(path)])
    binds: list[tuple[str, Path]] = [("--ro-bind", p) for p in [*python_view(), *extra]]
    if cache is not None:
        binds.append(("--bind" if writable_cache else "--ro-bind", cache))
    for flag, path in sorted(binds, key=lambda b: (len(b[1].parts), str(b[1]))):
        if flag == "--ro-bind" and any(_under(path, c) for c in covered):
            continue  # already visible through a folder bound above
        parents(path)
        args.extend([flag, str(path), str(path)])
        covered.append(path)
        made.add(str(path))
    for folder in hide:  # a Python installation or system folder that contains the course folder: it stays hidden
        if folder.is_dir() and any(_under(folder, c) and folder != c for c in covered):
            args += ["--tmpfs", str(folder), "--remount-ro", str(folder)]
    args += ["--perms", "0755", "--dir", RUN_DIR]
    return args


def data_cache(create: bool = False) -> Path | None:
    """The course's dataset cache (``$P2L_CACHE`` or ``~/.cache/pixels_to_labels``), bound read-only (and
    writable for the solution's run, which may fill it: ``create`` makes the folder first)."""
    try:
        from course_utils import data

        path = data.cache_dir()
        if create:
            path.mkdir(parents=True, exist_ok=True)
    except Exception:
        return None
    return path.resolve() if path.exists() else None


def share_cache() -> None:
    """Let the sandbox uid read the dataset cache (root only: as a user, sandboxes run as you).

    ``course_utils`` writes cache entries through ``tempfile.mkdtemp`` (mode 0700); a sandbox running as
    an unused uid could not read them and would try to rebuild them in a read-only folder. The cache holds
    public data only.
    """
    cache = data_cache()
    if cache is None or os.geteuid() != 0:
        return
    for folder, _dirs, files in os.walk(cache):
        for name in [folder] + [os.path.join(folder, f) for f in files]:
            try:
                mode = os.lstat(name).st_mode
                wanted = mode | (0o555 if os.path.isdir(name) else 0o444)
                if wanted != mode and not os.path.islink(name):
                    os.chmod(name, wanted & 0o7777)
            except OSError:
                pass


def bwrap_path() -> str | None:
    """bubblewrap's path: ``$P2L_BWRAP`` if set (empty: pretend there is none), else ``bwrap`` on ``PATH``."""
    override = os.environ.get("P2L_BWRAP")
    if override is not None:
        return override if override and os.access(override, os.X_OK) else None
    return shutil.which("bwrap")


def check_sandbox() -> str | None:
    """``None`` if bubblewrap sandboxes work here, else a plain-language reason."""
    if platform.system() != "Linux":
        return f"bubblewrap sandboxes need Linux; this is {platform.system()}"
    bwrap = bwrap_path()
    if not bwrap:
        return "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap)"
    args = [
        bwrap,
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-net",
        "--unshare-pid",
        "--die-with-parent",
        *(_privilege_args()),
        "--",
        "/bin/true",
    ]
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap failed to start: {err}"
    if result.returncode != 0:
        return (
            "bubblewrap cannot create a sandbox here (unprivileged user namespaces may be disabled): "
            + result.stderr.strip()[:300]
        )
    return None


MISSING_WITHOUT_SANDBOX = (
    "Without a sandbox, student code runs as you: it can read the gradebook, the solutions, the hidden tests and "
    "the recorded reference values (and so forge passing values), read and change other students' files and "
    "yours, and use the network. Memory, time and output limits and the outside comparison still apply; "
    "process limits and filesystem/network isolation do not."
)


def _privilege_args(trusted: bool = False) -> list[str]:
    if os.geteuid() == 0 and trusted:
        # The instructor's own solution (recording references): root's files, no capabilities at all.
        return ["--cap-drop", "ALL"]
    if os.geteuid() == 0:
        # No user namespace: as root it would map to uid 0 outside. Keep only what is needed to switch uid.
        return ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", "--disable-userns"]


def sandbox_uid(index: int) -> int:
    """An unused uid per worker (root only), so per-user process limits count one sandbox each."""
    return 0x5A000000 + (os.getpid() % 0x10000) * 64 + index


# ----------------------------------------------------------------------------- frames


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        data = os.read(fd, min(n - got, 1 << 20))
        if not data:
            raise EOFError
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


#: The most a worker's STATUS frame may hold (its readiness report, a job's status).
MAX_STATUS_BYTES = 1 << 20


def _status_length(head: bytes) -> int:
    """The payload length a worker's frame header announces; ValueError unless it is a STATUS frame of at
    most :data:`MAX_STATUS_BYTES` (the worker writes nothing else on its stdout)."""
    kind, length = wire.frame_header(head)
    if kind != wire.STATUS or length > MAX_STATUS_BYTES:
        raise ValueError(f"corrupt frame from worker ({kind!r}, {length} bytes)")
    return length


def _read_status_frame(fd: int, deadline: float) -> bytes:
    """The payload of the worker's next frame, which must be a STATUS frame (blocking, until ``deadline``)."""
    return _read_exact(fd, _status_length(_read_exact(fd, wire.HEADER_BYTES, deadline)), deadline)


class StreamParser:
    """Split the child's relayed bytes into JSON events as they arrive; stop at the first malformed frame."""

    def __init__(self, max_events: int = 100_000):
        self.buffer = bytearray()
        self.problems: list[Problem] = []
        self.count = 0
        self.max_events = max_events
        self.broken = False

    def feed(self, data: bytes) -> list[dict]:
        if self.broken:
            return []
        self.buffer.extend(data)
        events, pos = [], 0
        while len(self.buffer) - pos >= wire.HEADER_BYTES:
            kind, length = wire.frame_header(bytes(self.buffer[pos : pos + wire.HEADER_BYTES]))
            if kind != wire.EVENT:
                self._fail(Problem("stream_corrupted", "the notebook's result stream was corrupted"))
                break
            if pos + wire.HEADER_BYTES + length > len(self.buffer):
                break
            try:
                event = json.loads(bytes(self.buffer[pos + wire.HEADER_BYTES : pos + wire.HEADER_BYTES + length]))
            except (ValueError, RecursionError):
                event = None
            if not isinstance(event, dict):
                self._fail(Problem("stream_invalid", "the notebook's result stream held invalid data"))
                break
            events.append(event)
            pos += wire.HEADER_BYTES + length
            self.count += 1
            if self.count >= self.max_events:
                self._fail(Problem("too_many_events", "too many result events"))
                break
        del self.buffer[:pos]
        return events

    def _fail(self, problem: Problem) -> None:
        self.problems.append(problem)
        self.broken = True
        self.buffer.clear()

    def close(self) -> list[Problem]:
        """Problems, including a frame cut off at the end."""
        if self.buffer and not self.broken:
            self.problems.append(Problem("stream_cut", "the notebook's result stream ended mid-frame"))
            self.buffer.clear()
        return self.problems


def parse_child_stream(data: bytes, max_events: int = 100_000) -> tuple[list[dict], list[str]]:
    """Split a whole stream of the child's frames into JSON events (see :class:`StreamParser`)."""
    parser = StreamParser(max_events)
    events = parser.feed(data)
    return events, parser.close()


# ----------------------------------------------------------------------------- processes in a namespace


def _pid_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    out = []
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            out = [int(x) for x in fh.read().split()]
    except OSError:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == pid:
                        out.append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
    return out


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def processes_in_ns(ns: str) -> list[int]:
    """Host pids of every live (non-zombie) process in the pid namespace ``ns`` (a ``pid:[inode]`` link)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _pid_ns(int(entry)) == ns and not _is_zombie(int(entry)):
            pids.append(int(entry))
    return pids


# ----------------------------------------------------------------------------- the worker


class Worker:
    """One warm sandbox; ``run(job)`` executes a notebook's cells in a fresh child."""

    def __init__(
        self,
        index: int,
        *,
        limits: Limits,
        hide: list[Path],
        preload: list[str],
        sandboxed: bool = True,
        extra_ro: list[Path] | None = None,
        writable_cache: bool = False,
        trusted: bool = False,
        workdir: Path | None = None,
    ):
        self.index = index
        self.limits = limits
        self.hide = [Path(p).resolve() for p in hide]
        self.preload = preload
        self.sandboxed = sandboxed
        self.extra_ro = [Path(p).resolve() for p in (extra_ro or []) if Path(p).exists()]
        self.writable_cache = writable_cache
        self.trusted = trusted  # runs the solution: may write the dataset cache, keeps the instructor's uid
        self.workdir = workdir  # where job folders go (default: the system's temporary folder)
        self.proc: subprocess.Popen | None = None
        self.jobdir: Path | None = None
        self.scratch: Path | None = None
        self.ns: str | None = None
        self.zygote: int | None = None
        self.info: dict = {}
        self.jobs_run = 0
        self.starts = 0
        self.log_path: Path | None = None
        self.result_fd: int | None = None
        self.cell_fd: int | None = None  # write end of the cell pipe (the child reads one cell at a time)

    # -- lifecycle
    def _env(self) -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        env = {
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": "/tmp/home" if self.sandboxed else str(self.scratch / "home"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "P2L_THREADS": "1",
            "P2L_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "MPLBACKEND": "agg",
            "MPLCONFIGDIR": "/tmp/mpl" if self.sandboxed else str(self.scratch / "tmp" / "mpl"),
            "P2L_PRELOAD": ",".join(self.preload),
            "P2L_SANDBOXED": "1" if self.sandboxed else "0",
            "P2L_SCRATCH": "/tmp" if self.sandboxed else str(self.scratch / "tmp"),
        }
        cache = data_cache()
        if cache is not None:
            env["P2L_CACHE"] = str(cache)
        if self.sandboxed and os.geteuid() == 0 and not self.trusted:
            env["P2L_SANDBOX_UID"] = str(sandbox_uid(self.index))
        if self.trusted:
            env["P2L_TRUSTED"] = "1"
        sites = user_site_dirs()
        if sites:
            env["P2L_SITE_DIRS"] = os.pathsep.join(map(str, sites))
        return env

    def _argv(self, env: dict[str, str]) -> list[str]:
        python = [sys.executable, "-I", str(WORKER_SCRIPT) if not self.sandboxed else f"{RUN_DIR}/worker.py"]
        if not self.sandboxed:
            return python
        lim = self.limits
        cache = data_cache(create=self.writable_cache)
        args = [
            bwrap_path() or "bwrap",
            *view_args(self.hide, list(self.extra_ro), cache, self.writable_cache, tmpfs_mb=lim.tmpfs_mb),
        ]
        args += ["--ro-bind", str(WORKER_SCRIPT), f"{RUN_DIR}/worker.py", "--ro-bind", str(WIRE_MODULE), f"{RUN_DIR}/wire.py"]
        args += [
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "grader",
            "--die-with-parent",
            "--new-session",
            *_privilege_args(self.trusted),
            "--chdir",
            "/tmp",
            "--clearenv",
        ]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return args + ["--", *python]

    def start(self, timeout: float = 600.0) -> None:
        """Start the sandbox and wait until its worker has imported everything."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Start the sandbox process (call from a thread that outlives it: bubblewrap's
        ``--die-with-parent`` follows the *thread* that started it)."""
        self.stop()
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
        self.jobdir = Path(tempfile.mkdtemp(prefix=f"p2l-job{self.index}-", dir=self.workdir))
        self.jobdir.chmod(0o755)
        self.scratch = (
            Path(tempfile.mkdtemp(prefix=f"p2l-scratch{self.index}-", dir=self.workdir)) if not self.sandboxed else None
        )
        if self.scratch is not None:
            (self.scratch / "tmp").mkdir()
        self.log_path = self.jobdir.parent / f"{self.jobdir.name}.log"
        log = open(self.log_path, "wb")
        result_r, result_w = os.pipe()
        os.set_blocking(result_r, False)
        self.result_fd = result_r
        cell_r, cell_w = os.pipe()
        os.set_blocking(cell_w, False)
        self.cell_fd = cell_w
        env = self._env()
        env["P2L_RESULT_FD"] = str(result_w)
        env["P2L_CELL_FD"] = str(cell_r)
        if self.sandboxed:
            argv = self._argv(env)
            env = None
        else:
            argv = self._argv(env)
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            start_new_session=True,
            pass_fds=(result_w, cell_r),
        )
        os.close(result_w)
        os.close(cell_r)
        log.close()
        self.starts += 1

    def wait_ready(self, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        try:
            self.info = json.loads(_read_status_frame(self.proc.stdout.fileno(), deadline))
            if not self.info.get("ready"):
                raise ValueError("unexpected first frame")
        except (EOFError, TimeoutError, ValueError) as err:
            log_text = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            self.kill()
            raise WorkerError(f"grading worker {self.index} did not start ({type(err).__name__}): {log_text}") from err
        if self.sandboxed:
            self._find_namespace()

    def _find_namespace(self) -> None:
        """Remember the sandbox's pid namespace and the worker's host pid (to check for survivors)."""
        init = _children(self.proc.pid)
        for pid in init:
            kids = _children(pid)
            if kids:
                self.ns = _pid_ns(pid)
                self.zygote = kids[0]
                return
        raise WorkerError(f"grading worker {self.index}: could not find its sandbox processes")

    def survivors(self) -> list[int]:
        """Processes in the sandbox other than its init and the worker itself (should be none between jobs)."""
        if not self.sandboxed or self.ns is None:
            return []
        init = set(_children(self.proc.pid))
        return [p for p in processes_in_ns(self.ns) if p not in init and p != self.zygote]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except Exception:
                    pass
        self.proc = None
        self.ns = None
        for attr in ("result_fd", "cell_fd"):
            if getattr(self, attr, None) is not None:
                try:
                    os.close(getattr(self, attr))
                except OSError:
                    pass
                setattr(self, attr, None)
        self._cleanup_dirs()

    def stop(self) -> None:
        if self.alive():
            try:
                self.proc.stdin.write(b"QUIT\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except Exception:
                pass
        self.kill()

    def _cleanup_dirs(self) -> None:
        for path in (self.jobdir, self.scratch):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
        if self.log_path is not None:
            try:
                self.log_path.unlink()
            except OSError:
                pass
        self.jobdir = self.scratch = self.log_path = None

    # -- jobs
    def run(self, name: str, cells: list[dict], files: dict[str, bytes] | None = None) -> JobResult:
        """Run ``cells`` (``{"source": str, "test": bool}``) as one notebook; never raises for student behaviour.

        ``files`` (``{relative path: bytes}``) are written beside the notebook before its first cell runs.

        The cells go to the sandbox one at a time, each only once the previous one has ended, and only the
        events of the cell that is running are accepted (in order): nothing in the sandbox can read a test
        cell before it runs, or report for a cell that has not been sent.
        """
        if not self.alive():
            self.start()
        token = secrets.token_hex(16)
        limits = self.limits.for_worker()
        # Every route any cell forbids: the sandbox resolves them before the notebook's first cell runs.
        limits["forbid"] = sorted({r for c in cells for r in c.get("forbid") or ()})
        fields = [json.dumps(limits).encode(), name.encode()]
        if files:
            fields.append(json.dumps({rel: base64.b64encode(data).decode() for rel, data in files.items()}).encode())
        line = " ".join(["RUN", token, *(base64.b64encode(f).decode() for f in fields)]).encode() + b"\n"
        started = time.monotonic()
        received = [0]  # bytes from the child so far
        parser = StreamParser()
        events: list[dict] = []
        detail: dict = {}
        status = "worker_died"
        problems: list[Problem] = []
        deadline = started + self.limits.notebook_seconds + self.limits.grace_seconds + 60
        out_fd = self.proc.stdout.fileno()
        pending = b""
        outbox = bytearray()  # cell bytes not yet taken by the pipe
        sent = 0  # cells sent (and the done marker counts as len(cells) + 1)
        state = {"current": None, "ended": True, "finished": False, "ignored": 0}

        def send_next() -> None:
            nonlocal sent
            if sent < len(cells):
                cell = cells[sent]
                payload = {"token": token, "index": sent, "source": cell["source"], "test": bool(cell.get("test"))}
                if cell.get("forbid"):
                    payload["forbid"] = list(cell["forbid"])
                    payload["guarded_lines"] = list(cell.get("guarded_lines") or [])
            elif sent == len(cells):
                payload = {"token": token, "done": True}
            else:
                return
            data = json.dumps(payload).encode()
            outbox.extend(wire.frame(wire.CELL, data))
            state["current"], state["ended"] = (sent if sent < len(cells) else None), False
            sent += 1
            flush()

        def flush() -> None:
            while outbox:
                try:
                    n = os.write(self.cell_fd, outbox)
                except BlockingIOError:
                    return
                except OSError:
                    outbox.clear()
                    return
                del outbox[:n]

        def accept(new: list[dict]) -> None:
            for event in new:
                kind, cell = event.get("event"), event.get("cell")
                current = state["current"]
                if kind == "started" and sent == 0:
                    events.append(event)
                    send_next()  # the worker has emptied the cell pipe and forked: the first cell may go
                elif kind == "fatal" and not state["finished"]:
                    events.append(event)
                elif kind == "start" and cell == current and current is not None and not state["ended"]:
                    events.append(event)
                elif kind == "end" and cell == current and current is not None and not state["ended"]:
                    events.append(event)
                    state["ended"] = True
                    send_next()
                elif kind == "integrity" and cell == current and current is not None and not state["ended"]:
                    events.append(event)  # the grader's own code changed by the notebook: judged by grader.judge
                elif kind == "guard" and not state["finished"] and cell == -1:
                    # From the watch's audit hook, which does not know the cell: the one running, if any.
                    running = current is not None and not state["ended"]
                    events.append({**event, "cell": current} if running else event)
                elif kind == "guard" and not state["finished"] and cell == current and current is not None:
                    events.append(event)  # the write-it-yourself watch: judged by grader.judge.guard_problem
                elif kind == "finish" and sent == len(cells) + 1 and not state["finished"]:
                    events.append(event)
                    state["finished"] = True
                else:
                    state["ignored"] += 1

        def drain() -> bool:
            """Read what the child wrote; False once more than the output limit came."""
            while True:
                try:
                    chunk = os.read(self.result_fd, 1 << 20)
                except BlockingIOError:
                    return True
                except OSError:
                    return True
                if not chunk:
                    return True
                if received[0] + len(chunk) > self.limits.result_bytes:
                    return False
                received[0] += len(chunk)
                accept(parser.feed(chunk))

        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                ready, writable, _ = select.select([out_fd, self.result_fd], [self.cell_fd] if outbox else [], [], min(left, 1.0))
                if writable:
                    flush()
                if self.result_fd in ready and not drain():
                    status = "output_limit"
                    problems.append(
                        Problem(
                            "output_limit",
                            f"the notebook wrote more than {self.limits.result_bytes // 2**20} MB of output; it was stopped",
                        )
                    )
                    break
                if out_fd in ready:
                    data = os.read(out_fd, 1 << 16)
                    if not data:
                        raise EOFError
                    pending += data
                    if len(pending) >= wire.HEADER_BYTES:
                        length = _status_length(pending[: wire.HEADER_BYTES])
                        if len(pending) >= wire.HEADER_BYTES + length:
                            detail = json.loads(pending[wire.HEADER_BYTES : wire.HEADER_BYTES + length])
                            if detail.get("token") != token:
                                raise ValueError("status for another job")
                            status = str(detail.get("status"))
                            break
        except TimeoutError:
            status = "host_timeout"
            problems.append(Problem("unresponsive", "the sandbox stopped responding"))
        except (EOFError, BrokenPipeError, OSError, ValueError) as err:
            status = "worker_died"
            problems.append(Problem("ended", f"the sandbox ended unexpectedly ({type(err).__name__})"))
        if status != "output_limit":
            time.sleep(0.01 if status == "exited" else 0.2)
            if not drain():
                status = "output_limit"
        problems += parser.close()
        healthy = status in ("exited",) and self.alive()
        if healthy:
            leftovers = self.survivors()
            for _ in range(20):  # processes killed a moment ago may still be exiting
                if not leftovers:
                    break
                time.sleep(0.1)
                leftovers = self.survivors()
            if leftovers:
                problems.append(
                    Problem("survivors", f"{len(leftovers)} process(es) survived the notebook; the sandbox was restarted")
                )
                healthy = False
        if not healthy:
            self.kill()
        self.jobs_run += 1
        detail = {**detail, "ignored_events": state["ignored"]} if state["ignored"] else detail
        return JobResult(
            status=status, events=events, detail=detail, problems=problems, seconds=round(time.monotonic() - started, 3)
        )
