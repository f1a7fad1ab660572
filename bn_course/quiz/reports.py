"""For instructors: a learner's quiz report to hand in (``quiz.report``; ``quiz.progress`` shows its overview), and the
class summary of many (per notebook, completion; per question, hardest first, share correct, commonest wrong answer)."""

import csv
import io
import json
import re
import warnings
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from bn_course.quiz.bank import QuizError, bank_names, load_bank
from bn_course.quiz.grading import answer_text
from bn_course.quiz.text import markdown_table, plural

KIND = "bn-course-quiz-report"
FORMAT = 1
_RESULT = {(True, True): "✔ right", (True, False): "✘ wrong", (False, False): "not answered"}


def _entry(number, question, record):
    record = record or {}
    wrong = (answer_text(question.spec, value) for value in record.get("wrong", []))
    return {"number": number, "kind": question.kind, "answered": bool(record),
            "correct": record.get("correct", False), "attempts": record.get("attempts", 1) if record else 0,
            "answer": answer_text(question.spec, record.get("answer")),
            "wrong": list(dict.fromkeys(w for w in wrong if w is not None))}


def build(learner, saved):
    """The report of ``learner`` from saved progress ``{bank: {question_key: record}}``; banks that do not load are
    left out, with one warning naming each and why."""
    notebooks, broken = {}, []
    for name in bank_names():
        try:
            bank = load_bank(name)
        except QuizError as error:
            broken.append(str(error))
            continue
        questions = {q.key: _entry(n, q, saved.get(name, {}).get(q.key)) for n, q in enumerate(bank.questions, 1)}
        notebooks[name] = {"title": bank.title, "questions": questions}
    if broken:
        warnings.warn("Quiz banks left out (broken; tell your instructor): " + "; ".join(broken), stacklevel=3)
    return {"kind": KIND, "format": FORMAT, "learner": learner,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "notebooks": notebooks}


def counts(questions):
    return sum(q["answered"] for q in questions.values()), sum(q["correct"] for q in questions.values()), len(questions)


class Report:
    """A report (``data``) and its ``path``, shown as Markdown; ``full=False``: only the overview table."""

    def __init__(self, data, path, full=True):
        self.data, self.path, self.full = data, Path(path), full

    @property
    def rows(self):
        """``(bank, title, answered, correct, total)`` per notebook."""
        return [(name, nb["title"], *counts(nb["questions"])) for name, nb in self.data["notebooks"].items()]

    def markdown(self):
        rows = [(f"{name[:2]} · {title}", *numbers) for name, title, *numbers in self.rows]
        rows.append(("**all**", *(f"**{sum(row[i] for row in self.rows)}**" for i in (2, 3, 4))))
        table = markdown_table(["notebook", "answered", "correct", "questions"], "lrrr", rows)
        if not self.full:
            return "\n".join(table) + f"\n\nSaved in `{self.path}`.\n"
        lines = [f"## Quiz report: {self.data['learner']}", "",
                 f"Saved in `{self.path}`: hand in that file. The tables below are for you.", "", *table]
        for name, notebook in self.data["notebooks"].items():
            if counts(notebook["questions"])[0]:
                rows = [(q["number"], f"`{key}`", q["answer"] or "—", _RESULT[q["answered"], q["correct"]],
                         q["attempts"]) for key, q in notebook["questions"].items()]
                lines += ["", f"### {name[:2]} · {notebook['title']}", "",
                          *markdown_table(["#", "question", "your last answer", "result", "checks"], "rlllr", rows)]
        return "\n".join(lines) + "\n"

    _repr_markdown_ = __repr__ = markdown


def write(learner, saved, path=None):
    """Write the report of ``learner`` (default: ``bn-course-report-<name>.json`` here)."""
    data = build(learner, saved)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", learner).strip("-") or "learner"
    path = Path(path) if path else Path.cwd() / f"bn-course-report-{slug}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Report(data, path)


def _check(data):
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ValueError("not a quiz report (reports are written by quiz.report())")
    if type(data.get("format")) is not int or data["format"] > FORMAT:
        raise ValueError(f"report format {data.get('format')!r} is not one this course reads (format {FORMAT}); "
                         "update the course")
    if not isinstance(data.get("learner"), str) or not isinstance(data.get("notebooks"), dict):
        raise ValueError("damaged report: no learner or no notebooks")
    fields = {"answered": bool, "correct": bool, "number": int, "wrong": list}
    for name, notebook in data["notebooks"].items():
        questions = notebook.get("questions") if isinstance(notebook, dict) else None
        if not isinstance(questions, dict) or not all(isinstance(q, dict) and all(
                isinstance(q.get(field), kind) for field, kind in fields.items()) for q in questions.values()):
            raise ValueError(f"damaged report: notebook {name!r} does not parse")


def read_reports(paths):
    """``(reports, skipped)``: the readable reports, and ``(path, reason)`` for the rest."""
    found, skipped = [], []
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            _check(data)
            found.append(data)
        except OSError as error:
            skipped.append((path, error.strerror or str(error)))
        except ValueError as error:  # not JSON (or not UTF-8), or what _check found
            not_json = isinstance(error, (json.JSONDecodeError, UnicodeError))
            skipped.append((path, "not JSON" if not_json else str(error)))
    return found, skipped


def _summarize(reports):
    notebooks, questions = {}, {}
    for data in reports:
        for name, notebook in data["notebooks"].items():
            answered, correct, total = counts(notebook["questions"])
            row = notebooks.setdefault(name, Counter())
            row.update(learners=1, started=int(answered > 0), complete=int(answered == total), answered=answered,
                       correct=correct)
            row["total"] = max(row["total"], total)
            for key, q in notebook["questions"].items():
                row = questions.setdefault((name, key), {"notebook": name, "number": q["number"], "question": key,
                                                         "kind": q.get("kind"), "learners": 0, "answered": 0,
                                                         "correct": 0, "wrong": Counter()})
                row["learners"] += 1
                row["answered"] += q["answered"]
                row["correct"] += q["correct"]
                row["wrong"].update(set(map(str, q["wrong"])))
    for row in questions.values():
        row["share"] = row["correct"] / row["answered"] if row["answered"] else None
        row["most_wrong"], row["chose_it"] = min(row["wrong"].items(), key=lambda item: (-item[1], item[0]),
                                                 default=(None, 0))
    return dict(sorted(notebooks.items())), sorted(questions.values(), key=lambda r: (
        r["share"] is None, r["share"] or 0, -r["answered"], r["notebook"], r["number"]))


def summary_markdown(reports, skipped=()):
    notebooks, questions = _summarize(reports)
    names = ", ".join(sorted(data["learner"] for data in reports))
    completion = [(name, f"{r['started']} of {r['learners']}", f"{r['complete']} of {r['learners']}",
                   f"{r['answered'] / r['learners']:.1f}", f"{r['correct'] / r['learners']:.1f}", r["total"])
                  for name, r in notebooks.items()]
    lines = [f"# Class summary: {plural(len(reports), 'report')} ({names})", "",
             "## Completion per notebook", "",
             *markdown_table(["notebook", "started", "completed", "answered (mean)", "correct (mean)", "questions"],
                             "lrrrrr", completion),
             "", "## Questions, hardest first", "",
             "*Share correct*: right at the last check, among the learners who answered. *Most common wrong "
             "answer*: the wrong answer the most learners gave at least once.", ""]
    rows = []
    for r in questions:
        wrong = r["most_wrong"] if r["kind"] == "numeric" else f"({r['most_wrong']})"
        wrong = f"{wrong}: {plural(r['chose_it'], 'learner')}" if r["chose_it"] else "—"
        share = "—" if r["share"] is None else f"{100 * r['share']:.0f} %"
        rows.append((r["notebook"], r["number"], f"`{r['question']}`", r["answered"], share, wrong))
    lines += markdown_table(["notebook", "#", "question", "answered", "share correct", "most common wrong answer"],
                            "lrlrrl", rows)
    if skipped:
        lines += ["", "## Skipped files", "", *(f"- `{path}`: {reason}" for path, reason in skipped)]
    return "\n".join(lines) + "\n"


def summary_csv(reports):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["notebook", "number", "question", "learners", "answered", "correct", "share_correct",
                     "most_common_wrong", "learners_who_gave_it"])
    for r in _summarize(reports)[1]:
        writer.writerow([r["notebook"], r["number"], r["question"], r["learners"], r["answered"], r["correct"],
                         "" if r["share"] is None else f"{r['share']:.3f}", r["most_wrong"] or "", r["chose_it"]])
    return out.getvalue()
