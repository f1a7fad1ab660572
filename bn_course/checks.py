"""Running the notebooks' exercise checkers (introduced in notebook 02).

An exercise is a function the learner completes; its checker is a function that
raises ``AssertionError`` with a helpful message when the learner's answer is
wrong. :func:`run_check` turns that into a one-line verdict, so a notebook still
runs top to bottom while an exercise is untouched (it raises ``NotImplementedError``).
"""

from dataclasses import dataclass

__all__ = ["CheckResult", "run_check"]

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
    """Run ``check()`` (no arguments) and return a :class:`CheckResult`.

    ``NotImplementedError`` means the learner has not started; ``AssertionError``
    carries the checker's explanation of what is wrong; any other exception is
    reported with its type and message, never as a traceback.
    """
    try:
        check()
    except NotImplementedError:
        return CheckResult(title, "not attempted", "Fill in the exercise cell above, run it, then run this cell again.")
    except AssertionError as error:
        return CheckResult(title, "failed", str(error) or "The result is not right yet.")
    except Exception as error:  # the learner's code may raise anything; show it plainly
        return CheckResult(title, "error", f"Your code raised {type(error).__name__}: {error}")
    return CheckResult(title, "passed", "Well done.")
