"""Exercise checkers for notebook 02 (numpy_formula). Each ``check_*`` returns a CheckResult.

Three exercises: the forward pass for any layout (``forward``), a backward pass with two bugs
to find from their symptoms (``find-the-bug``), and, optional, the (N, D) backward pass from
scratch (``backward``). Each is registered in ``EXERCISES`` with a worked solution.
"""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, first_matching_mistake, run_check

# Fixed inputs for the forward checker: (label, shape, axis, eps). The 4-D cases use a
# channel count different from H and W, so a gamma broadcast along the wrong axis fails
# loudly instead of passing by accident.
_FORWARD_CASES = [
    ("an (N, D) = (8, 3) batch, axis=-1", (8, 3), -1, 1e-3),
    ("an (N, D) = (6, 4) batch with a large eps = 0.5, axis=-1", (6, 4), -1, 0.5),
    ("an (N, H, W, C) = (4, 2, 2, 3) batch, axis=-1", (4, 2, 2, 3), -1, 1e-3),
    ("an (N, C, H, W) = (4, 3, 2, 2) batch, axis=1", (4, 3, 2, 2), 1, 0.1),
]

# The layouts the backward checkers try: (label, shape, axis, eps).
_LAYOUT_CASES = [
    ("an (N, D) = (8, 3) batch", (8, 3), -1, 1e-3),
    ("an (N, H, W, C) = (4, 2, 2, 3) batch, axis=-1", (4, 2, 2, 3), -1, 1e-3),
    ("an (N, C, H, W) = (4, 3, 2, 2) batch, axis=1", (4, 3, 2, 2), 1, 0.1),
]


def _case(shape, axis, seed):
    """x with its own mean and spread per channel (so wrong-axis statistics differ), gamma, beta, dy."""
    rng = np.random.default_rng(seed)
    channels = shape[axis]
    spread = [1] * len(shape)
    spread[axis] = channels
    loc = rng.uniform(-3.0, 3.0, size=channels).reshape(spread)
    scale = rng.uniform(0.5, 3.0, size=channels).reshape(spread)
    x = loc + scale * rng.normal(size=shape)
    gamma = rng.uniform(0.5, 2.0, size=channels)
    beta = rng.uniform(-1.0, 1.0, size=channels)
    return x, gamma, beta, rng.normal(size=shape)


def _layout(x, axis):
    """(kept axis >= 0, the axes to reduce, the shape that broadcasts a (C,) vector along the kept axis)."""
    axis = axis % x.ndim
    keep = [1] * x.ndim
    keep[axis] = x.shape[axis]
    return axis, tuple(a for a in range(x.ndim) if a != axis), keep


# --------------------------------------------------------------------------- exercise 1: forward


def _solution_forward(x, gamma, beta, eps=1e-3, axis=-1):
    axis = axis % x.ndim                                   # -1 -> the last axis
    others = tuple(a for a in range(x.ndim) if a != axis)  # every axis but the kept one
    mean = x.mean(axis=others, keepdims=True)              # keepdims: broadcasts against x
    var = ((x - mean) ** 2).mean(axis=others, keepdims=True)   # biased: divide by m
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]                            # e.g. (1, C, 1, 1) for (N, C, H, W), axis=1
    x_hat = (x - mean) / np.sqrt(var + eps)                # eps under the square root
    return np.reshape(gamma, shape) * x_hat + np.reshape(beta, shape)


def _forward_mistakes(x, gamma, beta, eps, axis):
    """(hint, what that mistake returns) for the usual wrong versions of batch norm."""
    axis, others, keep = _layout(x, axis)
    g, b = gamma.reshape(keep), beta.reshape(keep)
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
         "`axis` is the feature/channel axis (Keras meaning); average over every OTHER axis.",
         g * (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(x.var(axis=axis, keepdims=True) + eps) + b),
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
        x, gamma, beta, _ = _case(shape, axis, seed)
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
        if np.allclose(y, batch_norm(x, gamma, beta, eps=eps, axis=axis), rtol=1e-6, atol=1e-6):
            continue
        hint = first_matching_mistake(y, _forward_mistakes(x, gamma, beta, eps, axis))
        assert hint is None, f"On {label}: {hint}"
        worst = float(np.max(np.abs(y - batch_norm(x, gamma, beta, eps=eps, axis=axis))))
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


# --------------------------------------------------------------------------- exercise 2: find the bug


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


def _closed_form(dy, x, gamma, eps, axis, m=None, dgamma_input="x_hat"):
    """The closed-form gradients with a chosen count m and a chosen input for dgamma (for the mistakes)."""
    axis, axes, keep = _layout(x, axis)
    m = x.size // x.shape[axis] if m is None else m
    mu = x.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    x_hat = (x - mu) * inv
    dx = gamma.reshape(keep) * inv * (dy - dy.sum(axis=axes, keepdims=True) / m
                                      - x_hat * (dy * x_hat).sum(axis=axes, keepdims=True) / m)
    multiplier = {"x_hat": x_hat, "x - mu": x - mu, "x": x}[dgamma_input]
    return dx, (dy * multiplier).sum(axis=axes), dy.sum(axis=axes)


def _bug_hunt_problems(result, dy, x, gamma, eps, axis, label):
    """{gradient name: hint} for what is still wrong in a learner's (dx, dgamma, dbeta); empty when right."""
    dx, dgamma, dbeta = result
    right_dx, right_dgamma, right_dbeta = _closed_form(dy, x, gamma, eps, axis)
    problems = {}
    if not np.allclose(dgamma, right_dgamma, rtol=1e-6, atol=1e-8):
        problems["dgamma"] = first_matching_mistake(dgamma, [
            ("dgamma is still the sum of dy * (x - mu): gamma multiplies the NORMALIZED input in "
             "y = gamma * x_hat + beta, so its gradient sums dy * x_hat.",
             _closed_form(dy, x, gamma, eps, axis, dgamma_input="x - mu")[1]),
            ("dgamma sums dy * x; gamma multiplies x_hat, so use dy * x_hat.",
             _closed_form(dy, x, gamma, eps, axis, dgamma_input="x")[1]),
        ]) or f"dgamma is wrong on {label} (dbeta is right): which input does gamma multiply?"
    if not np.allclose(dx, right_dx, rtol=1e-6, atol=1e-8):
        values_per_feature = x.size // x.shape[axis]
        problems["dx"] = first_matching_mistake(dx, [
            (f"dx is still wrong on {label}: m is the batch size x.shape[0], but each feature's mean here "
             f"is over {values_per_feature} values (batch and positions). That is why the sum of dx is "
             "not 0 on images, and why the (N, D) test passed.",
             _closed_form(dy, x, gamma, eps, axis, m=x.shape[0])[0]),
            (f"dx is wrong on {label}: m = x.size counts the values of ALL channels; each channel's mean "
             "is over x.size // C values (C = x.shape[axis]).", _closed_form(dy, x, gamma, eps, axis, m=x.size)[0]),
        ]) or (f"dx is wrong on {label}: check that its sum over each feature is 0 and that m counts "
               "the values behind ONE feature's mean, for every layout.")
    if not np.allclose(dbeta, right_dbeta, rtol=1e-6, atol=1e-8):
        problems["dbeta"] = (f"dbeta is wrong on {label}, and it was right in the colleague's code: "
                             "it is the sum of dy per feature.")
    return problems


def _check_find_the_bug(fn):
    problems = {}  # the first hint for each wrong gradient, over all layouts: every remaining bug is named
    for seed, (label, shape, axis, eps) in enumerate(_LAYOUT_CASES):
        x, gamma, _, dy = _case(shape, axis, 200 + seed)
        inputs = (dy.copy(), x.copy(), gamma.copy())
        result = call_learner(fn, label, dy, x, gamma, eps=eps, axis=axis)
        assert isinstance(result, (tuple, list)) and len(result) == 3, (
            "your function must return three arrays: (dx, dgamma, dbeta).")
        result = [np.asarray(r, dtype=np.float64) for r in result]
        channels = shape[axis]
        for name, value, wanted in zip(("dx", "dgamma", "dbeta"), result, (shape, (channels,), (channels,))):
            assert value.shape == wanted, f"On {label} {name} has shape {value.shape}; it must have shape {wanted}."
        assert all(np.array_equal(a, b) for a, b in zip((dy, x, gamma), inputs)), (
            f"On {label} your function changed one of its inputs in place.")
        for name, hint in _bug_hunt_problems(result, dy, x, gamma, eps, axis, label).items():
            problems.setdefault(name, hint)
    assert not problems, (f"{len(problems)} bug(s) left. " if len(problems) > 1 else "") + " ".join(
        f"({i}) {hint}" if len(problems) > 1 else hint for i, hint in enumerate(problems.values(), start=1))


def check_find_the_bug(fn):
    """Check a learner's fix ``fn(dy, x, gamma, eps=1e-3, axis=-1) -> (dx, dgamma, dbeta)`` of the
    colleague's backward pass in notebook 02 (two bugs: ``m = x.shape[0]`` and dgamma from x - mu).

    Tries an (N, D) batch, an (N, H, W, C) batch with ``axis=-1`` and an (N, C, H, W) batch with
    ``axis=1``, and names every bug that remains (including the half-fix ``m = x.size``).
    Returns a :class:`CheckResult`.
    """
    return run_check("Exercise: find the bug in a backward pass", lambda: _check_find_the_bug(fn))


# --------------------------------------------------------------------------- exercise 3 (optional): backward


def _solution_backward(dy, x, gamma, eps=1e-3):
    m = x.shape[0]
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    dbeta = dy.sum(axis=0)
    dgamma = (dy * x_hat).sum(axis=0)
    # the naive gradient, minus its mean over the batch, minus its component along x_hat
    dx = gamma / (m * np.sqrt(var + eps)) * (m * dy - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def _backward_mistakes(dy, x, gamma, eps):
    """(hint, concatenated (dx, dgamma, dbeta)) for the usual wrong (N, D) backward passes."""
    dx, dgamma, dbeta = _closed_form(dy, x, gamma, eps, -1)
    m = x.shape[0]
    inv = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) * inv
    dx_hat = dy * gamma
    naive = dx_hat * inv
    dvar_term = -x_hat * inv * (dx_hat * x_hat).sum(axis=0) / m   # the path through the variance
    dmu_term = -inv * dx_hat.sum(axis=0) / m                       # the path through the mean
    wrong = [
        ("dx treats the mean and variance as constants (dx = dy * gamma / sqrt(var + eps)). "
         "They depend on x too: add the paths through the variance and through the mean.",
         (naive, dgamma, dbeta)),
        ("dx misses the path through the mean: the mean depends on every x_i, which adds "
         "dmu / m to each dx_i.", (naive + dvar_term, dgamma, dbeta)),
        ("dx misses the path through the variance: the variance depends on every x_i, which adds "
         "dvar * 2 (x_i - mu) / m to each dx_i.", (naive + dmu_term, dgamma, dbeta)),
        ("dgamma must use the normalized input: dgamma = sum(dy * x_hat), not sum(dy * x).",
         (dx, (dy * x).sum(axis=0), dbeta)),
        ("dgamma and dbeta are swapped: return (dx, dgamma, dbeta) with dbeta = sum(dy) over the batch.",
         (dx, dbeta, dgamma)),
    ]
    return [(hint, np.concatenate([np.ravel(g) for g in grads])) for hint, grads in wrong]


def _check_backward(fn):
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
        expected = _closed_form(dy, x, gamma, eps, -1)
        if all(np.allclose(a, b, rtol=1e-6, atol=1e-8) for a, b in zip((dx, dgamma, dbeta), expected)):
            continue
        hint = first_matching_mistake(np.concatenate([dx.ravel(), dgamma, dbeta]),
                                      _backward_mistakes(dy, x, gamma, eps), atol=1e-8)
        assert hint is None, f"On {label}: {hint}"
        names = [n for n, a, b in zip(("dx", "dgamma", "dbeta"), (dx, dgamma, dbeta), expected)
                 if not np.allclose(a, b, rtol=1e-6, atol=1e-8)]
        raise AssertionError(
            f"On {label} {', '.join(names)} differ(s) from the correct gradient. Derive it again node "
            "by node (dy -> dbeta, dgamma -> dx_hat -> dvar -> dmu -> dx) and compare each stage with "
            "a numerical gradient.")


def check_backward(fn):
    """Check a learner's ``fn(dy, x, gamma, eps=1e-3) -> (dx, dgamma, dbeta)`` for (N, D) input.

    Compares with the closed form (within 1e-6 relative) on two batches; a failure names the
    first mistake it recognises: mean and variance treated as constants, a missing path
    through the mean or the variance, dgamma from x instead of x_hat, dgamma/dbeta swapped,
    wrong shapes. Returns a :class:`CheckResult`.
    """
    return run_check("Exercise: batch norm backward pass", lambda: _check_backward(fn))


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = [
    Exercise(
        "02_numpy_formula", "forward", "Exercise 1: one forward pass for every layout", check_forward,
        _solution_forward,
        "Keras's `axis` is the axis that is **kept**, so the statistics are over every *other* axis: "
        "list them from `x.ndim`, after turning a negative `axis` into a positive one. `keepdims=True` "
        "keeps the mean and variance broadcastable against `x`, and γ, β are reshaped to ones everywhere "
        "except the kept axis, e.g. `(1, C, 1, 1)` for `(N, C, H, W)` with `axis=1`. The variance is the "
        "biased one and ε sits under the square root."),
    Exercise(
        "02_numpy_formula", "find-the-bug", "Exercise 2: find the bug in a backward pass", check_find_the_bug,
        _solution_find_the_bug,
        "**Bug 1: `m = x.shape[0]`.** `m` must count the values behind one feature's mean: `N` for "
        "`(N, D)`, but `N·H·W` for images (`x.size // x.shape[axis]`). With the batch size, the two "
        "'subtract the mean' terms subtract too much on images. The symptoms: `dx` is right on `(N, D)` "
        "(which is why the colleague's dense test passed), wrong on both image layouts, and its sum over "
        "each feature is no longer 0, the property section 4d proves. **Bug 2: `dgamma` from `x - mu`.** "
        "γ multiplies the *normalized* input, so `dgamma = sum(dy * x_hat)`. The symptom: `dgamma` is wrong "
        "on every layout while `dbeta` is right, so the bug is in the one line that differs between them; "
        "and its error shrinks when the features' standard deviation is near 1, which is why such a bug "
        "can slip through a test on standardized data."),
    Exercise(
        "02_numpy_formula", "backward", "Exercise 3 (optional): the (N, D) backward pass from scratch",
        check_backward, _solution_backward,
        "Start from the graph: `dbeta = sum(dy)`, `dgamma = sum(dy * x_hat)`, `dx_hat = dy * gamma`, then "
        "the paths through the variance and the mean. Collapsed, they give the closed form: take the naive "
        "gradient `gamma * dy / sqrt(var + eps)`, remove its mean over the batch and its component along "
        "`x_hat`."),
]
