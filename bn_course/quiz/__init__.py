"""The quizzes at the end of each notebook (introduced in notebook 00).

In a notebook::

    from bn_course import quiz
    quiz.show("02_numpy_formula")        # widgets: choose, press Check, read the feedback

Without widgets (a console, a static viewer)::

    quiz.text("02_numpy_formula")                          # the questions, with their ids
    quiz.answer("02_numpy_formula", "biased-variance", "b")  # grade, save, explain

Also: :func:`progress` (a table per notebook), :func:`reset` (asks for
``confirm=True``), :func:`report` (a file to hand in to an instructor), :func:`classroom`
(reveal answers for projecting; or set ``BN_COURSE_CLASSROOM=1``), and the command line
``python -m bn_course.quiz export|report|summary`` (see :mod:`.__main__`). Answers are saved
in ``$BN_COURSE_PROGRESS``, by default ``~/.bn_course/progress.json``; a problem with that
file never stops the grading (see :mod:`.store`).

The parts: :mod:`.bank` (loading, validation, references), :mod:`.grading` (pure
grading functions), :mod:`.store` (the progress file), :mod:`.text` (Markdown,
labels, export), :mod:`.view` (the widgets), :mod:`.reports` (reports and the class
summary), :mod:`.__main__` (the command line).
"""

import os

from bn_course.quiz import reports, store
from bn_course.quiz.bank import (AnswerError, BankError, QuizError, UnknownBankError, UnknownQuestionError,
                                 bank_names, load_bank)
from bn_course.quiz.grading import grade
from bn_course.quiz.store import ProgressFileWarning, progress_path
from bn_course.quiz.text import bank_markdown

__all__ = [
    "show", "text", "answer", "progress", "reset", "report", "classroom", "last_shown",
    "load_bank", "bank_names", "grade", "progress_path",
    "QuizError", "UnknownBankError", "UnknownQuestionError", "AnswerError", "BankError", "ProgressFileWarning",
]

last_shown = None
"""The :class:`~bn_course.quiz.view.QuizView` most recently shown (tests click through it)."""

_classroom = None  # None: follow $BN_COURSE_CLASSROOM


class Notice(str):
    """A message that Jupyter and the console show as plain text (no quotes)."""

    def __repr__(self):
        return str(self)


def classroom(on=True):
    """Switch classroom mode: quizzes shown afterwards reveal each answer and its explanation.

    For projecting in class. ``BN_COURSE_CLASSROOM=1`` in the environment turns it on
    for every notebook; ``classroom(False)`` turns it off for this session.
    """
    global _classroom
    _classroom = bool(on)
    state = "on: quizzes shown from now on reveal their answers" if on else "off: answers stay hidden"
    return Notice(f"Classroom mode is {state}. Re-run a quiz cell to redraw it.")


def classroom_mode():
    """True if classroom mode is on (by :func:`classroom` or ``BN_COURSE_CLASSROOM=1``)."""
    if _classroom is not None:
        return _classroom
    return os.environ.get("BN_COURSE_CLASSROOM", "").strip().lower() in ("1", "true", "yes", "on")


def _in_kernel():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def show(bank, text=None):
    """Show bank ``bank`` (e.g. ``"02_numpy_formula"``) as widgets and return the view.

    Saved answers come back with their feedback, and the score counts them.
    ``text=True`` prints the questions instead (as :func:`text` does); the default
    does so by itself outside a Jupyter kernel. An unknown bank raises
    :class:`UnknownBankError`, shown in Jupyter as one line naming the banks there are.
    """
    global last_shown
    loaded = load_bank(bank)
    if text or (text is None and not _in_kernel()):
        print(_text_view(loaded))
        return None
    from bn_course.quiz.view import QuizView

    view = QuizView(loaded, classroom=classroom_mode())
    last_shown = view
    if _in_kernel():
        view._ipython_display_()
    return view


def _text_view(loaded):
    saved = store.load().get(loaded.name, {})
    lines = []
    for question in loaded.questions:
        record = saved.get(question.key)
        if record:
            lines.append(f"{question.key}: {'right' if record.get('correct') else 'wrong'} so far")
    footer = (f"Answer with quiz.answer({loaded.name!r}, \"<question id>\", answer): a letter such as \"b\" "
              "(choose one), letters such as \"a, c\" (choose all that apply), or a number.")
    if lines:
        footer += "\n\nYour saved answers: " + "; ".join(lines) + "."
    return bank_markdown(loaded, answers=classroom_mode(), show_keys=True, heading="#", footer=footer)


def text(bank):
    """Print bank ``bank`` as plain Markdown text, with the question ids :func:`answer` needs."""
    print(_text_view(load_bank(bank)))


class Answer:
    """The result of :func:`answer`: ``correct``, ``grade`` (a :class:`~bn_course.quiz.grading.Grade`),
    ``record`` (what was saved, or None if it could not be: a warning then says why)."""

    def __init__(self, bank, key, grade_, record):
        self.bank, self.key, self.grade, self.record = bank, key, grade_, record
        self.correct = grade_.correct

    def __str__(self):
        return f"{self.key}: " + self.grade.markdown()

    __repr__ = __str__

    def _repr_markdown_(self):
        return f"`{self.key}` · " + self.grade.markdown()


def answer(bank, question_id, value):
    """Grade ``value`` for one question, save it, and return the feedback (an :class:`Answer`).

    ``value``: a letter (``"b"``) or 0-based index for choose-one; letters (``"a, c"``,
    ``["a", "c"]``) or indices for choose-all; a number or a string holding one for
    numeric questions. Bad input raises a :class:`QuizError` whose one-line message
    says what to fix (unknown bank or question id, not a number, no such option). If the
    progress file cannot be written, the answer is still graded and one
    :class:`ProgressFileWarning` says where and how to fix it.
    """
    loaded = load_bank(bank)
    question = loaded.question(question_id)
    result = grade(question.spec, value)
    record = store.record(loaded.name, question.key, result.answer, result.correct)
    return Answer(loaded.name, question.key, result, record)


class Progress:
    """Answered / correct / total per bank; shown as a table in Jupyter and as text in a console.

    ``rows`` is a list of ``(bank, title, answered, correct, total)``.
    """

    def __init__(self, rows, path):
        self.rows, self.path = rows, path

    def _table(self):
        head = ["notebook", "quiz", "answered", "correct", "total"]
        body = [[bank, title, str(a), str(c), str(t)] for bank, title, a, c, t in self.rows]
        totals = [sum(row[i] for row in self.rows) for i in (2, 3, 4)]
        body.append(["all", "", *map(str, totals)])
        return head, body

    def _repr_markdown_(self):
        head, body = self._table()
        lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---:|---:|"]
        lines += ["| " + " | ".join(row) + " |" for row in body[:-1]]
        lines.append("| **" + "** | ".join(body[-1][:1]) + "** | | " + " | ".join(f"**{x}**" for x in body[-1][2:]) + " |")
        return "\n".join(lines) + f"\n\nSaved in `{self.path}`."

    def __repr__(self):
        head, body = self._table()
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
        fmt = lambda row: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        return "\n".join([fmt(head), *map(fmt, body), f"Saved in {self.path}"])


def progress():
    """Your quiz progress: for each bank, how many questions you answered and got right."""
    saved = store.load()
    rows = []
    for name in bank_names():
        try:
            loaded = load_bank(name)
        except QuizError:
            continue  # a broken bank is reported by the tests, not here
        records = saved.get(name, {})
        keys = [q.key for q in loaded.questions]
        answered = sum(k in records for k in keys)
        correct = sum(bool(records.get(k, {}).get("correct")) for k in keys)
        rows.append((name, loaded.title, answered, correct, len(keys)))
    return Progress(rows, progress_path())


def reset(bank=None, confirm=False):
    """Delete saved answers: of one bank, or of all with ``bank=None``.

    Without ``confirm=True`` nothing is deleted; the message says what would be and how to confirm.
    """
    saved = store.load()
    if bank is not None and bank not in bank_names() and bank not in saved:
        raise UnknownBankError(f"no quiz bank named {bank!r}; banks are: {', '.join(bank_names())}")
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


def _ask_name():
    try:
        name = input("Your name or initials (they go in the report you hand in): ")
    except (EOFError, OSError, RuntimeError, NotImplementedError):  # no keyboard input here
        name = ""
    if not name.strip():
        raise QuizError('a report needs your name or initials: quiz.report("AB")')
    return name.strip()


def report(name=None, path=None, progress_file=None):
    """Write your quiz results to a file you can hand in, and show them as Markdown.

    ``name``: your name or initials (asked for if not given). ``path``: where to write
    (default ``bn-course-report-<name>.json`` in the current folder, i.e. next to the
    notebook). ``progress_file``: whose progress to report (default yours,
    :func:`progress_path`). Returns a :class:`~bn_course.quiz.reports.Report`.
    """
    name = name.strip() if isinstance(name, str) and name.strip() else _ask_name()
    return reports.write(name, store.load(progress_file), path)
