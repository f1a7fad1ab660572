"""Exercise checkers for notebook 02 (numpy_formula). Each ``check_*`` returns a CheckResult."""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, run_check


# Fixed inputs for the forward checker: (label, shape, axis, eps). The 4-D cases
# use a channel count different from H and W, so a gamma broadcast along the wrong
# axis fails loudly instead of passing by accident.
_FORWARD_CASES = [
    ("an (N, D) = (8, 3) batch, axis=-1", (8, 3), -1, 1e-3),
    ("an (N, D) = (6, 4) batch with a large eps = 0.5, axis=-1", (6, 4), -1, 0.5),
    ("an (N, H, W, C) = (4, 2, 2, 3) batch, axis=-1", (4, 2, 2, 3), -1, 1e-3),
    ("an (N, C, H, W) = (4, 3, 2, 2) batch, axis=1", (4, 3, 2, 2), 1, 0.1),
]


def _forward_case(shape, axis, seed):
    rng = np.random.default_rng(seed)
    channels = shape[axis]
    # each channel gets its own mean and spread, so per-channel and wrong-axis statistics differ
    spread = [1] * len(shape)
    spread[axis] = channels
    loc = rng.uniform(-3.0, 3.0, size=channels).reshape(spread)
    scale = rng.uniform(0.5, 3.0, size=channels).reshape(spread)
    x = loc + scale * rng.normal(size=shape)
    gamma = rng.uniform(0.5, 2.0, size=channels)
    beta = rng.uniform(-1.0, 1.0, size=channels)
    return x, gamma, beta


def _forward_mistakes(x, gamma, beta, eps, axis):
    """The usual wrong versions of batch norm, each with the hint that fixes it."""
    axis = axis % x.ndim
    keep = [1] * x.ndim
    keep[axis] = x.shape[axis]
    g, b = gamma.reshape(keep), beta.reshape(keep)
    others = tuple(a for a in range(x.ndim) if a != axis)
    mean, var = x.mean(axis=others, keepdims=True), x.var(axis=others, keepdims=True)
    mistakes = [
        ("you used the unbiased variance (divide by m - 1, ddof=1). Batch norm, like Keras, "
         "divides by m: use np.var(...) with its default ddof=0, or mean((x - mu)**2).",
         g * (x - mean) / np.sqrt(x.var(axis=others, keepdims=True, ddof=1) + eps) + b),
        ("eps belongs under the square root: (x - mu) / np.sqrt(var + eps), "
         "not (x - mu) / (np.sqrt(var) + eps).",
         g * (x - mean) / (np.sqrt(var) + eps) + b),
        ("eps is missing: divide by np.sqrt(var + eps), not np.sqrt(var).",
         g * (x - mean) / np.sqrt(var) + b),
        ("you divided by sqrt(std + eps); the denominator is sqrt(var + eps), the square root "
         "of the variance, not of the standard deviation.",
         g * (x - mean) / np.sqrt(np.sqrt(var) + eps) + b),
        ("gamma and beta are swapped: y = gamma * x_hat + beta (gamma scales, beta shifts).",
         b * (x - mean) / np.sqrt(var + eps) + g),
        ("the scale and shift are missing: return gamma * x_hat + beta, not x_hat.",
         (x - mean) / np.sqrt(var + eps)),
        (f"wrong axes: you took the statistics over axis {axis}, the axis that must be KEPT. "
         "`axis` is the feature/channel axis (Keras meaning); average over every OTHER axis, "
         "e.g. reduce_axes = tuple(a for a in range(x.ndim) if a != axis).",
         g * (x - x.mean(axis=axis, keepdims=True))
         / np.sqrt(x.var(axis=axis, keepdims=True) + eps) + b),
    ]
    if x.ndim > 2:
        mean0, var0 = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
        mistakes.append((
            "you averaged over the batch axis only, so every pixel position got its own statistics. "
            "For images, each channel's mean and variance are over the batch AND the spatial axes "
            "(N*H*W values per channel): reduce over every axis except `axis`.",
            g * (x - mean0) / np.sqrt(var0 + eps) + b))
    return mistakes


def _check_forward(fn):
    from bn_course.numpy_bn import batch_norm

    for seed, (label, shape, axis, eps) in enumerate(_FORWARD_CASES):
        x, gamma, beta = _forward_case(shape, axis, seed)
        x_before = x.copy()
        y = call_learner(fn, label, x, gamma.copy(), beta.copy(), eps=eps, axis=axis)
        assert y is not None, "your function returned None: finish with `return y`."
        y = np.asarray(y, dtype=np.float64)
        assert y.shape == x.shape, (
            f"On {label} the output has shape {y.shape}, but batch norm keeps the input's shape "
            f"{x.shape}. Did a mean or sum drop an axis (keepdims=True keeps it)?")
        assert np.array_equal(x, x_before), (
            f"On {label} your function changed its input x in place (e.g. `x -= mu`); "
            "compute into a new array instead (`centred = x - mu`).")
        assert np.all(np.isfinite(y)), f"On {label} the output has NaN or inf values: is eps under the square root?"
        expected = batch_norm(x, gamma, beta, eps=eps, axis=axis)
        if np.allclose(y, expected, rtol=1e-6, atol=1e-6):
            continue
        for hint, wrong in _forward_mistakes(x, gamma, beta, eps, axis):
            if wrong.shape == y.shape and np.allclose(y, wrong, rtol=1e-6, atol=1e-6):
                raise AssertionError(f"On {label}: {hint}")
        worst = float(np.max(np.abs(y - expected)))
        raise AssertionError(
            f"On {label} the output differs from batch norm's by up to {worst:.3g}. Check the four "
            "steps: mean over every axis but `axis`, biased variance, (x - mean) / sqrt(var + eps), "
            "then gamma * x_hat + beta.")


def check_forward(fn):
    """Check a learner's ``fn(x, gamma, beta, eps=1e-3, axis=-1)``; returns a :class:`CheckResult`.

    Compares with :func:`bn_course.numpy_bn.batch_norm` (within 1e-6) on an (N, D)
    batch, an (N, D) batch with a large eps, an (N, H, W, C) batch with ``axis=-1``
    and an (N, C, H, W) batch with ``axis=1``. A failure names the first mistake it
    recognises: the unbiased variance, eps outside the square root or missing,
    sqrt of the std, gamma/beta swapped or missing, statistics over the kept axis,
    per-position statistics (batch axis only), a dropped axis, an input modified in
    place, shapes that do not broadcast.
    """
    return run_check("Exercise: batch norm forward pass", lambda: _check_forward(fn))


def _backward_mistakes(dy, x, gamma, eps):
    """(hint, (dx, dgamma, dbeta)) for the usual wrong (N, D) backward passes."""
    from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward

    _, cache = batch_norm_forward(x, gamma, beta=np.zeros_like(gamma), eps=eps)
    dx, dgamma, dbeta = batch_norm_backward(dy, cache)
    m = x.shape[0]
    x_hat, inv = cache["x_hat"], cache["inv_std"]
    dx_hat = dy * gamma
    dvar_term = -x_hat * inv * (dx_hat * x_hat).sum(axis=0) / m  # the path through the variance
    dmu_term = -inv * dx_hat.sum(axis=0) / m                        # the path through the mean
    return [
        ("dx treats the mean and variance as constants (dx = dy * gamma / sqrt(var + eps)). "
         "They depend on x too: add the paths through the variance and through the mean.",
         (dx_hat * inv, dgamma, dbeta)),
        ("dx misses the path through the mean: the mean depends on every x_i, which adds "
         "dmu / m to each dx_i.", (dx_hat * inv + dvar_term, dgamma, dbeta)),
        ("dx misses the path through the variance: the variance depends on every x_i, which adds "
         "dvar * 2 (x_i - mu) / m to each dx_i.", (dx_hat * inv + dmu_term, dgamma, dbeta)),
        ("dgamma must use the normalized input: dgamma = sum(dy * x_hat), not sum(dy * x).",
         (dx, (dy * x).sum(axis=0), dbeta)),
        ("dgamma and dbeta are swapped: return (dx, dgamma, dbeta) with dbeta = sum(dy) over the batch.",
         (dx, dbeta, dgamma)),
    ]


def _check_backward(fn):
    from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward

    for seed, (m, d, eps) in enumerate([(8, 3, 1e-3), (16, 5, 0.5)]):
        label = f"an (N, D) = ({m}, {d}) batch with eps = {eps}"
        rng = np.random.default_rng(100 + seed)
        x = rng.normal(loc=rng.uniform(-2, 2, size=d), scale=rng.uniform(0.5, 2.0, size=d), size=(m, d))
        gamma = rng.uniform(0.5, 2.0, size=d)
        dy = rng.normal(size=(m, d))
        inputs = (dy.copy(), x.copy(), gamma.copy())
        result = call_learner(fn, label, dy, x, gamma, eps=eps)
        assert isinstance(result, (tuple, list)) and len(result) == 3, (
            "your function must return three arrays: (dx, dgamma, dbeta).")
        dx, dgamma, dbeta = (np.asarray(r, dtype=np.float64) for r in result)
        assert dx.shape == x.shape, f"On {label} dx has shape {dx.shape}; it must have x's shape {x.shape}."
        for name, value in (("dgamma", dgamma), ("dbeta", dbeta)):
            assert value.shape == (d,), (
                f"On {label} {name} has shape {value.shape}; it must have shape ({d},): "
                "one number per feature, summed over the batch (axis=0).")
        assert all(np.array_equal(a, b) for a, b in zip((dy, x, gamma), inputs)), (
            f"On {label} your function changed one of its inputs in place.")
        _, cache = batch_norm_forward(x, gamma, np.zeros(d), eps=eps)
        expected = batch_norm_backward(dy, cache)
        if all(np.allclose(a, b, rtol=1e-6, atol=1e-8) for a, b in zip((dx, dgamma, dbeta), expected)):
            continue
        for hint, wrong in _backward_mistakes(dy, x, gamma, eps):
            if all(np.allclose(a, b, rtol=1e-6, atol=1e-8) for a, b in zip((dx, dgamma, dbeta), wrong)):
                raise AssertionError(f"On {label}: {hint}")
        names = [n for n, a, b in zip(("dx", "dgamma", "dbeta"), (dx, dgamma, dbeta), expected)
                 if not np.allclose(a, b, rtol=1e-6, atol=1e-8)]
        raise AssertionError(
            f"On {label} {', '.join(names)} differ(s) from the correct gradient. Follow the stages "
            "dy -> dbeta, dgamma -> dx_hat -> dvar -> dmu -> dx, or use the closed form "
            "dx = gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat)).")


def check_backward(fn):
    """Check a learner's ``fn(dy, x, gamma, eps=1e-3) -> (dx, dgamma, dbeta)`` for (N, D) input.

    Compares with :func:`bn_course.numpy_bn.batch_norm_backward` (within 1e-6
    relative) on two batches; a failure names the first mistake it recognises:
    mean and variance treated as constants, a missing path through the mean or the
    variance, dgamma from x instead of x_hat, dgamma/dbeta swapped, wrong shapes.
    Returns a :class:`CheckResult`.
    """
    return run_check("Exercise: batch norm backward pass", lambda: _check_backward(fn))


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = []
