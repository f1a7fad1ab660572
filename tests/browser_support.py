"""Helpers for the browser test: a throwaway JupyterLab server, notebook discovery, page actions.

The server serves a temporary *copy* of ``notebooks/`` and ``quizzes/`` (JupyterLab saves and
autosaves what the browser runs, so the committed notebooks are never served), with its own
Jupyter config, data, runtime, settings and workspace folders and its own quiz progress file,
so nothing from the developer's home leaks in and nothing leaks out. It listens on 127.0.0.1
only (the test process may connect to loopback only) and needs a token.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"

# Debian's Chromium, driven by Playwright over a pipe. Never a downloaded browser.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "the browser test needs Debian's Chromium: `sudo apt-get install chromium` "
    "(or set BN_COURSE_CHROMIUM to a Chromium binary)"
)
VIEWPORT = {"width": 1280, "height": 800}  # a projector-sized window


def find_chromium() -> str | None:
    """Path of the Chromium to drive: $BN_COURSE_CHROMIUM, else Debian's, else None."""
    override = os.environ.get("BN_COURSE_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium")
    return found


# --------------------------------------------------------------------------- notebooks


QUIZ_CALL = re.compile(r"""quiz\.show\(\s*["']([0-9]{2}_[a-z0-9_]+)["']""")
# A notebook that builds a slider calls an explorer class (FormulaExplorer(...), ...) or the
# slider factory in its code.
SLIDER_HINT = re.compile(r"Explorer\(|\bslider\(")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@dataclass
class NotebookInfo:
    """What the browser test needs to know about one notebook, read from its file."""

    path: Path
    quiz_banks: list[str] = field(default_factory=list)
    mentions_slider: bool = False
    widget_outputs: int = 0

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def interactive(self) -> bool:
        return bool(self.quiz_banks or self.mentions_slider or self.widget_outputs)


def read_notebook_info(path: Path) -> NotebookInfo:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    info = NotebookInfo(path=path)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        info.quiz_banks += QUIZ_CALL.findall(source)
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
        if SLIDER_HINT.search(code):
            info.mentions_slider = True
        for output in cell.get("outputs", []):
            if WIDGET_MIME in output.get("data", {}):
                info.widget_outputs += 1
    return info


def interactive_notebooks(directory: Path = NOTEBOOK_DIR) -> list[NotebookInfo]:
    """Every course notebook with a slider, a quiz or another widget, in course order."""
    infos = [read_notebook_info(p) for p in sorted(directory.glob("[0-9][0-9]_*.ipynb"))]
    return [info for info in infos if info.interactive]


def first_single_question(bank_name: str):
    """(position, question spec, index of a wrong option, index of the right option) of the
    bank's first single-choice question, as :func:`bn_course.quiz.load_bank` orders them."""
    from bn_course.quiz import load_bank

    for position, question in enumerate(load_bank(bank_name).questions):
        spec = question.spec
        if spec["kind"] == "single":
            right = next(i for i, o in enumerate(spec["options"]) if o["correct"])
            wrong = next(i for i, o in enumerate(spec["options"]) if not o["correct"])
            return position, spec, wrong, right
    raise LookupError(f"quizzes/{bank_name}.json has no single-choice question to click")


def start_notebook_from_makefile() -> str | None:
    """The notebook `make lab` opens (the .ipynb path in the Makefile's `lab` recipe)."""
    makefile = REPO / "Makefile"
    if not makefile.exists():
        return None
    recipe = re.search(r"^lab:.*\n((?:\t.*\n?)+)", makefile.read_text(encoding="utf-8"), re.M)
    if not recipe:
        return None
    found = re.search(r"(notebooks/[0-9A-Za-z_]+\.ipynb)", recipe.group(1))
    return found.group(1) if found else None


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of the course.

    ``workdir`` (empty, temporary) receives ``course/`` (the served root, holding a copy of
    ``notebooks/``), ``jupyter/`` (config, data, runtime, lab settings and workspaces) and
    ``progress.json`` (the quiz progress of this run).
    """

    def __init__(self, workdir: Path, notebooks: Path = NOTEBOOK_DIR, open_file: str | None = None,
                 startup_timeout: float = 180):
        self.workdir = Path(workdir)
        self.notebooks = Path(notebooks)
        self.root = self.workdir / "course"
        self.progress = self.workdir / "progress.json"
        self.open_file = open_file
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "jupyterlab.log"

    # -- lifecycle
    def start(self) -> "JupyterLab":
        # Only the notebooks are copied: the kernels find the quiz banks next to the installed
        # package (bn_course.quiz.bank.quiz_dir), exactly as in a learner's `make lab`.
        shutil.copytree(self.notebooks, self.root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        jupyter = self.workdir / "jupyter"
        dirs = {name: jupyter / name for name in ("config", "data", "runtime", "settings", "workspaces")}
        for path in dirs.values():
            path.mkdir(parents=True)
        # Lab settings: no news toast over the notebook; everything else stays at JupyterLab's
        # defaults, so the test sees what a learner sees.
        notification = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ)
        for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH", "MPLBACKEND",
                     "JUPYTER_TOKEN", "JUPYTER_PLATFORM_DIRS", "PYTHONSTARTUP"):
            env.pop(name, None)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(jupyter / "ipython"),
            MPLCONFIGDIR=str(jupyter / "matplotlib"),
            BN_COURSE_PROGRESS=str(self.progress),
            TF_CPP_MIN_LOG_LEVEL="3",
            KERAS_BACKEND="tensorflow",
            PYTHONUNBUFFERED="1",
        )
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers and CI often run as root
        if self.open_file:
            command.append(self.open_file)  # like `make lab`: the file the browser should open
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            command, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its kernels can be stopped with it
        )
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=5)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        raise TimeoutError(f"JupyterLab did not answer within {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
                self.api("POST", "/api/shutdown", timeout=10)
            except (OSError, urllib.error.URLError, ValueError):
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)  # the server's own process group
                self.process.wait(timeout=10)
            except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Kernels run in sessions of their own; any left over is found by its connection file,
        # which lives in this server's runtime folder, so only this test's kernels are touched.
        for pid in self.leftover_kernels():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def leftover_kernels(self) -> list[int]:
        runtime = str(self.workdir / "jupyter" / "runtime")
        pids = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if runtime in command and "kernel" in command:
                pids.append(int(entry.name))
        return pids

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- REST
    def api(self, method: str, path: str, timeout: float = 30):
        request = urllib.request.Request(
            self.base + path, method=method, data=b"" if method in ("POST", "PUT") else None,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Close every session and stop its kernel (frees memory between notebooks)."""
        for session in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    # -- URLs
    def lab_url(self, relative_path: str, reset: bool = True) -> str:
        # `reset` starts from an empty workspace, so tabs from an earlier page do not reopen.
        query = f"token={self.token}" + ("&reset" if reset else "")
        return f"{self.base}/lab/tree/{relative_path}?{query}"

    def browser_open_file(self) -> Path:
        """The jpserver-<pid>-open.html Jupyter writes for the file given on the command line."""
        runtime = self.workdir / "jupyter" / "runtime"
        prefix = "jpserver-file-to-run-" if self.open_file else "jpserver-"
        matches = sorted(runtime.glob(f"{prefix}*-open.html"))
        if not matches:
            raise FileNotFoundError(f"no browser-open file in {runtime}: {os.listdir(runtime)}")
        return matches[0]


# --------------------------------------------------------------------------- in the page
# Small JavaScript probes, run with page.evaluate / locator.evaluate. The lab is started with
# --LabApp.expose_app_in_browser, so `window.jupyterapp` is the JupyterLab application.

NOTEBOOK_STATE_JS = """
() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const dialog = document.querySelector('.jp-Dialog');
  if (!panel || !panel.content || !panel.sessionContext || !panel.context.isReady) {
    return {ready: false, dialog: dialog ? dialog.innerText : null};
  }
  const cells = panel.content.widgets;
  const code = cells.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().trim() !== '');
  const problems = [];
  for (const c of code) {
    const index = cells.indexOf(c) + 1;
    for (const o of c.model.outputs.toJSON()) {
      const text = o => (Array.isArray(o) ? o.join('') : String(o || ''));
      if (o.output_type === 'error') {
        const where = (o.traceback || []).join('\\n').replace(/\\u001b\\[[0-9;]*m/g, '').split('\\n').slice(-8).join('\\n');
        problems.push(`cell ${index}: ${o.ename}: ${o.evalue}\\n${where}`);
      } else if (o.output_type === 'stream' && o.name === 'stderr') {
        problems.push(`cell ${index} wrote to stderr: ${text(o.text).slice(0, 1500)}`);
      }
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {
    ready: true,
    path: panel.context.path,
    total: code.length,
    done: code.filter(c => c.model.executionCount !== null).length,
    queued: code.filter(c => c.promptNode && c.promptNode.textContent.includes('*')).length,
    kernel: kernel ? kernel.status : 'none',
    problems,
    dialog: dialog ? dialog.innerText : null,
  };
}
"""

# What the learner sees: red stderr/traceback boxes and widget manager failures.
SHOWN_ERRORS_JS = """
(node) => {
  const found = [];
  const outputs = node.querySelectorAll('.jp-OutputArea-output');
  outputs.forEach(o => {
    const cell = o.closest('.jp-Cell');
    const index = Array.from(node.querySelectorAll('.jp-Cell')).indexOf(cell) + 1;
    const text = (o.innerText || '').trim();
    if (o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr') {
      found.push(`cell ${index} shows an error/stderr box: ${text.slice(0, 1500)}`);
    } else if (/Error displaying widget|Failed to load model class|model not found/i.test(text)) {
      found.push(`cell ${index} shows a widget failure: ${text.slice(0, 500)}`);
    }
  });
  return found;
}
"""

# Widget outputs whose view did not render (an empty output area where a widget should be).
UNRENDERED_WIDGETS_JS = """
(node) => Array.from(
  node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]')
).filter(o => !o.querySelector('.jupyter-widgets')).map(o => {
  const cell = o.closest('.jp-Cell');
  return Array.from(node.querySelectorAll('.jp-Cell')).indexOf(cell) + 1;
})
"""

# Layout at the test's window size: a course widget must fit its output area (no sideways
# scrolling); an explorer must fit the notebook's visible height (so moving a slider shows its
# effect on the figure and the numbers at once); text must stay readable (nothing clipped
# with an ellipsis, no lines drawn over each other); figures must keep a legible scale.
LAYOUT_PROBLEMS_JS = """
(el) => {
  const problems = [];
  const name = Array.from(el.classList).filter(c => c.startsWith('bn-')).join('.');
  const out = el.closest('.jp-OutputArea-output') || el.parentElement;
  const r = el.getBoundingClientRect(), o = out.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) problems.push(`${name} is not visible (size ${r.width}x${r.height})`);
  if (r.right > o.right + 1) problems.push(`${name} is ${Math.round(r.right - o.right)} px wider than its output area (${Math.round(o.width)} px)`);
  const screen = el.closest('.jp-WindowedPanel-outer') || el.closest('.jp-Notebook');
  if (el.classList.contains('bn-explorer') && screen && r.height > screen.clientHeight + 1) {
    problems.push(`${name} is ${Math.round(r.height)} px tall but the notebook shows ${screen.clientHeight} px: ` +
                  'its sliders, figure and numbers cannot be seen together (make the figure shorter)');
  }
  if (out.scrollWidth > out.clientWidth + 1) problems.push(`the output area around ${name} scrolls sideways (${out.scrollWidth} > ${out.clientWidth} px)`);
  const texts = el.querySelectorAll('label, span, button, .widget-html-content, .widget-htmlmath-content, .widget-readout');
  for (const t of texts) {
    if (!t.offsetParent || t.clientWidth === 0) continue;  // hidden (e.g. empty description labels)
    const cs = getComputedStyle(t);
    const words = (t.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 80);
    if (!words) continue;
    if (t.scrollWidth > t.clientWidth + 1 && ['hidden', 'clip'].includes(cs.overflowX)) {
      problems.push(`${name}: text cut off (${t.scrollWidth} px of text in ${t.clientWidth} px): "${words}"`);
    } else if (t.tagName === 'LABEL' && cs.overflowY === 'visible'
               && t.scrollHeight - t.clientHeight > 0.5 * (parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.2)) {
      problems.push(`${name}: text overflows its ${t.clientHeight} px line and overlaps the next one: "${words}"`);
    }
  }
  for (const img of el.querySelectorAll('img')) {
    const b = img.getBoundingClientRect();
    if (!img.complete || img.naturalWidth === 0) problems.push(`${name}: figure not loaded`);
    else if (b.width < 0.75 * img.naturalWidth) problems.push(`${name}: figure shrunk to ${Math.round(100 * b.width / img.naturalWidth)}% of its size (text too small to read)`);
  }
  return problems;
}
"""

# One slider and what it drives: its value, its explorer's readout and figure.
SLIDER_PROBE_JS = """
(s) => {
  // textContent, not innerText: cells scrolled out of view are not rendered (content-visibility)
  const text = e => (e.textContent || '').replace(/\\s+/g, ' ').trim();
  const box = s.closest('.bn-explorer') || s.closest('.jp-OutputArea-output');
  const readout = box.querySelector('.bn-readout');
  const img = box.querySelector('img.bn-figure') || box.querySelector('img');
  const handle = s.querySelector('.noUi-handle');
  const value = s.querySelector('.widget-readout');
  // The exact position from the noUiSlider behind ipywidgets' slider (its aria-valuenow is
  // rounded to 2 decimals); for a SelectionSlider it is the option's index.
  const api = (s.querySelector('.noUi-target') || {}).noUiSlider;
  return {
    name: (Array.from(s.classList).find(c => c.startsWith('bn-slider-')) || 'bn-slider').slice(10) || '?',
    value: value ? text(value) : null,
    handle: !!handle,
    now: api ? Number(api.get(true)) : null,
    min: api ? Number(api.options.range.min) : null,
    max: api ? Number(api.options.range.max) : null,
    step: api ? Number(api.options.step || 0) : null,
    readout: readout ? text(readout) : null,
    src: img ? img.src : null,
    loaded: img ? (img.complete && img.naturalWidth > 0) : null,
    explorer: Array.from(document.querySelectorAll('.bn-explorer')).indexOf(s.closest('.bn-explorer')),
    kernel: (() => {
      const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
      const session = panel && panel.sessionContext && panel.sessionContext.session;
      return session && session.kernel ? session.kernel.status : 'none';
    })(),
  };
}
"""


def numbers_in(text: str | None) -> list[float]:
    """The numbers in a piece of displayed text (minus signs of either kind)."""
    if not text:
        return []
    found = re.findall(r"[-\u2212]?\d+(?:\.\d+)?(?:[eE][-+\u2212]?\d+)?", text)
    return [float(f.replace("\u2212", "-")) for f in found]


SCORE = re.compile(r"(\d+)\s*/\s*(\d+)\s*correct.*?(\d+)\s*of\s*(\d+)\s*answered", re.S)


def parse_score(text: str) -> tuple[int, int]:
    """(correct, answered) from the quiz's score line."""
    match = SCORE.search(text)
    if not match:
        raise AssertionError(f"the quiz score line does not read 'N / M correct ... K of M answered': {text!r}")
    return int(match.group(1)), int(match.group(3))
