"""Recomputes every numeric answer of quizzes/02_numpy_formula.json with bn_course.numpy_bn."""

import numpy as np

from bn_course.numpy_bn import batch_norm, batch_norm_forward

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


def values_per_channel():
    """Count the values behind each channel's mean in a (4, 3, 2, 2) NCHW batch, axis=1."""
    x = np.arange(4 * 3 * 2 * 2, dtype=float).reshape(4, 3, 2, 2)
    mean = _forward(x, axis=1)[1]["mean"]
    counts = {int(x[:, c].size) for c in range(3)}
    assert len(counts) == 1 and np.allclose(mean, [x[:, c].mean() for c in range(3)])
    return counts.pop()


ANSWERS = {
    "batch-mean": batch_mean,
    "batch-variance": batch_variance,
    "normalized-value": normalized_value,
    "epsilon-small-variance": epsilon_small_variance,
    "values-per-channel": values_per_channel,
}
