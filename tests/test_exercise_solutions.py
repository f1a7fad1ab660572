"""Exercise plumbing: each outcome of a check gets its own verdict; every registered exercise's
solution passes its own checker, every notebook with an exercise registers it, the notebooks'
`show_solution` calls name registered exercises, and `python -m bn_course.exercises solutions
[notebook]` prints them for instructors."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bn_course.exercises import EXERCISES, find_exercise
from bn_course.exercises.__main__ import main
from bn_course.exercises.common import AsGiven, call_learner, checker, expect, mismatch
from bn_course.navigation import NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
SOURCES = {path.stem: path.read_text(encoding="utf-8")
           for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
WITH_EXERCISES = [stem for stem, text in SOURCES.items() if "from bn_course.exercises import" in text]
SHOWN = sorted({(stem, key) for stem, text in SOURCES.items()
                for key in re.findall(r"""show_solution\(\\?["']""" + stem + r"""\\?["'],\s*\\?["']([\w-]+)\\?["']\)""", text)})


def _raise(error):
    def check():
        raise error

    return check


def run_check(title, check):
    return checker(title)(check)()


def test_verdicts():
    assert run_check("A", lambda: None).passed
    todo = run_check("A", _raise(NotImplementedError()))
    assert todo.status == "not attempted" and "Fill in" in repr(todo)
    wrapped = run_check("A", _raise(NotImplementedError("Exception encountered when calling MyBatchNorm.call()")))
    assert wrapped.message == todo.message  # Keras re-raises the learner's NotImplementedError with its own text
    given = run_check("A", _raise(AsGiven("This is the code as given.")))
    assert given.status == "not attempted" and given.message == "This is the code as given."
    wrong = run_check("A", _raise(AssertionError("mean is off by 2")))
    assert wrong.status == "failed" and "mean is off by 2" in repr(wrong)
    crash = run_check("A", _raise(ZeroDivisionError("division by zero")))
    assert crash.status == "error" and "ZeroDivisionError" in repr(crash)


def _id(exercise):
    return f"{exercise.notebook}/{exercise.key}"


@pytest.mark.parametrize("exercise", EXERCISES, ids=_id)
def test_the_solution_passes_its_checker(exercise):
    result = exercise.check(exercise.solution)
    assert result.passed, repr(result)


def test_registrations_are_complete_and_unique():
    stems = {stem for stem, _ in NOTEBOOKS}
    assert len({_id(e) for e in EXERCISES}) == len(EXERCISES), "an exercise key is registered twice"
    for exercise in EXERCISES:
        assert exercise.notebook in stems, _id(exercise)
        assert exercise.title.strip() and len(exercise.explanation.strip()) > 40, _id(exercise)
        assert callable(exercise.check) and callable(exercise.solution), _id(exercise)


@pytest.mark.parametrize("stem", WITH_EXERCISES)
def test_every_notebook_with_an_exercise_registers_it(stem):
    assert any(e.notebook == stem for e in EXERCISES), (
        f"{stem} imports bn_course.exercises but registers no exercise in its module's EXERCISES")


@pytest.mark.parametrize("stem, key", SHOWN)
def test_the_notebooks_show_registered_solutions(stem, key):
    assert find_exercise(stem, key).notebook == stem


def test_solutions_command_prints_every_solution(capsys):
    assert main(["solutions"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Worked solutions (for instructors)")
    for exercise in EXERCISES:
        assert f"### {exercise.title}" in out and exercise.solution.__name__ in out
        assert f"show_solution({exercise.notebook!r}, {exercise.key!r})" in out
    assert out.count("```python") == len(EXERCISES)


def test_solutions_command_for_one_notebook(capsys):
    assert main(["solutions", "00"]) == 0
    assert "## 00 · Start here" in capsys.readouterr().out
    for stem in {e.notebook for e in EXERCISES}:
        assert main(["solutions", stem]) == 0
        out = capsys.readouterr().out
        assert out.count("```python") == sum(e.notebook == stem for e in EXERCISES)
        assert all(f"'{other}'" not in out for other, _ in NOTEBOOKS if other != stem)


def test_an_unknown_notebook_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "bn_course.exercises", "solutions", "99_nope"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: no notebook '99_nope'; notebooks are: 00_start_here, ")
    assert done.stderr.count("\n") == 1


def test_a_wrong_answer_without_a_named_mistake_still_gets_a_sentence():
    hint = mismatch("L", [1.0, 2.0], [1.0, 3.0])
    assert hint is not None and hint.strip(), repr(hint)
    with pytest.raises(AssertionError, match=r"On L, the output is wrong: \S"):
        expect("L", [1.0, 2.0], [1.0, 3.0])


def test_the_in_place_check_compares_every_argument_and_key():
    with_nan = np.array([np.nan, 1.0])
    assert np.isnan(call_learner(lambda x: x + 1, "L", with_nan)[0])  # NaN in, untouched: not "changed"
    state = {"weight": np.ones(2), "count": np.array(5)}

    def pops(state):
        state.pop("count")

    def adds(state):
        state["eps"] = 1e-5

    def replaces(state):
        state["weight"] = [1.0, 1.0]

    for changes in (pops, adds, replaces):
        with pytest.raises(AssertionError, match="dict you were given") as raised:
            call_learner(changes, "L", state)
        assert "x -= mu" not in str(raised.value)
    assert state.keys() == {"weight", "count"}


def test_an_input_changed_after_a_dict_argument_is_caught():
    def changes_x(state, x):
        x[0] = 7.0

    with pytest.raises(AssertionError, match="changed an input array in place"):
        call_learner(changes_x, "L", {"count": 3}, np.zeros(2))
