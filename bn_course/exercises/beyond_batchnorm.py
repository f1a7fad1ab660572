"""Notebook 06's checker, ``group_norm``: group normalization of (N, H, W, C) in NumPy."""

import numpy as np

from bn_course.exercises.common import EPS_HINT, Exercise, call_learner, checker, expect, moments, normalize
from bn_course.normalizers import group_norm

TITLE = "Exercise: group normalization in NumPy"
# (label, shape (N, H, W, C), groups, eps); per-channel offsets and scales make wrong axes give other numbers.
_CASES = [
    ("an (N, H, W, C) = (4, 3, 3, 6) batch with groups=2", (4, 3, 3, 6), 2, 1e-3),
    ("an (N, H, W, C) = (2, 4, 4, 8) batch with groups=4 and eps=0.1", (2, 4, 4, 8), 4, 0.1),
    ("an (N, H, W, C) = (3, 2, 2, 4) batch with groups=1 (layer norm)", (3, 2, 2, 4), 1, 1e-3),
    ("an (N, H, W, C) = (2, 3, 3, 4) batch with groups=4 (instance norm)", (2, 3, 3, 4), 4, 1e-3),
]


def _mistakes(x, gamma, beta, groups, eps):
    """The usual wrong group norms as ``(hint, what that mistake outputs)``, most specific first."""
    grouped = x.reshape(*x.shape[:-1], groups, -1)  # (N, H, W, group, channel in group)

    def norm(values, axes, ddof=0):  # normalized over ``axes``, back to the shape of x, then gamma and beta
        return normalize(values, *moments(values, axes, ddof), eps=eps).reshape(x.shape) * gamma + beta

    mean, var = moments(grouped, (1, 2, 4))

    return [
        ("the statistics include the batch axis N: group norm works within ONE sample, whatever the batch.",
         norm(grouped, (0, 1, 2, 4))),
        ("one mean and variance for the whole batch: each sample and each group needs its own.", norm(x, (0, 1, 2, 3))),
        ("the groups are not used: one statistic per channel is instance norm (groups = C).", norm(x, (1, 2))),
        ("one statistic per sample over ALL its channels is layer norm (groups = 1): split the channels first.",
         norm(x, (1, 2, 3))),
        ("your groups take every G-th channel; a group is a run of consecutive channels, as in Keras.",
         norm(x.reshape(*x.shape[:-1], -1, groups), (1, 2, 3))),
        ("eps belongs under the square root, with the variance, not added to the standard deviation.",
         ((grouped - mean) / (np.sqrt(var) + eps)).reshape(x.shape) * gamma + beta),
        ("the variance is the unbiased one (ddof=1); Keras divides by m, the number of values in the group.",
         norm(grouped, (1, 2, 4), ddof=1)),
        ("gamma and beta are missing: apply the per-channel scale and shift.", group_norm(x, None, None, groups, eps)),
        ("beta is missing: apply the per-channel shift.", group_norm(x, gamma, None, groups, eps)),
        ("gamma is missing: apply the per-channel scale.", group_norm(x, None, beta, groups, eps)),
    ]


def _symptom(y, x, gamma, beta, groups, eps):
    """Which property of group norm an unrecognised wrong output breaks."""
    grouped = ((y - beta) / gamma).reshape(*x.shape[:-1], groups, -1)  # gamma and beta undone
    means = grouped.mean(axis=(1, 2, 4))  # one per (sample, consecutive group)
    if not np.allclose(means, 0.0, atol=1e-6):
        return ("after undoing gamma and beta, the channels of a group of one sample do not average to 0 "
                f"(largest group mean {np.abs(means).max():.3g}). Check which values share one mean.")
    true_var = x.reshape(grouped.shape).var(axis=(1, 2, 4))
    if not np.allclose(grouped.var(axis=(1, 2, 4)), true_var / (true_var + eps), rtol=1e-6, atol=1e-8):
        return ("each group is centred, but its spread is off (the variance of a normalized group should be "
                "var / (var + eps), just under 1). Check the variance and where eps goes.")
    return "the groups are centred and scaled right, yet some values differ: check how you put the shape back."


@checker(TITLE)
def check_group_norm(fn):
    """Check ``fn(x, gamma, beta, groups, eps=1e-3)`` on (N, H, W, C) inputs against ``normalizers.group_norm``
    on ``_CASES`` (groups=1 is layer norm, groups=C instance norm); name the mistake or the property broken."""
    for seed, (label, shape, groups, eps) in enumerate(_CASES):
        rng = np.random.default_rng(seed)
        x = rng.uniform(-3.0, 3.0, shape[-1]) + rng.uniform(0.5, 3.0, shape[-1]) * rng.normal(size=shape)
        gamma, beta = rng.uniform(0.5, 2.0, shape[-1]), rng.uniform(-1.0, 1.0, shape[-1])
        y = call_learner(fn, label, x, gamma, beta, groups, eps=eps)
        expect(label, y, group_norm(x, gamma, beta, groups, eps), _mistakes(x, gamma, beta, groups, eps),
               lambda y: _symptom(y, x, gamma, beta, groups, eps), nan_hint=EPS_HINT)


def _solution_group_norm(x, gamma, beta, groups, eps=1e-3):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)      # channel axis -> (which group, channel in group)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)      # one per (sample, group): over H, W, channels
    var = grouped.var(axis=(1, 2, 4), keepdims=True)        # biased, as Keras
    x_hat = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return gamma * x_hat + beta                              # per channel


EXERCISES = [Exercise(
    notebook="06_beyond_batchnorm", key="group_norm", title=TITLE, check=check_group_norm,
    solution=_solution_group_norm, explanation=(
        "Group norm shares one mean and variance among the values of *one sample* in *one group of consecutive "
        "channels*, over all H × W positions. Split the channel axis into (which group, channel in group), in that "
        "order, so channels 0 … C/G − 1 form group 0; reduce over H, W and channel-in-group with `keepdims=True`; "
        "normalize, restore the shape, apply γ and β per channel (C values). G = 1 is layer norm, G = C instance "
        "norm."))]
