"""bn_course.checks: each outcome of an exercise check gets its own clear verdict."""

from bn_course.checks import run_check


def _raise(error):
    def check():
        raise error

    return check


def test_verdicts():
    assert run_check("A", lambda: None).passed
    todo = run_check("A", _raise(NotImplementedError()))
    assert todo.status == "not attempted" and "Fill in" in repr(todo)
    wrong = run_check("A", _raise(AssertionError("mean is off by 2")))
    assert wrong.status == "failed" and "mean is off by 2" in repr(wrong)
    crash = run_check("A", _raise(ZeroDivisionError("division by zero")))
    assert crash.status == "error" and "ZeroDivisionError" in repr(crash)
