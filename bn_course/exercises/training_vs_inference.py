"""Exercise checkers for notebook 05 (training_vs_inference). Each ``check_*`` returns a CheckResult."""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, run_check


# (init, batch value, momentum, k) cases for the moving-average exercise: scalars and per-channel arrays.
_EMA_CASES = [
    ("init 0, batch mean 4, momentum 0.99, k = 100", 0.0, 4.0, 0.99, 100),
    ("init 1, batch variance 9, momentum 0.9, k = 10", 1.0, 9.0, 0.9, 10),
    ("k = 0 (no step yet)", 1.0, 9.0, 0.99, 0),
    ("per-channel arrays, momentum 0.5, k = 3", np.array([0.0, 1.0, -2.0]), np.array([2.0, 3.0, 5.0]), 0.5, 3),
]


def _check_ema_steps(fn):
    for label, init, target, momentum, k in _EMA_CASES:
        init_arg = init.copy() if isinstance(init, np.ndarray) else init
        target_arg = target.copy() if isinstance(target, np.ndarray) else target
        got = call_learner(fn, label, init_arg, target_arg, momentum, k)
        assert got is not None, "your function returned None: finish with `return moving`."
        got = np.asarray(got, dtype=np.float64)
        decay = momentum**k
        expected = decay * np.asarray(init) + (1 - decay) * np.asarray(target)
        assert got.shape == expected.shape, f"On {label} the result has shape {got.shape}, expected {expected.shape}."
        if np.allclose(got, expected, rtol=1e-9, atol=1e-9):
            continue
        flipped = (1 - momentum) ** k * np.asarray(init) + (1 - (1 - momentum) ** k) * np.asarray(target)
        off_by_one = momentum ** (k + 1) * np.asarray(init) + (1 - momentum ** (k + 1)) * np.asarray(target)
        mistakes = {
            "the momentum direction is reversed: Keras keeps `momentum` of the OLD value "
            "(moving = momentum * moving + (1 - momentum) * batch); weighting the new value by "
            "momentum is PyTorch's convention.": flipped,
            "the initial value is missing: after k steps a share momentum**k of `init` remains.":
                (1 - decay) * np.asarray(target),
            "you applied one update too many: k = 0 must return `init` unchanged.": off_by_one,
            "the result should approach the batch value, not move away: "
            "moving_k = momentum**k * init + (1 - momentum**k) * batch.":
                decay * np.asarray(target) + (1 - decay) * np.asarray(init),
        }
        for hint, wrong in mistakes.items():
            if np.allclose(got, wrong, rtol=1e-9, atol=1e-9):
                raise AssertionError(f"On {label}: {hint}")
        raise AssertionError(f"On {label} you returned {np.round(got, 6)}, expected {np.round(expected, 6)}. "
                             "Apply moving = momentum * moving + (1 - momentum) * batch k times "
                             "(or use the closed form).")


def check_ema_steps(fn):
    """Check a learner's ``fn(init, batch_value, momentum, k)``; returns a :class:`CheckResult`.

    The function must return the Keras moving statistic after ``k`` training steps
    that all see the same batch statistic ``batch_value``, starting from ``init``:
    ``momentum**k * init + (1 - momentum**k) * batch_value`` (a loop is fine too).
    Cases: scalars, k = 0, per-channel arrays. A failure names the first mistake it
    recognises: the PyTorch momentum direction, the initial value dropped, one step
    too many, init and target swapped.
    """
    return run_check("Exercise: the moving average after k steps", lambda: _check_ema_steps(fn))


def _fold_case(seed, d_in=5, channels=3):
    rng = np.random.default_rng(seed)
    return {
        "kernel": rng.normal(size=(d_in, channels)),
        "bias": rng.normal(size=channels),
        "gamma": rng.uniform(0.5, 2.0, size=channels),
        "beta": rng.normal(size=channels),
        "moving_mean": rng.normal(2.0, 1.0, size=channels),
        "moving_var": rng.uniform(0.5, 3.0, size=channels),
    }


def _check_fold_dense(fn):
    from bn_course.numpy_bn import batch_norm_inference

    for seed, (label, eps) in enumerate([("a 5 -> 3 Dense layer, eps 1e-3", 1e-3),
                                         ("a 5 -> 3 Dense layer, eps 0.5", 0.5)]):
        case = _fold_case(seed)
        originals = {name: value.copy() for name, value in case.items()}
        result = call_learner(fn, label, case["kernel"], case["bias"], case["gamma"], case["beta"],
                               case["moving_mean"], case["moving_var"], eps)
        assert isinstance(result, tuple) and len(result) == 2, \
            "return a pair: `return new_kernel, new_bias`."
        for name, value in case.items():
            assert np.array_equal(value, originals[name]), (
                f"your function changed its argument `{name}` in place; build new arrays instead.")
        new_kernel, new_bias = (np.asarray(v, dtype=np.float64) for v in result)
        assert new_kernel.shape == case["kernel"].shape, (
            f"the folded kernel has shape {new_kernel.shape}; it must keep the kernel's shape "
            f"{case['kernel'].shape} (scale each output column, the last axis).")
        assert new_bias.shape == case["bias"].shape, (
            f"the folded bias has shape {new_bias.shape}; it must have one value per output channel "
            f"{case['bias'].shape}.")
        x = np.random.default_rng(100 + seed).normal(size=(16, case["kernel"].shape[0]))
        expected = batch_norm_inference(x @ case["kernel"] + case["bias"], case["gamma"], case["beta"],
                                        case["moving_mean"], case["moving_var"], eps=eps)
        got = x @ new_kernel + new_bias
        if np.allclose(got, expected, rtol=1e-7, atol=1e-7):
            continue
        scale = case["gamma"] / np.sqrt(case["moving_var"] + eps)
        right_kernel = case["kernel"] * scale
        right_bias = (case["bias"] - case["moving_mean"]) * scale + case["beta"]
        if not np.allclose(new_kernel, right_kernel, rtol=1e-7, atol=1e-7):
            kernel_hints = {
                "epsilon goes under the square root: scale = gamma / sqrt(var + eps).":
                    case["kernel"] * case["gamma"] / (np.sqrt(case["moving_var"]) + eps),
                "divide by the standard deviation sqrt(var + eps), not by the variance.":
                    case["kernel"] * case["gamma"] / (case["moving_var"] + eps),
                "the kernel must be multiplied by gamma too: scale = gamma / sqrt(var + eps).":
                    case["kernel"] / np.sqrt(case["moving_var"] + eps),
            }
            for hint, wrong in kernel_hints.items():
                if np.allclose(new_kernel, wrong, rtol=1e-7, atol=1e-7):
                    raise AssertionError(f"On {label}, the kernel: {hint}")
            raise AssertionError(f"On {label} the folded kernel is wrong: multiply each output column "
                                 "(last axis) by scale = gamma / sqrt(var + eps).")
        bias_hints = {
            "beta is missing: bias' = (bias - mean) * scale + beta.": (case["bias"] - case["moving_mean"]) * scale,
            "the moving mean must be subtracted from the old bias before scaling: "
            "bias' = (bias - mean) * scale + beta.": case["bias"] * scale + case["beta"],
            "the old bias must be scaled as well: bias' = (bias - mean) * scale + beta.":
                case["bias"] - case["moving_mean"] * scale + case["beta"],
            "the old bias was dropped: bias' = (bias - mean) * scale + beta (use 0 only when the "
            "layer has use_bias=False).": -case["moving_mean"] * scale + case["beta"],
        }
        for hint, wrong in bias_hints.items():
            if np.allclose(new_bias, wrong, rtol=1e-7, atol=1e-7):
                raise AssertionError(f"On {label}, the bias: {hint}")
        assert np.allclose(new_bias, right_bias, rtol=1e-7, atol=1e-7), (
            f"On {label} the folded bias is wrong: bias' = (bias - mean) * scale + beta.")


def check_fold_dense(fn):
    """Check a learner's ``fn(kernel, bias, gamma, beta, moving_mean, moving_var, eps)``.

    It must return ``(new_kernel, new_bias)`` such that ``x @ new_kernel + new_bias``
    equals inference-mode BN applied to ``x @ kernel + bias`` (within 1e-7, float64,
    for two eps values): ``new_kernel = kernel * s``, ``new_bias = (bias - mean) * s + beta``,
    ``s = gamma / sqrt(var + eps)``. Returns a :class:`CheckResult`; a failure names
    the first mistake it recognises (eps outside the root, variance instead of std,
    gamma or beta missing, mean not subtracted, old bias unscaled or dropped,
    rows scaled instead of columns, arguments modified in place).
    """
    return run_check("Exercise: fold BN into the Dense layer before it", lambda: _check_fold_dense(fn))


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = []
