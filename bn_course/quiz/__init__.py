"""The quizzes at the end of each notebook (introduced in notebook 00): ``quiz.show(bank)`` (widgets),
``quiz.text(bank)`` and ``quiz.answer(bank, question_id, value)`` (without widgets), :func:`progress`,
:func:`reset`, :func:`report`, :func:`classroom`; ``python -m bn_course.quiz export|report|summary``."""

import dataclasses
import os

from bn_course.quiz import reports, store
from bn_course.quiz.bank import BankError, QuizError, bank_names, load_bank
from bn_course.quiz.grading import grade
from bn_course.quiz.store import ProgressFileWarning, progress_path
from bn_course.quiz.text import bank_markdown, plural

__all__ = ["show", "text", "answer", "progress", "reset", "report", "classroom", "last_shown", "load_bank",
           "bank_names", "grade", "progress_path", "QuizError", "BankError", "ProgressFileWarning"]

last_shown = None  # the QuizView shown last (tests click through it)
_classroom = None  # None: follow $BN_COURSE_CLASSROOM


class Notice(str):
    """A message shown without quotes."""
    __repr__ = str.__str__


def classroom(on=True):
    """Quizzes shown from now on reveal each answer and its explanation (or ``BN_COURSE_CLASSROOM=1``)."""
    global _classroom
    _classroom = bool(on)
    state = "on: quizzes shown from now on reveal their answers" if on else "off: answers stay hidden"
    return Notice(f"Classroom mode is {state}. Re-run a quiz cell to redraw it.")


def show(bank, text=None):
    """Show bank ``bank`` as widgets and return the view; as Markdown with ``text=True`` or outside a kernel."""
    global last_shown
    from IPython import get_ipython

    loaded, in_kernel = load_bank(bank), getattr(get_ipython(), "kernel", None) is not None
    on = _classroom
    if on is None:
        on = os.environ.get("BN_COURSE_CLASSROOM", "").strip().lower() in ("1", "true", "yes", "on")
    if text or (text is None and not in_kernel):
        saved = store.load().get(loaded.name, {})
        done = "; ".join(f"{q.key}: {'right' if saved[q.key]['correct'] else 'wrong'} so far"
                         for q in loaded.questions if q.key in saved)
        print(bank_markdown(loaded, answers=on, show_keys=True, heading="#"))
        if done:
            print(f"Your saved answers: {done}.")
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
    """Grade ``value`` (``"b"``, ``"a, c"``, ``0.25``: see :mod:`.grading`), save it, return the :class:`Grade`."""
    loaded = load_bank(bank)
    questions = {q.key: q for q in loaded.questions}
    if question_id not in questions:
        raise QuizError(f"bank {loaded.name!r} has no question {question_id!r}; its questions are: "
                        + ", ".join(questions))
    result = grade(questions[question_id].spec, value)
    return dataclasses.replace(result, key=question_id,
                               record=store.record(bank, question_id, result.answer, result.correct))


def progress():
    """How many questions of each bank you answered, and got right."""
    return reports.Report(reports.build("", store.load()), progress_path(), full=False)


def reset(bank=None, confirm=False):
    """Delete the saved answers of ``bank`` (all with None); without ``confirm=True`` only say what it would do."""
    saved = store.load()
    if bank is not None and bank not in bank_names() and bank not in saved:
        raise QuizError(f"no quiz bank named {bank!r}; banks are: {', '.join(bank_names())}")
    what = "all your saved quiz answers" if bank is None else f"your saved answers to {bank}"
    if not confirm:
        count = sum(len(records) for name, records in saved.items() if bank in (None, name))
        call = "quiz.reset(confirm=True)" if bank is None else f"quiz.reset({bank!r}, confirm=True)"
        return Notice(f"This would delete {what} ({plural(count, 'answer')}) "
                      f"from {progress_path()}. Nothing was deleted; to do it, run {call}")
    try:
        return Notice(f"Deleted {what} ({plural(store.clear(bank), 'answer')}).")
    except store.ProgressUnavailable as error:
        return Notice(f"Nothing was deleted: {error}.")


def report(name=None, path=None, progress_file=None):
    """Write your quiz results to a file to hand in (``path``) and return them; ``name`` is asked for if missing."""
    if not (isinstance(name, str) and name.strip()):
        try:
            name = input("Your name or initials (they go in the report you hand in): ")
        except (EOFError, OSError, RuntimeError, NotImplementedError):  # no keyboard input here
            name = ""
    if not name.strip():
        raise QuizError('a report needs your name or initials: quiz.report("AB")')
    return reports.write(name.strip(), store.load(progress_file), path)
