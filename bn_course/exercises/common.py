"""What every exercise checker shares: the verdict, the registry entry, calling the learner, the hint matcher.

A checker raises ``AssertionError`` with a hint; :func:`run_check` turns it into a one-line :class:`CheckResult`,
so a notebook runs top to bottom while an exercise is untouched (it raises ``NotImplementedError``).
"""

import inspect
import textwrap
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["CheckResult", "run_check", "Exercise", "call_learner", "call_on_copies", "first_matching_mistake",
           "solution_markdown"]

_SYMBOLS = {"passed": "✅", "not attempted": "✏️", "failed": "❌", "error": "❌"}


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one exercise: ``status`` is passed, not attempted, failed or error."""

    title: str
    status: str
    message: str

    @property
    def passed(self):
        return self.status == "passed"

    def __repr__(self):
        return f"{_SYMBOLS[self.status]} {self.title}: {self.status}. {self.message}".rstrip()


def run_check(title, check):
    """``check()`` as a CheckResult: NotImplementedError is "not attempted", AssertionError "failed" with its
    hint, any other exception "error" with its type (no traceback)."""
    try:
        check()
    except NotImplementedError:
        return CheckResult(title, "not attempted", "Fill in the exercise cell above, run it, then this cell again.")
    except AssertionError as error:
        return CheckResult(title, "failed", str(error) or "The result is not right yet.")
    except Exception as error:  # the learner's code may raise anything
        return CheckResult(title, "error", f"Your code raised {type(error).__name__}: {error}")
    return CheckResult(title, "passed", "Well done.")


@dataclass(frozen=True)
class Exercise:
    """One exercise of ``notebook`` (a stem): ``key``, ``title``, ``check(answer) -> CheckResult``, ``solution``
    (passes ``check``) and ``explanation`` (Markdown; for a find-the-bug exercise, the bug and its symptom)."""

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
            hint = (" Shapes do not line up: reshape gamma, beta and the statistics so they broadcast along the "
                    "kept axis, e.g. (1, C, 1, 1) for (N, C, H, W) with axis=1, or use keepdims=True.")
        raise AssertionError(f"On {label} your function raised {type(error).__name__}: {str(error).strip()}.{hint}") from None


def call_on_copies(fn, label, *args, **kwargs):
    """:func:`call_learner` on copies of the array arguments, which the learner must leave unchanged and must
    not return None."""
    copies = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    result = call_learner(fn, label, *copies, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(args, copies)), (
        f"On {label} your function changed an input in place (e.g. `x -= mu`); compute into a new array.")
    assert result is not None, "your function returned None: finish with `return`."
    return result


def first_matching_mistake(value, mistakes, rtol=1e-6, atol=1e-6):
    """The hint of the first ``(hint, what that mistake returns)`` pair that equals ``value``, else None."""
    value = np.asarray(value, dtype=np.float64)
    for hint, wrong in mistakes:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == value.shape and np.allclose(value, wrong, rtol=rtol, atol=atol):
            return hint
    return None
