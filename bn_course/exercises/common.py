"""What every exercise checker (notebooks 01-07) shares: the verdict, the registry entry, calling the learner, the
mistake matcher. A checker raises ``AssertionError`` with a hint; :func:`checker` turns it into a one-line
:class:`CheckResult`, so a notebook runs top to bottom while an exercise is untouched (``NotImplementedError``)."""

import copy
import functools
import inspect
import re
import textwrap
from collections import namedtuple

import numpy as np

_SYMBOLS = {"passed": "✅", "not attempted": "✏️", "failed": "❌", "error": "❌"}
_BROADCAST_HINT = (("broadcast",), " Shapes do not line up: reshape gamma, beta and the statistics so they broadcast "
                  "along the kept axis, e.g. (1, C, 1, 1) for (N, C, H, W) with axis=1, or use keepdims=True.")
EPS_HINT = "is eps under the square root?"  # the NaN hint (see mismatch) of a checker whose formula has an eps


class CheckResult(namedtuple("CheckResult", "title status message")):
    """The verdict on one exercise: ``status`` is passed, not attempted, failed or error."""

    @property
    def passed(self):
        return self.status == "passed"

    def __repr__(self):
        return f"{_SYMBOLS[self.status]} {self.title}: {self.status}. {self.message}".rstrip()


class AsGiven(NotImplementedError):
    """Raised by a checker on code still as the notebook gives it: "not attempted", with this message."""


def checker(title):
    """Decorate ``check(answer, ...)`` into one returning a CheckResult: NotImplementedError is "not attempted",
    AssertionError "failed" with its hint, any other exception "error" with its type (no traceback)."""
    def decorate(check):
        @functools.wraps(check)
        def checked(*args, **kwargs):
            try:
                check(*args, **kwargs)
            except AsGiven as why:  # the code is still as the notebook gives it
                return CheckResult(title, "not attempted", str(why))
            except NotImplementedError:  # raised by an untouched exercise
                return CheckResult(title, "not attempted",
                                   "Fill in the exercise cell above, run it, then this cell again.")
            except AssertionError as error:
                return CheckResult(title, "failed", str(error) or "The result is not right yet.")
            except Exception as error:  # the learner's code may raise anything
                return CheckResult(title, "error", f"Your code raised {type(error).__name__}: {error}")
            return CheckResult(title, "passed", "Well done.")
        return checked
    return decorate


Exercise = namedtuple("Exercise", "notebook key title check solution explanation")
Exercise.__doc__ = """One exercise of ``notebook`` (a stem): ``key``, ``title``, ``check(answer) -> CheckResult``,
``solution`` (passes ``check``) and ``explanation`` (Markdown; for a find-the-bug exercise, the bug and its symptom)."""


def solution_markdown(exercise):
    """The worked solution as Markdown: title, explanation, then the solution's source code."""
    source = textwrap.dedent(inspect.getsource(exercise.solution)).rstrip()
    return f"### {exercise.title}\n\n{exercise.explanation.strip()}\n\n```python\n{source}\n```\n"


def moments(x, axes, ddof=0):
    """Mean and variance of ``x`` over ``axes`` (None: all), kept as size-1 axes so they broadcast against x."""
    return x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True, ddof=ddof)


def normalize(x, mean, var, gamma=1.0, beta=0.0, eps=1e-3):
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` (all broadcast against x), what BN or a mistake returns."""
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def _unchanged(original, copied):
    """Whether the learner's ``copied`` still equals ``original`` (an array, or a dict: same keys, same arrays)."""
    if isinstance(original, dict):
        return (isinstance(copied, dict) and original.keys() == copied.keys()
                and all(_unchanged(original[key], copied[key]) for key in original))
    if isinstance(original, np.ndarray):
        return isinstance(copied, np.ndarray) and np.array_equal(original, copied, equal_nan=True)
    return True


def call_learner(fn, label, *args, crash_hints=(_BROADCAST_HINT,), **kwargs):
    """``fn(*args, **kwargs)`` on copies of the array (and dict) arguments, which it must leave unchanged. A crash
    becomes a hint (NotImplementedError passes through), with the hint of the first ``(words, hint)`` in
    ``crash_hints`` whose word the error message contains."""
    copies = [copy.deepcopy(a) if isinstance(a, (np.ndarray, dict)) else a for a in args]
    try:
        result = fn(*copies, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # the learner's code may raise anything
        message = str(error)
        inner = re.search(r"\x1b\[1m(.*?)\x1b\[0m", message, re.S)  # Keras wraps it, the learner's error in bold
        if inner:
            message = inner.group(1)
        message = re.sub(r"\{\{function_node[^}]*\}\}|\[Op:\w+\]|\bname:\s*$", "", message.strip())
        message = " ".join(message.split()).rstrip(" .")[:300]  # one line
        hint = ""
        for words, text in crash_hints:
            if any(word in message.lower() for word in words):
                hint = text
                break
        raise AssertionError(f"On {label}, your code raised {type(error).__name__}: {message}.{hint}") from None
    for original, copied in zip(args, copies):
        if isinstance(original, dict):
            assert _unchanged(original, copied), (f"On {label}, your code changed the dict it was given (a key added, "
                                                  "removed or replaced, or an array in it changed): don't assign "
                                                  "into the dict you were given.")
        else:
            assert _unchanged(original, copied), (f"On {label}, your code changed an input array in place (e.g. "
                                                  "`x -= mu`); compute into a new array.")
    return result


def first_matching_mistake(value, mistakes, rtol=1e-6, atol=1e-6, default=None):
    """The hint of the first ``(hint, what that mistake returns)`` pair that equals ``value``, else ``default``."""
    value = np.asarray(value, dtype=np.float64)
    for hint, wrong in mistakes:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == value.shape and np.allclose(value, wrong, rtol=rtol, atol=atol):
            return hint
    return default


def mismatch(label, got, right, mistakes=(), otherwise=None, name="the output", rtol=1e-6, atol=1e-6,
             nan_hint="look for a division by zero or the square root of a negative number."):
    """None when ``got`` equals ``right``, else the hint of the first matching ``(hint, what that mistake returns)``,
    or ``otherwise`` (text, or a function of ``got``), or how far off. None, not one array, a shape, NaN: assert."""
    assert got is not None, f"On {label}, your code returned None: finish with `return`."
    right = np.asarray(right, dtype=np.float64)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):  # e.g. a list of rows of different lengths
        raise AssertionError(f"On {label}, {name} is not one array of numbers: return one array of shape "
                             f"{right.shape}.") from None
    if got.shape != right.shape:
        dropped = " Did a mean or sum drop an axis (keepdims=True keeps it)?" if got.ndim < right.ndim else ""
        raise AssertionError(f"On {label}, {name} has shape {got.shape}, not {right.shape}.{dropped}")
    assert np.all(np.isfinite(got)), f"On {label}, {name} has NaN or inf values: {nan_hint}"
    if np.allclose(got, right, rtol=rtol, atol=atol):
        return None
    hint = first_matching_mistake(got, mistakes, rtol=rtol, atol=atol, default=otherwise)
    if callable(hint):
        hint = hint(got)
    if not hint:  # which way and how far, relative to the right result's size (never the right values)
        relative = (got - right) / max(np.abs(right).max(), 1e-12)
        worst = relative.flat[np.argmax(np.abs(relative))]
        hint = f"it is too {'high' if worst > 0 else 'low'} by about {abs(worst):.2%}."
    return hint


def expect(label, got, right, mistakes=(), otherwise=None, **kwargs):
    """:func:`mismatch` (same keywords), raised as the learner's hint: "On <label>, <name> is wrong: <hint>"."""
    hint = mismatch(label, got, right, mistakes, otherwise, **kwargs)
    assert hint is None, f"On {label}, {kwargs.get('name', 'the output')} is wrong: {hint}"
