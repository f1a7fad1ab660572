"""Batch normalization's forward and backward pass node by node, through its computation graph.

Notebook 02 (section 4a) shows these two functions in full in a cell; this file holds the
same code for the benchmarks and the tests, and ``tests/test_backward_graph.py`` checks that
the cell and this file say the same thing, character for character. The closed form that
libraries use is :func:`bn_course.numpy_bn.batch_norm_backward`.

Forward graph, per feature, with m values per feature (sums over every axis but ``axis``):

    mu    = (1/m) sum x                   node 1: the batch mean
    xmu   = x - mu                        node 2: centred input
    var   = (1/m) sum xmu**2              node 3: biased variance
    inv   = (var + eps) ** -1/2           node 4: inverse standard deviation
    x_hat = xmu * inv                     node 5: normalized input
    y     = gamma * x_hat + beta          node 6: scale and shift

Conventions as in :mod:`bn_course.numpy_bn` (Keras ``axis``, biased variance, ``eps`` under
the square root); ``x`` is a float ndarray of rank >= 2 and ``gamma``, ``beta`` have shape (C,).
There are no argument checks here: :mod:`bn_course.numpy_bn` has them. NumPy only.
"""

import numpy as np

__all__ = ["batch_norm_forward_graph", "batch_norm_backward_graph"]


def batch_norm_forward_graph(x, gamma, beta, eps=1e-3, axis=-1):
    """Training-mode BN as six graph nodes: x (N, ...) float, gamma and beta (C,) with C = x.shape[axis].
    Returns y (shape of x) and a cache of the nodes the backward pass needs."""
    axis = axis % x.ndim
    axes = tuple(a for a in range(x.ndim) if a != axis)   # reduce over every axis but the kept one
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]                           # a (C,) vector broadcasts along `axis`
    gamma, beta = np.reshape(gamma, shape), np.reshape(beta, shape)
    m = x.size // x.shape[axis]                           # values per feature: N, or N*H*W for images
    mu = x.sum(axis=axes, keepdims=True) / m              # node 1: batch mean
    xmu = x - mu                                          # node 2: centred input
    var = (xmu**2).sum(axis=axes, keepdims=True) / m      # node 3: biased variance
    inv = 1.0 / np.sqrt(var + eps)                        # node 4: 1 / standard deviation
    x_hat = xmu * inv                                     # node 5: normalized input
    y = gamma * x_hat + beta                              # node 6: scale and shift
    cache = {"xmu": xmu, "var": var, "inv": inv, "x_hat": x_hat, "gamma": gamma, "eps": eps, "axes": axes, "m": m}
    return y, cache


def batch_norm_backward_graph(dy, cache, return_stages=False):
    """dL/dx, dL/dgamma, dL/dbeta from dL/dy (shape of x), walking the six nodes backwards.

    Returns grads = (dx, dgamma, dbeta): dx shaped like x, dgamma and dbeta (C,). ``return_stages=True`` returns
    (grads, stages), stages a dict of every intermediate gradient: dx_hat and dx shaped like x; dbeta, dgamma,
    dvar and dmu with x's rank, size 1 on every axis but ``axis`` (e.g. (1, C) or (1, 1, 1, C))."""
    xmu, var, inv, x_hat, gamma = cache["xmu"], cache["var"], cache["inv"], cache["x_hat"], cache["gamma"]
    eps, axes, m = cache["eps"], cache["axes"], cache["m"]

    def total(v):                                         # sum over the batch (and positions), per feature
        return v.sum(axis=axes, keepdims=True)

    # node 6: y = gamma * x_hat + beta, with gamma and beta shared by all m values
    dbeta = total(dy)
    dgamma = total(dy * x_hat)
    dx_hat = dy * gamma
    # nodes 5 and 4: x_hat = xmu * inv, inv = (var + eps) ** -1/2
    dvar = total(dx_hat * xmu) * -0.5 * (var + eps) ** -1.5
    # nodes 3 and 2: mu reaches the loss through xmu directly and through var
    dmu = -total(dx_hat * inv) + dvar * (-2.0 / m) * total(xmu)
    # node 1: x reaches the loss through xmu, through var and through mu
    dx = dx_hat * inv + dvar * 2.0 * xmu / m + dmu / m
    grads = (dx, dgamma.ravel(), dbeta.ravel())
    if return_stages:                                     # every intermediate gradient, to print them
        return grads, {"dbeta": dbeta, "dgamma": dgamma, "dx_hat": dx_hat, "dvar": dvar, "dmu": dmu, "dx": dx}
    return grads
