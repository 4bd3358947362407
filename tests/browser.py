"""Drive the course in a real browser: JupyterLab from the project's venv, headless Debian Chromium, Playwright.

`JupyterLab` serves a scratch copy of the notebooks on a free loopback port
(autosave then never touches the committed files). `LabPage` opens a notebook (in the one
JupyterLab tab `LabTab` keeps, as a student goes from notebook to notebook),
runs every cell through the menus a student would use, saves, and returns the
saved notebook for the same assertions the rest of the suite makes; it also
finds every course widget (CSS class ``p2l-widget``) and operates each control.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("P2L_CHROMIUM", "/usr/bin/chromium")
# What the probe of this machine needs: no background traffic to Google on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JupyterLab settings for a deterministic page: every cell in the DOM (no virtual
# scrolling), no news or update toasts, no autosave races.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"checkForUpdates": False, "fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

#: Elements inside a widget that are controls (their own state is not "output").
CONTROL_SELECTOR = (
    "button, select, input, textarea, .widget-readout, .noUi-target, .widget-slider, "
    ".widget-dropdown, .widget-toggle-buttons, .widget-checkbox, .widget-text, .widget-upload, .widget-label"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _memory_mb(pid: int, field: str) -> float:
    """A memory field in MB of /proc/<pid>/status (VmRSS, VmHWM) or, for Pss, of /proc/<pid>/smaps_rollup;
    0 for a process that has gone."""
    name = "smaps_rollup" if field == "Pss" else "status"
    try:
        line = next(row for row in Path(f"/proc/{pid}/{name}").read_text().splitlines() if row.startswith(f"{field}:"))
    except (OSError, StopIteration):
        return 0.0
    return int(line.split()[1]) / 1024


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        children = _children(todo.pop())
        out += children
        todo += children
    return out


class JupyterLab:
    """A JupyterLab server on loopback, serving a scratch copy of ``folders``."""

    def __init__(self, repo: Path, folders: tuple[str, ...] = ("lessons", "exercises"), files: dict[str, str] | None = None):
        """``files``: more files for the served folder, ``{relative path: text}`` (e.g. an nbgrader_config.py)."""
        self.tmp = Path(tempfile.mkdtemp(prefix="p2l-lab-"))
        self.root = self.tmp / "course"
        for folder in folders:
            shutil.copytree(repo / folder, self.root / folder)
        for name, text in (files or {}).items():
            (self.root / name).write_text(text, encoding="utf-8")
        settings = self.tmp / "settings"
        for name, value in LAB_SETTINGS.items():
            plugin, _, file = name.rpartition("/")
            (settings / plugin).mkdir(parents=True, exist_ok=True)
            (settings / plugin / file).write_text(json.dumps(value))
        self.port = free_port()
        self.token = secrets.token_hex(16)
        env = dict(os.environ)
        env.update(
            {
                "JUPYTERLAB_SETTINGS_DIR": str(settings),
                "JUPYTERLAB_WORKSPACES_DIR": str(self.tmp / "workspaces"),
                "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
            }
        )
        self.log = open(self.tmp / "lab.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={self.port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0",
             "--LabApp.news_url="] + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        import urllib.request

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {(self.tmp / 'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("JupyterLab did not start within a minute")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/lab/tree/{path}?token={self.token}&reset"

    def watch_children(self) -> None:
        """Start sampling, every 0.2 s, the memory the kernels and their child processes hold together (e.g.
        the data-parallel workers lesson 09 starts and joins: they have exited by the time `kernel_peak_mb`
        reads /proc, so their high-water marks would be lost). The largest sum counts in `kernel_peak_mb`.
        Each child counts its proportional share (Pss) of pages it shares with others, such as PyTorch's
        libraries that every worker maps: summing resident sizes would count those pages once per process."""
        import threading

        if getattr(self, "_watching", None) is not None:
            self._watching.set()  # an earlier lesson's sampler, if its test ended early
        self._sampled_mb, self._watching = {"peak": 0.0}, threading.Event()

        def sample(stop=self._watching, box=self._sampled_mb) -> None:
            while not stop.wait(0.2):
                kernels = _children(self.process.pid)
                now = sum(_memory_mb(k, "VmRSS") for k in kernels)
                now += sum(_memory_mb(c, "Pss") for k in kernels for c in _descendants(k))
                box["peak"] = max(box["peak"], now)

        threading.Thread(target=sample, daemon=True).start()

    def kernel_peak_mb(self) -> float:
        """Peak resident memory (MB) of the kernels this server runs, with their child processes.

        Read from /proc before the kernels are shut down: the kernel started with the lesson, so its
        high-water mark (VmHWM), with its live children's, is the lesson's peak unless a child that has
        already exited (data-parallel workers a lesson joined) held memory at the same time: the largest
        kernel-plus-children total `watch_children` sampled covers that case. The larger of the two counts.
        """
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/kernels",
                                         headers={"Authorization": f"token {self.token}"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            ids = [k["id"] for k in json.loads(response.read())]
        kernels = [pid for pid in _pids() if any(f"kernel-{i}.json" in _cmdline(pid) for i in ids)]
        live = sum(_memory_mb(c, "VmHWM") for k in kernels for c in _descendants(k))
        watching = getattr(self, "_watching", None)
        if watching is not None:
            watching.set()
        sampled = getattr(self, "_sampled_mb", {}).get("peak", 0.0)
        return max(sum(_memory_mb(k, "VmHWM") for k in kernels) + live, sampled)

    def shutdown_kernels(self) -> None:
        """Shut down every kernel this server runs, as closing a notebook's kernel in the menu does.

        A lesson is timed alone: kernels of earlier lessons must not hold memory
        or CPU while the next one runs."""
        import urllib.request

        def call(method: str, path: str):
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}{path}", method=method, headers={"Authorization": f"token {self.token}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")

        for kernel in call("GET", "/api/kernels"):
            call("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


MAX_CONTROLS_PER_KIND = 12


def click_menu(page, top: str, item: str) -> None:
    """Open JupyterLab's ``top`` menu and click ``item`` (e.g. Run → Run All Cells)."""
    page.get_by_role("menuitem", name=top, exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).first.click()


class LabTab:
    """One JupyterLab tab in Chromium, in which notebooks are opened one after another, as a student goes
    from lesson to lesson: JupyterLab's own start-up (about 4 of the 6 s a fresh page took per notebook on
    the 2-core CI machine) is paid once, not once a notebook."""

    def __init__(self, browser, lab: JupyterLab):
        self.browser, self.lab = browser, lab
        self.context = self.page = None

    def open(self, path: str):
        """The page, showing ``path`` and no other document; every earlier notebook's kernel shut down."""
        if self.page is not None:
            try:
                self._close_documents()
                self.lab.shutdown_kernels()
                click_menu(self.page, "File", "Open from Path…")
                self.page.keyboard.insert_text(path)
                self.page.keyboard.press("Enter")
                return self.page
            except Exception:  # whatever an earlier test left on the page (it failed): start with a fresh one
                self.close()
        self.context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.page.goto(self.lab.url(path))
        return self.page

    def _close_documents(self, timeout: float = 30) -> None:
        """File → Close All Tabs; a notebook with unsaved changes (an exercise a test typed into) is discarded."""
        page = self.page
        page.keyboard.press("Escape")
        click_menu(page, "File", "Close All Tabs")
        deadline = time.time() + timeout
        while page.locator(".jp-NotebookPanel").count():
            discard = page.locator(".jp-Dialog button", has_text="Discard")
            if discard.count():
                discard.first.click()
            if time.time() > deadline:
                raise TimeoutError("JupyterLab did not close the open notebooks")
            page.wait_for_timeout(100)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.context = self.page = None
        self.lab.shutdown_kernels()


class LabPage:
    """One notebook open in JupyterLab in Chromium (in the tab `LabTab` keeps)."""

    def __init__(self, tab: LabTab, path: str):
        self.lab, self.path = tab.lab, path
        self.page = tab.open(path)
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        self.wait_idle(timeout=60)
        # Focus it, as a student's first click does: opened from a dialog, it may not be the notebook the Run
        # menu acts on yet (a Run All Cells that ran nothing was measured after Open from Path).
        self.page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})

    def close(self) -> None:
        """Shut the notebook's kernel down (the tab stays, for the next notebook)."""
        self.lab.shutdown_kernels()

    # --- kernel and execution --------------------------------------------------------
    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until the notebook's kernel reports idle and no cell is queued or running."""
        self.page.wait_for_function(
            """() => {
                const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
                const busy = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]
                    .some(p => p.textContent.includes('*'));
                return ind && ind.getAttribute('data-status') === 'idle' && !busy;
            }""",
            timeout=timeout * 1000,
            polling=250,
        )

    def menu(self, top: str, item: str) -> None:
        click_menu(self.page, top, item)

    def run_all(self, timeout: float = 120) -> float:
        """Run every cell (Run → Run All Cells) and wait; return the seconds it took (from the click that ran)."""
        for attempt in range(3):  # a menu click can land before the menu bar is wired up
            start = time.perf_counter()
            self.menu("Run", "Run All Cells")
            try:
                self.page.wait_for_function(
                    "() => [...document.querySelectorAll('.jp-InputPrompt')].some(p => /[*0-9]/.test(p.textContent))",
                    timeout=15_000,
                )
                break
            except Exception:
                if attempt == 2:
                    raise
                self.page.keyboard.press("Escape")
        self.wait_idle(timeout=timeout)
        return time.perf_counter() - start

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def save(self) -> dict:
        """Save the notebook (Ctrl+S) and return it as the server now has it on disk."""
        import urllib.parse
        import urllib.request

        self.page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.keyboard.press("Control+s")
        # The tab loses its "dirty" mark once the server has written the file.
        self.page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')", timeout=30_000)
        url = (
            f"http://127.0.0.1:{self.lab.port}/api/contents/{urllib.parse.quote(self.path)}"
            f"?content=1&type=notebook&token={self.lab.token}"
        )
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())["content"]

    def error_texts(self) -> list[str]:
        """Tracebacks rendered on the page."""
        return self.page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()

    # --- accessibility ---------------------------------------------------------------
    def accessibility_violations(self, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
        """axe-core's violations of ``impacts`` inside what the course put on the page.

        The audit (axe-core, as bundled by the axe-playwright-python package) is limited to the
        rendered markdown and the cells' outputs, widgets included: JupyterLab's own interface
        is not the course's to fix. Each violation: rule id, impact, help text and the offending
        nodes' HTML (shortened).
        """
        import axe_playwright_python

        script = Path(axe_playwright_python.__file__).with_name("axe.min.js")
        if not self.page.evaluate("() => typeof axe !== 'undefined'"):  # once per tab
            self.page.add_script_tag(path=str(script))
        found = self.page.evaluate(
            """async (impacts) => {
                const context = {include: [['.jp-MarkdownOutput'], ['.jp-OutputArea-output']]};
                const result = await axe.run(context, {resultTypes: ['violations']});
                // ipywidgets' sliders (noUiSlider) name their handle nowhere, whatever description the
                // course gives them: that rule on those handles is the library's to fix, not ours.
                const library = (v, n) => v.id === 'aria-input-field-name' && n.html.startsWith('<div class="noUi-handle');
                return result.violations.filter(v => impacts.includes(v.impact))
                    .map(v => ({...v, nodes: v.nodes.filter(n => !library(v, n))}))
                    .filter(v => v.nodes.length)
                    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.slice(0, 3).map(n => n.html.slice(0, 200))}));
            }""",
            list(impacts),
        )
        return found

    # --- editing ---------------------------------------------------------------------
    def set_cell_source(self, index: int, text: str) -> None:
        """Replace the text of the code/markdown cell ``index`` as a student would: select all, type."""
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        editor = cell.locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")

    def run_cell(self, index: int, timeout: float = 60) -> None:
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_timeout(300)
        self.wait_idle(timeout=timeout)

    def cell_output_text(self, index: int) -> str:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()

    # --- widgets ---------------------------------------------------------------------
    def widgets(self):
        return self.page.locator(".p2l-widget").all()

    def output_signature(self, widget) -> str:
        """A hash of what the widget shows, leaving out its controls' own state."""
        html = widget.evaluate(
            """(el, controls) => {
                const copy = el.cloneNode(true);
                copy.querySelectorAll(controls).forEach(c => c.remove());
                return copy.innerHTML;
            }""",
            CONTROL_SELECTOR,
        )
        return hashlib.sha256(html.encode()).hexdigest()

    def controls(self, widget) -> list[tuple[str, object]]:
        """Every operable control inside a widget, as (kind, locator)."""
        found = []
        for kind, selector in (
            ("slider", ".noUi-handle"),
            ("select", "select"),
            ("button", "button"),
            ("checkbox", "input[type=checkbox]"),
            ("number", "input[type=number]"),
            ("text", "input[type=text], textarea"),
        ):
            usable = [loc for loc in widget.locator(selector).all() if loc.is_visible() and loc.is_enabled()]
            if len(usable) > MAX_CONTROLS_PER_KIND:
                # A grid of many alike controls (a drawing pad's cells): operate a spread of them, first and last included.
                step = (len(usable) - 1) / (MAX_CONTROLS_PER_KIND - 1)
                usable = [usable[round(i * step)] for i in range(MAX_CONTROLS_PER_KIND)]
            found.extend((kind, loc) for loc in usable)
        return found

    def operate(self, kind: str, control) -> None:
        """Change one control the way a person would (keyboard for sliders)."""
        control.scroll_into_view_if_needed()
        if kind == "slider":
            control.focus()
            for _ in range(2):
                self.page.keyboard.press("ArrowRight")
        elif kind == "select":
            options = control.locator("option").all()
            current = control.input_value()
            values = [o.get_attribute("value") for o in options]
            # The next option (wrapping round), as a person stepping through the list would pick.
            choice = values[(values.index(current) + 1) % len(values)] if current in values else (values or [None])[0]
            if choice is not None and choice != current:
                control.select_option(choice)
        elif kind in ("button", "checkbox"):
            control.click()
        elif kind == "number":
            value = control.input_value() or "0"
            try:
                new = str(float(value) + 1)
            except ValueError:
                new = "1"
            control.fill(new)
            control.press("Enter")
        elif kind == "text":
            control.fill("test")
            control.press("Enter")

    def reacts(self, widget, kind: str, control, timeout: float = 8.0) -> bool:
        """Operate ``control`` and report whether the widget's output changed within ``timeout``."""
        before = self.output_signature(widget)
        self.operate(kind, control)
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.page.wait_for_timeout(150)
            if self.output_signature(widget) != before:
                self.wait_idle(timeout=30)
                return True
        return False
