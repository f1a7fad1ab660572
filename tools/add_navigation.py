"""Write the prev/contents/next links of every notebook from the course map, ``bn_course.navigation``.

``python -m tools.add_navigation`` (from the course folder) rewrites each notebook's two navigation cells, after
the title and at the very end, found by their marker comment, so it can be re-run safely; ``--check`` changes
nothing and exits 1 if any is missing or stale.
"""

import argparse
import sys
from pathlib import Path

import nbformat

from bn_course.navigation import NOTEBOOKS
from bn_course.paths import course_path

MARKER_TOP, MARKER_BOTTOM = "<!-- bn-course-nav:top -->", "<!-- bn-course-nav:bottom -->"


def nav_markdown(stem, marker):
    """The navigation line for notebook ``stem``: previous | contents | next."""
    index = [name for name, _ in NOTEBOOKS].index(stem)  # ValueError for a notebook missing from NOTEBOOKS
    parts = ["[Contents](00_start_here.ipynb#Course-map)"]
    if index > 0:
        prev_stem, prev_title = NOTEBOOKS[index - 1]
        parts.insert(0, f"[&larr; {prev_stem[:2]} {prev_title}]({prev_stem}.ipynb)")
    if index + 1 < len(NOTEBOOKS):
        next_stem, next_title = NOTEBOOKS[index + 1]
        parts.append(f"[{next_stem[:2]} {next_title} &rarr;]({next_stem}.ipynb)")
    return f"{marker}\n" + " &nbsp;|&nbsp; ".join(parts)


def _is_nav(cell):
    return cell.cell_type == "markdown" and cell.source.startswith((MARKER_TOP, MARKER_BOTTOM))


def update_notebook(path, check=False):
    """Put one notebook's navigation cells right after its first (title) cell and at its end.

    Returns True if the notebook was (or, with ``check``, would be) changed.
    """
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    current = {cell.source: cell for cell in notebook.cells if _is_nav(cell)}  # kept when still right
    top, bottom = (current.get(source) or nbformat.v4.new_markdown_cell(source, id=f"nav-{where}")
                   for where, source in (("top", nav_markdown(path.stem, MARKER_TOP)),
                                         ("bottom", nav_markdown(path.stem, MARKER_BOTTOM))))
    others = [cell for cell in notebook.cells if not _is_nav(cell)]
    cells = [*others[:1], top, *others[1:], bottom]
    changed = cells != notebook.cells
    if changed and not check:
        notebook.cells = cells
        nbformat.write(notebook, path)
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale links, change nothing")
    check = parser.parse_args(argv).check
    folder = course_path("notebooks")
    paths = [folder / f"{stem}.ipynb" for stem, _ in NOTEBOOKS]
    stale = [path.name for path in paths if path.exists() and update_notebook(path, check=check)]
    if check and stale:
        print(f"navigation links missing or stale in: {', '.join(stale)}\nrun: python -m tools.add_navigation")
        return 1
    if not check:
        print(f"navigation updated in {len(stale)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
