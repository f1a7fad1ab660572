"""Batch normalization in NumPy, with Keras conventions (introduced in notebook 02).

Conventions shared by every function here:

* ``axis`` is the feature (channel) axis that is *kept*, as in ``keras.layers.BatchNormalization(axis=...)``:
  ``axis=-1`` for (N, D) and (N, H, W, C) inputs, ``axis=1`` for (N, C, H, W). Statistics are taken over
  every other axis, so for (N, H, W, C) each channel is averaged over N*H*W values.
* The variance is the *biased* one (divide by m, not m - 1), as Keras uses both to normalize and to
  update the moving variance.
* Moving statistics follow Keras: ``moving = moving * momentum + batch * (1 - momentum)``, so
  ``momentum=0.99`` keeps 99 % of the old value (PyTorch's ``momentum=0.1`` weights the *new* value instead).
* Inputs are never modified in place; ``gamma``, ``beta`` and the statistics have shape (C,), C = x.shape[axis].
"""

import numpy as np

from bn_course.validation import (as_float_array, check_axis, check_channel_vector, check_eps, check_momentum,
                                  check_variance)

__all__ = ["batch_norm", "batch_norm_forward", "batch_norm_backward", "batch_norm_inference", "update_moving"]


def _prepare(x, gamma, beta, eps, axis):
    """Validate the common arguments; return (x, gamma, beta, eps, axis, reduce_axes, broadcast shape)."""
    x = as_float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have a batch axis and a feature axis (rank >= 2), got shape {x.shape}")
    axis = check_axis(axis, x.ndim, x.shape)
    gamma = check_channel_vector(gamma, "gamma", x.shape[axis])
    beta = check_channel_vector(beta, "beta", x.shape[axis])
    reduce_axes = tuple(a for a in range(x.ndim) if a != axis)  # the statistics average over these
    shape = tuple(x.shape[a] if a == axis else 1 for a in range(x.ndim))  # broadcasts a (C,) vector against x
    return x, gamma, beta, check_eps(eps), axis, reduce_axes, shape


def batch_norm_forward(x, gamma, beta, eps=1e-3, axis=-1):
    """Training-mode batch normalization, returning what the backward pass needs.

    Args:
        x: array of any rank >= 2, e.g. (N, D), (N, H, W, C) or (N, C, H, W).
        gamma, beta: scale and shift, shape (C,) with C = x.shape[axis].
        eps: added to the variance before the square root (Keras default 1e-3).
        axis: the feature/channel axis that is kept.

    Computes, with m = x.size / C values per feature (Algorithm 1 of Ioffe & Szegedy):
        mu      = mean(x)                      over all axes but ``axis``
        var     = mean((x - mu)**2)            biased variance
        x_hat   = (x - mu) / sqrt(var + eps)
        y       = gamma * x_hat + beta

    Returns:
        y: same shape as x.
        cache: dict with x_hat, inv_std = 1/sqrt(var + eps), gamma, mean, var,
            and the axis bookkeeping used by :func:`batch_norm_backward`.
    """
    x, gamma, beta, eps, axis, reduce_axes, shape = _prepare(x, gamma, beta, eps, axis)
    mean = x.mean(axis=reduce_axes)
    centered = x - mean.reshape(shape)
    var = np.mean(centered * centered, axis=reduce_axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = centered * inv_std.reshape(shape)
    y = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    return y, dict(x_hat=x_hat, inv_std=inv_std, gamma=gamma, mean=mean, var=var, eps=eps, axis=axis,
                   reduce_axes=reduce_axes, shape=shape)


def batch_norm(x, gamma, beta, eps=1e-3, axis=-1):
    """Training-mode batch normalization: ``y = gamma * (x - mu) / sqrt(var + eps) + beta``.

    Same arguments and formula as :func:`batch_norm_forward`; returns only ``y``
    (same shape as ``x``), normalized with this batch's own mean and biased variance.
    """
    return batch_norm_forward(x, gamma, beta, eps=eps, axis=axis)[0]


def batch_norm_backward(dy, cache):
    """Closed-form gradients of training-mode batch normalization.

    Args:
        dy: upstream gradient dL/dy, same shape as x.
        cache: from :func:`batch_norm_forward`.

    With m values per feature and sums over every axis but the kept one:
        dbeta  = sum(dy)
        dgamma = sum(dy * x_hat)
        dx     = gamma * inv_std / m * (m * dy - dbeta - x_hat * dgamma)

    The last line is the whole chain rule through mu and var collapsed into one
    expression; notebook 02 derives it and checks it against the step-by-step graph.

    Returns:
        dx (shape of x), dgamma (C,), dbeta (C,).
    """
    dy = as_float_array(dy, "dy")
    x_hat = cache["x_hat"]
    if dy.shape != x_hat.shape:
        raise ValueError(f"dy has shape {dy.shape} but the forward input had shape {x_hat.shape}")
    reduce_axes, shape = cache["reduce_axes"], cache["shape"]
    m = x_hat.size // x_hat.shape[cache["axis"]]
    dbeta = dy.sum(axis=reduce_axes)
    dgamma = (dy * x_hat).sum(axis=reduce_axes)
    scale = (cache["gamma"] * cache["inv_std"] / m).reshape(shape)
    dx = scale * (m * dy - dbeta.reshape(shape) - x_hat * dgamma.reshape(shape))
    return dx, dgamma, dbeta


def batch_norm_inference(x, gamma, beta, moving_mean, moving_var, eps=1e-3, axis=-1):
    """Inference-mode batch normalization with stored statistics.

    ``y = gamma * (x - moving_mean) / sqrt(moving_var + eps) + beta``; the batch's
    own statistics are not used, so each sample's output is independent of the
    others in the batch. ``moving_mean`` and ``moving_var`` have shape (C,);
    ``moving_var`` must be >= 0. Returns ``y`` with the shape of ``x``.
    """
    x, gamma, beta, eps, axis, _, shape = _prepare(x, gamma, beta, eps, axis)
    moving_mean = check_channel_vector(moving_mean, "moving_mean", x.shape[axis])
    moving_var = check_variance(moving_var, "moving_var", x.shape[axis])
    inv_std = 1.0 / np.sqrt(moving_var + eps)
    return gamma.reshape(shape) * (x - moving_mean.reshape(shape)) * inv_std.reshape(shape) + beta.reshape(shape)


def update_moving(moving, batch_stat, momentum=0.99):
    """One Keras-style exponential-moving-average step.

    ``new = moving * momentum + batch_stat * (1 - momentum)``; ``momentum`` in [0, 1]
    is the share of the *old* value kept (Keras default 0.99). Arrays of equal
    shape (usually (C,)); returns a new array, leaving both inputs untouched.
    """
    momentum = check_momentum(momentum)
    moving, batch_stat = as_float_array(moving, "moving"), as_float_array(batch_stat, "batch_stat")
    if moving.shape != batch_stat.shape:
        raise ValueError(f"moving has shape {moving.shape} but batch_stat has shape {batch_stat.shape}")
    return moving * momentum + batch_stat * (1.0 - momentum)
