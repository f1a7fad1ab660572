"""bn_course.backward_graph and bn_course.gradcheck: the same code as notebook 02's cells, and correct.

Notebook 02 shows the staged (graph) forward/backward pass and the numerical gradient check in
full in its cells; the package holds the same functions for the benchmarks, notebook 03 and the
tests. The first test fails when one copy is edited without the other.
"""

import ast
import inspect
import textwrap

import nbformat
import numpy as np
import pytest

from bn_course import backward_graph, gradcheck
from bn_course import numpy_bn as nb
from bn_course.backward_graph import batch_norm_backward_graph, batch_norm_forward_graph
from bn_course.gradcheck import numerical_gradient, rel_error
from bn_course.navigation import NOTEBOOK_DIR

SHARED = {backward_graph: ["batch_norm_forward_graph", "batch_norm_backward_graph"],
          gradcheck: ["numerical_gradient", "rel_error"]}


def _notebook_functions():
    """{name: source} of every top-level function defined in a code cell of notebook 02."""
    notebook = nbformat.read(NOTEBOOK_DIR / "02_numpy_formula.ipynb", as_version=4)
    found = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    found[node.name] = ast.get_source_segment(cell.source, node)
    return found


@pytest.mark.parametrize("module, name", [(m, n) for m, names in SHARED.items() for n in names])
def test_the_notebook_cell_and_the_package_hold_the_same_code(module, name):
    cells = _notebook_functions()
    assert name in cells, f"notebook 02 no longer defines {name} in a cell"
    package = textwrap.dedent(inspect.getsource(getattr(module, name))).rstrip()
    assert cells[name].rstrip() == package, (
        f"{name}: notebook 02's cell and {module.__name__} differ; copy the cell's code into the module "
        "(or the other way round) so the learner reads what the course runs")


CASES = [((6, 4), -1), ((5, 3, 4), -1), ((3, 2, 2, 3), -1), ((3, 3, 2, 2), 1), ((4, 3), 0)]


@pytest.mark.parametrize("shape, axis", CASES)
def test_graph_matches_the_closed_form_and_the_forward_pass(shape, axis):
    rng = np.random.default_rng(len(shape) + axis)
    x, dy = rng.normal(1.0, 2.0, size=shape), rng.normal(size=shape)
    gamma, beta = rng.uniform(0.5, 2.0, shape[axis]), rng.normal(size=shape[axis])
    y, cache = batch_norm_forward_graph(x, gamma, beta, eps=1e-3, axis=axis)
    y_ref, cache_ref = nb.batch_norm_forward(x, gamma, beta, eps=1e-3, axis=axis)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for ours, closed in zip(batch_norm_backward_graph(dy, cache), nb.batch_norm_backward(dy, cache_ref)):
        np.testing.assert_allclose(ours, closed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, axis", CASES[:4])
def test_graph_matches_the_numerical_gradient(shape, axis):
    rng = np.random.default_rng(7)
    x, dy = rng.normal(size=shape), rng.normal(size=shape)
    gamma, beta = rng.uniform(0.5, 2.0, shape[axis]), rng.normal(size=shape[axis])
    _, cache = batch_norm_forward_graph(x, gamma, beta, axis=axis)
    dx, dgamma, dbeta = batch_norm_backward_graph(dy, cache)
    assert rel_error(dx, numerical_gradient(lambda v: nb.batch_norm(v, gamma, beta, axis=axis), x, dy)) < 1e-6
    assert rel_error(dgamma, numerical_gradient(lambda g: nb.batch_norm(x, g, beta, axis=axis), gamma, dy)) < 1e-6
    assert rel_error(dbeta, numerical_gradient(lambda b: nb.batch_norm(x, gamma, b, axis=axis), beta, dy)) < 1e-6


def test_stages_are_returned_in_backward_order_with_their_shapes():
    x = np.arange(12.0).reshape(4, 3) ** 1.5
    _, cache = batch_norm_forward_graph(x, np.ones(3), np.zeros(3))
    grads, stages = batch_norm_backward_graph(np.ones_like(x), cache, return_stages=True)
    assert list(stages) == ["dbeta", "dgamma", "dx_hat", "dvar", "dmu", "dx"]
    assert all(stages[k].shape == (1, 3) for k in ("dbeta", "dgamma", "dvar", "dmu"))
    assert stages["dx"] is grads[0] and grads[1].shape == grads[2].shape == (3,)
    np.testing.assert_allclose(grads[0], 0.0, atol=1e-12)  # dL/dy = 1: the loss sum(y) does not depend on x


def test_numerical_gradient_leaves_its_input_alone_and_is_exact_for_a_quadratic():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    grad = numerical_gradient(lambda v: v**2, x, np.ones_like(x))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-9)


def test_rel_error_floor_and_shapes():
    assert rel_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert rel_error([1e-12], [0.0]) < 1e-3  # the floor stops near-zero values from blowing up
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.zeros(3), np.zeros((1, 3)))
