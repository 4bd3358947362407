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
solution's outside the sandbox. Two things are watched from in here and judged
out there: whether the notebook changed the grader's own code or Python's
built-ins before a test cell ended (:func:`_integrity_snapshot`), and which
library routes a test cell that forbids some reached (:func:`_prepare_watch`). This file is standalone (standard library plus
the notebook stack, and :mod:`grader.wire`, bound beside it: the frames and the value
encoding the grader reads) so that nothing else of the grader has to be visible here.

Protocol (grader -> worker, stdin lines): ``RUN <token> <limits> <name> [<files>]``
(base64 JSON limits, base64 notebook name, base64 JSON ``{relative path: base64
bytes}`` of the files the notebook finds beside it) starts a job, ``QUIT`` exits. Before
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


def _add_site_dirs() -> None:
    """The grader's user site-packages (``pip install --user``): ``python -I`` skips it, the host names it."""
    import site

    for folder in filter(None, os.environ.get("P2L_SITE_DIRS", "").split(os.pathsep)):
        site.addsitedir(folder)


_add_site_dirs()
_WORKER = sys.modules[__name__]  # this module: IPython later puts the notebook's own namespace under "__main__"

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


# ----------------------------------------------------------------------------- the grader's own code, unchanged


#: Built-in names IPython itself swaps while a cell runs, or that only display things.
_BUILTINS_IPYTHON_CHANGES = {"exit", "quit", "get_ipython", "display", "__IPYTHON__", "_", "__", "___", "help"}


def _integrity_snapshot(shell) -> tuple:
    """What the recording of test cells relies on, as it is before any student code runs.

    ``(owner, owner name, attribute, value)`` for every attribute of this module, :mod:`grader.wire`, the
    modules they write with (json, struct, base64, os) and the built-ins, and of every class the recording
    and IPython's running of a cell go through (the recorder, the shell, its compiler); the number of
    attributes of each of those classes (a name added to a class can shadow its base's); and the shell's
    methods that no instance attribute shadows yet.
    """
    import builtins
    import json.encoder
    import struct

    owners: list = [_WORKER, wire, json, json.encoder, struct, base64, os, builtins]
    skip = {id(builtins): _BUILTINS_IPYTHON_CHANGES, id(os): {"fork", "forkpty", "environ"}}
    classes = {v for v in vars(_WORKER).values() if isinstance(v, type) and v.__module__ == _WORKER.__name__}
    classes |= {v for v in vars(wire).values() if isinstance(v, type) and v.__module__ == wire.__name__}
    classes |= set(type(shell).__mro__) | set(type(shell.compile).__mro__) | {json.JSONEncoder}
    classes -= {object, type}
    items = []
    for owner in owners + sorted(classes, key=lambda c: c.__qualname__):
        name = getattr(owner, "__qualname__", None) or owner.__name__
        for attr, value in list(vars(owner).items()):
            if attr not in skip.get(id(owner), ()) and attr not in ("__dict__", "__weakref__"):
                items.append((owner, name, attr, value))
    items.append((shell, "the shell", "compile", shell.compile))
    counts = tuple((cls, cls.__qualname__, len(vars(cls))) for cls in classes)
    methods = frozenset(n for c in type(shell).__mro__ for n, v in vars(c).items() if callable(v)) - set(vars(shell))
    return tuple(items), counts, (shell, methods)


_MISSING = object()


def _guard_own_functions(dicts: tuple, getattr_=getattr) -> None:
    """Refuse, from now on, to change the code, defaults or keyword defaults of any function of this module or
    :mod:`grader.wire` (``f.__code__ = ...`` raises an audit event; the hook cannot be removed)."""

    def audit(event, args):
        if event == "object.__setattr__" and args:
            scope = getattr_(args[0], "__globals__", None)
            for own in dicts:
                if scope is own:
                    raise RuntimeError("p2l: the grader's own functions cannot be changed while grading")

    sys.addaudithook(audit)


def _integrity_changes(snapshot, vars_=vars, len_=len, missing=_MISSING) -> list[str]:
    """The names in ``snapshot`` (from :func:`_integrity_snapshot`) whose value is no longer the same object.

    Uses only its arguments (its defaults are bound before any student code), so patching built-ins or this
    module does not change what it sees."""
    items, counts, (shell, methods) = snapshot
    changed = [f"{name}.{attr}" for owner, name, attr, value in items if vars_(owner).get(attr, missing) is not value]
    changed += [f"{name} (attributes added)" for cls, name, n in counts if len_(vars_(cls)) != n]
    changed += [f"the shell.{attr}" for attr in vars_(shell) if attr in methods]  # an instance attribute shadowing a method
    return changed


# ----------------------------------------------------------------------------- the write-it-yourself watch


def _write_event(payload: bytes, fd: int = RESULT_FD, write=os.write, error=OSError) -> None:
    """Write one EVENT frame from bytes the caller built, through objects bound before any student code (the
    watch and the integrity check report this way: a notebook that patched ``json``, ``os`` or this module's
    frame helpers cannot stop or change it; its code and defaults are guarded by :func:`_guard_own_functions`)."""
    try:
        write(fd, b"J" + payload.__len__().to_bytes(8, "big") + payload)
    except error:
        pass


def _fingerprint(code, str_=str, tuple_=tuple, isinstance_=isinstance, hasattr_=hasattr):
    """What a copy of a function's source keeps: its names, its variables and its constants (not its docstring,
    line numbers or file; the bytecode itself can differ between two compilations of the same text)."""
    consts = code.co_consts
    if consts and isinstance_(consts[0], str_):
        consts = consts[1:]
    return (code.co_names, code.co_varnames, tuple_(c for c in consts if not hasattr_(c, "co_code")))


def _prepare_watch(routes: list[str]):
    """The watch of test cells that forbid library routes (``cu.restrictions.call_without`` in the source).

    Called in the child *before any student code runs*. Returns ``(open_window, close_window)``:
    ``open_window(cell, routes, lines)`` starts watching the test cell about to run, ``close_window(cell)`` ends it.
    While a cell is watched, a profile hook sees every Python and built-in call and a PyTorch dispatch mode
    every ATen operator. A forbidden route reached from the student's code (the nearest caller that is not
    library code is the student's, or the test cell's own code on a line that holds a watched call: see
    ``students``), or a tool that could switch the watch off, is written to the
    grader's pipe at once, as a ``guard`` event, before the call it reports runs: nothing the student's code
    does afterwards can take it back, and the grader, not this process, decides the grade.

    Sealed against the notebook's own code: every object the watch uses is captured here, before any student
    code, and kept in ``open_window``'s default arguments (a tuple: replacing it is refused by an audit hook)
    or in the per-cell closures, which nothing outside the watch references (the profile hook and the dispatch
    mode are reachable only through calls the watch reports). A thread the notebook started earlier and that
    still runs when the cell starts is reported too (tqdm's monitor excepted); processes a cell starts are
    stopped when it ends. Code compiled under the running test cell's own file name (to pass for the test's) is
    refused by the audit hook, whichever compiler is used. What remains possible, stated plainly: writing the
    interpreter's memory directly (ctypes), and a copy of a short forbidden function (a copy is
    recognised by its names, variables and constants only for functions with at least 14 of the first two:
    shorter ones look like the obvious code). `grader.answer_scan` flags the tools for those.
    """
    import _posixsubprocess
    import _thread
    import builtins
    import gc
    import sysconfig
    import threading

    import torch
    from IPython.core.interactiveshell import InteractiveShell

    from course_utils import restrictions

    codes: dict = {}
    builtin_ids: dict = {}
    methods: dict = {}
    ops: dict = {}
    prints: dict = {}  # _fingerprint of each long forbidden function: its code pasted or exec'd elsewhere
    broken: list = []
    for entry in routes:
        if not isinstance(entry, str) or '"' in entry or "\\" in entry:
            continue
        name = entry.encode()
        if entry.startswith("aten."):
            ops.setdefault(entry[5:], name)
            continue
        try:
            obj = restrictions._resolve(entry)
        except Exception:  # noqa: BLE001 - reported: the cells that forbid it cannot be watched
            broken.append(name)
            continue
        found = restrictions._codes(obj)
        if found:
            for code in found:
                codes.setdefault(code, name)
                if len(code.co_names) + len(code.co_varnames) >= 14:  # too short to tell a copy from the obvious code
                    prints.setdefault(_fingerprint(code), name)
        elif type(obj).__name__ in ("method_descriptor", "wrapper_descriptor"):
            methods.setdefault(obj.__name__, name)
        else:
            builtin_ids.setdefault(id(obj), name)

    tamper_builtins = {}
    for owner, names in (
        (sys, ("setprofile", "getprofile", "settrace", "gettrace")),
        (gc, ("get_objects", "get_referrers", "get_referents")),
        (
            torch._C,
            (
                "_pop_torch_dispatch_stack",
                "_push_on_torch_dispatch_stack",
                "_get_dispatch_stack_at",
                "_get_dispatch_mode",
                "_set_dispatch_mode",
                "_unset_dispatch_mode",
                "_len_torch_dispatch_stack",
            ),
        ),
        (os, ("dup", "dup2", "close", "closerange", "fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "write")),
        (builtins, ("exec", "eval", "compile")),  # code made while the test runs could carry the test cell's file name
        (_posixsubprocess, ("fork_exec",)),
        (_thread, ("start_new_thread",)),
    ):
        for attr in names:
            obj = getattr(owner, attr, None)
            if obj is not None:
                tamper_builtins[id(obj)] = f"{getattr(owner, '__name__', '?')}.{attr}".encode()
    # Only when the student's own code calls them: libraries use these for themselves (tqdm's monitor thread,
    # the exec behind a namedtuple).
    direct_only = {id(_thread.start_new_thread), id(builtins.exec), id(builtins.eval), id(builtins.compile)}
    tamper_codes = {
        threading.setprofile.__code__: b"threading.setprofile",
        threading.settrace.__code__: b"threading.settrace",
        threading.Thread.start.__code__: b"threading.Thread.start",
    }
    try:
        from tqdm._monitor import TMonitor  # tqdm's own progress-bar monitor thread is not the student's work
    except Exception:  # noqa: BLE001
        TMonitor = None
    monitor_run = vars(TMonitor).get("run") if TMonitor is not None else None  # ... unless its run was replaced

    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.abspath(__file__))}
    for module in list(sys.modules.values()):  # every package imported before the student's code: library
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isabs(path) and "." not in getattr(module, "__name__", "."):
            roots.add(os.path.dirname(path) if os.path.basename(path) == "__init__.py" else path)
    roots_tuple = tuple(sorted(r.rstrip("/") + ("/" if not r.endswith(".py") else "") for r in roots if r)) + ("<frozen ",)
    python_key = torch._C.DispatchKey.Python

    deps = (
        _write_event,
        sys.setprofile,
        sys.getprofile,
        sys._getframe,
        torch._C._push_on_torch_dispatch_stack,
        torch._C._pop_torch_dispatch_stack,
        torch._C._len_torch_dispatch_stack,
        torch._C._get_dispatch_stack_at,
        torch._C._dispatch_tls_is_dispatch_key_excluded,
        python_key,
        type,
        object,
        id,
        frozenset,
        dict,
        set,
        InteractiveShell.run_code.__code__,
        roots_tuple,
        tuple(codes.items()),
        tuple(builtin_ids.items()),
        tuple(methods.items()),
        tuple(ops.items()),
        tuple(tamper_builtins.items()),
        tuple(tamper_codes.items()),
        TMonitor,
        tuple(broken),
        frozenset(direct_only),
        getattr,
        tuple(prints.items()),
        _fingerprint,
        sys._current_frames,
        _thread.get_ident,
        type(_fingerprint.__code__),
        monitor_run,
        vars,
    )

    def open_window(cell, cell_routes, cell_lines, deps=deps):
        (
            write_event,
            setprofile,
            _getprofile,
            getframe,
            push,
            _pop,
            _depth,
            _at,
            excluded,
            python_key,
            type_,
            object_,
            id_,
            frozenset_,
            dict_,
            set_,
            run_code,
            roots,
            codes,
            builtin_ids,
            methods,
            ops,
            tamper_builtins,
            tamper_codes,
            tmonitor,
            broken,
            direct_only,
            getattr_,
            prints,
            fingerprint,
            current_frames,
            get_ident,
            code_type,
            monitor_run,
            vars_,
        ) = deps
        allowed = frozenset_(r.encode() for r in cell_routes)
        guarded_lines = frozenset_(cell_lines)
        codes = dict_(c for c in codes if c[1] in allowed)
        builtin_ids = dict_(c for c in builtin_ids if c[1] in allowed)
        methods = dict_(c for c in methods if c[1] in allowed)
        ops = dict_(c for c in ops if c[1] in allowed)
        prints = dict_(c for c in prints if c[1] in allowed)
        tamper_builtins = dict_(tamper_builtins)
        tamper_codes = dict_(tamper_codes)
        library_cache = dict_()
        print_cache = dict_()  # code object -> its fingerprint's route (or b""): each is computed once
        reported = set_()
        head = b'{"event":"guard","cell":%d,"kind":"' % cell

        def report(kind, route):
            if (kind, route) in reported:
                return
            reported.add((kind, route))
            write_event(head + kind + b'","route":"' + route + b'"}')

        def library(code):
            name = code.co_filename
            known = library_cache.get(name)
            if known is None:
                known = library_cache[name] = name.startswith(roots)
            return known

        def students(frame):
            """True if the nearest caller that is not library code is the student's code, or the test cell's own
            code on a line that holds a watched call (there the answer itself may *be* the library function:
            ``conv2d = F.conv2d``, or a ``functools.partial`` of it, called from C). The test cell's other lines
            may call a forbidden route themselves (to build a reference); the grader's code is library code."""
            while frame is not None and library(frame.f_code):
                frame = frame.f_back
            if frame is None:
                return False
            top = frame
            while top.f_back is not None and top.f_back.f_code is not run_code:
                top = top.f_back
            if top.f_back is None or frame.f_code.co_filename != top.f_code.co_filename or frame.f_globals is not top.f_globals:
                return True  # the student's code (or a finalizer outside any cell)
            return frame.f_lineno in guarded_lines

        def profile(frame, event, arg):
            if event == "c_call":
                key = id_(arg)
                route = builtin_ids.get(key)
                if route is None and methods and getattr_(arg, "__self__", None) is not None:
                    route = methods.get(getattr_(arg, "__name__", ""))
                if route is not None:
                    if students(frame):
                        report(b"hit", route)
                    return
                route = tamper_builtins.get(key)
                if route is not None:
                    code = frame.f_code
                    if code in own:
                        return
                    if key in direct_only and library(code):
                        return  # called by a library (threading.Thread.start is watched, tqdm's monitor allowed)
                    if students(frame):
                        report(b"tamper", route)
                    return
                if type_(getattr_(arg, "__self__", None)) is code_type and students(frame):
                    report(b"tamper", b"code.replace (a copy of code under another name or file)")
                    return
                if not library(frame.f_code) and excluded(python_key):
                    report(
                        b"tamper", b"a switch that turns PyTorch's Python dispatch off (such as torch._C._DisableTorchDispatch)"
                    )
            elif event == "call":
                code = frame.f_code
                route = codes.get(code)
                if route is not None:
                    if students(frame.f_back):
                        report(b"hit", route)
                    return
                caller = frame.f_back
                if caller is not None and not library(caller.f_code) and excluded(python_key):
                    report(
                        b"tamper", b"a switch that turns PyTorch's Python dispatch off (such as torch._C._DisableTorchDispatch)"
                    )
                if prints and not library(code):
                    route = print_cache.get(code)
                    if route is None:
                        route = print_cache[code] = prints.get(fingerprint(code), b"")
                    if route:
                        report(b"hit", route + b" (a copy of its code)")
                        return
                route = tamper_codes.get(code)
                if route is not None and students(frame.f_back):
                    thread = frame.f_locals.get("self")
                    if (
                        tmonitor is not None
                        and type_(thread) is tmonitor
                        and vars_(tmonitor).get("run") is monitor_run
                        and "run" not in vars_(thread)
                    ):
                        return
                    report(b"tamper", route)

        def dispatch(self, func, types, args=(), kwargs=None):
            route = ops.get(func.overloadpacket.__name__) if ops else None
            if route is not None and students(getframe(1)):
                report(b"hit", route)
            return func(*args, **(kwargs or {}))

        own = frozenset_((report.__code__, library.__code__, students.__code__, dispatch.__code__))
        mode = type_("P2LWatch", (object_,), {"__torch_dispatch__": dispatch, "__slots__": ()})()
        for route in broken:
            if route in allowed:
                report(b"broken", route)
        main = get_ident()
        for thread, frame in current_frames().items():  # a thread started earlier could do the work unwatched
            while frame is not None and not frame.f_code.co_filename.endswith("/tqdm/_monitor.py"):
                frame = frame.f_back
            if thread != main and frame is None:
                report(b"tamper", b"a thread the notebook started before this test, still running")
        report(b"on", b"")
        push(mode)
        setprofile(profile)

    profile_code = next(c for c in open_window.__code__.co_consts if getattr(c, "co_name", "") == "profile")

    def close_window(cell, deps=deps, profile_code=profile_code):
        (
            write_event,
            setprofile,
            getprofile,
            _getframe,
            _push,
            pop,
            depth,
            at,
            _excluded,
            _key,
            type_,
            _object,
            _id,
            _frozenset,
            _dict,
            _set,
            *_rest,
        ) = deps
        current = getprofile()
        intact = current is not None and current.__code__ is profile_code
        setprofile(None)
        mode = at(depth() - 1) if depth() > 0 else None
        ours = mode is not None and type_(mode).__name__ == "P2LWatch"
        if ours:
            pop(None)
        write_event(b'{"event":"guard","cell":%d,"kind":"%s","route":""}' % (cell, b"off" if intact and ours else b"removed"))

    run_code_code = InteractiveShell.run_code.__code__
    watched_codes = (open_window.__code__, close_window.__code__)
    getframe, getprofile, write_event, isinstance_, getattr_ = sys._getframe, sys.getprofile, _write_event, isinstance, getattr

    def audit(event, args):
        if event == "sys.setprofile" or event == "sys.settrace":
            caller = getframe(1)
            if caller is not None and (caller.f_code is watched_codes[0] or caller.f_code is watched_codes[1]):
                return
            raise RuntimeError(
                "p2l: the grader watches which library functions this notebook calls; "
                "setting a profile or trace hook is not allowed while grading"
            )
        if event == "compile" and args.__len__() > 1 and isinstance_(args[1], str):
            current = getprofile()
            if current is None or getattr_(current, "__code__", None) is not profile_code:
                return  # no test cell is being watched
            frame = getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith(roots_tuple):
                frame = frame.f_back
            if frame is None:
                return  # IPython compiling the cell itself
            top = frame
            while top.f_back is not None and top.f_back.f_code is not run_code_code:
                top = top.f_back
            if top.f_back is not None and args[1] == top.f_code.co_filename:  # through any library's compiler
                write_event(
                    b'{"event":"guard","cell":-1,"kind":"tamper","route":"code compiled under the test cell\'s file name"}'
                )
                raise RuntimeError("p2l: code compiled under the running test cell's name is not allowed while grading")

    sys.addaudithook(audit)
    return open_window, close_window


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


def _place_files(work: str, files: dict) -> None:
    """Write the assignment's files (data, helper modules; and the student's own) beside the notebook, as
    nbgrader's autograde has them in the assignment folder. Paths are relative and stay inside ``work``."""
    root = os.path.realpath(work)
    for rel, data in files.items():
        target = os.path.realpath(os.path.join(root, rel))
        if os.path.isabs(rel) or not target.startswith(root + os.sep):
            continue  # the host sends none of these; never write outside the notebook's folder
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(base64.b64decode(data))


def _child(job_token: str, name: str, progress_w: int, pong_r: int, limits: dict, files: dict | None = None) -> None:
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
        _place_files(work, files or {})
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

        # What the recording relies on, as it is now: a test cell after any change to it is not trusted.
        snapshot = _integrity_snapshot(shell)
        _guard_own_functions((vars(_WORKER), vars(wire)))
        integrity_changes, write_event = _integrity_changes, _write_event
        tampered = False

        def report_integrity(cell_index: int) -> None:
            """Compare with the snapshot; on the first change, say so through a write nothing patched can stop."""
            nonlocal tampered
            if tampered:
                return
            changed = integrity_changes(snapshot)
            if not changed:
                return
            tampered = True
            names = ",".join('"' + "".join(ch for ch in n if ch.isalnum() or ch in "._ ()") + '"' for n in changed[:20])
            write_event(f'{{"event":"integrity","cell":{cell_index},"changed":[{names}]}}'.encode())

        # The write-it-yourself watch, set up before any student code (see _prepare_watch).
        open_window = close_window = None
        if limits.get("forbid"):
            try:
                open_window, close_window = _prepare_watch(list(limits["forbid"]))
            except Exception as err:  # noqa: BLE001 - the watched cells then fail as unwatched, with this reason
                emit({"event": "guard", "cell": -1, "kind": "broken", "route": f"{type(err).__name__}: {err}"[:300]})

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
            if cell.get("test"):
                report_integrity(index)
            watched = bool(cell.get("test") and cell.get("forbid") and open_window is not None)
            if watched:
                open_window(index, list(cell["forbid"]), [n for n in cell.get("guarded_lines") or [] if isinstance(n, int)])
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
            if watched:
                close_window(index)
            if cell.get("test"):
                report_integrity(index)
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
        chunks = [buffer]
        while b"\n" not in chunks[-1]:  # a line may carry megabytes of files: read in large pieces
            chunk = os.read(stdin, 1 << 20)
            if not chunk:
                return 0
            chunks.append(chunk)
        line, buffer = b"".join(chunks).split(b"\n", 1)
        parts = line.decode().split()
        del line, chunks
        if not parts or parts[0] == "QUIT":
            return 0
        if parts[0] != "RUN" or len(parts) not in (4, 5):
            continue
        token = parts[1]
        limits = json.loads(base64.b64decode(parts[2]))
        name = base64.b64decode(parts[3]).decode("utf-8", "replace")
        files = json.loads(base64.b64decode(parts[4])) if len(parts) == 5 else {}
        del parts
        _discard_stale_cells()
        progress_r, progress_w = os.pipe()
        pong_r, pong_w = os.pipe()
        os.set_blocking(pong_w, False)
        pid = os.fork()
        if pid == 0:
            os.close(progress_r)
            os.close(pong_w)
            try:
                _child(token, name, progress_w, pong_r, limits, files)
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
        del files
        status["token"] = token
        _frame(1, wire.STATUS, json.dumps(status).encode())


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
