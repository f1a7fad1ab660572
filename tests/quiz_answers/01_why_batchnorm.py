"""Recomputes every numeric answer of quizzes/01_why_batchnorm.json."""

from math import atanh, erf, sqrt

import numpy as np

from bn_course.explore.depth import activate, saturated_share
from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward


def saturated_share_after_bn():
    """Percent of tanh(z), z ~ N(0, 1), with |tanh z| > 0.99: the exact tail, checked by simulation."""
    exact = 1.0 - erf(atanh(0.99) / sqrt(2.0))
    z = np.random.default_rng(0).normal(size=2_000_000)
    assert abs(saturated_share(np.tanh(z), "tanh") - exact) < 3e-4
    return 100.0 * exact


def sigmoid_slope():
    z = np.linspace(-10.0, 10.0, 200_001)  # contains z = 0
    h = activate(z, "sigmoid")
    return float(np.max(h * (1.0 - h)))


def scale_invariance_gradient():
    """std of dL/dW behind BN (eps = 0) with the kernel multiplied by 5, divided by the original."""
    rng = np.random.default_rng(0)
    x, w, dy = rng.normal(size=(32, 6)), rng.normal(size=(6, 4)), rng.normal(size=(32, 4))

    def grad(kernel):
        y, cache = batch_norm_forward(x @ kernel, np.ones(4), np.zeros(4), eps=0.0)
        return x.T @ batch_norm_backward(dy, cache)[0], y

    g1, y1 = grad(w)
    g5, y5 = grad(5.0 * w)
    np.testing.assert_allclose(y1, y5, atol=1e-12)  # the output does not change
    ratio = g5 / g1
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-9)  # every entry scales the same way
    return float(ratio.flat[0])


def update_ratio():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 64))
    w *= 8.0 / np.linalg.norm(w)
    g = rng.normal(size=(64, 64))
    g *= 0.4 / np.linalg.norm(g)
    step = -0.05 * g
    return float(np.linalg.norm(step) / np.linalg.norm(w))


ANSWERS = {
    "saturated-share-after-bn": saturated_share_after_bn,
    "sigmoid-slope": sigmoid_slope,
    "scale-invariance-gradient": scale_invariance_gradient,
    "update-ratio": update_ratio,
}
