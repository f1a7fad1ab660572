"""Section 1: each notebook's headless run against the floor of a kernel that only imports:
its wall time, and its kernel's peak memory, read from outside the kernel (``VmHWM`` in
``/proc/<kernel pid>/status`` after each cell, Linux only), which is what a shared server
must hold per learner with that notebook open."""

import ast
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from benchmarks.timing import QUIET_KERNEL, Row, format_seconds, median


def _imports_and_setup(notebook):
    """The notebook's import statements and its setup call: what any run of it must pay for."""
    lines = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            is_setup = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                        and getattr(node.value.func, "id", "") == "setup_notebook")
            if isinstance(node, (ast.Import, ast.ImportFrom)) or is_setup:
                lines.append(ast.get_source_segment(source, node))
    return "\n".join(lines)


def peak_memory(pid):
    """The peak resident memory of process ``pid`` in bytes (Linux ``VmHWM``), or None where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def format_bytes(size):
    return "not measured (needs Linux)" if size is None else f"{size / 1e9:.2f} GB"


def _execute(notebook, directory):
    """Run ``notebook`` in a fresh kernel; returns (seconds, the kernel's peak memory in bytes or None)."""
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            extra_arguments=QUIET_KERNEL,
                            resources={"metadata": {"path": str(directory)}})
    peaks = [None]

    def sample(**_):  # after every code cell, before the kernel shuts down
        peaks[0] = peak_memory(getattr(client.km.provisioner, "pid", None)) or peaks[0]

    client.on_cell_executed = sample
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start, peaks[0]


def _largest(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def run(repeats, notebook_dir, names=None):
    os.environ["BN_COURSE_PROGRESS"] = os.path.join(tempfile.mkdtemp(prefix="bn-bench-"), "progress.json")
    rows, memory, total, floor_total, peaks = [], [], 0.0, 0.0, []
    for path in sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb")):
        if names and path.stem not in names:
            continue
        notebook = nbformat.read(path, as_version=4)
        floor_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_imports_and_setup(notebook))])
        full_runs = [_execute(nbformat.read(path, as_version=4), notebook_dir) for _ in range(repeats)]
        floor_runs = [_execute(floor_nb, notebook_dir) for _ in range(repeats)]
        full, floor = median([t for t, _ in full_runs]), median([t for t, _ in floor_runs])
        peak, floor_peak = _largest([m for _, m in full_runs]), _largest([m for _, m in floor_runs])
        total += full
        floor_total += floor
        peaks.append(peak)
        rows.append(Row("1 notebooks", path.stem, format_seconds(full),
                        f"kernel + imports {format_seconds(floor)}", full / floor, "< 60 s", full < 60))
        memory.append(Row("1 notebooks", f"{path.stem}: kernel peak memory", format_bytes(peak),
                          f"kernel + imports {format_bytes(floor_peak)}",
                          peak / floor_peak if peak and floor_peak else None))
    if rows:
        rows.append(Row("1 notebooks", "all notebooks", format_seconds(total),
                        f"kernel + imports {format_seconds(floor_total)}", total / floor_total))
        memory.append(Row("1 notebooks", "largest kernel peak memory (size a server by this)",
                          format_bytes(_largest(peaks))))
    return rows + memory
