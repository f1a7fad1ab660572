"""Exercise checkers for notebook 01 (why_batchnorm). Each ``check_*`` returns a CheckResult.

One exercise, registered in ``EXERCISES``: a find-the-bug (``batch-norm-bug``). A colleague's
batch norm takes its statistics over each sample's units instead of over the batch; it rescues a
badly scaled tanh network but not a sigmoid network whose samples have collapsed onto each other.
The learner finds the bug from those symptoms and writes the fixed ``my_batch_norm(z, gamma,
beta, eps)`` for a (batch, units) array.
"""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, first_matching_mistake, run_check

_TITLE = "Exercise: find the bug in a colleague's batch norm"


def _bug_cases():
    """(label, z, gamma, beta, eps): every case the exercise promises, on fixed numbers."""
    rng = np.random.default_rng(1)
    offsets = rng.normal(0.0, 0.5, size=64)
    collapsed = offsets + 0.05 * rng.normal(size=(256, 64))
    scales = np.array([10.0, 0.1, 1.0])
    spread_out = np.array([5.0, -2.0, 0.0]) + scales * rng.normal(size=(32, 3))
    small = rng.normal(size=(4, 5))
    small[:, 1] = 3.0                                  # a constant unit: variance 0, output beta
    small[:, 3] = 0.02 * small[:, 3] - 1.0             # a unit with a variance far below eps
    return [
        ("a (256, 64) batch like the sigmoid network's: a large offset per unit, the same for every "
         "sample, plus a small part that depends on the sample (gamma=1, beta=0)",
         collapsed, 1.0, 0.0, 1e-3),
        ("a (32, 3) batch whose units have very different means and scales, with gamma and beta per unit",
         spread_out, np.array([2.0, 0.5, -1.0]), np.array([0.1, -3.0, 1.0]), 1e-3),
        ("a (4, 5) batch with a constant unit and a unit whose variance is far below eps = 0.01",
         small, np.linspace(0.5, 1.5, 5), np.linspace(-1.0, 1.0, 5), 1e-2),
    ]


def _bug_mistakes(z, gamma, beta, eps):
    """(hint, what that mistake returns) for the colleague's bug and the usual slips in fixing it."""
    per_sample = (z - z.mean(axis=1, keepdims=True)) / np.sqrt(z.var(axis=1, keepdims=True) + eps)
    mean, var = z.mean(axis=0), z.var(axis=0)
    return [
        ("this is still the colleague's version: each SAMPLE (row) is normalized over its units. "
         "An offset that is the same for every sample survives that, which is exactly what the sigmoid "
         "network needs removed. BN takes one mean and one variance per UNIT (column), over the batch.",
         gamma * per_sample + beta),
        ("you used one mean and one variance for the whole array. Every unit needs its own statistics "
         "(one per column, over the rows), otherwise the offsets between units survive.",
         gamma * (z - z.mean()) / np.sqrt(z.var() + eps) + beta),
        ("the statistics are per unit now, but you only divide: subtract the unit's batch mean first.",
         gamma * z / np.sqrt(var + eps) + beta),
        ("divide by the standard deviation, sqrt(var + eps), not by the variance.",
         gamma * (z - mean) / (var + eps) + beta),
        ("eps belongs under the square root: sqrt(var + eps), not sqrt(var) + eps.",
         gamma * (z - mean) / (np.sqrt(var) + eps) + beta),
        ("use the biased variance (divide by the batch size, NumPy's default ddof=0), as Keras does.",
         gamma * (z - mean) / np.sqrt(z.var(axis=0, ddof=1) + eps) + beta),
        ("gamma scales and beta shifts: gamma * z_hat + beta, not beta * z_hat + gamma.",
         beta * (z - mean) / np.sqrt(var + eps) + gamma),
        ("gamma and beta are not applied: return gamma * z_hat + beta.",
         (z - mean) / np.sqrt(var + eps) + 0.0 * z),
    ]


def _check_batch_norm_fix(fn):
    for label, z, gamma, beta, eps in _bug_cases():
        given = z.copy()
        value = call_learner(fn, label, given, gamma, beta, eps)
        assert np.array_equal(given, z), f"On {label} your function changed z in place; compute on a copy."
        value = np.asarray(value, dtype=np.float64)
        assert value.shape == z.shape, (
            f"On {label} you returned shape {value.shape}; BN returns one value per input value, shape {z.shape}.")
        expected = _solution_batch_norm(z, gamma, beta, eps)
        if np.allclose(value, expected, rtol=1e-5, atol=1e-5):
            continue
        hint = first_matching_mistake(value, _bug_mistakes(z, gamma, beta, eps), rtol=1e-5, atol=1e-5)
        if hint:
            raise AssertionError(f"On {label}: {hint}")
        worst = float(np.abs(value - expected).max())
        raise AssertionError(
            f"On {label} your output differs from batch norm's by up to {worst:.3g}. Compare it line by line "
            "with the four lines of section 1: which values share a mean, and where does eps go?")


def check_batch_norm_fix(fn):
    """Check a learner's ``fn(z, gamma, beta, eps)`` -> batch norm of a (N, units) array ``z``.

    Three cases: a collapsed batch (per-unit offsets, a small per-sample part), units on very
    different scales with per-unit gamma and beta, and a small batch with a constant unit and a
    unit whose variance is far below eps. Returns a :class:`CheckResult`; a failure names the
    mistake it recognises (statistics per sample or over the whole array, no centring, dividing
    by the variance, eps outside the root, the unbiased variance, gamma and beta swapped or
    missing, z changed in place, a wrong shape).
    """
    return run_check(_TITLE, lambda: _check_batch_norm_fix(fn))


def _solution_batch_norm(z, gamma=1.0, beta=0.0, eps=1e-3):
    """Batch norm of a (N, units) array: per unit over the batch, biased variance (also the checker's reference)."""
    mean = z.mean(axis=0)                     # axis=0: over the batch, one mean per unit
    var = z.var(axis=0)                       # the colleague used axis=-1: over each sample's units
    z_hat = (z - mean) / np.sqrt(var + eps)
    return gamma * z_hat + beta


_EXPLANATION = """
The colleague's function takes its mean and variance with `axis=-1`, over each **sample's units**
(one mean per row). Batch norm takes them with `axis=0`, over the **batch**, one per unit (column).
The confusion is easy to make: in Keras, `BatchNormalization(axis=-1)` names the axis that is
*kept* (the features), while NumPy's `mean(axis=-1)` names the axis that is *reduced*.

The symptoms tell the two apart. In the naive tanh network every unit's pre-activations are simply
too large; dividing each sample by its own spread also makes them small, so the saturated share
drops and the bug hides. In the sigmoid network the problem is different: every unit carries an
offset that is the same for every sample, and only a tiny part of each value depends on the input.
Normalizing a sample over its units keeps those offsets (they differ from unit to unit, not from
sample to sample) and the samples stay almost identical. Only per-unit statistics over the batch
subtract each unit's offset and scale the input-dependent part back up.
"""

# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = [
    Exercise("01_why_batchnorm", "batch-norm-bug", _TITLE, check_batch_norm_fix, _solution_batch_norm,
             _EXPLANATION),
]
