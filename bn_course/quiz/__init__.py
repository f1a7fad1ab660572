"""The quizzes at the end of each notebook (introduced in notebook 00)::

    from bn_course import quiz
    quiz.show("02_numpy_formula")                            # widgets: choose, press Check, read the feedback
    quiz.text("02_numpy_formula")                            # without widgets: the questions and their ids
    quiz.answer("02_numpy_formula", "biased-variance", "b")  # grade, save, explain

Also :func:`progress`, :func:`reset`, :func:`report` (a file to hand in), :func:`classroom` (answers shown, for
projecting; or ``BN_COURSE_CLASSROOM=1``) and ``python -m bn_course.quiz export|report|summary``. Answers are
saved in ``$BN_COURSE_PROGRESS`` (default ``~/.bn_course/progress.json``); a problem with that file never stops
the grading. Parts: :mod:`.bank`, :mod:`.grading`, :mod:`.store`, :mod:`.text`, :mod:`.view`, :mod:`.reports`.
"""

import dataclasses
import os

from bn_course.quiz import reports, store
from bn_course.quiz.bank import BankError, QuizError, bank_names, load_bank
from bn_course.quiz.grading import grade
from bn_course.quiz.store import ProgressFileWarning, progress_path
from bn_course.quiz.text import bank_markdown, markdown_table

__all__ = ["show", "text", "answer", "progress", "reset", "report", "classroom", "last_shown", "load_bank",
           "bank_names", "grade", "progress_path", "QuizError", "BankError", "ProgressFileWarning"]

last_shown = None  # the QuizView shown last (tests click through it)
_classroom = None  # None: follow $BN_COURSE_CLASSROOM


class Notice(str):
    """A message shown without quotes."""

    def __repr__(self):
        return str(self)


def classroom(on=True):
    """Classroom mode: quizzes shown from now on reveal each answer and its explanation (for projecting)."""
    global _classroom
    _classroom = bool(on)
    state = "on: quizzes shown from now on reveal their answers" if on else "off: answers stay hidden"
    return Notice(f"Classroom mode is {state}. Re-run a quiz cell to redraw it.")


def _in_kernel():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def show(bank, text=None):
    """Show bank ``bank`` as widgets, saved answers and their feedback included, and return the view.
    ``text=True`` prints it as Markdown instead, which is the default outside a Jupyter kernel."""
    global last_shown
    loaded, in_kernel = load_bank(bank), _in_kernel()
    on = _classroom if _classroom is not None else \
        os.environ.get("BN_COURSE_CLASSROOM", "").strip().lower() in ("1", "true", "yes", "on")
    if text or (text is None and not in_kernel):
        saved = store.load().get(loaded.name, {})
        done = [f"{q.key}: {'right' if saved[q.key]['correct'] else 'wrong'} so far" for q in loaded.questions
                if q.key in saved]
        footer = (f"Answer with quiz.answer({loaded.name!r}, \"<question id>\", answer): a letter such as \"b\" "
                  "(choose one), letters such as \"a, c\" (choose all that apply), or a number.")
        if done:
            footer += "\n\nYour saved answers: " + "; ".join(done) + "."
        print(bank_markdown(loaded, answers=on, show_keys=True, heading="#", footer=footer))
        return None
    from bn_course.quiz.view import QuizView

    last_shown = QuizView(loaded, classroom=on)
    if in_kernel:
        last_shown._ipython_display_()
    return last_shown


def text(bank):
    """Print bank ``bank`` as Markdown, with the question ids :func:`answer` needs."""
    show(bank, text=True)


def answer(bank, question_id, value):
    """Grade ``value`` for one question, save it, and return the verdict (a :class:`~.grading.Grade`).

    ``value``: a letter (``"b"``) or 0-based index; for "all that apply", letters (``"a, c"``) or a list;
    for a number, a number or a string holding one. Bad input raises a :class:`QuizError` saying what to fix.
    """
    loaded = load_bank(bank)
    question = next((q for q in loaded.questions if q.key == question_id), None)
    if question is None:
        keys = ", ".join(q.key for q in loaded.questions)
        raise QuizError(f"bank {loaded.name!r} has no question {question_id!r}; its questions are: {keys}")
    result = grade(question.spec, value)
    return dataclasses.replace(result, key=question.key,
                               record=store.record(bank, question.key, result.answer, result.correct))


class Progress:
    """``rows``: ``(bank, title, answered, correct, total)`` per bank; shown as a Markdown table."""

    def __init__(self, rows, path):
        self.rows, self.path = rows, path

    def __repr__(self):
        totals = [f"**{sum(row[i] for row in self.rows)}**" for i in (2, 3, 4)]
        lines = markdown_table(["notebook", "quiz", "answered", "correct", "total"], "llrrr",
                               [*self.rows, ("**all**", "", *totals)])
        return "\n".join(lines) + f"\n\nSaved in `{self.path}`."

    _repr_markdown_ = __repr__


def progress():
    """How many questions of each bank you answered, and got right."""
    notebooks = reports.build("", store.load())["notebooks"]
    return Progress([(name, nb["title"], *reports.counts(nb["questions"])) for name, nb in notebooks.items()],
                    progress_path())


def reset(bank=None, confirm=False):
    """Delete the saved answers of one bank (of all with ``bank=None``); without ``confirm=True``, only say
    what would be deleted."""
    saved = store.load()
    if bank is not None and bank not in bank_names() and bank not in saved:
        raise QuizError(f"no quiz bank named {bank!r}; banks are: {', '.join(bank_names())}")
    count = sum(map(len, saved.values())) if bank is None else len(saved.get(bank, {}))
    what = "all your saved quiz answers" if bank is None else f"your saved answers to {bank}"
    if not confirm:
        call = "quiz.reset(confirm=True)" if bank is None else f"quiz.reset({bank!r}, confirm=True)"
        return Notice(f"This would delete {what} ({count} answer{'s' if count != 1 else ''}) "
                      f"from {progress_path()}. Nothing was deleted; to do it, run {call}")
    try:
        removed = store.clear(bank)
    except store.ProgressUnavailable as error:
        return Notice(f"Nothing was deleted: {error}.")
    return Notice(f"Deleted {what} ({removed} answer{'s' if removed != 1 else ''}).")


def report(name=None, path=None, progress_file=None):
    """Write your quiz results to a file to hand in (``path``, default ``bn-course-report-<name>.json`` here)
    and return them, shown as Markdown. ``name``: yours (asked for if missing); ``progress_file``: whose
    progress to report (default yours)."""
    if not (isinstance(name, str) and name.strip()):
        try:
            name = input("Your name or initials (they go in the report you hand in): ")
        except (EOFError, OSError, RuntimeError, NotImplementedError):  # no keyboard input here
            name = ""
    if not name.strip():
        raise QuizError('a report needs your name or initials: quiz.report("AB")')
    return reports.write(name.strip(), store.load(progress_file), path)
