"""The layer notebook 03 teaches is the layer the package ships.

Notebook 03 shows ``BatchNorm`` in one code cell, in full, as the text a learner reads;
``bn_course.layers.BatchNorm`` is what later notebooks, the tests and saved models use.
These tests prove the two are the same code: the same source text (comments included),
hence the same syntax tree, and nothing else in the package module that the class needs
but the notebook would not show.
"""

import ast
import difflib
import inspect
from pathlib import Path

import nbformat
import pytest

from bn_course.env import import_tensorflow

import_tensorflow()

from bn_course import layers  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_tf_custom_layer.ipynb"


def _defines_batchnorm(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics; no class definition in such a cell here
        return False
    return any(isinstance(node, ast.ClassDef) and node.name == "BatchNorm" for node in tree.body)


@pytest.fixture(scope="module")
def notebook_cell():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in notebook.cells if c.cell_type == "code" and _defines_batchnorm(c.source)]
    assert len(cells) == 1, f"expected one cell defining BatchNorm in {NOTEBOOK.name}, found {len(cells)}"
    return cells[0]


def _normalized(text):
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def test_the_notebook_cell_is_the_package_class_character_for_character(notebook_cell):
    package = _normalized(inspect.getsource(layers.BatchNorm))
    shown = _normalized(notebook_cell.source)
    diff = "\n".join(difflib.unified_diff(package.splitlines(), shown.splitlines(), "bn_course/layers.py",
                                          NOTEBOOK.name, lineterm=""))
    assert shown == package, f"the notebook's BatchNorm cell and bn_course.layers.BatchNorm differ:\n{diff}"


def test_same_syntax_tree_decorator_included(notebook_cell):
    (shown,) = ast.parse(notebook_cell.source).body
    (package,) = ast.parse(inspect.getsource(layers.BatchNorm)).body
    assert isinstance(shown, ast.ClassDef) and shown.decorator_list, "the cell holds the decorated class, alone"
    assert ast.dump(shown) == ast.dump(package)


def test_the_cell_is_visible_and_runs_without_output(notebook_cell):
    assert not notebook_cell.metadata.get("jupyter", {}).get("source_hidden"), "the lesson's code is in view"
    assert notebook_cell.outputs == []


def test_the_package_module_holds_nothing_the_notebook_does_not_show():
    """Top-level statements besides imports, ``tf`` and ``__all__`` would be hidden code the class relies on."""
    tree = ast.parse(inspect.getsource(layers))
    extra = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (isinstance(node, ast.Expr) and node is tree.body[0]):
            continue
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] in (["tf"], ["__all__"]):
            continue
        if isinstance(node, ast.ClassDef) and node.name == "BatchNorm":
            continue
        extra.append(ast.unparse(node).splitlines()[0])
    assert not extra, f"bn_course/layers.py defines more than the notebook shows: {extra}"


def test_the_notebook_imports_what_the_class_uses(notebook_cell):
    """The class uses tf, keras and four checks from bn_course.validation: the notebook must import
    each before the class cell, from the same place as the package module."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    before = []
    for cell in notebook.cells:
        if cell is notebook_cell or cell.source == notebook_cell.source:
            break
        if cell.cell_type == "code":
            before.append(cell.source)
    imported = set()
    for node in ast.walk(ast.parse("\n".join(before))):
        if isinstance(node, ast.Import):
            imported |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "bn_course.validation":
            imported |= {f"validation.{alias.name}" for alias in node.names if alias.asname is None}
    needed = {"tf", "keras", "validation.check_axis", "validation.check_eps", "validation.check_int",
              "validation.check_momentum"}
    assert needed <= imported, needed - imported


def test_the_class_validates_through_the_shared_module():
    """Range checks of momentum, epsilon and axis are bn_course.validation's, not written again in the class."""
    source = inspect.getsource(layers.BatchNorm)
    for check in ("check_momentum(", "check_eps(", "check_axis("):
        assert check in source, check
    assert "<= 1" not in source and "math.inf" not in source and "< rank" not in source
