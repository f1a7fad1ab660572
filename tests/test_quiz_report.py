"""A learner's report to hand in (`quiz.report`, `python -m bn_course.quiz report`) and the class
summary an instructor builds from many (`python -m bn_course.quiz summary`), on the sample banks."""

import builtins
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bn_course import quiz
from bn_course.quiz import __main__ as cli
from quiz_samples import install

REPO = Path(__file__).resolve().parent.parent

# Three learners' answers, in the order they gave them: (bank, question, answer).
LEARNERS = {
    "AB": [("01_alpha", "pick-one", "a"), ("01_alpha", "pick-one", "b"), ("01_alpha", "pick-many", "a, b"),
           ("01_alpha", "a-number", 0.5), ("02_beta", "batch-mean", 4.5), ("02_beta", "biased", "c")],
    "CD": [("01_alpha", "pick-one", "a"), ("01_alpha", "pick-many", "a, c"), ("01_alpha", "a-number", 0.25),
           ("02_beta", "batch-mean", 4.25)],
    "EF": [("01_alpha", "pick-one", "d"), ("01_alpha", "pick-one", "a"), ("01_alpha", "pick-many", "a, c")],
}


@pytest.fixture(autouse=True)
def samples(tmp_path, monkeypatch):
    install(tmp_path / "quizzes")
    monkeypatch.setenv("BN_COURSE_QUIZZES", str(tmp_path / "quizzes"))
    monkeypatch.setenv("BN_COURSE_PROGRESS", str(tmp_path / "mine" / "progress.json"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def class_reports(tmp_path, monkeypatch):
    """Each learner answers in their own progress file, then writes a report: three report files."""
    paths = []
    for name, answers in LEARNERS.items():
        monkeypatch.setenv("BN_COURSE_PROGRESS", str(tmp_path / name / "progress.json"))
        for bank, key, value in answers:
            quiz.answer(bank, key, value)
        paths.append(quiz.report(name).path)
    return paths


def test_report_file_and_markdown(class_reports, tmp_path):
    path = class_reports[0]
    assert path == tmp_path / "bn-course-report-AB.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["kind"] == "bn-course-quiz-report" and data["learner"] == "AB"
    alpha = data["notebooks"]["01_alpha"]
    assert alpha["title"] == "Alpha quiz" and list(alpha["questions"]) == ["pick-one", "pick-many", "a-number"]
    assert alpha["questions"]["pick-one"] == {"number": 1, "kind": "single", "answered": True, "correct": True,
                                              "attempts": 2, "answer": "b", "wrong": ["a"]}
    assert alpha["questions"]["pick-many"]["answer"] == "a, b" and alpha["questions"]["pick-many"]["wrong"] == ["a, b"]
    assert alpha["questions"]["a-number"]["wrong"] == ["0.5"]
    review = data["notebooks"]["07_review"]["questions"]["02_beta/batch-mean"]
    assert review == {"number": 1, "kind": "numeric", "answered": False, "correct": False, "attempts": 0,
                      "answer": None, "wrong": []}
    markdown = quiz.reports.Report(data, path).markdown()
    assert markdown.startswith("## Quiz report: AB") and f"`{path}`" in markdown
    assert "| 01 · Alpha quiz | 3 | 1 | 3 |" in markdown and "| **all** | **5** | **3** | **7** |" in markdown
    assert "| 1 | `pick-one` | b | ✔ right | 2 |" in markdown and "| 3 | `a-number` | 0.5 | ✘ wrong | 1 |" in markdown
    assert "### 07" not in markdown  # no table for a notebook with nothing answered


def test_summary_table_hardest_first(class_reports, capsys):
    assert cli.main(["summary", *map(str, class_reports)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Class summary: 3 reports (AB, CD, EF)")
    assert "| 01_alpha | 3 of 3 | 2 of 3 | 2.7 | 1.3 | 3 |" in out
    assert "| 02_beta | 2 of 3 | 1 of 3 | 1.0 | 0.7 | 2 |" in out
    rows = [line for line in out.splitlines() if line.startswith("| 0") and "`" in line]
    assert rows[:5] == [
        "| 01_alpha | 1 | `pick-one` | 3 | 33 % | (a): 3 learners |",
        "| 01_alpha | 3 | `a-number` | 2 | 50 % | 0.5: 1 learner |",
        "| 02_beta | 1 | `batch-mean` | 2 | 50 % | 4.25: 1 learner |",
        "| 01_alpha | 2 | `pick-many` | 3 | 67 % | (a, b): 1 learner |",
        "| 02_beta | 2 | `biased` | 1 | 100 % | — |",
    ]
    assert rows[5:] == ["| 07_review | 1 | `02_beta/batch-mean` | 0 | — | — |",
                        "| 07_review | 2 | `01_alpha/pick-one` | 0 | — | — |"]


def test_summary_csv(class_reports, capsys):
    assert cli.main(["summary", "--csv", *map(str, class_reports)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["notebook"], r["question"]) for r in rows][:3] == [
        ("01_alpha", "pick-one"), ("01_alpha", "a-number"), ("02_beta", "batch-mean")]
    first = rows[0]
    assert (first["learners"], first["answered"], first["correct"], first["share_correct"]) == ("3", "3", "1", "0.333")
    assert (first["most_common_wrong"], first["learners_who_gave_it"]) == ("a", "3")
    assert rows[-1]["share_correct"] == "" and rows[-1]["notebook"] == "07_review"


def test_bad_and_foreign_files_are_named_and_skipped(class_reports, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"kind": "bn-course-quiz-report", "format": 1, "learner": "GH", "note', encoding="utf-8")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"notebook": "01_alpha", "questions": []}), encoding="utf-8")
    damaged = tmp_path / "damaged.json"
    data = json.loads(class_reports[1].read_text(encoding="utf-8"))
    data["learner"] = "IJ"
    data["notebooks"]["01_alpha"]["questions"]["pick-one"]["correct"] = "yes"
    damaged.write_text(json.dumps(data), encoding="utf-8")
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**data, "format": 99}), encoding="utf-8")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    files = [corrupt, *class_reports, foreign, damaged, newer, binary, tmp_path / "missing.json", tmp_path]
    assert cli.main(["summary", *map(str, files)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# Class summary: 3 reports (AB, CD, EF)")
    skipped = captured.err.splitlines()
    assert skipped == [
        f"skipped {corrupt}: not JSON",
        f"skipped {foreign}: not a quiz report (reports are written by quiz.report())",
        f"skipped {damaged}: damaged report: notebook '01_alpha' does not parse",
        f"skipped {newer}: report format 99 is not one this course reads (format 1); update the course",
        f"skipped {binary}: not JSON",
        f"skipped {tmp_path / 'missing.json'}: No such file or directory",
        f"skipped {tmp_path}: Is a directory",
    ]
    assert "## Skipped files" in captured.out and f"- `{corrupt}`: not JSON" in captured.out


def test_no_report_at_all_is_an_error(tmp_path, capsys):
    (tmp_path / "x.json").write_text("[]", encoding="utf-8")
    assert cli.main(["summary", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "error: none of the files is a quiz report"


def test_a_broken_bank_is_left_out_with_one_warning(tmp_path):
    """A bank that does not load (here 02_beta, and 07_review that refers to it) costs the learner
    neither their progress table nor their report: one warning names each left-out bank and why."""
    quiz.answer("01_alpha", "pick-one", "b")
    (tmp_path / "quizzes" / "02_beta.json").write_text('{"notebook": "02_beta"', encoding="utf-8")
    with pytest.warns(UserWarning) as caught:
        rows = {row[0]: row for row in quiz.progress().rows}
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "02_beta.json is not valid JSON" in message and "07_review" in message and "02_beta/batch-mean" in message
    assert set(rows) == {"01_alpha"} and rows["01_alpha"][2:] == (1, 1, 3)
    with pytest.warns(UserWarning, match="02_beta"):
        assert set(quiz.report("AB").data["notebooks"]) == {"01_alpha"}


def test_report_asks_for_a_name(monkeypatch, tmp_path):
    quiz.answer("02_beta", "biased", "c")
    monkeypatch.setattr(builtins, "input", lambda prompt: "  Zoë Q. ")
    written = quiz.report()
    assert written.data["learner"] == "Zoë Q." and written.path.name == "bn-course-report-Zo-Q.json"
    assert "## Quiz report: Zoë Q." in written._repr_markdown_() and repr(written) == written.markdown()
    monkeypatch.setattr(builtins, "input", lambda prompt: "")
    with pytest.raises(quiz.QuizError, match=r'needs your name or initials: quiz.report\("AB"\)'):
        quiz.report()

    def no_keyboard(prompt):
        raise EOFError

    monkeypatch.setattr(builtins, "input", no_keyboard)
    with pytest.raises(quiz.QuizError, match="needs your name"):
        quiz.report()


def test_report_command_line_reads_another_progress_file(tmp_path):
    """An instructor on a shared server builds a learner's report from their progress file."""
    progress = tmp_path / "student" / "progress.json"
    env = {**os.environ, "BN_COURSE_PROGRESS": str(progress)}
    subprocess.run([sys.executable, "-c", "from bn_course import quiz; quiz.answer('02_beta', 'batch-mean', 4.5)"],
                   check=True, env=env, cwd=REPO, timeout=120)
    out = tmp_path / "reports" / "st.json"
    out.parent.mkdir()
    done = subprocess.run([sys.executable, "-m", "bn_course.quiz", "report", "--name", "ST", "--out", str(out),
                           "--progress", str(progress)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("## Quiz report: ST") and done.stdout.endswith(f"Wrote {out}\n")
    assert json.loads(out.read_text(encoding="utf-8"))["notebooks"]["02_beta"]["questions"]["batch-mean"]["correct"]
    bad = subprocess.run([sys.executable, "-m", "bn_course.quiz", "summary", str(progress)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 2 and "skipped" in bad.stderr and "error: none of the files" in bad.stderr
