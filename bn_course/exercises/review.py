"""Notebook 07's checker: fix a PyTorch -> Keras BatchNorm2d converter (known mistakes first, then a real Keras
layer against PyTorch's formulas in NumPy)."""

import numpy as np

from bn_course.env import import_keras
from bn_course.exercises.common import Exercise, call_learner, checker, first_matching_mistake

TITLE = "Exercise: a PyTorch BatchNorm2d in Keras"
KERAS_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")  # the order of set_weights
TORCH_WEIGHTS = ("weight", "bias", "running_mean", "running_var")      # the same four, as PyTorch names them

# (label, PyTorch momentum, eps, channels, (N, C, H, W)); channel 0 has variance 1e-4, where epsilon matters.
_CASES = [
    ("PyTorch's defaults (momentum=0.1, eps=1e-5), 3 channels", 0.1, 1e-5, 3, (5, 3, 4, 4)),
    ("momentum=0.01, eps=1e-5, 4 channels", 0.01, 1e-5, 4, (3, 4, 2, 5)),
    ("momentum=0.3, eps=1e-3, 2 channels", 0.3, 1e-3, 2, (4, 2, 3, 3)),
    ("momentum=0.05, eps=2e-5, 5 channels", 0.05, 2e-5, 5, (2, 5, 4, 2)),
]


def torch_eval(x, state, eps=1e-5):
    """PyTorch's eval BatchNorm2d on (N, C, H, W): weight * (x - running_mean) / sqrt(running_var + eps) + bias"""
    weight, bias, mean, var = (np.asarray(state[k], dtype=np.float64)[None, :, None, None] for k in TORCH_WEIGHTS)
    return weight * (np.asarray(x, dtype=np.float64) - mean) / np.sqrt(var + eps) + bias


def _case(seed, channels, shape):
    """A PyTorch state dict, inputs drawn from its statistics, and a training batch with other statistics."""
    rng = np.random.default_rng(seed)
    state = {"weight": rng.uniform(0.5, 2.0, channels), "bias": rng.normal(0.0, 1.0, channels),
             "running_mean": rng.normal(0.0, 2.0, channels), "running_var": rng.uniform(0.3, 3.0, channels),
             "num_batches_tracked": np.array(500)}
    state["running_var"][0] = 1e-4
    mean, std = state["running_mean"][None, :, None, None], np.sqrt(state["running_var"])[None, :, None, None]
    return state, mean + std * rng.standard_normal(shape), 3.0 + mean + 2.0 * std * rng.standard_normal(shape)


def _config_mistake(config, torch_momentum, torch_eps):
    """What is wrong with the keyword arguments for keras.layers.BatchNormalization, or None."""
    momentum, epsilon = float(config.get("momentum", 0.99)), float(config.get("epsilon", 1e-3))
    if abs(momentum - (1 - torch_momentum)) > 1e-6:  # tested first: for m = 0.01, 1 - m is Keras's default
        return first_matching_mistake(momentum, [
            (f"you kept PyTorch's momentum {torch_momentum:g}, the weight of the NEW batch; Keras's momentum weights "
             "the OLD value (symptom: one step moves the moving mean most of the way).", torch_momentum),
            ("momentum is Keras's default 0.99 (or missing): translate PyTorch's momentum, do not drop it.", 0.99),
        ], rtol=0, default=f"momentum is {momentum:g}; which share of the old value does PyTorch keep at each step?")
    if abs(epsilon - torch_eps) > 1e-6 * torch_eps:
        return first_matching_mistake(epsilon, [(
            f"epsilon is 1e-3 (Keras's default, used when you leave it out), not eps={torch_eps:g}: it decides the "
            "channel whose variance is near eps (the ratio far from 1).", 1e-3)], rtol=1e-9, atol=0, default=(
            f"epsilon is {epsilon:g}, PyTorch's eps {torch_eps:g}: both add it to the variance, it is the same "
            "number."))
    if config.get("axis", -1) not in (1, -3):
        return f"axis is {config.get('axis', -1)!r}: for (N, C, H, W) input the channels are axis 1."
    unknown = sorted(set(config) - {"axis", "momentum", "epsilon", "center", "scale"})
    if unknown:
        return f"the config has {unknown}: use the argument names axis, momentum, epsilon, center, scale."
    if not (config.get("center", True) and config.get("scale", True)):
        return "center/scale are off, but the PyTorch layer has a weight (gamma) and a bias (beta)."


def _weights_mistake(weights, state, torch_eps):
    """What is wrong with the four arrays for set_weights, or None."""
    gamma, beta, mean, var = torch = [np.asarray(state[k], dtype=np.float64) for k in TORCH_WEIGHTS]
    differ = [f"{keras_name} should be PyTorch's {torch_name}, unchanged." for keras_name, torch_name, got, right
              in zip(KERAS_WEIGHTS, TORCH_WEIGHTS, weights, torch) if not np.allclose(got, right, rtol=1e-6, atol=1e-9)]
    if not differ:
        return None
    ratio = weights[3][0] / var[0]
    return first_matching_mistake(weights, [
        ("gamma and beta are swapped: Keras's order is gamma (weight), beta (bias), moving_mean, moving_variance.",
         [beta, gamma, mean, var]),
        ("the fourth array is a standard deviation; moving_variance is a variance, like running_var.",
         [gamma, beta, mean, np.sqrt(var)]),
        ("epsilon is already in the stored variance: Keras adds `epsilon` itself, so copy running_var as it is.",
         [gamma, beta, mean, var + torch_eps]),
        (f"you multiplied running_var by {ratio:.4f}; both frameworks divide by sqrt(variance + eps) at inference, so "
         "copy it unchanged (symptom: one output ratio on every channel).", [gamma, beta, mean, ratio * var]),
    ], rtol=1e-6, atol=1e-9, default=differ[0])


@checker(TITLE)
def check_convert_bn(fn):
    """Check ``fn(state, torch_momentum, torch_eps) -> (config, weights)`` on ``_CASES``: Keras's layer must give
    PyTorch's eval output and running-mean update on (N, C, H, W)."""
    keras = import_keras()
    for seed, (label, torch_momentum, torch_eps, channels, shape) in enumerate(_CASES):
        state, x, batch = _case(seed, channels, shape)
        result = call_learner(fn, label, state, torch_momentum, torch_eps)
        assert isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[0], dict), (
            f"On {label}, your code returned {type(result).__name__}; return a pair (config, weights), config a "
            "dict of keyword arguments for keras.layers.BatchNormalization.")
        config, weights = result
        assert isinstance(weights, (tuple, list)) and [np.shape(w) for w in weights] == [(channels,)] * 4, (
            f"On {label}, weights must be four arrays of shape ({channels},): gamma, beta, moving mean and variance.")
        weights = [np.asarray(w, dtype=np.float64) for w in weights]
        hint = _config_mistake(config, torch_momentum, torch_eps) or _weights_mistake(weights, state, torch_eps)
        assert hint is None, f"On {label}: {hint}"
        # No known mistake: does the Keras layer really behave like PyTorch's, at inference and in one step?
        layer = keras.layers.BatchNormalization(**config)
        layer.build(x.shape)
        layer.set_weights([w.astype("float32") for w in weights])
        torch_out = torch_eval(x, state, torch_eps)
        error = np.max(np.abs(np.asarray(layer(x.astype("float32"), training=False)) - torch_out))
        assert error < 1e-4 * np.max(np.abs(torch_out)), f"On {label}, the inference outputs differ by {error:.2g}."
        layer(batch.astype("float32"), training=True)
        torch_mean = (1 - torch_momentum) * state["running_mean"] + torch_momentum * batch.mean(axis=(0, 2, 3))
        assert np.allclose(layer.moving_mean, torch_mean, rtol=1e-4, atol=1e-4), (
            f"On {label}, after one training step the Keras moving mean is {np.round(layer.moving_mean, 3)}; "
            f"PyTorch's running mean would be {np.round(torch_mean, 3)}.")


def _solution_convert_bn(state, torch_momentum=0.1, torch_eps=1e-5):
    config = {"axis": 1,                       # PyTorch's BatchNorm2d input is (N, C, H, W)
              "momentum": 1 - torch_momentum,  # PyTorch weights the new batch by m, Keras the old value
              "epsilon": torch_eps}            # Keras's default would be 1e-3
    # running_var unchanged: PyTorch divides by sqrt(running_var + eps) at inference, Keras likewise
    return config, [state["weight"], state["bias"], state["running_mean"], state["running_var"]]


EXERCISES = [Exercise(
    notebook="07_review", key="convert-bn", title=TITLE, check=check_convert_bn, solution=_solution_convert_bn,
    explanation=(
        "**Momentum:** PyTorch's weights the *new* batch statistic, Keras's the *old* value: 0.1 becomes 0.9 (only a "
        "training step shows it). **Epsilon:** left out, it is Keras's 1e-3, not 1e-5, which matters where the "
        "variance is comparable (the nearly constant channel). **Variance:** both divide by sqrt(variance + eps) at "
        "inference, so copy `running_var` unchanged; 'un-biasing' it scaled every channel by sqrt(16/15). Keep "
        "`axis=1` for channels-first inputs."))]
