"""What every exercise checker shares: the verdict, the registry entry, calling the learner, the mistake matcher.

A checker raises ``AssertionError`` with a hint; :func:`run_check` turns it into a one-line :class:`CheckResult`,
so a notebook runs top to bottom while an exercise is untouched (it raises ``NotImplementedError``)."""

import copy
import functools
import importlib
import inspect
import re
import textwrap
from collections import namedtuple

import numpy as np

from bn_course.env import import_tensorflow

_SYMBOLS = {"passed": "✅", "not attempted": "✏️", "failed": "❌", "error": "❌"}
_BROADCAST_HINT = (("broadcast",), " Shapes do not line up: reshape gamma, beta and the statistics so they broadcast "
                  "along the kept axis, e.g. (1, C, 1, 1) for (N, C, H, W) with axis=1, or use keepdims=True.")


class CheckResult(namedtuple("CheckResult", "title status message")):
    """The verdict on one exercise: ``status`` is passed, not attempted, failed or error."""

    @property
    def passed(self):
        return self.status == "passed"

    def __repr__(self):
        return f"{_SYMBOLS[self.status]} {self.title}: {self.status}. {self.message}".rstrip()


class AsGiven(NotImplementedError):
    """Raised by a checker on code still as the notebook gives it: "not attempted", with this message."""


def run_check(title, check):
    """``check()`` as a CheckResult: NotImplementedError is "not attempted", AssertionError "failed" with its hint,
    any other exception "error" with its type (no traceback)."""
    try:
        check()
    except NotImplementedError as why:  # raised by an untouched exercise
        return CheckResult(title, "not attempted", str(why) if isinstance(why, AsGiven)
                           else "Fill in the exercise cell above, run it, then this cell again.")
    except AssertionError as error:
        return CheckResult(title, "failed", str(error) or "The result is not right yet.")
    except Exception as error:  # the learner's code may raise anything
        return CheckResult(title, "error", f"Your code raised {type(error).__name__}: {error}")
    return CheckResult(title, "passed", "Well done.")


def checker(title):
    """Decorate ``check(answer, ...)``, which raises AssertionError with a hint, into one that returns a CheckResult
    (see :func:`run_check`)."""
    def decorate(check):
        @functools.wraps(check)
        def checked(*args, **kwargs):
            return run_check(title, lambda: check(*args, **kwargs))
        return checked
    return decorate


Exercise = namedtuple("Exercise", "notebook key title check solution explanation")
Exercise.__doc__ = """One exercise of ``notebook`` (a stem): ``key``, ``title``, ``check(answer) -> CheckResult``,
``solution`` (passes ``check``) and ``explanation`` (Markdown; for a find-the-bug exercise, the bug and its symptom)."""


def solution_markdown(exercise):
    """The worked solution as Markdown: title, explanation, then the solution's source code."""
    source = textwrap.dedent(inspect.getsource(exercise.solution)).rstrip()
    return f"### {exercise.title}\n\n{exercise.explanation.strip()}\n\n```python\n{source}\n```\n"


def load_keras():
    """Keras, TensorFlow imported quietly on first use (importing the checkers must not load TensorFlow)."""
    import_tensorflow()
    return importlib.import_module("keras")


def _arrays(values):
    return [v for a in values for v in (a.values() if isinstance(a, dict) else [a]) if isinstance(v, np.ndarray)]


def call_learner(fn, label, *args, crash_hints=(_BROADCAST_HINT,), **kwargs):
    """``fn(*args, **kwargs)`` on copies of the array (and dict) arguments, which it must leave unchanged. A crash
    becomes a hint (NotImplementedError passes through), with the hint of the first ``(words, hint)`` in
    ``crash_hints`` whose word the error message contains."""
    copies = [copy.deepcopy(a) if isinstance(a, (np.ndarray, dict)) else a for a in args]
    try:
        result = fn(*copies, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # the learner's code may raise anything; Keras wraps it in a frame of its own
        inner = re.search(r"\x1b\[1m(.*?)\x1b\[0m", str(error), re.S)
        message = re.sub(r"\{\{function_node[^}]*\}\}|\[Op:\w+\]|\bname:\s*$", "",
                         (inner.group(1) if inner else str(error)).strip())
        message = " ".join(message.split()).rstrip(" .")[:300]
        hint = next((hint for words, hint in crash_hints if any(w in message.lower() for w in words)), "")
        raise AssertionError(f"On {label}, your code raised {type(error).__name__}: {message}.{hint}") from None
    assert all(map(np.array_equal, _arrays(args), _arrays(copies))), (
        f"On {label}, your code changed an input in place (e.g. `x -= mu`); compute into a new array.")
    return result


def first_matching_mistake(value, mistakes, rtol=1e-6, atol=1e-6):
    """The hint of the first ``(hint, what that mistake returns)`` pair that equals ``value``, else None."""
    value = np.asarray(value, dtype=np.float64)
    return next((hint for hint, wrong in mistakes if np.shape(wrong) == value.shape
                 and np.allclose(value, np.asarray(wrong, dtype=np.float64), rtol=rtol, atol=atol)), None)


def mismatch(label, got, right, mistakes=(), otherwise="", name="the output", tol=1e-6):
    """None when ``got`` equals ``right`` (rtol = atol = ``tol``), else the hint of the first matching ``(hint, what
    that mistake returns)`` or ``otherwise`` (text, or a function of ``got``). None, a wrong shape, NaN: assert."""
    assert got is not None, f"On {label}, your code returned None: finish with `return`."
    got, right = np.asarray(got, dtype=np.float64), np.asarray(right, dtype=np.float64)
    assert got.shape == right.shape, f"On {label}, {name} has shape {got.shape}, not {right.shape}." + (
        " Did a mean or sum drop an axis (keepdims=True keeps it)?" if got.ndim < right.ndim else "")
    assert np.all(np.isfinite(got)), f"On {label}, {name} has NaN or inf values: is eps under the square root?"
    if not np.allclose(got, right, rtol=tol, atol=tol):
        return first_matching_mistake(got, mistakes, tol, tol) or (otherwise(got) if callable(otherwise) else otherwise)


def expect(label, got, right, mistakes=(), otherwise="", name="the output", tol=1e-6):
    """:func:`mismatch`, raised as the learner's hint: "On <label>, <name> is wrong: <hint>"."""
    hint = mismatch(label, got, right, mistakes, otherwise, name, tol)
    assert hint is None, f"On {label}, {name} is wrong: {hint}"
