"""Section 1: each notebook's headless run against the floor of a kernel that only imports."""

import ast
import os
import tempfile
import time

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


def _execute(notebook, directory):
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            extra_arguments=QUIET_KERNEL,
                            resources={"metadata": {"path": str(directory)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def run(repeats, notebook_dir, names=None):
    os.environ["BN_COURSE_PROGRESS"] = os.path.join(tempfile.mkdtemp(prefix="bn-bench-"), "progress.json")
    rows, total, floor_total = [], 0.0, 0.0
    for path in sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb")):
        if names and path.stem not in names:
            continue
        notebook = nbformat.read(path, as_version=4)
        floor_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_imports_and_setup(notebook))])
        full = median([_execute(nbformat.read(path, as_version=4), notebook_dir) for _ in range(repeats)])
        floor = median([_execute(floor_nb, notebook_dir) for _ in range(repeats)])
        total += full
        floor_total += floor
        rows.append(Row("1 notebooks", path.stem, format_seconds(full),
                        f"kernel + imports {format_seconds(floor)}", full / floor, "< 60 s", full < 60))
    if rows:
        rows.append(Row("1 notebooks", "all notebooks", format_seconds(total),
                        f"kernel + imports {format_seconds(floor_total)}", total / floor_total))
    return rows
