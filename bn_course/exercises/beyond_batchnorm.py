"""Exercise checkers for notebook 06 (beyond_batchnorm). Each ``check_*`` returns a CheckResult."""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, first_matching_mistake, run_check

NOTEBOOK = "06_beyond_batchnorm"

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
    """The usual wrong group norms as ``(hint, what that mistake outputs)``, most specific first."""
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
    return [
        ("the statistics include the batch axis N: group norm works within ONE sample, so a sample's "
         "output must not depend on the other samples in the batch.",
         by_axes(grouped, (0, 1, 2, 4)).reshape(x.shape) * gamma + beta),
        ("one mean and variance for the whole batch: each sample and each group needs its own.",
         by_axes(x, (0, 1, 2, 3)) * gamma + beta),
        ("the groups are not used: each channel got its own mean and variance (that is instance norm, "
         "groups = C). One statistic must cover all the channels of a group.",
         by_axes(x, (1, 2)) * gamma + beta),
        ("one mean and variance per sample over ALL its channels (that is layer norm, groups = 1): "
         "split the channels into `groups` groups first.", by_axes(x, (1, 2, 3)) * gamma + beta),
        ("your groups take every G-th channel (0, G, 2G, ...), but a group is a run of consecutive "
         "channels (channels 0 .. C/G - 1 form group 0), as keras.layers.GroupNormalization does. "
         "Check the order of the two axes you split the channels into.",
         by_axes(interleaved, (1, 2, 3)).reshape(x.shape) * gamma + beta),
        ("eps belongs under the square root, added to the variance, not added to the standard deviation.",
         by_axes(grouped, group_axes, eps_outside=True).reshape(x.shape) * gamma + beta),
        ("the variance is the unbiased one (divided by m - 1); Keras divides by m, the number of values "
         "in the group (np.var's default ddof=0).",
         by_axes(grouped, group_axes, ddof=1).reshape(x.shape) * gamma + beta),
        ("gamma and beta are missing: the normalized values still need the per-channel scale and shift.",
         group_norm(x, None, None, groups, eps)),
        ("beta is missing: the normalized values still need the per-channel shift.",
         group_norm(x, gamma, None, groups, eps)),
        ("gamma is missing: the normalized values still need the per-channel scale.",
         group_norm(x, None, beta, groups, eps)),
    ]


def _group_norm_symptom(y, x, gamma, beta, groups, eps):
    """For an unrecognised wrong answer: which property of group norm the output breaks."""
    x_hat = (y - beta) / gamma                          # undo the per-channel scale and shift
    grouped = x_hat.reshape(*x.shape[:-1], groups, x.shape[-1] // groups)
    means = grouped.mean(axis=(1, 2, 4))                 # one per (sample, consecutive group)
    if not np.allclose(means, 0.0, atol=1e-6):
        return ("after undoing gamma and beta, the channels of a group of one sample do not average to 0 "
                f"(largest group mean {np.abs(means).max():.3g}). Check which values share one mean.")
    variances = grouped.var(axis=(1, 2, 4))
    true_var = x.reshape(grouped.shape).var(axis=(1, 2, 4))
    expected = true_var / (true_var + eps)
    if not np.allclose(variances, expected, rtol=1e-6, atol=1e-8):
        return ("each group is centred, but its spread is off (the variance of a normalized group should be "
                "var / (var + eps), just under 1). Check the variance and where eps goes.")
    return "the groups are centred and scaled right, yet some values differ: check how you put the shape back."


def _check_group_norm(fn):
    from bn_course.normalizers import group_norm

    for seed, (label, shape, groups, eps) in enumerate(_GROUP_NORM_CASES):
        x, gamma, beta = _group_norm_case(shape, seed)
        x_before = x.copy()
        y = call_learner(fn, label, x, gamma.copy(), beta.copy(), groups, eps=eps)
        assert y is not None, "your function returned None: finish with `return y`."
        y = np.asarray(y, dtype=np.float64)
        assert y.shape == x.shape, (
            f"On {label} the output has shape {y.shape}; group norm keeps the input's shape {x.shape}.")
        assert np.array_equal(x, x_before), (
            f"On {label} your function changed its input x in place; compute into a new array instead.")
        assert np.all(np.isfinite(y)), f"On {label} the output has NaN or inf values: is eps under the square root?"
        if np.allclose(y, group_norm(x, gamma, beta, groups, eps), rtol=1e-6, atol=1e-6):
            continue
        hint = first_matching_mistake(y, _group_norm_mistakes(x, gamma, beta, groups, eps))
        raise AssertionError(f"On {label}: {hint or _group_norm_symptom(y, x, gamma, beta, groups, eps)}")


def check_group_norm(fn):
    """Check a learner's ``fn(x, gamma, beta, groups, eps=1e-3)`` for (N, H, W, C) inputs.

    It must equal :func:`bn_course.normalizers.group_norm` (and so
    ``keras.layers.GroupNormalization``) within 1e-6 on four float64 cases, including
    groups=1 (layer norm) and groups=C (instance norm), and leave x unchanged. Returns a
    :class:`CheckResult`; a failure names the mistake it recognises (statistics over the
    batch or over everything, groups ignored, all channels in one group, interleaved groups,
    eps outside the root, unbiased variance, gamma or beta missing), or else the property
    of group norm the output breaks (groups not centred, wrong spread).
    """
    return run_check("Exercise: group normalization in NumPy", lambda: _check_group_norm(fn))


def _solution_group_norm(x, gamma, beta, groups, eps=1e-3):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)      # channel axis -> (which group, channel in group)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)      # one per (sample, group): over H, W, channels
    var = grouped.var(axis=(1, 2, 4), keepdims=True)        # biased, as Keras
    x_hat = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return gamma * x_hat + beta                              # per channel


_EXPLANATION = """
**The idea.** Group norm shares one mean and one variance among the values of *one sample* that lie
in *one group of consecutive channels*, over all H × W positions. NumPy reduces over whole axes, so
split the channel axis in two, (which group, which channel inside it), in that order so that
channels 0 … C/G − 1 land in group 0. Then the statistics are a reduction over H, W and the
channel-inside-group axis, with `keepdims=True` so they broadcast back. Normalize, restore the
shape, and apply γ and β per channel (they have C values, not G). With G = 1 the same code is layer
norm, with G = C instance norm.
"""

# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = [
    Exercise(NOTEBOOK, "group_norm", "Exercise: group normalization in NumPy", check_group_norm,
             _solution_group_norm, _EXPLANATION),
]
