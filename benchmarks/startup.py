"""Section 6: `import bn_course` (must not pull in TensorFlow) and kernel start to first output."""

import subprocess
import sys
import time

from benchmarks.timing import QUIET_KERNEL, Row, format_seconds, median, time_calls

_IMPORT = "import bn_course, bn_course.numpy_bn, sys; assert 'tensorflow' not in sys.modules"


def _run(code):
    subprocess.run([sys.executable, "-c", code], check=True)


def first_output_seconds(notebook_path):
    """Seconds from asking for a fresh kernel to the first output of the notebook's first code cell."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(notebook_path, as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code" and c.source.strip())
    single = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first.source)])
    client = NotebookClient(single, timeout=300, kernel_name="python3",
                            extra_arguments=QUIET_KERNEL,
                            resources={"metadata": {"path": str(notebook_path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def run(repeats, notebook_dir):
    interpreter = time_calls(lambda: _run("pass"), repeats)
    with_package = time_calls(lambda: _run(_IMPORT), repeats)
    package = max(median(with_package) - median(interpreter), 0.0)
    first = [first_output_seconds(notebook_dir / "00_start_here.ipynb") for _ in range(repeats)]
    return [
        Row("6 startup", "`import bn_course` (TensorFlow not loaded)", format_seconds(package),
            f"interpreter start {format_seconds(median(interpreter))}",
            median(with_package) / median(interpreter)),
        Row("6 startup", "kernel start → first output of 00", format_seconds(median(first))),
    ]
