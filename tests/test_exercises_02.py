"""bn_course.exercises, notebook 02: the forward, find-the-bug and backward checkers, right and wrong answers."""

from pathlib import Path

import nbformat
import numpy as np
import pytest

from bn_course.backward_graph import batch_norm_backward_graph, batch_norm_forward_graph
from bn_course.exercises import check_backward, check_forward
from bn_course.exercises.numpy_formula import check_find_the_bug


def _reduce_axes(x, axis):
    axis = axis % x.ndim
    return tuple(a for a in range(x.ndim) if a != axis), axis


def _keep_shape(x, axis):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return shape


def correct(x, gamma, beta, eps=1e-3, axis=-1):
    others, axis = _reduce_axes(x, axis)
    mu = x.mean(axis=others, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=others, keepdims=True)
    shape = _keep_shape(x, axis)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


def unbiased(x, gamma, beta, eps=1e-3, axis=-1):
    others, axis = _reduce_axes(x, axis)
    mu = x.mean(axis=others, keepdims=True)
    var = x.var(axis=others, keepdims=True, ddof=1)
    shape = _keep_shape(x, axis)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


def wrong_axis(x, gamma, beta, eps=1e-3, axis=-1):
    # np.mean's meaning of `axis` (the reduced one) instead of Keras's (the kept one)
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)
    shape = _keep_shape(x, axis % x.ndim)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


def batch_axis_only(x, gamma, beta, eps=1e-3, axis=-1):
    # the 2-D recipe applied to images: statistics per pixel position
    mu, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
    shape = _keep_shape(x, axis % x.ndim)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


def eps_outside(x, gamma, beta, eps=1e-3, axis=-1):
    others, axis = _reduce_axes(x, axis)
    mu, var = x.mean(axis=others, keepdims=True), x.var(axis=others, keepdims=True)
    shape = _keep_shape(x, axis)
    return gamma.reshape(shape) * (x - mu) / (np.sqrt(var) + eps) + beta.reshape(shape)


def swapped(x, gamma, beta, eps=1e-3, axis=-1):
    return correct(x, beta, gamma, eps, axis)


def eps_missing(x, gamma, beta, eps=1e-3, axis=-1):
    return correct(x, gamma, beta, 0.0, axis)


def sqrt_of_std(x, gamma, beta, eps=1e-3, axis=-1):
    others, axis = _reduce_axes(x, axis)
    mu, var = x.mean(axis=others, keepdims=True), x.var(axis=others, keepdims=True)
    shape = _keep_shape(x, axis)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(np.sqrt(var) + eps) + beta.reshape(shape)


def no_scale_shift(x, gamma, beta, eps=1e-3, axis=-1):
    return correct(x, np.ones_like(gamma), np.zeros_like(beta), eps, axis)


def last_axis_gamma(x, gamma, beta, eps=1e-3, axis=-1):
    others, _ = _reduce_axes(x, axis)
    mu, var = x.mean(axis=others, keepdims=True), x.var(axis=others, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta  # (C,) broadcasts along the LAST axis


def in_place(x, gamma, beta, eps=1e-3, axis=-1):
    y = correct(x, gamma, beta, eps, axis)
    x -= 1.0
    return y


def dropped_axis(x, gamma, beta, eps=1e-3, axis=-1):
    return correct(x, gamma, beta, eps, axis).mean(axis=0)


def untouched(x, gamma, beta, eps=1e-3, axis=-1):
    raise NotImplementedError  # your code here


def test_correct_forward_passes():
    result = check_forward(correct)
    assert result.passed, result


def test_keras_style_package_function_passes():
    from bn_course.numpy_bn import batch_norm

    assert check_forward(batch_norm).passed


def test_untouched_forward_is_not_attempted():
    assert check_forward(untouched).status == "not attempted"


@pytest.mark.parametrize(
    "fn, words",
    [
        (unbiased, "unbiased variance"),
        (wrong_axis, "wrong axes"),
        (batch_axis_only, "batch axis only"),
        (eps_outside, "under the square root"),
        (swapped, "swapped"),
        (eps_missing, "eps is missing"),
        (sqrt_of_std, "sqrt(std + eps)"),
        (no_scale_shift, "scale and shift are missing"),
        (last_axis_gamma, "reshape gamma"),
        (in_place, "in place"),
        (dropped_axis, "keepdims"),
        (lambda *args, **kwargs: None, "returned None"),
    ],
    ids=["unbiased", "wrong-axis", "batch-axis-only", "eps-outside", "swapped", "eps-missing", "sqrt-std", "no-scale",
         "broadcast",
         "in-place", "dropped-axis", "none"],
)
def test_wrong_forward_gets_a_specific_hint(fn, words):
    result = check_forward(fn)
    assert result.status == "failed", result
    assert words in result.message, result


def test_wrong_axis_is_caught_on_the_first_2d_case():
    # a learner who only does (N, D) and uses np.mean's axis meaning fails at once, not on a 4-D case
    assert "(8, 3)" in check_forward(wrong_axis).message


def test_unrecognised_mistake_gets_the_generic_steps():
    result = check_forward(lambda x, g, b, eps=1e-3, axis=-1: correct(x, g, b, eps, axis) * 1.01)
    assert result.status == "failed" and "Check the four steps" in result.message


def closed_form_backward(dy, x, gamma, eps=1e-3):
    m = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    dbeta, dgamma = dy.sum(axis=0), (dy * x_hat).sum(axis=0)
    dx = gamma / (m * np.sqrt(var + eps)) * (m * dy - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def graph_backward(dy, x, gamma, eps=1e-3):
    _, cache = batch_norm_forward_graph(x, gamma, np.zeros_like(gamma), eps=eps)
    return batch_norm_backward_graph(dy, cache)


def constants_backward(dy, x, gamma, eps=1e-3):
    dx, dgamma, dbeta = closed_form_backward(dy, x, gamma, eps)
    return dy * gamma / np.sqrt(x.var(axis=0) + eps), dgamma, dbeta


@pytest.mark.parametrize("fn", [closed_form_backward, graph_backward])
def test_correct_backward_passes(fn):
    result = check_backward(fn)
    assert result.passed, result


def test_backward_mistakes_get_hints():
    assert "constants" in check_backward(constants_backward).message

    def x_not_x_hat(dy, x, gamma, eps=1e-3):
        dx, _, dbeta = closed_form_backward(dy, x, gamma, eps)
        return dx, (dy * x).sum(axis=0), dbeta

    assert "x_hat" in check_backward(x_not_x_hat).message

    def keepdims(dy, x, gamma, eps=1e-3):
        dx, dgamma, dbeta = closed_form_backward(dy, x, gamma, eps)
        return dx, dgamma[None, :], dbeta

    assert "shape" in check_backward(keepdims).message

    def swapped_outputs(dy, x, gamma, eps=1e-3):
        dx, dgamma, dbeta = closed_form_backward(dy, x, gamma, eps)
        return dx, dbeta, dgamma

    message = check_backward(swapped_outputs).message
    assert "dgamma and dbeta are swapped" in message and "outputs are wrong" not in message  # named once
    assert check_backward(lambda dy, x, gamma, eps=1e-3: (dy, dy)).status == "failed"


def test_untouched_backward_is_not_attempted():
    def todo(dy, x, gamma, eps=1e-3):
        raise NotImplementedError  # your code here

    assert check_backward(todo).status == "not attempted"


def test_backward_missing_one_path_is_named():
    def only_variance_path(dy, x, gamma, eps=1e-3):
        dx, dgamma, dbeta = closed_form_backward(dy, x, gamma, eps)
        inv = 1 / np.sqrt(x.var(axis=0) + eps)
        return dx + inv * (dy * gamma).sum(axis=0) / x.shape[0], dgamma, dbeta  # mean path removed

    def only_mean_path(dy, x, gamma, eps=1e-3):
        dx, dgamma, dbeta = closed_form_backward(dy, x, gamma, eps)
        var = x.var(axis=0)
        x_hat = (x - x.mean(axis=0)) / np.sqrt(var + eps)
        variance_path = -x_hat / np.sqrt(var + eps) * (dy * gamma * x_hat).sum(axis=0) / x.shape[0]
        return dx - variance_path, dgamma, dbeta

    assert "path through the mean" in check_backward(only_variance_path).message
    assert "path through the variance" in check_backward(only_mean_path).message


def test_keras_fact_stated_in_notebook_02_wrong_axis_on_channels_first():
    """Notebook 02 (NumPy only) says: Keras's default axis=-1 on (N, C, H, W) data builds gamma
    with W entries and normalizes per image column without complaint. Checked here, with Keras."""
    from bn_course.env import import_tensorflow

    import_tensorflow()
    import keras

    x = np.random.default_rng(0).normal(size=(4, 3, 2, 5)).astype("float32")   # C = 3, W = 5
    layer = keras.layers.BatchNormalization()
    y = np.asarray(layer(x, training=True))
    assert tuple(layer.gamma.shape) == (5,)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)   # normalized per column of W
    assert np.abs(y.mean(axis=(0, 2, 3))).max() > 1e-3                    # not per channel


# --------------------------------------------------------------------------- find the bug


def _colleague_backward():
    """The buggy function exactly as notebook 02 gives it (m = x.shape[0], dgamma from x - mu)."""
    notebook = nbformat.read(Path(__file__).resolve().parent.parent / "notebooks" / "02_numpy_formula.ipynb", 4)
    source = next(c.source for c in notebook.cells if c.source.startswith("def colleague_backward("))
    namespace = {"np": np}
    exec(source, namespace)
    return namespace["colleague_backward"]


colleague_backward = _colleague_backward()


def _variant(m_rule="right", dgamma_rule="right"):
    """The colleague's function with each bug fixed or not; m_rule 'batch' | 'size' | 'right'."""

    def backward(dy, x, gamma, eps=1e-3, axis=-1):
        dx_bug, dgamma_bug, dbeta = colleague_backward(dy, x, gamma, eps, axis)
        _, cache = batch_norm_forward_graph(x, gamma, np.zeros_like(gamma), eps=eps, axis=axis)
        dx, dgamma, _ = batch_norm_backward_graph(dy, cache)
        if m_rule == "batch":
            dx = dx_bug
        elif m_rule == "size":  # the half-fix: all values of all channels
            others = cache["axes"]
            inv, x_hat, g = cache["inv"], cache["x_hat"], cache["gamma"]
            dx = g * inv * (dy - dy.sum(axis=others, keepdims=True) / x.size
                            - x_hat * (dy * x_hat).sum(axis=others, keepdims=True) / x.size)
        return dx, (dgamma_bug if dgamma_rule == "centred" else dgamma), dbeta

    return backward


def test_the_fixed_backward_passes():
    assert check_find_the_bug(_variant()).passed


def test_the_colleague_code_gets_both_bugs_named():
    result = check_find_the_bug(colleague_backward)
    assert result.status == "failed"
    assert result.message.startswith("2 outputs are wrong")
    assert "dgamma sums dy * (x - mu)" in result.message
    assert "m is the batch size x.shape[0]" in result.message


@pytest.mark.parametrize("variant, words, absent", [
    (_variant(m_rule="batch"), "m is the batch size x.shape[0]", "dgamma"),
    (_variant(dgamma_rule="centred"), "dgamma sums dy * (x - mu)", "m is the batch size"),
    (_variant(m_rule="size"), "m = x.size counts the values of ALL channels", "dgamma"),
], ids=["only-dgamma-fixed", "only-m-fixed", "m-is-x-size"])
def test_each_remaining_bug_is_named_alone(variant, words, absent):
    result = check_find_the_bug(variant)
    assert result.status == "failed" and words in result.message, result
    assert absent not in result.message and "outputs are wrong" not in result.message


def test_find_the_bug_shape_and_untouched_cases():
    def untouched(dy, x, gamma, eps=1e-3, axis=-1):
        raise NotImplementedError  # copy colleague_backward's body here and fix it

    assert check_find_the_bug(untouched).status == "not attempted"

    def keepdims(dy, x, gamma, eps=1e-3, axis=-1):
        dx, dgamma, dbeta = _variant()(dy, x, gamma, eps, axis)
        return dx, dgamma[None], dbeta

    assert "dgamma has shape (1, 3), not (3,)" in check_find_the_bug(keepdims).message

    def wrong_dbeta(dy, x, gamma, eps=1e-3, axis=-1):
        dx, dgamma, dbeta = _variant()(dy, x, gamma, eps, axis)
        return dx, dgamma, 2 * dbeta

    assert "dbeta is wrong" in check_find_the_bug(wrong_dbeta).message


def test_the_forward_tolerance_is_tight():
    result = check_forward(lambda x, g, b, eps=1e-3, axis=-1: correct(x, g, b, eps, axis) + 5e-7)
    assert result.status == "failed", result


def test_one_bug_in_two_outputs_is_counted_as_outputs_with_hints_that_fit():
    def unbiased_x_hat(dy, x, gamma, eps=1e-3, axis=-1):  # one bug: ddof=1 in x_hat, seen in dx and dgamma
        others, axis = _reduce_axes(x, axis)
        m, shape = x.size // x.shape[axis], _keep_shape(x, axis)
        inv = 1.0 / np.sqrt(x.var(axis=others, keepdims=True, ddof=1) + eps)
        x_hat = (x - x.mean(axis=others, keepdims=True)) * inv
        dx = gamma.reshape(shape) * inv * (dy - dy.sum(axis=others, keepdims=True) / m
                                           - x_hat * (dy * x_hat).sum(axis=others, keepdims=True) / m)
        return dx, (dy * x_hat).sum(axis=others), dy.sum(axis=others)

    message = check_find_the_bug(unbiased_x_hat).message
    assert "bug(s)" not in message and message.startswith("2 outputs are wrong"), message
    assert "which input does gamma multiply?" not in message and "x_hat" in message, message
