"""Notebook 02's checkers: ``forward`` (any layout), ``find-the-bug`` (a backward pass with two bugs) and,
optional, ``backward`` (the (N, D) backward pass from scratch)."""

from functools import partial

import numpy as np

from bn_course.exercises.common import EPS_HINT, Exercise, call_learner, checker, mismatch, moments, normalize
from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward

# (label, shape, axis, eps); C differs from H and W, so a gamma broadcast along the wrong axis fails loudly.
_ND = ("an (N, D) = (8, 3) batch", (8, 3), -1, 1e-3)
_LAYOUTS = [_ND, ("an (N, H, W, C) = (4, 2, 2, 3) batch, axis=-1", (4, 2, 2, 3), -1, 1e-3),
            ("an (N, C, H, W) = (4, 3, 2, 2) batch, axis=1", (4, 3, 2, 2), 1, 0.1)]
_LARGE_EPS = ("an (N, D) = (6, 4) batch with a large eps = 0.5", (6, 4), -1, 0.5)

_GENERIC = {"the output": "it differs from batch norm's. Check the four steps: mean over every axis but `axis`, "
                          "biased variance, (x - mean) / sqrt(var + eps), then gamma * x_hat + beta.",
            "dx": "compare each stage with a numerical gradient, starting from x_hat (is it the forward pass's?).",
            "dgamma": "check which input gamma multiplies in the forward pass, and that your x_hat is the forward "
                      "pass's (same mean, variance and eps).",
            "dbeta": "it is the sum of dy per feature."}


def _check(fn, cases, first_seed, outputs):
    """Run ``outputs(fn, label, x, gamma, beta, dy, eps, axis) -> [(name, got, right, mistakes)]`` on every
    case, then name each wrong output once: its hint on the first case that shows it (one hint named once)."""
    problems = {}  # output name -> (the first case where it is wrong, its hint there)
    for seed, (label, shape, axis, eps) in enumerate(cases, start=first_seed):
        rng = np.random.default_rng(seed)
        channels, keep = shape[axis], [n if a == axis % len(shape) else 1 for a, n in enumerate(shape)]
        x = rng.uniform(-3.0, 3.0, size=keep) + rng.uniform(0.5, 3.0, size=keep) * rng.normal(size=shape)
        gamma, beta = rng.uniform(0.5, 2.0, size=channels), rng.uniform(-1.0, 1.0, size=channels)
        for name, got, right, mistakes in outputs(fn, label, x, gamma, beta, rng.normal(size=shape), eps, axis):
            hint = mismatch(label, got, right, mistakes, _GENERIC[name], name, atol=1e-8, nan_hint=EPS_HINT)
            if hint is not None and name not in problems and hint not in [h for _, h in problems.values()]:
                problems[name] = (label, hint)
    wrong = [f"On {case}, {name} is wrong: {hint}" for name, (case, hint) in problems.items()]
    if len(wrong) > 1:
        wrong = [f"{len(wrong)} outputs are wrong."] + [f"({i}) {text}" for i, text in enumerate(wrong, start=1)]
    assert not wrong, " ".join(wrong)


def _solution_forward(x, gamma, beta, eps=1e-3, axis=-1):
    axis = axis % x.ndim                                   # -1 -> the last axis
    others = tuple(a for a in range(x.ndim) if a != axis)  # every axis but the kept one
    mean = x.mean(axis=others, keepdims=True)              # keepdims: broadcasts against x
    var = ((x - mean) ** 2).mean(axis=others, keepdims=True)   # biased: divide by m
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]                            # e.g. (1, C, 1, 1) for (N, C, H, W), axis=1
    x_hat = (x - mean) / np.sqrt(var + eps)                # eps under the square root
    return np.reshape(gamma, shape) * x_hat + np.reshape(beta, shape)


def _forward(fn, label, x, gamma, beta, dy, eps, axis):
    right, cache = batch_norm_forward(x, gamma, beta, eps=eps, axis=axis)
    others, keep = cache["reduce_axes"], cache["shape"]
    g, b = gamma.reshape(keep), beta.reshape(keep)
    mean, var = moments(x, others)
    mistakes = [
        ("you used the unbiased variance (ddof=1). Batch norm, like Keras, divides by m: np.var's default ddof=0.",
         normalize(x, *moments(x, others, ddof=1), g, b, eps)),
        ("eps belongs under the square root: (x - mu) / np.sqrt(var + eps), not / (np.sqrt(var) + eps).",
         g * (x - mean) / (np.sqrt(var) + eps) + b),
        ("eps is missing: divide by np.sqrt(var + eps), not np.sqrt(var).", normalize(x, mean, var, g, b, eps=0.0)),
        ("you divided by sqrt(std + eps); the denominator is sqrt(var + eps).",
         normalize(x, mean, np.sqrt(var), g, b, eps)),
        ("gamma and beta are swapped: gamma scales and beta shifts.", normalize(x, mean, var, b, g, eps)),
        ("the scale and shift are missing: return gamma * x_hat + beta, not x_hat.", normalize(x, mean, var, eps=eps)),
        ("wrong axes: `axis` is the axis KEPT (Keras's meaning); average over every OTHER axis.",
         normalize(x, *moments(x, axis), g, b, eps)),
        ("you averaged over the batch axis only; each channel's statistics are over the batch AND spatial axes.",
         normalize(x, *moments(x, 0), g, b, eps)),
    ]
    return [("the output", call_learner(fn, label, x, gamma, beta, eps=eps, axis=axis), right, mistakes)]


@checker("Exercise: batch norm forward pass")
def check_forward(fn):
    """Check ``fn(x, gamma, beta, eps=1e-3, axis=-1)`` against ``numpy_bn`` on (N, D) (one with a large eps),
    (N, H, W, C) with axis=-1 and (N, C, H, W) with axis=1."""
    _check(fn, [_ND, _LARGE_EPS] + _LAYOUTS[1:], 0, _forward)


def _solution_find_the_bug(dy, x, gamma, eps=1e-3, axis=-1):
    axis = axis % x.ndim
    axes = tuple(a for a in range(x.ndim) if a != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    m = x.size // x.shape[axis]         # fix 1: values per feature, N*H*W for images (was x.shape[0])
    mu = x.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    x_hat = (x - mu) * inv
    dy_mean = dy.sum(axis=axes, keepdims=True) / m
    dy_xhat_mean = (dy * x_hat).sum(axis=axes, keepdims=True) / m
    dx = np.reshape(gamma, shape) * inv * (dy - dy_mean - x_hat * dy_xhat_mean)
    dgamma = (dy * x_hat).sum(axis=axes)  # fix 2: gamma multiplies x_hat, not x - mu
    dbeta = dy.sum(axis=axes)
    return dx, dgamma, dbeta


def _solution_backward(dy, x, gamma, eps=1e-3):
    m = x.shape[0]
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    dbeta = dy.sum(axis=0)
    dgamma = (dy * x_hat).sum(axis=0)
    # the naive gradient, minus its mean over the batch, minus its component along x_hat
    dx = gamma / (m * np.sqrt(var + eps)) * (m * dy - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def _gradients(fn, label, x, gamma, beta, dy, eps, axis, with_axis=True):
    """The ``outputs`` of :func:`_check` for a backward pass ``fn(dy, x, gamma, eps[, axis])``."""
    _, cache = batch_norm_forward(x, gamma, beta, eps=eps, axis=axis)
    axes, keep, m = cache["reduce_axes"], cache["shape"], x.size // x.shape[axis]
    centred, inv = x - cache["mean"].reshape(keep), cache["inv_std"].reshape(keep)
    dx_hat = dy * gamma.reshape(keep)
    naive = dx_hat * inv                                                      # mean and variance held fixed
    mean_path = -inv * dx_hat.sum(axis=axes, keepdims=True) / m
    variance_path = -centred * inv**3 * (dx_hat * centred).sum(axis=axes, keepdims=True) / m
    right = batch_norm_backward(dy, cache)
    swapped = "dgamma and dbeta are swapped: return (dx, dgamma, dbeta), with dbeta = sum(dy) per feature."
    mistakes = [[
        ("m is the batch size x.shape[0] in dx, but each feature's mean is over N*H*W values here.",
         naive + (mean_path + variance_path) * m / len(x)),
        ("m = x.size counts the values of ALL channels; each channel's mean is over x.size // C values.",
         naive + (mean_path + variance_path) * m / x.size),
        ("dx treats the mean and variance as constants; add the paths through the variance and the mean.", naive),
        ("dx misses the path through the mean: the mean depends on every x_i, which adds dmu / m to each dx_i.",
         naive + variance_path),
        ("dx misses the path through the variance: it depends on every x_i, which adds dvar * 2 (x_i - mu) / m "
         "to each dx_i.", naive + mean_path),
    ], [
        ("dgamma sums dy * (x - mu): gamma multiplies the NORMALIZED input, so sum dy * x_hat.",
         (dy * centred).sum(axis=axes)),
        ("dgamma sums dy * x; gamma multiplies x_hat, so use dy * x_hat.", (dy * x).sum(axis=axes)),
        (swapped, right[2]),
    ], [(swapped, right[1])]]
    result = call_learner(fn, label, dy, x, gamma, eps=eps, **({"axis": axis} if with_axis else {}))
    assert isinstance(result, (tuple, list)) and len(result) == 3, (
        "your function must return three arrays: (dx, dgamma, dbeta).")
    return list(zip(("dx", "dgamma", "dbeta"), result, right, mistakes))


@checker("Exercise: find the bug in a backward pass")
def check_find_the_bug(fn):
    """Check a fixed ``fn(dy, x, gamma, eps=1e-3, axis=-1) -> (dx, dgamma, dbeta)`` on the three layouts."""
    _check(fn, _LAYOUTS, 200, _gradients)


@checker("Exercise: batch norm backward pass")
def check_backward(fn):
    """Check ``fn(dy, x, gamma, eps=1e-3) -> (dx, dgamma, dbeta)`` on two (N, D) batches."""
    _check(fn, [_ND, _LARGE_EPS], 100, partial(_gradients, with_axis=False))


EXERCISES = [Exercise(notebook="02_numpy_formula", key=key, title=title, check=check, solution=solution,
                      explanation=explanation) for key, title, check, solution, explanation in [
    ("forward", "Exercise 1: one forward pass for every layout", check_forward, _solution_forward,
     "Keras's `axis` is **kept**: the statistics are over every other axis, with `keepdims=True` so they broadcast; "
     "γ and β are reshaped to `(1, C, 1, 1)` for `(N, C, H, W)`, `axis=1`. Biased variance, ε under the root."),
    ("find-the-bug", "Exercise 2: find the bug in a backward pass", check_find_the_bug, _solution_find_the_bug,
     "**Bug 1: `m = x.shape[0]`.** `m` counts the values behind one mean, `N·H·W` for images: `dx` is right on "
     "`(N, D)` but wrong on images, where its per-feature sum is no longer 0. **Bug 2: `dgamma` from `x - mu`.** "
     "γ multiplies `x_hat`: `dgamma` is wrong on every layout, close when the std is near 1."),
    ("backward", "Exercise 3 (optional): the (N, D) backward pass from scratch", check_backward, _solution_backward,
     "`dbeta = sum(dy)`, `dgamma = sum(dy * x_hat)`, `dx_hat = dy * gamma`, then the paths through the variance and "
     "the mean; collapsed: the naive gradient minus its mean and its component along `x_hat`."),
]]
