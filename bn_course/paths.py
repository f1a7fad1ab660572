"""Where the course's own files are: the folder holding ``notebooks/`` and ``quizzes/``. Used by the quiz
engine (its banks), :mod:`bn_course.navigation` and ``tools/add_navigation.py``; notebooks never call it.

Found from an editable install (``pip install -e .``, what ``make`` does), or from a plain one when Python
runs inside the course folder or ``BN_COURSE_ROOT`` names it; otherwise :func:`course_path` says how to fix it.
"""

import os
from pathlib import Path

__all__ = ["course_root", "course_path"]


def course_root():
    """The course folder, or None: ``$BN_COURSE_ROOT``, the checkout holding this package, or the
    nearest folder at or above the current directory that holds ``quizzes/`` and ``notebooks/``."""
    if os.environ.get("BN_COURSE_ROOT"):
        return Path(os.environ["BN_COURSE_ROOT"]).expanduser().resolve()
    here = Path.cwd().resolve()
    for folder in (Path(__file__).resolve().parent.parent, here, *here.parents):
        if (folder / "quizzes" / "schema.json").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def course_path(name):
    """``<course folder>/<name>``, or a FileNotFoundError saying how to point the package at the course."""
    root = course_root()
    if root is None or not (root / name).exists():
        raise FileNotFoundError(
            f"cannot find the course's {name}/ folder. Run Python from inside the course folder, install the "
            "package from it with `pip install -e .`, or set BN_COURSE_ROOT to the folder that holds "
            "notebooks/ and quizzes/.")
    return root / name
