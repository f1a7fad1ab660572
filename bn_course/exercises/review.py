"""Exercise checkers for notebook 07 (review). Each ``check_*`` returns a CheckResult."""

from bn_course.exercises.common import Exercise, call_learner, run_check


_TORCH_CASES = [(0.1, 1e-5), (0.01, 1e-5), (0.3, 1e-3), (0.05, 2e-5)]


def _check_torch_to_keras(fn):
    for torch_momentum, torch_eps in _TORCH_CASES:
        label = f"PyTorch momentum={torch_momentum}, eps={torch_eps:g}"
        result = call_learner(fn, label, torch_momentum, torch_eps)
        assert isinstance(result, dict), f"For {label} you returned {type(result).__name__}; return a dict."
        missing = {"momentum", "epsilon"} - set(result)
        assert not missing, (f"For {label} the dict lacks {sorted(missing)}: its keys must be the names of "
                             "keras.layers.BatchNormalization's arguments, 'momentum' and 'epsilon'.")
        momentum, epsilon = float(result["momentum"]), float(result["epsilon"])
        if abs(momentum - torch_momentum) <= 1e-12 and torch_momentum != 0.5:
            raise AssertionError(
                f"For {label} you kept momentum={momentum:g}. PyTorch's momentum weights the NEW batch value "
                "(running = (1 - m) * running + m * batch); Keras' weights the OLD one "
                "(moving = momentum * moving + (1 - momentum) * batch), so Keras needs 1 - m.")
        assert abs(momentum - (1.0 - torch_momentum)) <= 1e-12, (
            f"For {label} momentum should be {1 - torch_momentum:g}, you gave {momentum:g}.")
        if abs(epsilon - 1e-3) <= 1e-15 and torch_eps != 1e-3:
            raise AssertionError(
                f"For {label} you gave epsilon=1e-3, Keras' default; the PyTorch layer used eps={torch_eps:g}, and "
                "with small variances the two give visibly different outputs. Copy eps over unchanged.")
        assert abs(epsilon - torch_eps) <= 1e-15, (
            f"For {label} epsilon should be {torch_eps:g} (the same number: both add it to the variance), "
            f"you gave {epsilon:g}.")


def check_torch_to_keras(fn):
    """Check a learner's ``fn(torch_momentum, torch_eps)`` -> Keras BatchNormalization keyword arguments.

    It must return ``{"momentum": 1 - torch_momentum, "epsilon": torch_eps}`` (extra keys
    are allowed) for four settings, PyTorch's defaults (0.1, 1e-5) among them. Returns a
    :class:`CheckResult`; a failure explains the momentum convention or the eps default.
    """
    return run_check("Exercise: a PyTorch BatchNorm's settings in Keras", lambda: _check_torch_to_keras(fn))


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = []
