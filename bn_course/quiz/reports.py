"""A learner's quiz report to hand in (per question: answered, right at the last check, checks, the answers
given) and the class summary of many (per notebook: completion; per question, hardest first: share correct,
most common wrong answer)."""

import csv
import io
import json
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from bn_course.quiz.bank import BankError, QuizError, bank_names, load_bank
from bn_course.quiz.grading import answer_text, parse_answer
from bn_course.quiz.text import markdown_table

KIND = "bn-course-quiz-report"
FORMAT = 1
_RESULT = {(True, True): "✔ right", (True, False): "✘ wrong", (False, False): "not answered"}


def _shown(spec, value):
    """A saved answer as the quiz shows it, or None if it no longer fits the question."""
    try:
        return answer_text(spec, parse_answer(spec, value))
    except QuizError:
        return None


def _entry(number, question, record):
    entry = {"number": number, "kind": question.kind, "answered": record is not None,
             "correct": bool(record and record["correct"]), "attempts": 0, "answer": None, "wrong": []}
    if record is not None:
        wrong = record.get("wrong")
        if not isinstance(wrong, list):  # saved before wrong answers were kept
            wrong = [] if record["correct"] else [record.get("answer")]
        shown = (_shown(question.spec, value) for value in wrong)
        entry.update(attempts=record["attempts"] if isinstance(record.get("attempts"), int) else 1,
                     answer=_shown(question.spec, record.get("answer")),
                     wrong=list(dict.fromkeys(w for w in shown if w is not None)))
    return entry


def build(learner, saved):
    """The report of ``learner`` from saved progress ``{bank: {question_key: record}}``."""
    notebooks = {}
    for name in bank_names():
        try:
            bank = load_bank(name)
        except BankError:
            continue  # a broken bank is reported by the tests, not here
        records = saved.get(name, {})
        notebooks[name] = {"title": bank.title, "questions": {
            q.key: _entry(n, q, records.get(q.key)) for n, q in enumerate(bank.questions, 1)}}
    return {"kind": KIND, "format": FORMAT, "learner": learner,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "notebooks": notebooks}


def counts(questions):
    """``(answered, correct, total)`` of a report's questions."""
    return sum(q["answered"] for q in questions.values()), sum(q["correct"] for q in questions.values()), len(questions)


class Report:
    """A written report: ``data`` (what the file holds) and ``path``; shown as Markdown."""

    def __init__(self, data, path):
        self.data, self.path = data, Path(path)

    def markdown(self):
        notebooks = self.data["notebooks"]
        totals = {name: counts(notebook["questions"]) for name, notebook in notebooks.items()}
        rows = [(f"{name[:2]} · {notebook['title']}", *totals[name]) for name, notebook in notebooks.items()]
        rows.append(("**all**", *(f"**{sum(t[i] for t in totals.values())}**" for i in range(3))))
        lines = [f"## Quiz report: {self.data['learner']}", "",
                 f"Saved in `{self.path}`: hand in that file. The tables below are for you.", "",
                 *markdown_table(["notebook", "answered", "correct", "questions"], "lrrr", rows)]
        for name, notebook in notebooks.items():
            if totals[name][0]:
                rows = [(q["number"], f"`{key}`", q["answer"] or "—", _RESULT.get((q["answered"], q["correct"])),
                         q["attempts"]) for key, q in notebook["questions"].items()]
                lines += ["", f"### {name[:2]} · {notebook['title']}", "",
                          *markdown_table(["#", "question", "your last answer", "result", "checks"], "rlllr", rows)]
        return "\n".join(lines) + "\n"

    _repr_markdown_ = __repr__ = markdown


def write(learner, saved, path=None):
    """Write the report of ``learner`` (default: ``bn-course-report-<name>.json`` here); returns a :class:`Report`."""
    data = build(learner, saved)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", learner).strip("-") or "learner"
    path = Path(path) if path else Path.cwd() / f"bn-course-report-{slug}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Report(data, path)


def _check(data):
    """Raise ValueError saying why ``data`` is not a report this course reads."""
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
    """``(reports, skipped)``: the readable reports (the newest per learner), and ``(path, reason)`` for the rest."""
    found, skipped = {}, []
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            _check(data)
        except OSError as error:
            skipped.append((path, error.strerror or str(error)))
            continue
        except ValueError as error:
            not_json = isinstance(error, (json.JSONDecodeError, UnicodeError))
            skipped.append((path, "not JSON" if not_json else str(error)))
            continue
        learner = data["learner"]
        if learner in found:
            older, found[learner] = sorted([found[learner], (path, data)], key=lambda r: str(r[1].get("created")))
            skipped.append((older[0], f"an older report of {learner!r} than {found[learner][0]}"))
        else:
            found[learner] = (path, data)
    return [data for _, data in found.values()], skipped


def _summarize(reports):
    """Completion per notebook, and a row per question, hardest first."""
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
    ordered = sorted(questions.values(), key=lambda r: (r["share"] is None, r["share"] or 0, -r["answered"],
                                                        r["notebook"], r["number"]))
    return dict(sorted(notebooks.items())), ordered


def summary_markdown(reports, skipped=()):
    """The class summary: completion per notebook, then every question, hardest first."""
    notebooks, questions = _summarize(reports)
    names = ", ".join(sorted(data["learner"] for data in reports))
    completion = [(name, f"{r['started']} of {r['learners']}", f"{r['complete']} of {r['learners']}",
                   f"{r['answered'] / r['learners']:.1f}", f"{r['correct'] / r['learners']:.1f}", r["total"])
                  for name, r in notebooks.items()]
    lines = [f"# Class summary: {len(reports)} report{'s' if len(reports) != 1 else ''} ({names})", "",
             "## Completion per notebook", "",
             *markdown_table(["notebook", "started", "completed", "answered (mean)", "correct (mean)", "questions"],
                             "lrrrrr", completion),
             "", "## Questions, hardest first", "",
             "*Share correct*: right at the last check, among the learners who answered. *Most common wrong "
             "answer*: the wrong answer the most learners gave at least once.", ""]
    rows, unanswered = [], {}
    for r in questions:
        wrong = r["most_wrong"] if r["kind"] == "numeric" else f"({r['most_wrong']})"
        wrong = f"{wrong}: {r['chose_it']} learner{'s' if r['chose_it'] != 1 else ''}" if r["chose_it"] else "—"
        if r["share"] is None:
            unanswered.setdefault(r["notebook"], []).append(f"`{r['question']}`")
        else:
            share = f"{100 * r['share']:.0f} %"
            rows.append((r["notebook"], r["number"], f"`{r['question']}`", r["answered"], share, wrong))
    lines += markdown_table(["notebook", "#", "question", "answered", "share correct", "most common wrong answer"],
                            "lrlrrl", rows)
    if unanswered:
        lines += ["", "Not answered by anyone: " + "; ".join(
            f"{name} (all {len(keys)})" if len(keys) == notebooks[name]["total"] else f"{name}: {', '.join(keys)}"
            for name, keys in unanswered.items()) + "."]
    if skipped:
        lines += ["", "## Skipped files", "", *(f"- `{path}`: {reason}" for path, reason in skipped)]
    return "\n".join(lines) + "\n"


def summary_csv(reports):
    """The question table (hardest first) as CSV, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["notebook", "number", "question", "learners", "answered", "correct", "share_correct",
                     "most_common_wrong", "learners_who_gave_it"])
    for r in _summarize(reports)[1]:
        writer.writerow([r["notebook"], r["number"], r["question"], r["learners"], r["answered"], r["correct"],
                         "" if r["share"] is None else f"{r['share']:.3f}", r["most_wrong"] or "", r["chose_it"]])
    return out.getvalue()
