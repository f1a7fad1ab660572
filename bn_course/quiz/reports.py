"""A learner's quiz report to hand in, and the class summary an instructor builds from many.

``quiz.report("AB")`` (or ``python -m bn_course.quiz report --name AB``) writes
``bn-course-report-AB.json``: per notebook and question, whether it was answered, whether the
last check was right, how many checks, and the answers given, as letters or numbers exactly
as the quiz shows them. ``python -m bn_course.quiz summary REPORT...`` reads many reports and
prints, per notebook, how many learners completed it and, per question (hardest first), the
share correct and the most common wrong answer; ``--csv`` gives the question table for a
spreadsheet. A file that is not a report is named and skipped.
"""

import csv
import io
import json
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from bn_course.quiz.bank import AnswerError, QuizError, bank_names, load_bank
from bn_course.quiz.grading import letter, parse_answer
from bn_course.quiz.text import format_number

__all__ = ["KIND", "FORMAT", "Report", "build", "write", "read_reports", "summary_markdown", "summary_csv"]

KIND = "bn-course-quiz-report"
FORMAT = 1


def _shown(spec, value):
    """A saved answer as the quiz shows it: "b", "a, c" or "0.25" (None if it no longer fits the question)."""
    try:
        answer = parse_answer(spec, value)
    except AnswerError:
        return None
    if spec["kind"] == "numeric":
        return format_number(answer)
    return letter(answer) if spec["kind"] == "single" else ", ".join(map(letter, answer))


def _question_entry(number, question, record):
    if record is None:
        return {"number": number, "kind": question.kind, "answered": False, "correct": False, "attempts": 0,
                "answer": None, "wrong": []}
    wrong = record.get("wrong") if isinstance(record.get("wrong"), list) else \
        ([] if record["correct"] else [record.get("answer")])
    shown = [_shown(question.spec, value) for value in wrong]
    attempts = record.get("attempts")
    return {"number": number, "kind": question.kind, "answered": True, "correct": record["correct"],
            "attempts": attempts if isinstance(attempts, int) else 1,
            "answer": _shown(question.spec, record.get("answer")),
            "wrong": list(dict.fromkeys(w for w in shown if w is not None))}


def build(learner, saved):
    """The report of ``learner`` from saved progress ``{bank: {question_key: record}}`` (see ``store.load``)."""
    notebooks = {}
    for name in bank_names():
        try:
            bank = load_bank(name)
        except QuizError:
            continue  # a broken bank is reported by the tests, not here
        records = saved.get(name, {})
        notebooks[name] = {"title": bank.title, "questions": {
            q.key: _question_entry(n, q, records.get(q.key)) for n, q in enumerate(bank.questions, 1)}}
    return {"kind": KIND, "format": FORMAT, "learner": learner,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "notebooks": notebooks}


def _counts(questions):
    values = list(questions.values())
    return sum(q["answered"] for q in values), sum(q["correct"] for q in values), len(values)


class Report:
    """A written report: ``data`` (what the file holds) and ``path``; shown as Markdown for the learner."""

    def __init__(self, data, path):
        self.data, self.path = data, Path(path)

    def markdown(self):
        notebooks = self.data["notebooks"]
        lines = [f"## Quiz report: {self.data['learner']}", "",
                 f"Saved in `{self.path}`: hand in that file. The tables below are for you.", "",
                 "| notebook | answered | correct | questions |", "|---|---:|---:|---:|"]
        totals = [0, 0, 0]
        for name, notebook in notebooks.items():
            counts = _counts(notebook["questions"])
            totals = [t + c for t, c in zip(totals, counts)]
            lines.append(f"| {name[:2]} · {notebook['title']} | " + " | ".join(map(str, counts)) + " |")
        lines.append("| **all** | " + " | ".join(f"**{t}**" for t in totals) + " |")
        for name, notebook in notebooks.items():
            if not _counts(notebook["questions"])[0]:
                continue
            lines += ["", f"### {name[:2]} · {notebook['title']}", "",
                      "| # | question | your last answer | result | checks |", "|---:|---|---|---|---:|"]
            for key, q in notebook["questions"].items():
                result = ("✔ right" if q["correct"] else "✘ wrong") if q["answered"] else "not answered"
                lines.append(f"| {q['number']} | `{key}` | {q['answer'] or '—'} | {result} | {q['attempts']} |")
        return "\n".join(lines) + "\n"

    _repr_markdown_ = markdown

    def __repr__(self):
        return self.markdown()


def _slug(name):
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "learner"


def write(learner, saved, path=None):
    """Write the report of ``learner`` (default file: ``bn-course-report-<name>.json`` here); returns a :class:`Report`."""
    data = build(learner, saved)
    path = Path(path) if path else Path.cwd() / f"bn-course-report-{_slug(learner)}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Report(data, path)


def _check(data):
    """Raise ValueError saying why ``data`` is not a report this course can read."""
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ValueError("not a quiz report (reports are written by quiz.report())")
    version = data.get("format")
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT:
        raise ValueError(f"report format {version!r} is not one this course reads (format {FORMAT}); update the course")
    if not isinstance(data.get("learner"), str) or not isinstance(data.get("notebooks"), dict):
        raise ValueError("damaged report: no learner or no notebooks")
    for name, notebook in data["notebooks"].items():
        questions = notebook.get("questions") if isinstance(notebook, dict) else None
        fields = {"answered": bool, "correct": bool, "number": int, "wrong": list}
        if not isinstance(questions, dict) or not all(
                isinstance(q, dict) and all(isinstance(q.get(f), t) for f, t in fields.items())
                for q in questions.values()):
            raise ValueError(f"damaged report: notebook {name!r} does not parse")


def read_reports(paths):
    """``(reports, skipped)``: the readable reports (the newest per learner) and ``(path, reason)`` for the rest."""
    reports, skipped = {}, []
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            _check(data)
        except OSError as error:
            skipped.append((path, error.strerror or str(error)))
            continue
        except (json.JSONDecodeError, UnicodeDecodeError):
            skipped.append((path, "not JSON"))
            continue
        except ValueError as error:
            skipped.append((path, str(error)))
            continue
        learner = data["learner"]
        if learner in reports:
            older, newer = sorted([reports[learner], (path, data)], key=lambda r: str(r[1].get("created")))
            skipped.append((older[0], f"an older report of {learner!r} than {newer[0]}"))
            reports[learner] = newer
        else:
            reports[learner] = (path, data)
    return [data for _, data in reports.values()], skipped


def _summarize(reports):
    """Per-notebook completion rows and per-question rows (hardest first)."""
    notebooks, questions = {}, {}
    for data in reports:
        for name, notebook in data["notebooks"].items():
            answered, correct, total = _counts(notebook["questions"])
            row = notebooks.setdefault(name, {"learners": 0, "started": 0, "complete": 0, "answered": 0, "correct": 0,
                                              "total": 0})
            row["learners"] += 1
            row["started"] += answered > 0
            row["complete"] += answered == total
            row["answered"] += answered
            row["correct"] += correct
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
        common = min(row["wrong"].items(), key=lambda item: (-item[1], item[0]), default=(None, 0))
        row["most_wrong"], row["chose_it"] = common
    ordered = sorted(questions.values(), key=lambda r: (r["share"] is None, r["share"] or 0, -r["answered"],
                                                        r["notebook"], r["number"]))
    return dict(sorted(notebooks.items())), ordered


def _wrong_text(row):
    if row["most_wrong"] is None:
        return "—"
    shown = row["most_wrong"] if row["kind"] == "numeric" else f"({row['most_wrong']})"
    return f"{shown}: {row['chose_it']} learner{'s' if row['chose_it'] != 1 else ''}"


def summary_markdown(reports, skipped=()):
    """The class summary as Markdown: completion per notebook, then every question, hardest first."""
    notebooks, questions = _summarize(reports)
    names = ", ".join(sorted(data["learner"] for data in reports))
    lines = [f"# Class summary: {len(reports)} report{'s' if len(reports) != 1 else ''} ({names})", "",
             "## Completion per notebook", "",
             "| notebook | started | completed | answered (mean) | correct (mean) | questions |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, row in notebooks.items():
        n = row["learners"]
        lines.append(f"| {name} | {row['started']} of {n} | {row['complete']} of {n} | {row['answered'] / n:.1f} "
                     f"| {row['correct'] / n:.1f} | {row['total']} |")
    lines += ["", "## Questions, hardest first", "",
              "*Share correct*: right at the last check, among the learners who answered. *Most common wrong "
              "answer*: the wrong answer the most learners gave at least once.", "",
              "| notebook | # | question | answered | share correct | most common wrong answer |",
              "|---|---:|---|---:|---:|---|"]
    unanswered = {}
    for row in questions:
        if row["share"] is None:
            unanswered.setdefault(row["notebook"], []).append(f"`{row['question']}`")
            continue
        lines.append(f"| {row['notebook']} | {row['number']} | `{row['question']}` | {row['answered']} "
                     f"| {100 * row['share']:.0f} % | {_wrong_text(row)} |")
    if unanswered:
        lines += ["", "Not answered by anyone: " + "; ".join(
            f"{name} (all {len(keys)})" if len(keys) == notebooks[name]["total"] else f"{name}: {', '.join(keys)}"
            for name, keys in unanswered.items()) + "."]
    if skipped:
        lines += ["", "## Skipped files", ""] + [f"- `{path}`: {reason}" for path, reason in skipped]
    return "\n".join(lines) + "\n"


def summary_csv(reports):
    """The per-question table (hardest first) as CSV, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["notebook", "number", "question", "learners", "answered", "correct", "share_correct",
                     "most_common_wrong", "learners_who_gave_it"])
    for row in _summarize(reports)[1]:
        share = "" if row["share"] is None else f"{row['share']:.3f}"
        writer.writerow([row["notebook"], row["number"], row["question"], row["learners"], row["answered"],
                         row["correct"], share, row["most_wrong"] or "", row["chose_it"]])
    return out.getvalue()
