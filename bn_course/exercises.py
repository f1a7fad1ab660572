"""Checkers for the notebooks' exercises, one section per notebook.

Each ``check_*`` function takes the learner's function, runs it on fixed inputs
and raises ``AssertionError`` with a hint when it is wrong; notebooks call it
through :func:`bn_course.checks.run_check`. NumPy-only checkers import nothing
heavy; TensorFlow-based ones import it inside the function.
"""

import numpy as np

from bn_course.checks import run_check

__all__ = []
