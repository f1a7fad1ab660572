"""The course map and the prev/contents/next links in every notebook.

``NOTEBOOKS`` is the one list of notebooks in learning order. Running
``python -m bn_course.navigation`` rewrites the navigation cells of every
notebook that exists (a Markdown cell after the title and one at the very end,
found by their marker comment, so the script can be re-run safely);
``--check`` only reports notebooks whose links are missing or stale (used by the tests).
"""

import argparse
import sys
from pathlib import Path

from bn_course.paths import course_path, course_root

__all__ = ["NOTEBOOKS", "NOTEBOOK_DIR", "nav_markdown", "update_notebook", "main"]

# Where the notebooks are (None outside the course folder; `main` then says how to fix that).
NOTEBOOK_DIR = course_root() / "notebooks" if course_root() else None

NOTEBOOKS = [
    ("00_start_here", "Start here"),
    ("01_why_batchnorm", "Why batch normalization?"),
    ("02_numpy_formula", "The formula in NumPy, forward and backward"),
    ("03_tf_custom_layer", "A correct BN layer in TensorFlow"),
    ("04_keras_integration", "Batch normalization in Keras models"),
    ("05_training_vs_inference", "Training vs inference"),
    ("06_beyond_batchnorm", "Beyond batch normalization"),
    ("07_review", "Review"),
]

MARKER_TOP = "<!-- bn-course-nav:top -->"
MARKER_BOTTOM = "<!-- bn-course-nav:bottom -->"


def nav_markdown(stem, marker):
    """The navigation line for notebook ``stem``: previous | contents | next."""
    stems = [name for name, _ in NOTEBOOKS]
    if stem not in stems:
        raise ValueError(f"unknown notebook {stem!r}; known: {', '.join(stems)}")
    index = stems.index(stem)
    parts = []
    if index > 0:
        prev_stem, prev_title = NOTEBOOKS[index - 1]
        parts.append(f"[&larr; {prev_stem[:2]} {prev_title}]({prev_stem}.ipynb)")
    parts.append("[Contents](00_start_here.ipynb#Course-map)")
    if index + 1 < len(NOTEBOOKS):
        next_stem, next_title = NOTEBOOKS[index + 1]
        parts.append(f"[{next_stem[:2]} {next_title} &rarr;]({next_stem}.ipynb)")
    return f"{marker}\n" + " &nbsp;|&nbsp; ".join(parts)


def _find(cells, marker):
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.source.startswith(marker):
            return i
    return None


def update_notebook(path, check=False):
    """Insert or refresh the two navigation cells of one notebook.

    The top cell goes right after the first cell (the title), the bottom one at
    the end. Returns True if the notebook was (or, with ``check``, would be) changed.
    """
    import nbformat

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    cells = notebook.cells
    changed = False
    for marker, position in ((MARKER_TOP, 1), (MARKER_BOTTOM, None)):
        wanted = nav_markdown(path.stem, marker)
        index = _find(cells, marker)
        expected_index = position if position is not None else len(cells) - 1
        if index is not None and cells[index].source == wanted and index == expected_index:
            continue
        changed = True
        if index is not None:
            cells.pop(index)
        new_cell = nbformat.v4.new_markdown_cell(wanted)
        new_cell.id = f"nav-{'top' if marker == MARKER_TOP else 'bottom'}"
        if position is None:
            cells.append(new_cell)
        else:
            cells.insert(position, new_cell)
    if changed and not check:
        nbformat.write(notebook, path)
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale links, change nothing")
    args = parser.parse_args(argv)
    stale = []
    notebook_dir = course_path("notebooks")
    for stem, _ in NOTEBOOKS:
        path = notebook_dir / f"{stem}.ipynb"
        if path.exists() and update_notebook(path, check=args.check):
            stale.append(path.name)
    if args.check and stale:
        print("navigation links missing or stale in: " + ", ".join(stale))
        print("run: python -m bn_course.navigation")
        return 1
    if not args.check:
        print(f"navigation updated in {len(stale)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
