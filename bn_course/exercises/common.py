"""What every exercise checker shares (one module per notebook imports it).

An exercise is registered once, in its notebook's module, as an :class:`Exercise`:
its checker, a worked solution that passes the checker (tested in
``tests/test_exercise_solutions.py``) and an explanation. Learners see the solution
only when they ask for it (``show_solution(...)``); instructors print them all with
``python -m bn_course.exercises solutions [notebook]``.
"""

import inspect
import textwrap
from dataclasses import dataclass
from typing import Callable

import numpy as np

from bn_course.checks import CheckResult, run_check

__all__ = ["Exercise", "call_learner", "first_matching_mistake", "run_check", "CheckResult", "solution_markdown"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``notebook`` stem ("02_numpy_formula"), a short ``key`` unique in that notebook,
    the ``title`` the learner sees, ``check(answer) -> CheckResult``, a ``solution`` (the function or
    class a learner would write; it must pass ``check``) and ``explanation`` (Markdown: the idea, and
    for a find-the-bug exercise, what the bug was and which symptom gives it away)."""

    notebook: str
    key: str
    title: str
    check: Callable[[object], CheckResult]
    solution: object
    explanation: str


def solution_markdown(exercise):
    """The worked solution as Markdown: title, explanation, then the solution's source code."""
    source = textwrap.dedent(inspect.getsource(exercise.solution)).rstrip()
    return f"### {exercise.title}\n\n{exercise.explanation.strip()}\n\n```python\n{source}\n```\n"


def call_learner(fn, label, *args, **kwargs):
    """Call the learner's function; turn a crash into a hint (NotImplementedError passes through)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # the learner's code may raise anything
        hint = ""
        if "broadcast" in str(error):
            hint = (" Shapes do not line up: reshape gamma, beta and the statistics so they broadcast "
                    "along the kept axis, e.g. shape (1, C, 1, 1) for (N, C, H, W) with axis=1, "
                    "or use keepdims=True in np.mean / np.var.")
        raise AssertionError(f"On {label} your function raised {type(error).__name__}: {str(error).strip()}.{hint}") from None


def first_matching_mistake(value, mistakes, rtol=1e-6, atol=1e-6):
    """The hint of the first ``(hint, wrong_value)`` pair whose value equals ``value``, else None.

    ``mistakes`` lists what a known mistake would have produced; comparing the learner's
    result against each names the mistake instead of only saying "wrong".
    """
    value = np.asarray(value, dtype=np.float64)
    for hint, wrong in mistakes:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == value.shape and np.allclose(value, wrong, rtol=rtol, atol=atol):
            return hint
    return None
