"""Exercise checkers for notebook 01 (why_batchnorm). Each ``check_*`` returns a CheckResult."""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, run_check


def _saturation_cases():
    """(label, activations, activation) cases with a known share; boundaries and both tails included."""
    rng = np.random.default_rng(1)
    return [
        ("a (4, 3) tanh array with values on both tails and exactly on the threshold",
         np.array([[0.995, -0.995, 0.99], [-0.99, 0.2, -1.0], [1.0, 0.0, 0.9], [-0.5, 0.999, -0.98]]), "tanh"),
        ("a (3, 4) sigmoid array with values near 0, near 1 and exactly on 0.01 / 0.99",
         np.array([[0.001, 0.5, 0.995, 0.01], [0.99, 0.2, 0.005, 0.999], [0.8, 0.3, 0.0, 1.0]]), "sigmoid"),
        ("a (256, 64) tanh array of a saturated layer", np.tanh(rng.normal(0.0, 6.0, size=(256, 64))), "tanh"),
        ("a (256, 64) sigmoid array", 0.5 * (1.0 + np.tanh(rng.normal(0.0, 5.0, size=(256, 64)))), "sigmoid"),
        ("a tanh array where no unit is saturated", np.tanh(rng.normal(0.0, 0.3, size=(32, 8))), "tanh"),
    ]


def _saturation_mistakes(h, activation):
    """(hint, wrong value) for the usual slips."""
    mistakes = []
    if activation == "tanh":
        mistakes += [
            ("tanh saturates on BOTH sides: use np.abs(h) > 0.99, not h > 0.99.", np.mean(h > 0.99)),
            ("the threshold is strict: a unit at exactly |h| = 0.99 is not saturated (use >, not >=).",
             np.mean(np.abs(h) >= 0.99)),
        ]
    else:
        mistakes += [
            ("the sigmoid saturates near 0 as well as near 1: count h < 0.01 or h > 0.99 (the tanh rule "
             "|h| > 0.99 only catches the top end, since sigmoid outputs are between 0 and 1).", np.mean(h > 0.99)),
            ("the thresholds are strict: exactly 0.01 or 0.99 is not saturated (use < and >, not <= and >=).",
             np.mean((h <= 0.01) | (h >= 0.99))),
        ]
    return mistakes


def _check_saturated_share(fn):
    from bn_course.explore_depth import saturated_share

    for label, h, activation in _saturation_cases():
        before = h.copy()
        value = call_learner(fn, label, h, activation)
        assert np.array_equal(h, before), f"On {label} your function changed its input in place."
        assert np.ndim(value) == 0, (
            f"On {label} you returned an array of shape {np.shape(value)}; return one number, the share over "
            "ALL entries (e.g. float(np.mean(mask))), not one share per unit or per sample.")
        value = float(value)
        expected = saturated_share(h, activation)
        if abs(value - expected) <= 1e-12:
            continue
        if expected > 0 and abs(value - 100 * expected) <= 1e-9:
            raise AssertionError(f"On {label} you returned a percentage ({value:.3g}); return a share between 0 and 1.")
        if abs(value - expected * h.size) <= 1e-9 and h.size > 1:
            raise AssertionError(f"On {label} you returned a count ({value:.0f}); divide by the number of entries "
                                 f"({h.size}) to get a share.")
        for hint, wrong in _saturation_mistakes(h, activation):
            if abs(value - wrong) <= 1e-12:
                raise AssertionError(f"On {label}: {hint}")
        raise AssertionError(f"On {label} ({activation}) the share should be {expected:.4g}, you returned {value:.4g}. "
                             "tanh: |h| > 0.99; sigmoid: h < 0.01 or h > 0.99; share = saturated entries / all entries.")


def check_saturated_share(fn):
    """Check a learner's ``fn(h, activation)`` -> share (0..1) of saturated entries of ``h``.

    Saturated means ``|h| > 0.99`` for "tanh" and ``h < 0.01 or h > 0.99`` for
    "sigmoid" (strict inequalities), as :func:`bn_course.explore_depth.saturated_share`.
    Five cases, including values exactly on the thresholds. Returns a :class:`CheckResult`;
    a failure names the slip it recognises (one tail only, >= instead of >, a percentage,
    a count, a per-unit array, an input changed in place).
    """
    return run_check("Exercise: the share of saturated units", lambda: _check_saturated_share(fn))


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = []
