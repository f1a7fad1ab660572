"""Notebook 01's checker, ``batch-norm-bug`` (find the bug): the fixed ``my_batch_norm(z, gamma, beta, eps)`` of a
(N, units) array is ``gamma * (z - mean) / sqrt(var + eps) + beta``, biased statistics per unit over the batch."""

import numpy as np

from bn_course.exercises.common import EPS_HINT, Exercise, call_learner, checker, expect, moments, normalize

TITLE = "Exercise: find the bug in a colleague's batch norm"


def _cases():
    rng = np.random.default_rng(1)
    collapsed = rng.normal(0.0, 0.5, size=64) + 0.05 * rng.normal(size=(256, 64))  # an offset per unit
    spread_out = np.array([5.0, -2.0, 0.0]) + np.array([10.0, 0.1, 1.0]) * rng.normal(size=(32, 3))
    small = rng.normal(size=(4, 5))
    small[:, 1] = 3.0                                  # a constant unit: variance 0, output beta
    small[:, 3] = 0.02 * small[:, 3] - 1.0             # a unit with a variance far below eps
    return [
        ("a (256, 64) batch like the sigmoid network's (an offset per unit, a small part per sample)",
         collapsed, 1.0, 0.0, 1e-3),
        ("a (32, 3) batch whose units have very different means and scales, with gamma and beta per unit",
         spread_out, np.array([2.0, 0.5, -1.0]), np.array([0.1, -3.0, 1.0]), 1e-3),
        ("a (4, 5) batch with a constant unit and a unit whose variance is far below eps = 0.01",
         small, np.linspace(0.5, 1.5, 5), np.linspace(-1.0, 1.0, 5), 1e-2),
    ]


def _mistakes(z, gamma, beta, eps):
    """(hint, what that mistake returns) for the colleague's bug and the usual slips in fixing it."""
    mean, var = moments(z, 0)
    return [
        ("this is still the colleague's version: each SAMPLE (row) is normalized over its units, so an offset shared "
         "by every sample survives. BN takes one mean and variance per UNIT (column).",
         normalize(z, *moments(z, 1), gamma, beta, eps)),
        ("you used one mean and one variance for the whole array; every unit (column) needs its own.",
         normalize(z, *moments(z, None), gamma, beta, eps)),
        ("the statistics are per unit now, but you only divide: subtract the unit's batch mean first.",
         normalize(z, 0.0, var, gamma, beta, eps)),
        ("divide by the standard deviation, sqrt(var + eps), not by the variance.",
         gamma * (z - mean) / (var + eps) + beta),
        ("eps belongs under the square root: sqrt(var + eps), not sqrt(var) + eps.",
         gamma * (z - mean) / (np.sqrt(var) + eps) + beta),
        ("use the biased variance (ddof=0, divide by the batch size), as Keras does.",
         normalize(z, *moments(z, 0, ddof=1), gamma, beta, eps)),
        ("gamma scales and beta shifts, not the other way round.", normalize(z, mean, var, beta, gamma, eps)),
        ("gamma and beta are not applied.", normalize(z, mean, var, eps=eps)),
    ]


@checker(TITLE)
def check_batch_norm_fix(fn):
    """Check ``fn(z, gamma, beta, eps)`` on a collapsed (256, 64) batch, units on very different scales with
    per-unit gamma and beta, and a small batch with a constant unit and a unit whose variance is far below eps."""
    for label, z, gamma, beta, eps in _cases():
        right = _solution_batch_norm(z, gamma, beta, eps)
        expect(label, call_learner(fn, label, z, gamma, beta, eps), right, _mistakes(z, gamma, beta, eps),
               lambda got: f"it differs from batch norm's by up to {np.abs(got - right).max():.3g}. Compare it "
                           "with section 1's four lines: which values share a mean, and where does eps go?",
               rtol=1e-5, atol=1e-5, nan_hint=EPS_HINT)


def _solution_batch_norm(z, gamma=1.0, beta=0.0, eps=1e-3):
    """Batch norm of a (N, units) array: per unit over the batch, biased variance (also the checker's reference)."""
    mean = z.mean(axis=0)                     # axis=0: over the batch, one mean per unit
    var = z.var(axis=0)                       # the colleague used axis=-1: over each sample's units
    z_hat = (z - mean) / np.sqrt(var + eps)
    return gamma * z_hat + beta


_EXPLANATION = """
The colleague's function takes its mean and variance with `axis=-1`, over each **sample's units** (one per row);
batch norm takes them with `axis=0`, over the **batch**, one per unit (column). Easy to confuse: Keras's
`BatchNormalization(axis=-1)` names the axis that is *kept*, NumPy's `mean(axis=-1)` the axis that is *reduced*.

The symptoms tell them apart. In the naive tanh network the pre-activations are simply too large; dividing each
sample by its own spread also makes them small, so the bug hides. In the sigmoid network every unit carries an offset
that is the same for every sample, and only a tiny part of each value depends on the input. Normalizing a sample over
its units keeps those offsets (they differ between units, not between samples), so the samples stay almost identical;
only per-unit statistics over the batch subtract each unit's offset and scale the input-dependent part back up.
"""

EXERCISES = [Exercise(notebook="01_why_batchnorm", key="batch-norm-bug", title=TITLE, check=check_batch_norm_fix,
                      solution=_solution_batch_norm, explanation=_EXPLANATION)]
