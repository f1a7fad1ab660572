"""Recomputes every numeric answer of quizzes/02_numpy_formula.json with bn_course.numpy_bn."""

import numpy as np

from bn_course.numpy_bn import batch_norm, batch_norm_backward, batch_norm_forward

# The (N=4, D=2) batch of the questions batch-mean, batch-variance and normalized-value.
X = np.array([[1.0, 2.0], [3.0, 10.0], [5.0, 6.0], [7.0, 0.0]])
KERAS_EPS = 1e-3


def _forward(x, eps=KERAS_EPS, axis=-1):
    channels = x.shape[axis]
    return batch_norm_forward(x, np.ones(channels), np.zeros(channels), eps=eps, axis=axis)


def batch_mean():
    return float(_forward(X)[1]["mean"][1])


def batch_variance():
    return float(_forward(X)[1]["var"][1])


def normalized_value():
    y, cache = _forward(X)
    return float(cache["x_hat"][1, 1])


def epsilon_small_variance():
    x = np.array([[0.48], [0.52], [0.48], [0.52]])
    assert np.isclose(x.std(), 0.02)
    y = batch_norm(x, [1.0], [0.0], eps=KERAS_EPS)
    return float(y.std())


def gradient_scale():
    """dL/dx after multiplying a feature by 10 (eps = 0), divided by dL/dx before, same upstream gradient."""
    rng = np.random.default_rng(0)
    x, dy, gamma = rng.normal(1.0, 2.0, size=(16, 3)), rng.normal(size=(16, 3)), np.array([0.5, 1.0, 2.0])
    _, before = batch_norm_forward(x, gamma, np.zeros(3), eps=0.0)
    _, after = batch_norm_forward(10 * x, gamma, np.zeros(3), eps=0.0)
    ratio = batch_norm_backward(dy, after)[0] / batch_norm_backward(dy, before)[0]
    assert np.allclose(ratio, ratio.flat[0])   # the same factor for every element
    return float(ratio.flat[0])


ANSWERS = {
    "batch-mean": batch_mean,
    "batch-variance": batch_variance,
    "normalized-value": normalized_value,
    "epsilon-small-variance": epsilon_small_variance,
    "gradient-scale": gradient_scale,
}
