"""The grading worker: runs *inside* the sandbox, never in the instructor's process.

Started once per parallel worker by :mod:`grader.sandbox` (``python -I _worker.py``).
It is a warm "zygote": it drops privileges, imports the heavy stack once
(torch, course_utils, IPython, matplotlib), then serves jobs read from its
stdin. For every job it forks a fresh child that runs one notebook's cells in
an IPython shell and writes what happened (outputs, errors, and the *actual*
values recorded by the rewritten test cells) to a pipe as length-prefixed
JSON frames. The worker relays those bytes to the grader, kills every process
the child left behind, wipes every writable place in the sandbox and only then
reports the job done, so one student's notebook can never see or influence the
next one. The child writes its results straight to a pipe the grader owns
(``$P2L_RESULT_FD``), so whatever happens to the worker afterwards, every cell
that finished is on record.

Nothing here decides a grade: the grader compares the recorded values with the
solution's outside the sandbox. This file is standalone (standard library plus
the notebook stack, and :mod:`grader.wire`, bound beside it: the frames and the value
encoding the grader reads) so that nothing else of the grader has to be visible here.

Protocol (grader -> worker, stdin lines): ``RUN <token> <limits> <name>`` (base64
JSON limits, base64 notebook name) starts a job, ``QUIT`` exits. Before
reporting a cell's end the child asks the worker to answer (``P`` on its
progress pipe, ``K`` back): a cell that killed the worker never reports its end. Worker -> grader (stdout): frames ``D<length: 8 bytes
big-endian><JSON>``, ``{"ready": ...}`` once, then one ``{"token": ...,
"status": ...}`` per job. Grader -> child (cell pipe, ``$P2L_CELL_FD``): frames
``C<length><JSON>``, one cell at a time, each sent only after the previous one
ended, then ``{"done": true}``: no file and no process in the sandbox holds a
cell before it runs, so student code cannot read the (hidden) tests ahead of
time. The worker itself never reads the cell pipe (a forked child would
inherit whatever it had read). Child -> grader (result pipe): frames
``J<length><JSON event>``.
"""

from __future__ import annotations

import os
import sys


def _drop_privileges() -> None:
    """As root (bubblewrap without a user namespace), become an unprivileged uid with no capabilities."""
    if (os.getuid() == 0 or os.geteuid() == 0) and os.environ.get("P2L_TRUSTED") != "1":
        uid = int(os.environ.get("P2L_SANDBOX_UID", "0"))
        if uid <= 0:
            sys.exit("p2l worker: refusing to run student code as root (P2L_SANDBOX_UID not set)")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if 0 in os.getresuid() or 0 in os.getresgid():
            sys.exit("p2l worker: could not drop root privileges")
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("CapEff:") and int(line.split()[1], 16) != 0:
                sys.exit("p2l worker: still holds capabilities; refusing to run student code")


if os.environ.get("P2L_SANDBOXED") == "1":
    _drop_privileges()

import base64  # noqa: E402
import ctypes  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import linecache  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402


def _load_wire():
    """grader/wire.py, from beside this file: in the sandbox it is bound next to it, and `python -I` keeps the
    script's folder off sys.path (nor is it put there: the student's code would import the grader's modules)."""
    spec = importlib.util.spec_from_file_location("p2l_wire", os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wire = _load_wire()

SCRATCH = os.environ.get("P2L_SCRATCH", "/tmp")
IN_OWN_PID_NS = os.environ.get("P2L_SANDBOXED") == "1"
RESULT_FD = 3  # in the child
PROGRESS_FD = 4  # in the child: one byte per cell start and end, so the worker can tell a hung cell
HOST_RESULT_FD = int(os.environ.get("P2L_RESULT_FD", "-1"))  # the grader's pipe, inherited
HOST_CELL_FD = int(os.environ.get("P2L_CELL_FD", "-1"))  # the grader's cells, one at a time, inherited
CELL_FD = 5  # in the child
PONG_FD = 6  # in the child: the worker answers each wire.PING on PROGRESS_FD with a wire.PONG here
_LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


# ----------------------------------------------------------------------------- frames


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _frame(fd: int, kind: bytes, payload: bytes) -> None:
    _write_all(fd, wire.frame(kind, payload))


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        data = os.read(fd, min(n - got, 1 << 20))
        if not data:
            raise EOFError
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def _next_cell(fd: int, token: str) -> dict | None:
    """Block until the grader sends the next cell; None when there are no more (or the grader is gone)."""
    try:
        head = _read_exact(fd, wire.HEADER_BYTES)
        kind, length = wire.frame_header(head)
        if kind != wire.CELL:
            return None
        cell = json.loads(_read_exact(fd, length))
    except (EOFError, OSError, ValueError):
        return None
    if not isinstance(cell, dict) or cell.get("token") != token or cell.get("done"):
        return None
    return cell


# ----------------------------------------------------------------------------- warm imports


def _preload() -> list[str]:
    """Import what notebooks will import, so every forked child starts warm."""
    failed = []
    import matplotlib

    matplotlib.use("agg")
    for name in os.environ.get("P2L_PRELOAD", "").split(","):
        name = name.strip()
        if not name:
            continue
        try:
            __import__(name)
        except Exception as err:  # an optional module missing here just starts cold later
            failed.append(f"{name}: {type(err).__name__}")
    try:
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    except Exception:
        pass
    import IPython.core.interactiveshell  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401

    return failed


# ----------------------------------------------------------------------------- values


def _error_info(err: BaseException) -> dict:
    try:
        message = str(err)[:1000]
    except Exception:
        message = "?"
    return {"ename": type(err).__name__, "evalue": message}


def _describe_shape(value):
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return {"kind": "tensor", "shape": list(torch.Tensor.size(value)), "dtype": str(value.dtype)}
    if isinstance(value, np.ndarray):
        return {"kind": "ndarray", "shape": list(value.shape), "dtype": str(value.dtype)}
    try:
        text = repr(value)[:80]
    except Exception:
        text = "?"
    return {"kind": "other", "type": type(value).__name__, "repr": text}


def _raised(fn) -> dict:
    try:
        fn()
    except BaseException as err:  # noqa: BLE001 - every exception is data here
        if isinstance(err, CellTimeout):
            raise
        mro = []
        for cls in type(err).__mro__:
            mro.append(f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}")
        info = _error_info(err)
        return {"raised": True, "mro": mro[:20], "ename": info["ename"], "message": info["evalue"]}
    return {"raised": False}


class Recorder:
    """The ``__p2l_record__`` function the rewritten test cells call."""

    def __init__(self, value_limit: int):
        self.records: list[dict] = []
        self.value_limit = value_limit

    def _measure(self, kind: str, thunk, budget):
        if kind == "raises":
            return _raised(thunk)
        value = thunk()
        if kind == "shape" or kind == "dtype":
            return _describe_shape(value)
        return wire.encode(value, budget)

    def __call__(self, index: int, kind: str, actual, expected=None) -> None:
        record: dict = {"check": int(index)}
        budget = wire.Budget(self.value_limit)
        try:
            record["actual"] = self._measure(kind, actual, budget)
        except CellTimeout:
            raise
        except BaseException as err:  # noqa: BLE001
            record["actual_error"] = _error_info(err)
        if expected is not None:
            try:
                value = expected()
                if kind == "raises":
                    record["expected"] = {"type": f"{value.__module__}.{value.__qualname__}", "name": value.__name__}
                elif kind == "dtype":
                    record["expected"] = {"dtype": str(value)}
                elif kind == "shape":
                    record["expected"] = wire.encode(tuple(int(v) for v in value), budget)
                else:
                    record["expected"] = wire.encode(value, budget)
            except CellTimeout:
                raise
            except BaseException as err:  # noqa: BLE001
                record["expected_error"] = _error_info(err)
        self.records.append(record)


# ----------------------------------------------------------------------------- the child: run cells


class CellTimeout(BaseException):
    """Raised in the notebook when a cell runs longer than its limit (not an ``Exception``: a student's
    ``except Exception`` must not swallow it)."""


class Outputs:
    """Collect one cell's outputs in order, with hard caps on text and images."""

    KEEP_MIME = (
        "text/plain",
        "text/html",
        "text/markdown",
        "text/latex",
        "image/png",
        "image/jpeg",
        "image/svg+xml",
        "application/json",
        "application/vnd.jupyter.widget-view+json",
    )

    def __init__(self, limits: dict, totals: dict):
        self.items: list[dict] = []
        self.limits = limits
        self.totals = totals
        self.text_bytes = 0
        self.dropped_text = 0
        self.dropped_images = 0

    def stream(self, name: str, text: str) -> None:
        room = self.limits["text_per_cell"] - self.text_bytes
        if room <= 0:
            self.dropped_text += len(text)
            return
        if len(text) > room:
            self.dropped_text += len(text) - room
            text = text[:room]
        self.text_bytes += len(text)
        if self.items and self.items[-1].get("output_type") == "stream" and self.items[-1]["name"] == name:
            self.items[-1]["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def _clean_bundle(self, data) -> tuple[dict, bool]:
        clean, image = {}, False
        if not isinstance(data, dict):
            return {"text/plain": str(type(data))}, False
        for mime, value in data.items():
            if mime not in self.KEEP_MIME:
                continue
            if isinstance(value, bytes):
                value = (
                    base64.b64encode(value).decode()
                    if mime.startswith("image/") and mime != "image/svg+xml"
                    else value.decode("utf-8", "replace")
                )
            if mime.startswith("image/"):
                image = True
            if isinstance(value, str) and len(value) > self.limits["bytes_per_output"]:
                value = value[: self.limits["bytes_per_output"]] if not mime.startswith("image/") else None
                if value is None:
                    continue
            clean[mime] = value
        return clean, image

    def display(self, output_type: str, data, metadata, count=None) -> None:
        clean, image = self._clean_bundle(data)
        if image:
            size = sum(len(v) for k, v in clean.items() if k.startswith("image/") and isinstance(v, str))
            if self.totals["images"] >= self.limits["images"] or self.totals["image_bytes"] + size > self.limits["image_bytes"]:
                self.dropped_images += 1
                return
            self.totals["images"] += 1
            self.totals["image_bytes"] += size
        meta = {}
        if isinstance(metadata, dict):
            for mime in clean:
                if isinstance(metadata.get(mime), dict):
                    meta[mime] = {k: v for k, v in metadata[mime].items() if isinstance(v, (str, int, float, bool))}
        item = {"output_type": output_type, "data": clean, "metadata": meta}
        if output_type == "execute_result":
            item["execution_count"] = count
        self.items.append(item)

    def clear(self) -> None:
        self.items.clear()

    def finish(self) -> list[dict]:
        notes = []
        if self.dropped_text:
            notes.append(f"... output truncated: {self.dropped_text:,} more characters were not kept.\n")
        if self.dropped_images:
            notes.append(f"... {self.dropped_images} more figure(s) were not kept (output limit).\n")
        for note in notes:
            self.items.append({"output_type": "stream", "name": "stdout", "text": note})
        return self.items


class CappedStream:
    """A text stream (``sys.stdout``/``sys.stderr``) that writes into the current cell's Outputs."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, name: str, sink):
        self.name = name
        self.sink = sink

    def write(self, text) -> int:
        if not isinstance(text, str):
            text = str(text)
        outputs = self.sink()
        if outputs is not None:
            outputs.stream(self.name, text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("no file descriptor in the grader")

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def _make_shell(current):
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            outputs = current()
            if outputs is not None:
                outputs.display("display_data", data, metadata or {})

        def clear_output(self, wait=False):
            outputs = current()
            if outputs is not None:
                outputs.clear()

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            outputs = current()
            if outputs is not None:
                outputs.display("execute_result", format_dict, md_dict or {}, self.prompt_count)

        def finish_displayhook(self):
            pass

    class Shell(InteractiveShell):
        last_error: dict | None = None

        def _showtraceback(self, etype, evalue, stb):
            self.last_error = {
                "ename": getattr(etype, "__name__", "Error"),
                "evalue": str(evalue)[:2000] if evalue is not None else "",
                "traceback": [line[:4000] for line in stb[-40:]],
            }

        def ask_exit(self):  # exit()/quit() in a cell: ignore, keep grading
            pass

        def showtraceback(self, *args, **kwargs):
            if os.getpid() != _NOTEBOOK_PID:  # a forked copy of the notebook: do not spend CPU on tracebacks
                return
            return super().showtraceback(*args, **kwargs)

    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.HistoryManager.hist_file = ":memory:"
    shell = Shell.instance(config=config, displayhook_class=Hook, display_pub_class=Publisher, colors="nocolor")
    try:
        shell.enable_matplotlib("inline")
    except Exception:
        pass
    return shell


_NOTEBOOK_PID = 0  # the process running the notebook (set in the child)


def _stat(pid: str) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session, ..."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _close_figures(timed_out: bool, limit: int) -> None:
    """Figures a cell left open would be drawn again after every later cell; close them when there are too many
    (or the cell was stopped before the inline backend could show and close them)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        if timed_out or len(plt.get_fignums()) > limit:
            plt.close("all")
    except Exception:
        pass


def _stop_cell_processes(tick=lambda: None) -> int:
    """Kill every process the notebook started that is still running (its session), e.g. a fork bomb's copies."""
    me = os.getpid()
    killed: set[int] = set()

    def reap() -> None:
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    for _ in range(500):
        victims = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != me:
                fields = _stat(entry)
                if fields and fields[0] not in ("Z", "X") and fields[3] == str(me):
                    victims.append(int(entry))
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        reap()
        tick()  # still working: the worker must not take this for a hung cell
        time.sleep(0.01)
    reap()
    return len(killed)


def _no_more_forks(*args, **kwargs):
    raise BlockingIOError(11, "a process forked by the notebook may not fork again while grading")


def _after_fork_in_notebook() -> None:
    """In a process the notebook forks (``os.fork``, multiprocessing): no access to the results, lowest CPU
    priority, and no further ``os.fork`` — a fork bomb then ends in its first generation."""
    for fd in (RESULT_FD, PROGRESS_FD, CELL_FD, PONG_FD):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.nice(19)
    except OSError:
        pass
    os.fork = _no_more_forks
    if hasattr(os, "forkpty"):
        os.forkpty = _no_more_forks


def _worker_alive() -> bool:
    """Ask the worker (our parent) to answer; False if it is gone or dying (killed by the notebook).

    Called before a cell's end is reported: a cell that kills the worker never has its end reported, so the
    grade does not depend on how fast the kill lands."""
    os.set_blocking(PONG_FD, False)
    try:
        while os.read(PONG_FD, 4096):  # answers to pings the notebook itself sent
            pass
    except (BlockingIOError, OSError):
        pass
    os.set_blocking(PONG_FD, True)
    try:
        os.write(PROGRESS_FD, wire.PING)
        return os.read(PONG_FD, 1) == wire.PONG
    except OSError:
        return False


def _child(job_token: str, name: str, progress_w: int, pong_r: int, limits: dict) -> None:
    """Runs in the forked child: set limits, run the cells, stream results, exit."""
    os.setsid()
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    import fcntl

    # Copies above every fd we are about to overwrite, so no dup2 below clobbers another one.
    result = fcntl.fcntl(HOST_RESULT_FD, fcntl.F_DUPFD, 16)
    progress = fcntl.fcntl(progress_w, fcntl.F_DUPFD, 16)
    cells_in = fcntl.fcntl(HOST_CELL_FD, fcntl.F_DUPFD, 16)
    pong = fcntl.fcntl(pong_r, fcntl.F_DUPFD, 16)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.dup2(result, RESULT_FD)
    os.dup2(progress, PROGRESS_FD)
    os.dup2(cells_in, CELL_FD)
    os.dup2(pong, PONG_FD)
    os.closerange(PONG_FD + 1, 4096)
    for fd in (RESULT_FD, PROGRESS_FD, CELL_FD, PONG_FD):
        os.set_inheritable(fd, False)
    os.set_blocking(CELL_FD, True)
    global _NOTEBOOK_PID
    _NOTEBOOK_PID = os.getpid()
    os.register_at_fork(after_in_child=_after_fork_in_notebook)

    def emit(obj: dict) -> None:
        try:
            _frame(RESULT_FD, wire.EVENT, json.dumps(obj, default=str).encode("utf-8", "replace"))
        except OSError:
            os._exit(70)

    try:
        job = {"name": name}
        home = os.path.join(SCRATCH, "home")
        work = os.path.join(SCRATCH, "work", job.get("name", "notebook"))
        for path in (home, work, os.path.join(SCRATCH, "mpl"), os.path.join(SCRATCH, "ipython")):
            os.makedirs(path, exist_ok=True)
        os.environ.update(
            {
                "HOME": home,
                "MPLCONFIGDIR": os.path.join(SCRATCH, "mpl"),
                "IPYTHONDIR": os.path.join(SCRATCH, "ipython"),
                "TMPDIR": SCRATCH,
            }
        )
        os.chdir(work)
        sys.path[:0] = [work]

        vsize = 0
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    vsize = int(line.split()[1]) * 1024
        memory = int(limits["memory_bytes"])
        resource.setrlimit(resource.RLIMIT_AS, (vsize + memory, vsize + memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
        cpu = int(limits["notebook_seconds"]) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        if IN_OWN_PID_NS:  # counted per user; outside a sandbox it would count the instructor's processes
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

        state = {"outputs": None}

        def current():
            return state["outputs"]

        sys.stdout = CappedStream("stdout", current)
        sys.stderr = CappedStream("stderr", current)
        sys.stdin = open(os.devnull)
        shell = _make_shell(current)
        totals = {"images": 0, "image_bytes": 0}
        # Captured before any student code runs: test cells use these, whatever a notebook patches later.
        from IPython.core.interactiveshell import InteractiveShell

        run_cell = InteractiveShell.run_cell
        manager = shell.input_transformer_manager
        pristine = {
            name: list(getattr(manager, name)) for name in ("cleanup_transforms", "line_transforms", "token_transformers")
        }

        real_fork = os.fork
        timeout_message = f"this cell ran longer than the {limits['cell_seconds']} s limit and was stopped"

        def fork_after_timeout(*args, **kwargs):
            raise CellTimeout(timeout_message)

        def on_alarm(signum, frame):
            if not state.get("in_cell"):
                return
            # Re-arm first: if the exception lands somewhere that swallows it (an at-fork hook, a __del__),
            # the next alarm comes a second later. A fork loop always lands in an at-fork hook, so forking
            # itself raises from now on (until the next cell).
            state["timed_out"] = True
            signal.setitimer(signal.ITIMER_REAL, 1.0)
            os.fork = fork_after_timeout
            raise CellTimeout(timeout_message)

        signal.signal(signal.SIGALRM, on_alarm)
        emit({"event": "started", "pid": os.getpid()})

        def tick() -> None:
            try:
                os.write(PROGRESS_FD, b".")
            except OSError:
                pass

        index = -1
        while True:
            tick()
            cell = _next_cell(CELL_FD, job_token)
            if cell is None:
                break
            index += 1
            if cell.get("index") != index:
                emit({"event": "fatal", "message": "cells out of order"})
                os._exit(71)
            emit({"event": "start", "cell": index})
            outputs = Outputs(limits, totals)
            recorder = Recorder(limits["value_bytes"])
            state["outputs"] = outputs
            shell.last_error = None
            if cell.get("test"):
                # Test cells run with the grader's recorder and without transformers a student installed.
                shell.user_ns["__p2l_record__"] = recorder
                shell.input_transformer_manager = manager
                for name, items in pristine.items():
                    setattr(manager, name, list(items))
                shell.ast_transformers = []
                shell.input_transformers_post = []
            started = time.monotonic()
            state["timed_out"] = False
            state["in_cell"] = True
            signal.setitimer(signal.ITIMER_REAL, float(limits["cell_seconds"]))
            cached = set(linecache.cache)
            try:
                run_cell(shell, cell["source"], store_history=not cell.get("test"))
            except CellTimeout:
                pass  # recorded through state["timed_out"]
            except BaseException as err:  # noqa: BLE001 - the shell normally catches everything itself
                shell.last_error = {
                    "ename": type(err).__name__,
                    "evalue": str(err)[:2000],
                    "traceback": traceback.format_exception_only(type(err), err),
                }
            for _ in range(10):  # an alarm racing the end of the cell raises here: just do it again
                try:
                    state["in_cell"] = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    os.fork = real_fork
                    break
                except CellTimeout:
                    continue
            if os.getpid() != _NOTEBOOK_PID:  # a forked copy got back here: it must not run the next cells
                os._exit(0)
            if cell.get("test"):
                # IPython keeps each cell's source for tracebacks, and the last error's frames: a later student
                # cell must not read a (hidden) test's source from either.
                for name in set(linecache.cache) - cached:
                    linecache.cache.pop(name, None)
                sys.last_type = sys.last_value = sys.last_traceback = None
                if hasattr(sys, "last_exc"):
                    sys.last_exc = None
            _close_figures(state["timed_out"], limits["images"])
            stopped = _stop_cell_processes(tick)
            state["outputs"] = None
            items = outputs.finish()
            error = shell.last_error
            if state["timed_out"]:
                error = {"ename": "CellTimeout", "evalue": timeout_message, "traceback": [f"CellTimeout: {timeout_message}"]}
            if error is not None:
                items = [o for o in items if o.get("output_type") != "error"]
                items.append({"output_type": "error", **error})
            tick()
            if not _worker_alive():
                os._exit(74)
            emit(
                {
                    "event": "end",
                    "cell": index,
                    "seconds": round(time.monotonic() - started, 3),
                    "stopped": stopped,
                    "outputs": items,
                    "truncated": bool(outputs.dropped_text or outputs.dropped_images),
                    "error": error,
                    "records": recorder.records if cell.get("test") else [],
                }
            )
        emit({"event": "finish"})
        os._exit(0)
    except BaseException as err:  # noqa: BLE001
        emit({"event": "fatal", "message": f"{type(err).__name__}: {err}"[:2000]})
        os._exit(72)


# ----------------------------------------------------------------------------- the zygote


def _kill_everything_else() -> None:
    """Inside our own pid namespace: SIGKILL every process except ourselves and the namespace's init."""
    if IN_OWN_PID_NS:
        for _ in range(50):
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while True:
                try:
                    pid, _status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            others = [
                p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid()) and (_stat(p) or ["Z"])[0] != "Z"
            ]
            if not others:
                return
            time.sleep(0.1)


def _mount_points() -> list[str]:
    try:
        with open("/proc/self/mountinfo") as fh:
            return [line.split()[4] for line in fh]
    except OSError:
        return []


def _holds_mount(path: str, device: int) -> bool:
    """Whether ``path`` is, or contains, a mount point (which a wipe must not descend into)."""
    try:
        if os.stat(path).st_dev != device:
            return True
    except OSError:
        return False
    prefix = path.rstrip("/") + "/"
    return any(m == path or m.startswith(prefix) for m in _mount_points())


def _wipe(path: str) -> None:
    def onerror(func, target, exc_info):
        try:
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass

    try:
        entries = os.listdir(path)
        device = os.stat(path).st_dev
    except OSError:
        return
    for name in entries:
        target = os.path.join(path, name)
        try:
            if os.path.isdir(target) and not os.path.islink(target) and os.stat(target).st_dev != device:
                continue  # a mount point: a Python environment bound read-only at e.g. /tmp/venv
            if os.path.isdir(target) and not os.path.islink(target) and _holds_mount(target, device):
                _wipe(target)  # e.g. /tmp/x holding a Python environment bound read-only at /tmp/x/venv
            elif os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, 0o700)
                shutil.rmtree(target, onerror=onerror)
            else:
                os.unlink(target)
        except OSError:
            pass


def _supervise(pid: int, progress_r: int, pong_w: int, limits: dict) -> dict:
    """Wait for the child; enforce wall-clock limits (per cell from its progress ticks, per notebook)."""
    start = last = time.monotonic()
    hard_cell = float(limits["cell_seconds"]) + float(limits.get("grace_seconds", 10))
    notebook = float(limits["notebook_seconds"])
    status: dict | None = None
    eof = False
    while status is None:
        now = time.monotonic()
        if now - start > notebook:
            status = {"status": "notebook_timeout"}
            break
        if now - last > hard_cell:
            status = {"status": "cell_timeout"}
            break
        if not eof:
            ready, _, _ = select.select([progress_r], [], [], 0.1)
            if ready:
                try:
                    data = os.read(progress_r, 4096)
                except OSError:
                    data = b""
                if data:
                    last = time.monotonic()
                    for _ in range(data.count(wire.PING)):
                        try:
                            os.write(pong_w, wire.PONG)
                        except OSError:
                            pass
                else:
                    eof = True
        else:
            time.sleep(0.05)
        try:
            done, wstatus = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, wstatus = pid, 0
        if done:
            if os.WIFSIGNALED(wstatus):
                status = {"status": "exited", "signal": os.WTERMSIG(wstatus)}
            else:
                status = {"status": "exited", "code": os.WEXITSTATUS(wstatus) if os.WIFEXITED(wstatus) else None}
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    status["seconds"] = round(time.monotonic() - start, 3)
    return status


def _discard_stale_cells() -> None:
    """Empty the cell pipe of anything a previous notebook left unread (it died before its next cell), into a
    buffer that is zeroed right after, so the next notebook's process (a fork of this one) never holds it."""
    if HOST_CELL_FD < 0:
        return
    buf = bytearray(1 << 16)
    os.set_blocking(HOST_CELL_FD, False)
    try:
        while True:
            try:
                if os.readv(HOST_CELL_FD, [buf]) <= 0:
                    break
            except (BlockingIOError, OSError):
                break
    finally:
        buf[:] = bytes(len(buf))
        os.set_blocking(HOST_CELL_FD, True)


def main() -> int:
    preload_start = time.monotonic()
    failed = _preload()
    _LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace or /proc/<pid>/mem access from student code
    os.makedirs(SCRATCH, exist_ok=True)
    _frame(
        1,
        wire.STATUS,
        json.dumps(
            {
                "ready": True,
                "pid": os.getpid(),
                "uid": os.getuid(),
                "preload_seconds": round(time.monotonic() - preload_start, 2),
                "preload_failed": failed,
            }
        ).encode(),
    )
    stdin = 0
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = os.read(stdin, 256)
            if not chunk:
                return 0
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        parts = line.decode().split()
        if not parts or parts[0] == "QUIT":
            return 0
        if parts[0] != "RUN" or len(parts) != 4:
            continue
        token = parts[1]
        limits = json.loads(base64.b64decode(parts[2]))
        name = base64.b64decode(parts[3]).decode("utf-8", "replace")
        _discard_stale_cells()
        progress_r, progress_w = os.pipe()
        pong_r, pong_w = os.pipe()
        os.set_blocking(pong_w, False)
        pid = os.fork()
        if pid == 0:
            os.close(progress_r)
            os.close(pong_w)
            try:
                _child(token, name, progress_w, pong_r, limits)
            finally:
                os._exit(73)
        os.close(progress_w)
        os.close(pong_r)
        status = _supervise(pid, progress_r, pong_w, limits)
        os.close(progress_r)
        os.close(pong_w)
        _kill_everything_else()
        for path in (SCRATCH, "/dev/shm"):
            _wipe(path)
        status["token"] = token
        _frame(1, wire.STATUS, json.dumps(status).encode())


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
