"""Exercise checkers for notebook 06 (beyond_batchnorm). Each ``check_*`` returns a CheckResult."""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, run_check


# (label, shape (N, H, W, C), groups, eps) for the group-norm exercise. Every case has
# per-channel offsets and scales, so statistics over the wrong axes give different numbers.
_GROUP_NORM_CASES = [
    ("an (N, H, W, C) = (4, 3, 3, 6) batch with groups=2", (4, 3, 3, 6), 2, 1e-3),
    ("an (N, H, W, C) = (2, 4, 4, 8) batch with groups=4 and eps=0.1", (2, 4, 4, 8), 4, 0.1),
    ("an (N, H, W, C) = (3, 2, 2, 4) batch with groups=1 (layer norm)", (3, 2, 2, 4), 1, 1e-3),
    ("an (N, H, W, C) = (2, 3, 3, 4) batch with groups=4 (instance norm)", (2, 3, 3, 4), 4, 1e-3),
]


def _group_norm_case(shape, seed):
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    x = rng.uniform(-3.0, 3.0, size=channels) + rng.uniform(0.5, 3.0, size=channels) * rng.normal(size=shape)
    return x, rng.uniform(0.5, 2.0, size=channels), rng.uniform(-1.0, 1.0, size=channels)


def _group_norm_mistakes(x, gamma, beta, groups, eps):
    """The usual wrong group norms, each with the hint that fixes it."""
    from bn_course.normalizers import group_norm

    size = x.shape[-1] // groups

    def by_axes(values, axes, ddof=0, eps_outside=False):
        mean = values.mean(axis=axes, keepdims=True)
        std = values.std(axis=axes, keepdims=True, ddof=ddof)
        scale = std + eps if eps_outside else np.sqrt(std**2 + eps)
        return (values - mean) / scale

    grouped = x.reshape(*x.shape[:-1], groups, size)
    group_axes = (1, 2, 4)
    interleaved = x.reshape(*x.shape[:-1], size, groups)
    mistakes = [
        ("the statistics include the batch axis: group norm works within ONE sample, so average over "
         "H, W and the channels of a group, never over N (that would be batch-norm-like).",
         by_axes(grouped, (0, 1, 2, 4)).reshape(x.shape) * gamma + beta),
        ("the groups are not used: each channel got its own mean and variance (instance norm). Reshape the "
         "C channels to (groups, C // groups) and average over H, W and the channels of each group.",
         by_axes(x, (1, 2)) * gamma + beta),
        ("one mean and variance per sample over ALL channels (layer norm): split the channels into "
         "`groups` groups first.", by_axes(x, (1, 2, 3)) * gamma + beta),
        ("the channels of a group must be consecutive (channels 0 .. C/G - 1 form group 0), as "
         "keras.layers.GroupNormalization does: reshape to (..., groups, C // groups), not (..., C // groups, groups).",
         by_axes(interleaved, (1, 2, 3)).reshape(x.shape) * gamma + beta),
        ("eps belongs under the square root, added to the variance: (x - mean) / sqrt(var + eps).",
         by_axes(grouped, group_axes, eps_outside=True).reshape(x.shape) * gamma + beta),
        ("use the biased variance (divide by m, np.var's default ddof=0), as Keras does.",
         by_axes(grouped, group_axes, ddof=1).reshape(x.shape) * gamma + beta),
        ("gamma and beta are missing: finish with y = gamma * x_hat + beta (one value per channel).",
         group_norm(x, None, None, groups, eps)),
        ("beta is missing: y = gamma * x_hat + beta.", group_norm(x, gamma, None, groups, eps)),
        ("gamma is missing: y = gamma * x_hat + beta.", group_norm(x, None, beta, groups, eps)),
    ]
    return mistakes


def _check_group_norm(fn):
    from bn_course.normalizers import group_norm

    for seed, (label, shape, groups, eps) in enumerate(_GROUP_NORM_CASES):
        x, gamma, beta = _group_norm_case(shape, seed)
        x_before = x.copy()
        y = call_learner(fn, label, x, gamma.copy(), beta.copy(), groups, eps=eps)
        assert y is not None, "your function returned None: finish with `return y`."
        y = np.asarray(y, dtype=np.float64)
        assert y.shape == x.shape, (
            f"On {label} the output has shape {y.shape}; group norm keeps the input's shape {x.shape}. "
            "Reshape back with y.reshape(x.shape) after normalizing the groups.")
        assert np.array_equal(x, x_before), (
            f"On {label} your function changed its input x in place; compute into a new array instead.")
        assert np.all(np.isfinite(y)), f"On {label} the output has NaN or inf values: is eps under the square root?"
        expected = group_norm(x, gamma, beta, groups, eps)
        if np.allclose(y, expected, rtol=1e-6, atol=1e-6):
            continue
        for hint, wrong in _group_norm_mistakes(x, gamma, beta, groups, eps):
            if np.allclose(y, wrong, rtol=1e-6, atol=1e-6):
                raise AssertionError(f"On {label}: {hint}")
        raise AssertionError(
            f"On {label} the output is not group norm (largest difference {np.abs(y - expected).max():.3g}). "
            "Reshape x to (N, H, W, groups, C // groups), take the mean and biased variance over axes "
            "(1, 2, 4) with keepdims=True, normalize, reshape back, then apply gamma and beta per channel.")


def check_group_norm(fn):
    """Check a learner's ``fn(x, gamma, beta, groups, eps=1e-3)`` for (N, H, W, C) inputs.

    It must equal :func:`bn_course.normalizers.group_norm` (and so
    ``keras.layers.GroupNormalization``) within 1e-6 on four float64 cases, including
    groups=1 (layer norm) and groups=C (instance norm), and leave x unchanged. Returns a
    :class:`CheckResult`; a failure names the mistake it recognises (statistics over the
    batch, groups ignored, all channels in one group, interleaved groups, eps outside the
    root, unbiased variance, gamma or beta missing).
    """
    return run_check("Exercise: group normalization in NumPy", lambda: _check_group_norm(fn))


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = []
