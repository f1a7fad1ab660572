"""docs/teaching.md stays true: its lesson plans name sections the notebooks have and quiz
questions the banks have, and its course commands run."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bn_course import quiz

REPO = Path(__file__).resolve().parent.parent
GUIDE = (REPO / "docs" / "teaching.md").read_text(encoding="utf-8")
PLANS = dict(re.findall(r"^### (\d\d) · .*?\n(.*?)(?=^### |^## )", GUIDE, re.S | re.M))
NOTEBOOKS = {path.stem[:2]: path for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
NUMBERING = re.compile(r"^\(optional\)\s*|^\d+(\.\d+)*\.?\s*(·\s*)?")


def _title(text):
    """A section title without its number, markup and case: "3.1 `axis`: which" -> "axis: which"."""
    return re.sub(r"[`*$\\]", "", NUMBERING.sub("", text.strip())).strip().lower()


def test_the_guide_is_linked_and_has_a_plan_per_notebook():
    assert "docs/teaching.md" in (REPO / "README.md").read_text(encoding="utf-8")
    assert set(PLANS) == set(NOTEBOOKS)


@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_plan_sections_are_the_notebooks_sections(number):
    headings = [_title(line.lstrip("#")) for cell in nbformat.read(NOTEBOOKS[number], as_version=4).cells
                if cell.cell_type == "markdown" for line in cell.source.splitlines() if line.startswith("#")]
    rows = re.findall(r"^\| *\d+ *\| *([^|]+?) *\|", PLANS[number], re.M)
    assert rows, f"no lesson-plan table for {number}"
    for row in rows:
        parts = [p for p in re.split(r",\s*", row) if p]
        title = _title(parts[0]).replace("going further c", "").strip(" ·")
        if not title or title in ("quiz", "summary"):
            continue
        assert any(h.startswith(title.rstrip("?.…")) or title in h for h in headings), (number, row, headings)


@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_polled_questions_exist(number):
    keys = {q.key for q in quiz.load_bank(NOTEBOOKS[number].stem).questions}
    polled = [key for segment in re.findall(r"[Pp]oll[^|\n]*(?:\n  [^\n|]*)*", PLANS[number])
              for key in re.findall(r"`([a-z0-9][a-z0-9-]*)`", segment)]
    assert polled, f"the plan for {number} polls no question"
    assert not set(polled) - keys, f"{number}: no such questions {sorted(set(polled) - keys)}"


def _course_commands():
    """The course's own commands in the guide's shell blocks (server administration is not run here)."""
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE, re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()
            if re.match(r"(\.venv/bin/)?python -m (bn_course|benchmarks)", line.strip())
            and "--only notebooks" not in line and "$home" not in line]


def test_the_guides_course_commands_run(tmp_path):
    commands = _course_commands()
    assert len(commands) >= 7
    env_prefix = f"BN_COURSE_PROGRESS={shlex.quote(str(tmp_path / 'progress.json'))} "
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("AB", "CD"):
        subprocess.run([sys.executable, "-m", "bn_course.quiz", "report", "--name", name,
                        "--out", str(reports / f"{name}.json")], check=True, cwd=REPO, capture_output=True,
                       env={**__import__("os").environ, "BN_COURSE_PROGRESS": str(tmp_path / "progress.json")})
    for command in commands:
        command = re.sub(r"^(\.venv/bin/)?python", shlex.quote(sys.executable), command)
        done = subprocess.run(env_prefix + command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                              timeout=600, env={"PATH": "/usr/bin:/bin", "BN_COURSE_ROOT": str(REPO),
                                                "HOME": str(tmp_path)})
        assert done.returncode == 0, (command, done.stderr)
