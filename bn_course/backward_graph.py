"""Batch normalization's backward pass through its computation graph, stage by stage (notebook 02).

:func:`bn_course.numpy_bn.batch_norm_backward` is the closed form: the chain rule
through the mean and the variance collapsed into one expression. This module is
the long way round, the one a learner derives by hand and an autodiff system
runs: walk Algorithm 1 of Ioffe & Szegedy (2015) backwards, one node at a time.
Both give the same numbers (to float64 rounding); notebook 02 checks them
against a numerical gradient and times them against each other, and the
benchmarks time them on larger inputs.

Forward graph, per feature, with m values per feature (sums over every axis but ``axis``):

    mu    = (1/m) sum x                   node 1: the batch mean
    xmu   = x - mu                        node 2: centred input
    var   = (1/m) sum xmu**2              node 3: biased variance
    inv   = (var + eps) ** -1/2           node 4: inverse standard deviation
    x_hat = xmu * inv                     node 5: normalized input
    y     = gamma * x_hat + beta          node 6: scale and shift

Backward, in the reverse order (the gradient of each node is written d<node>):

    dbeta  = sum dy                       dgamma = sum dy * x_hat
    dx_hat = dy * gamma
    dvar   = sum dx_hat * xmu * (-1/2) (var + eps) ** -3/2
    dmu    = sum dx_hat * (-inv)  +  dvar * (-2/m) sum xmu      (the second sum is 0)
    dx     = dx_hat * inv  +  dvar * 2 xmu / m  +  dmu / m

The same shapes and conventions as :mod:`bn_course.numpy_bn` (Keras ``axis``,
biased variance, ``eps`` under the square root); NumPy only.
"""

import numpy as np

from bn_course.numpy_bn import _as_float_array, _prepare

__all__ = ["batch_norm_forward_graph", "batch_norm_backward_graph", "STAGES"]

#: The names of the gradients :func:`batch_norm_backward_graph` returns with
#: ``return_stages=True``, in the order they are computed.
STAGES = ("dbeta", "dgamma", "dx_hat", "dvar", "dmu", "dx")


def batch_norm_forward_graph(x, gamma, beta, eps=1e-3, axis=-1):
    """Training-mode forward pass computed node by node, keeping every node.

    Args:
        x: array of rank >= 2, e.g. (N, D), (N, H, W, C) or (N, C, H, W).
        gamma, beta: shape (C,) with C = x.shape[axis].
        eps: added to the variance under the square root.
        axis: the feature/channel axis that is kept (Keras meaning).

    Returns:
        y: same shape as x, equal to :func:`bn_course.numpy_bn.batch_norm`.
        cache: the keys of :func:`bn_course.numpy_bn.batch_norm_forward`'s cache
            (so :func:`bn_course.numpy_bn.batch_norm_backward` accepts it too)
            plus the graph's own nodes ``x``, ``xmu`` and ``beta``.
    """
    x, gamma, beta, eps, axis, reduce_axes, shape = _prepare(x, gamma, beta, eps, axis)
    mu = x.mean(axis=reduce_axes, keepdims=True)              # node 1
    xmu = x - mu                                               # node 2
    var = np.mean(xmu**2, axis=reduce_axes, keepdims=True)     # node 3
    inv = 1.0 / np.sqrt(var + eps)                             # node 4
    x_hat = xmu * inv                                          # node 5
    y = gamma.reshape(shape) * x_hat + beta.reshape(shape)     # node 6
    cache = {
        "x": x,
        "xmu": xmu,
        "x_hat": x_hat,
        "inv_std": inv.reshape(-1),
        "gamma": gamma,
        "beta": beta,
        "mean": mu.reshape(-1),
        "var": var.reshape(-1),
        "eps": eps,
        "axis": axis,
        "reduce_axes": reduce_axes,
        "shape": shape,
    }
    return y, cache


def batch_norm_backward_graph(dy, cache, return_stages=False):
    """Gradients of training-mode batch normalization, one graph node at a time.

    Args:
        dy: upstream gradient dL/dy, same shape as x.
        cache: from :func:`batch_norm_forward_graph` or from
            :func:`bn_course.numpy_bn.batch_norm_forward` (the centred input is
            then recovered as ``x_hat / inv_std``).
        return_stages: also return a dict with every intermediate gradient,
            keyed by :data:`STAGES`; per-feature ones (dbeta, dgamma, dvar, dmu)
            have shape (C,), the others the shape of x.

    Returns:
        (dx, dgamma, dbeta), or (dx, dgamma, dbeta, stages) with ``return_stages``.
        Equal to :func:`bn_course.numpy_bn.batch_norm_backward` up to rounding.
    """
    x_hat = cache["x_hat"]
    dy = _as_float_array(dy, "dy")
    if dy.shape != x_hat.shape:
        raise ValueError(f"dy has shape {dy.shape} but the forward input had shape {x_hat.shape}")
    axes, shape, eps = cache["reduce_axes"], cache["shape"], cache["eps"]
    m = x_hat.size // x_hat.shape[cache["axis"]]
    var = cache["var"].reshape(shape)
    inv = cache["inv_std"].reshape(shape)
    xmu = cache["xmu"] if "xmu" in cache else x_hat / inv
    gamma = cache["gamma"].reshape(shape)

    # node 6: y = gamma * x_hat + beta
    dbeta = dy.sum(axis=axes, keepdims=True)
    dgamma = (dy * x_hat).sum(axis=axes, keepdims=True)
    dx_hat = dy * gamma
    # node 5 and 4: x_hat = xmu * inv, inv = (var + eps) ** -1/2
    dvar = (dx_hat * xmu).sum(axis=axes, keepdims=True) * -0.5 * (var + eps) ** -1.5
    # node 3 and 2: var = mean(xmu**2), xmu = x - mu; mu reaches the loss through xmu and var
    dmu = -(dx_hat * inv).sum(axis=axes, keepdims=True) + dvar * (-2.0 / m) * xmu.sum(axis=axes, keepdims=True)
    # node 1: mu = mean(x); x reaches the loss through xmu (twice) and mu
    dx = dx_hat * inv + dvar * 2.0 * xmu / m + dmu / m

    result = (dx, dgamma.reshape(-1), dbeta.reshape(-1))
    if not return_stages:
        return result
    stages = {
        "dbeta": dbeta.reshape(-1),
        "dgamma": dgamma.reshape(-1),
        "dx_hat": dx_hat,
        "dvar": dvar.reshape(-1),
        "dmu": dmu.reshape(-1),
        "dx": dx,
    }
    return (*result, stages)
