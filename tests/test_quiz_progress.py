"""Quiz progress on disk: where it lives, persistence across sessions, atomic writes, concurrent
writers, the progress table and reset; and that progress is never lost and never costs the learner
the feedback: damaged files, damaged records, newer files and unusable paths.

Runs on the sample banks of quiz_samples.py. Tests run as root here, and root ignores file
permissions, so "cannot be written" is simulated by a path under a regular file."""

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
from quiz_samples import install

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch):
    install(tmp_path / "quizzes")
    monkeypatch.setenv("BN_COURSE_QUIZZES", str(tmp_path / "quizzes"))
    path = tmp_path / "state" / "progress.json"
    monkeypatch.setenv("BN_COURSE_PROGRESS", str(path))
    monkeypatch.delenv("BN_COURSE_CLASSROOM", raising=False)
    monkeypatch.setattr(quiz, "_classroom", None)
    return path


def _python(code, timeout=120):
    """Run ``code`` in a fresh interpreter (a new session) with this test's environment."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=dict(os.environ), timeout=timeout, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done


def _one_warning(caught, *fragments):
    """Exactly one ProgressFileWarning, containing every fragment; returns its text."""
    texts = [str(w.message) for w in caught if issubclass(w.category, quiz.ProgressFileWarning)]
    assert len(texts) == 1, texts
    for fragment in fragments:
        assert fragment in texts[0], (fragment, texts[0])
    return texts[0]


def test_location_env_var_and_default(monkeypatch, tmp_path, progress_file):
    assert quiz.progress_path() == progress_file
    monkeypatch.delenv("BN_COURSE_PROGRESS")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    default = quiz.progress_path()
    assert default == tmp_path / "home" / ".bn_course" / "progress.json"
    assert REPO not in default.parents


def test_answers_survive_a_new_session(progress_file):
    """Answer in the widgets, then a fresh Python process shows the same answers and score."""
    shown = quiz.show("01_alpha", text=False)
    one, many, number = shown.questions
    one.answer_widget.value = 2
    one.check_button.click()
    number.answer_widget.value = "0.5"
    number.check_button.click()
    for i in correct_answer(many.question.spec):
        many.option_widgets[i].value = True
    many.check_button.click()
    assert progress_file.exists()
    assert not [p for p in progress_file.parent.iterdir() if p.suffix == ".tmp"]  # atomic: no leftovers
    done = _python("""
        import json
        from bn_course import quiz
        shown = quiz.show("01_alpha", text=False)
        one, many, number = shown.questions
        print(json.dumps([one.answer_widget.value, number.answer_widget.value,
                          [box.value for box in many.option_widgets], number.feedback.value, shown.score.value]))
    """)
    radio, typed, boxes, feedback, score = json.loads(done.stdout)
    assert (radio, typed, boxes) == (2, "0.5", [True, False, True])
    assert "Your saved answer (1 check so far)" in feedback and "you halved instead of quartering" in feedback
    assert "Score: 1 / 3 correct" in score and "3 of 3 answered" in score


def test_attempts_wrong_answers_and_latest_answer_are_kept():
    quiz.answer("01_alpha", "pick-one", "a")
    quiz.answer("01_alpha", "pick-one", "c")
    quiz.answer("01_alpha", "pick-one", "a")
    quiz.answer("01_alpha", "pick-one", "b")
    record = store.load()["01_alpha"]["pick-one"]
    assert record["attempts"] == 4 and record["correct"] is True and record["answer"] == 1
    assert record["wrong"] == [2, 0]  # each wrong answer once, most recent last, for the class summary
    quiz.answer("01_alpha", "pick-many", "a, c")
    assert "wrong" not in store.load()["01_alpha"]["pick-many"]


@pytest.mark.parametrize("damage", [
    '{"format": 1, "banks": {"02_beta": {"batch-mean": {"answer": 4.5, "corr',  # cut short
    "\x00\x00\x00\x00",  # zeros after a crash
    '["not", "a", "progress", "file"]',
    '{"format": 1, "banks": {"02_beta": 7}}',
    '{"format": "one", "banks": {}}',
])
def test_a_corrupted_file_is_moved_aside_with_a_warning(progress_file, damage):
    progress_file.parent.mkdir(parents=True)
    progress_file.write_text(damage, encoding="utf-8")
    with pytest.warns(quiz.ProgressFileWarning, match="could not be read .* moved to progress.json.corrupt-"):
        result = quiz.answer("02_beta", "batch-mean", 4.5)
    assert result.correct
    aside = list(progress_file.parent.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == damage  # kept for the learner
    assert list(store.load()) == ["02_beta"]  # the new answer was saved in a fresh file
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file gives no warning at all
        quiz.answer("02_beta", "biased", "a")
    assert len(store.load()["02_beta"]) == 2


def test_a_record_that_does_not_parse_is_kept(progress_file):
    """One damaged record is ignored by the quiz but never dropped when the file is rewritten."""
    progress_file.parent.mkdir(parents=True)
    damaged = {"02_beta": {"batch-mean": "garbage", "biased": {"answer": 2}},  # no "correct": unusable
               "01_alpha": {"pick-one": {"answer": 1, "correct": True, "attempts": 1}},
               "09_from_a_newer_course": {"q": {"answer": 0, "correct": False}}}
    progress_file.write_text(json.dumps({"format": 1, "banks": damaged}), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shown = quiz.show("02_beta", text=False)
        assert shown.answered == 0 and shown.notice.value == ""
        assert quiz.answer("01_alpha", "pick-many", "a, c").correct
    on_disk = json.loads(progress_file.read_text(encoding="utf-8"))["banks"]
    for kept in ("02_beta", "09_from_a_newer_course"):
        assert on_disk[kept] == damaged[kept]
    assert set(on_disk["01_alpha"]) == {"pick-one", "pick-many"}
    assert store.load()["02_beta"] == {}
    assert quiz.answer("02_beta", "batch-mean", 4.5).correct  # answering again replaces the damaged record
    assert store.load()["02_beta"]["batch-mean"]["attempts"] == 1


def test_a_file_from_a_newer_course_is_left_untouched(progress_file):
    progress_file.parent.mkdir(parents=True)
    newer = json.dumps({"format": 2, "banks": {"02_beta": {"batch-mean": {"answer": 4.5, "correct": True}}},
                        "extra": "something this version does not know"})
    progress_file.write_text(newer, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        result = quiz.answer("02_beta", "batch-mean", 4.25)
    assert not result.correct and result.record is None and "mean of all eight numbers" in repr(result)
    _one_warning(caught, "graded but not saved", "newer version of this course", "format 2", "left untouched",
                 "git pull", "BN_COURSE_PROGRESS")
    with warnings.catch_warnings(record=True) as caught:
        shown = quiz.show("02_beta", text=False)
    assert not caught and "newer version of this course" in shown.notice.value
    view = shown.questions[0]
    view.answer_widget.value = "4.5"
    view.check_button.click()
    assert "Correct." in view.feedback.value and "not saved" in view.feedback.value
    with pytest.warns(quiz.ProgressFileWarning, match="newer version"):
        assert "Nothing was deleted" in quiz.reset(confirm=True)
    assert progress_file.read_text(encoding="utf-8") == newer  # byte for byte
    assert not list(progress_file.parent.glob("*.corrupt-*"))


def _unusable(kind, tmp_path):
    """A progress path that cannot be used, and what the warning must say about it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    if kind == "is a folder":
        folder = tmp_path / "progress-folder"
        folder.mkdir()
        return folder, [str(folder), "is a folder, not a file"]
    if kind == "folder under a file":
        return blocker / "progress.json", [str(blocker), "is a file, so the folder"]
    return blocker / "deeper" / "progress.json", [str(blocker), f"folder {blocker / 'deeper'} cannot be created"]


@pytest.mark.parametrize("kind", ["is a folder", "folder under a file", "folders under a file"])
def test_an_unusable_path_still_grades_with_one_warning(kind, tmp_path, monkeypatch):
    path, says = _unusable(kind, tmp_path)
    monkeypatch.setenv("BN_COURSE_PROGRESS", str(path))
    with warnings.catch_warnings(record=True) as caught:
        result = quiz.answer("02_beta", "batch-mean", 4.5)
    assert result.correct and result.record is None and "36 / 8 = 4.5" in repr(result)
    _one_warning(caught, "graded but not saved", *says, "BN_COURSE_PROGRESS", "os.environ")
    # the widgets: feedback plus the same message, in the question itself, and nothing on stderr
    with warnings.catch_warnings(record=True) as caught:
        shown = quiz.show("01_alpha", text=False)
        view = shown.questions[0]
        view.answer_widget.value = 3
        view.check_button.click()
    assert not caught
    assert "Not quite." in view.feedback.value and "Those are the axes" in view.feedback.value
    assert "not saved" in view.feedback.value and "BN_COURSE_PROGRESS" in view.feedback.value
    assert view.state is False and "1 of 3 answered" in shown.score.value
    # the other entry points answer too, with at most one warning each, never a traceback
    for call in (quiz.progress, lambda: quiz.text("02_beta"), lambda: quiz.reset(confirm=True)):
        with warnings.catch_warnings(record=True) as caught:
            result = call()
        assert len(caught) <= 1
    assert "Nothing was deleted" in result or "(0 answers)" in result


def test_a_file_that_can_be_read_but_not_locked_is_still_read(progress_file, monkeypatch):
    """E.g. an instructor reading a learner's progress in a folder they cannot write to."""
    quiz.answer("02_beta", "biased", "c")

    def no_permission(path):
        raise PermissionError(13, "Permission denied", str(path) + ".lock")

    monkeypatch.setattr(store, "_locked", no_permission)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load()["02_beta"]["biased"]["correct"] is True
    with warnings.catch_warnings(record=True) as caught:
        assert quiz.answer("02_beta", "batch-mean", 4.5).record is None
    _one_warning(caught, "not saved", "you have no permission to write", ".lock", "BN_COURSE_PROGRESS")


def test_the_widgets_tell_the_learner_about_a_corrupted_file(progress_file):
    progress_file.parent.mkdir(parents=True)
    progress_file.write_text("{oops", encoding="utf-8")
    shown = quiz.show("02_beta", text=False)
    assert "moved to progress.json.corrupt-" in shown.notice.value
    view = shown.questions[1]
    view.answer_widget.value = 2
    view.check_button.click()
    assert "Correct." in view.feedback.value and "⚠" not in view.feedback.value
    assert store.load()["02_beta"]["biased"]["correct"] is True


def test_clean_runs_are_silent(progress_file, recwarn):
    quiz.show("02_beta", text=False)  # no file yet
    quiz.answer("02_beta", "biased", "c")
    quiz.show("02_beta", text=False)
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
            store.record("02_beta", f"{{who}}-{{i}}", i, i % 2 == 0)
            store.record("01_alpha", "shared", i, True)
    """)
    workers = [subprocess.Popen([sys.executable, "-c", code, who], env=dict(os.environ), cwd=REPO,
                                stderr=subprocess.PIPE, text=True) for who in ("first", "second")]
    time.sleep(1.5)  # both interpreters are up and waiting
    go.touch()
    for worker in workers:
        assert worker.wait(timeout=240) == 0, worker.stderr.read()
    saved = store.load()
    keys = set(saved["02_beta"])
    assert keys == {f"{who}-{i}" for who in ("first", "second") for i in range(40)}
    assert saved["01_alpha"]["shared"]["attempts"] == 80
    assert not list(progress_file.parent.glob("*.corrupt-*"))
    assert not list(progress_file.parent.glob("*.tmp"))


def test_progress_table(progress_file):
    quiz.answer("02_beta", "batch-mean", 4.5)
    quiz.answer("02_beta", "biased", "b")
    quiz.answer("01_alpha", "pick-one", "b")
    report = quiz.progress()
    rows = {row[0]: row for row in report.rows}
    assert set(rows) == {"01_alpha", "02_beta", "07_review"}
    assert rows["02_beta"][2:] == (2, 1, 2) and rows["01_alpha"][2:] == (1, 1, 3)
    text = repr(report)
    assert "02 · Beta" in text and "answered" in text and str(progress_file) in text
    markdown = report._repr_markdown_()
    assert markdown.startswith("| notebook | answered | correct | questions |")
    assert "| 01 · Alpha quiz | 1 | 1 | 3 |" in markdown and "| **all** | **3** | **2** | **7** |" in markdown


def test_reset_asks_for_confirmation(progress_file):
    quiz.answer("02_beta", "batch-mean", 4.5)
    quiz.answer("01_alpha", "pick-one", "b")
    message = quiz.reset("02_beta")
    assert "would delete your saved answers to 02_beta (1 answer)" in message
    assert "quiz.reset('02_beta', confirm=True)" in message and "Nothing was deleted" in message
    assert repr(message) == str(message)  # shown without quotes
    assert set(store.load()) == {"02_beta", "01_alpha"}
    assert "Deleted" in quiz.reset("02_beta", confirm=True)
    assert set(store.load()) == {"01_alpha"}
    assert "quiz.reset(confirm=True)" in quiz.reset()
    quiz.reset(confirm=True)
    assert store.load() == {}
    with pytest.raises(quiz.QuizError):
        quiz.reset("99_nope")


def test_saving_without_fcntl(monkeypatch, progress_file):
    """On Windows (no fcntl) saves work without a lock."""
    monkeypatch.setattr(store, "fcntl", None)
    quiz.answer("02_beta", "biased", "c")
    quiz.answer("02_beta", "batch-mean", 4.5)
    assert len(store.load()["02_beta"]) == 2
