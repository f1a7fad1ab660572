"""Quiz progress on disk: where it lives, persistence across sessions, atomic writes,
corruption recovery, concurrent writers, the progress table and reset."""

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from bn_course import quiz
from bn_course.quiz import store
from bn_course.quiz.grading import correct_answer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch):
    path = tmp_path / "state" / "progress.json"
    monkeypatch.setenv("BN_COURSE_PROGRESS", str(path))
    monkeypatch.delenv("BN_COURSE_CLASSROOM", raising=False)
    monkeypatch.setattr(quiz, "_classroom", None)
    return path


def _python(code, path, timeout=120):
    """Run ``code`` in a fresh interpreter (a new session) using progress file ``path``."""
    env = {**os.environ, "BN_COURSE_PROGRESS": str(path)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done


def test_location_env_var_and_default(monkeypatch, tmp_path, progress_file):
    assert quiz.progress_path() == progress_file
    monkeypatch.delenv("BN_COURSE_PROGRESS")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    default = quiz.progress_path()
    assert default == tmp_path / "home" / ".bn_course" / "progress.json"
    assert REPO not in default.parents


def test_answers_survive_a_new_session(progress_file):
    """Answer in the widgets, then a fresh Python process shows the same answers and score."""
    shown = quiz.show("02_numpy_formula", text=False)
    by_key = {view.question.key: view for view in shown.questions}
    by_key["axis-nchw"].answer_widget.value = 0
    by_key["axis-nchw"].check_button.click()
    by_key["batch-mean"].answer_widget.value = "4.25"
    by_key["batch-mean"].check_button.click()
    backward = by_key["backward-facts"]
    for i in correct_answer(backward.question.spec):
        backward.option_widgets[i].value = True
    backward.check_button.click()
    assert progress_file.exists()
    assert not [p for p in progress_file.parent.iterdir() if p.suffix == ".tmp"]  # atomic: no leftovers
    done = _python("""
        import json
        from bn_course import quiz
        shown = quiz.show("02_numpy_formula", text=False)
        views = {v.question.key: v for v in shown.questions}
        print(json.dumps([views["axis-nchw"].answer_widget.value, views["batch-mean"].answer_widget.value,
                          [box.value for box in views["backward-facts"].option_widgets],
                          views["batch-mean"].feedback.value, shown.score.value]))
    """, progress_file)
    radio, number, boxes, feedback, score = json.loads(done.stdout)
    assert (radio, number, boxes) == (0, "4.25", [True, True, True, False, False])
    assert "Your saved answer (1 check so far)" in feedback and "mean of all eight numbers" in feedback
    assert "Score: 2 / 13 correct" in score and "3 of 13 answered" in score


def test_attempts_are_counted_and_latest_answer_kept():
    quiz.answer("00_start_here", "make-test", "a")
    quiz.answer("00_start_here", "make-test", "b")
    record = store.load()["00_start_here"]["make-test"]
    assert record["attempts"] == 2 and record["correct"] is True and record["answer"] == 1


@pytest.mark.parametrize("damage", [
    '{"format": 1, "banks": {"02_numpy_formula": {"batch-mean": {"answer": 4.5, "corr',  # cut short
    "\x00\x00\x00\x00",  # zeros after a crash
    '["not", "a", "progress", "file"]',
    '{"format": 1, "banks": {"02_numpy_formula": 7}}',
])
def test_a_corrupted_file_is_moved_aside_with_a_warning(progress_file, damage):
    progress_file.parent.mkdir(parents=True)
    progress_file.write_text(damage, encoding="utf-8")
    with pytest.warns(quiz.ProgressFileWarning, match="could not be read .* moved to progress.json.corrupt-"):
        result = quiz.answer("02_numpy_formula", "batch-mean", 4.5)
    assert result.correct
    aside = list(progress_file.parent.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == damage  # kept for the learner
    assert list(store.load()) == ["02_numpy_formula"]  # the new answer was saved in a fresh file
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file gives no warning at all
        quiz.answer("02_numpy_formula", "axis-nchw", "a")
    assert len(store.load()["02_numpy_formula"]) == 2


def test_the_widgets_tell_the_learner_about_a_corrupted_file(progress_file):
    progress_file.parent.mkdir(parents=True)
    progress_file.write_text("{oops", encoding="utf-8")
    with pytest.warns(quiz.ProgressFileWarning):
        shown = quiz.show("00_start_here", text=False)
    assert "moved to progress.json.corrupt-" in shown.notice.value
    view = shown.questions[1]
    view.answer_widget.value = 1
    view.check_button.click()
    assert "Correct." in view.feedback.value
    assert store.load()["00_start_here"]["make-test"]["correct"] is True


def test_clean_runs_are_silent(progress_file, recwarn):
    quiz.show("00_start_here", text=False)  # no file yet
    quiz.answer("00_start_here", "make-test", "b")
    quiz.show("00_start_here", text=False)
    assert not recwarn.list


def test_concurrent_writers_lose_nothing(progress_file):
    """Two processes save 40 answers each at the same time: all 80 survive, and the
    question both of them answer counts all 80 checks."""
    go = progress_file.parent / "go"
    progress_file.parent.mkdir(parents=True)
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from bn_course.quiz import store
        who = sys.argv[1]
        while not Path({str(go)!r}).exists():
            time.sleep(0.01)
        for i in range(40):
            store.record("02_numpy_formula", f"{{who}}-{{i}}", i, i % 2 == 0)
            store.record("00_start_here", "shared", i, True)
    """)
    env = {**os.environ, "BN_COURSE_PROGRESS": str(progress_file)}
    workers = [subprocess.Popen([sys.executable, "-c", code, who], env=env, cwd=REPO,
                                stderr=subprocess.PIPE, text=True) for who in ("first", "second")]
    time.sleep(1.5)  # both interpreters are up and waiting
    go.touch()
    for worker in workers:
        assert worker.wait(timeout=240) == 0, worker.stderr.read()
    saved = store.load()
    keys = set(saved["02_numpy_formula"])
    assert keys == {f"{who}-{i}" for who in ("first", "second") for i in range(40)}
    assert saved["00_start_here"]["shared"]["attempts"] == 80
    assert not list(progress_file.parent.glob("*.corrupt-*"))
    assert not list(progress_file.parent.glob("*.tmp"))


def test_progress_table(progress_file):
    quiz.answer("02_numpy_formula", "batch-mean", 4.5)
    quiz.answer("02_numpy_formula", "axis-nchw", "b")
    quiz.answer("00_start_here", "make-test", "b")
    report = quiz.progress()
    rows = {row[0]: row for row in report.rows}
    assert set(rows) == set(quiz.bank_names())
    assert rows["02_numpy_formula"][2:] == (2, 1, len(quiz.load_bank("02_numpy_formula").questions))
    assert rows["00_start_here"][2:] == (1, 1, 4)
    text = repr(report)
    assert "02_numpy_formula" in text and "answered" in text and str(progress_file) in text
    markdown = report._repr_markdown_()
    assert markdown.startswith("| notebook | quiz | answered | correct | total |")
    assert "| 00_start_here | Warm-up: how this course works | 1 | 1 | 4 |" in markdown


def test_reset_asks_for_confirmation(progress_file):
    quiz.answer("02_numpy_formula", "batch-mean", 4.5)
    quiz.answer("00_start_here", "make-test", "b")
    message = quiz.reset("02_numpy_formula")
    assert "would delete your saved answers to 02_numpy_formula (1 answer)" in message
    assert "quiz.reset('02_numpy_formula', confirm=True)" in message and "Nothing was deleted" in message
    assert repr(message) == str(message)  # shown without quotes
    assert set(store.load()) == {"02_numpy_formula", "00_start_here"}
    assert "Deleted" in quiz.reset("02_numpy_formula", confirm=True)
    assert set(store.load()) == {"00_start_here"}
    assert "quiz.reset(confirm=True)" in quiz.reset()
    quiz.reset(confirm=True)
    assert store.load() == {}
    with pytest.raises(quiz.UnknownBankError):
        quiz.reset("99_nope")


def test_windows_and_lockless_fallbacks(monkeypatch, progress_file):
    """The msvcrt branch (Windows) retries a busy lock and unlocks; without either module saves still work."""
    calls = []

    class FakeMsvcrt:
        LK_NBLCK, LK_UNLCK = "lock", "unlock"
        busy = 2

        def locking(self, fd, mode, nbytes):
            calls.append(mode)
            if mode == "lock" and self.busy:
                self.busy -= 1
                raise OSError("locked by another process")

    monkeypatch.setattr(store, "fcntl", None)
    monkeypatch.setattr(store, "msvcrt", FakeMsvcrt())
    quiz.answer("00_start_here", "make-test", "b")
    assert calls == ["lock", "lock", "lock", "unlock"]
    monkeypatch.setattr(store, "msvcrt", None)
    quiz.answer("00_start_here", "what-bn-averages", "a")
    assert len(store.load()["00_start_here"]) == 2
