"""Notebook hygiene: committed executed and clean, with the structure every notebook shares.

nbval (in `make test`) re-runs each notebook and compares outputs; these checks cover
what nbval does not: execution order, stray errors/stderr, size, structure, links.
"""

import re
from pathlib import Path

import nbformat
import pytest

from bn_course.navigation import NOTEBOOK_DIR, NOTEBOOKS
from tools.add_navigation import update_notebook

ROOT = NOTEBOOK_DIR.parent
PRESENT = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
KNOWN = {stem for stem, _ in NOTEBOOKS}


def _code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]


@pytest.fixture(params=PRESENT, ids=lambda p: p.stem)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_every_notebook_is_on_the_course_map():
    assert {p.stem for p in PRESENT} <= KNOWN
    assert (NOTEBOOK_DIR / "00_start_here.ipynb").exists()


def test_executed_top_to_bottom_in_a_fresh_kernel(notebook):
    path, nb = notebook
    counts = [c.execution_count for c in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: run `make notebooks` (counts {counts})"


def test_no_errors_or_stderr_in_outputs(notebook):
    path, nb = notebook
    for index, cell in enumerate(_code_cells(nb), start=1):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} cell {index}: error output"
            is_stderr = output.output_type == "stream" and output.name == "stderr"
            assert not is_stderr, f"{path.name} cell {index}: stderr output: {output.text[:200]!r}"


def test_small_enough_to_open_quickly(notebook):
    path, _ = notebook
    assert path.stat().st_size < 2_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"


def test_structure_title_setup_quiz_summary(notebook):
    path, nb = notebook
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {path.stem[:2]}"), "title cell first"
    for part in ("Learning objectives", "Time", "Prerequisites"):
        assert part in title.source, f"{path.name}: title cell lacks '{part}'"
    first_code = _code_cells(nb)[0].source
    assert "setup_notebook(" in first_code, f"{path.name}: the first code cell must call setup_notebook"
    assert sum("setup_notebook(" in c.source for c in _code_cells(nb)) == 1, "exactly one setup cell"
    sources = "\n".join(c.source for c in _code_cells(nb))
    assert re.search(rf"quiz\.show\(\s*[\"']{path.stem}[\"']", sources), f"{path.name}: no quiz.show({path.stem!r})"
    assert (ROOT / "quizzes" / f"{path.stem}.json").exists(), f"{path.name}: no quiz bank"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^#+ .*Summary", markdown, re.M), f"{path.name}: no Summary section"


def test_navigation_links_are_current(notebook):
    path, _ = notebook
    assert not update_notebook(path, check=True), f"{path.name}: run `python -m tools.add_navigation`"


def test_readme_course_map_links_every_notebook_and_marks_status():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for stem, _ in NOTEBOOKS:
        row = next((line for line in readme.splitlines() if f"(notebooks/{stem}.ipynb)" in line), None)
        assert row is not None, f"README course map does not link {stem}"
        exists = (NOTEBOOK_DIR / f"{stem}.ipynb").exists()
        assert row.rstrip().endswith("| available |" if exists else "| coming |"), f"README status of {stem}"


# --------------------------------------------------------------------------- learner first
# COURSE_DESIGN.md, "Learner first": a notebook is a lesson, its proof out of the way.

INTERNAL_NAMES = re.compile(r"\bseeds?\s+0\d\d\b|\bthe seeds'|\bseed\s+texts?\b", re.I)
ASSERT_LINE = re.compile(r"^\s*(assert\b|np\.testing\.assert_|tf\.debugging\.assert_)", re.M)
GOING_FURTHER = re.compile(r"^#+ .*Going further", re.M | re.I)
CORE_WORD_LIMIT = 3100  # "about 3,000 words" on the core path


def _hidden(cell):
    return bool(cell.metadata.get("jupyter", {}).get("source_hidden"))


def _output_text(cell):
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            texts.append(output.text)
        elif "data" in output:
            texts.append(output.data.get("text/plain", ""))
    return "\n".join(texts)


def test_no_internal_source_names_where_a_learner_reads(notebook):
    path, nb = notebook
    for index, cell in enumerate(nb.cells):
        for where, text in (("text", cell.source), ("output", _output_text(cell) if cell.cell_type == "code" else "")):
            found = INTERNAL_NAMES.search(text)
            assert not found, f"{path.name} cell {index} ({where}) says {found.group(0)!r}: name the source as a reader knows it"


def test_no_test_markers_in_view(notebook):
    path, nb = notebook
    for index, cell in enumerate(_code_cells(nb)):
        assert "NBVAL" not in cell.source, f"{path.name} code cell {index}: use the cell tag nbval-ignore-output, not a comment"


def test_checkers_are_imported_one_way(notebook):
    """Every notebook imports its checkers from `bn_course.exercises`, never from its submodules."""
    path, nb = notebook
    deep = [line.strip() for cell in _code_cells(nb) for line in cell.source.splitlines()
            if re.match(r"\s*from bn_course\.exercises\.\w+ import", line)]
    assert not deep, f"{path.name}: import checkers with `from bn_course.exercises import ...`, not {deep}"


def test_visible_code_cells_hold_at_most_two_asserts(notebook):
    path, nb = notebook
    for index, cell in enumerate(_code_cells(nb)):
        if not _hidden(cell):
            count = len(ASSERT_LINE.findall(cell.source))
            assert count <= 2, f"{path.name} code cell {index} shows {count} asserts: move checks to a collapsed cell"


def test_collapsed_checks_say_in_one_line_what_they_verified(notebook):
    path, nb = notebook
    for index, cell in enumerate(_code_cells(nb)):
        if _hidden(cell) and ASSERT_LINE.search(cell.source):
            said = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
            lines = "".join(said).strip().splitlines()
            assert len(lines) == 1, f"{path.name} collapsed check cell {index} prints {len(lines)} lines, not one"


def test_core_path_is_an_honest_length(notebook):
    path, nb = notebook
    words = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown" or cell.source.startswith("<!-- bn-course-nav"):
            continue
        if GOING_FURTHER.search(cell.source):
            break
        words += len(re.sub(r"<[^>]+>|[`*#|]", " ", cell.source).split())
    assert words <= CORE_WORD_LIMIT, f"{path.name}: {words} words before 'Going further' (limit {CORE_WORD_LIMIT})"
