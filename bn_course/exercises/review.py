"""Exercise checker for notebook 07 (review): fix a PyTorch -> Keras BatchNorm converter.

The learner gets a converter that runs but is wrong in three ways (PyTorch's momentum copied
unchanged, its ``eps`` left out so Keras's default 1e-3 applies, the stored variance "un-biased"
by (n - 1)/n), finds the bugs from their symptoms and writes ``convert_bn(state, torch_momentum,
torch_eps) -> (config, weights)``. The checker builds a real ``keras.layers.BatchNormalization``
from the answer and compares it with PyTorch's formulas (simulated in NumPy), so any correct
answer passes; a wrong one gets the name of its mistake. Returns a CheckResult, never raises.
"""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, first_matching_mistake, run_check

__all__ = ["check_convert_bn", "torch_eval", "EXERCISES"]

TITLE = "Exercise: a PyTorch BatchNorm2d in Keras"

# (label, PyTorch momentum, PyTorch eps, channels, input shape (N, C, H, W)); channel 0 of every
# case is nearly constant (variance 1e-4), where epsilon decides the output.
_CASES = [
    ("PyTorch's defaults (momentum=0.1, eps=1e-5), 3 channels", 0.1, 1e-5, 3, (5, 3, 4, 4)),
    ("momentum=0.01, eps=1e-5, 4 channels", 0.01, 1e-5, 4, (3, 4, 2, 5)),
    ("momentum=0.3, eps=1e-3, 2 channels", 0.3, 1e-3, 2, (4, 2, 3, 3)),
    ("momentum=0.05, eps=2e-5, 5 channels", 0.05, 2e-5, 5, (2, 5, 4, 2)),
]


def torch_eval(x, state, eps=1e-5):
    """What PyTorch's ``BatchNorm2d`` computes in eval mode on channels-first ``x`` (N, C, H, W):
    ``weight * (x - running_mean) / sqrt(running_var + eps) + bias``, per channel."""
    def line_up(v):
        return np.asarray(v, dtype=np.float64)[None, :, None, None]

    x = np.asarray(x, dtype=np.float64)
    return (line_up(state["weight"]) * (x - line_up(state["running_mean"]))
            / np.sqrt(line_up(state["running_var"]) + eps) + line_up(state["bias"]))


def _case(seed, channels, shape):
    rng = np.random.default_rng(seed)
    running_var = rng.uniform(0.3, 3.0, channels)
    running_var[0] = 1e-4
    state = {"weight": rng.uniform(0.5, 2.0, channels), "bias": rng.normal(0.0, 1.0, channels),
             "running_mean": rng.normal(0.0, 2.0, channels), "running_var": running_var,
             "num_batches_tracked": np.array(500)}
    std = np.sqrt(running_var)[None, :, None, None]
    x = state["running_mean"][None, :, None, None] + std * rng.standard_normal(shape)
    batch = 3.0 + state["running_mean"][None, :, None, None] + 2.0 * std * rng.standard_normal(shape)
    return state, x, batch


def _unpack(result, label, channels):
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"For {label} your function returned {type(result).__name__}; return a pair (config, weights) "
        "like the given converter.")
    config, weights = result
    assert isinstance(config, dict), (f"For {label} the config is a {type(config).__name__}; it must be a dict of "
                                      "keyword arguments for keras.layers.BatchNormalization.")
    assert isinstance(weights, (tuple, list)) and len(weights) == 4, (
        f"For {label} weights must be a list of four arrays, in Keras's order: gamma, beta, moving_mean, "
        "moving_variance.")
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    shapes = [w.shape for w in weights]
    assert all(s == (channels,) for s in shapes), (
        f"For {label} the weights have shapes {shapes}; each must be ({channels},), one value per channel.")
    return config, weights


def _check_config(config, label, torch_momentum, torch_eps):
    momentum = float(config.get("momentum", 0.99))
    hint = first_matching_mistake(momentum, [
        (f"you kept PyTorch's momentum {torch_momentum:g}. PyTorch's momentum is the weight of the NEW batch "
         "(running = (1 - m) * running + m * batch); Keras's is the weight of the OLD value "
         "(moving = momentum * moving + (1 - momentum) * batch). Symptom: after one training step the Keras "
         "moving mean jumps most of the way to the batch mean.", torch_momentum),
        ("momentum is Keras's default 0.99 (or missing). The PyTorch layer forgot old batches faster; "
         "translate its momentum rather than dropping it.", 0.99),
    ], rtol=0, atol=1e-6)
    right = abs(momentum - (1 - torch_momentum)) <= 1e-6  # for m = 0.01, 1 - m is also Keras's default
    assert right or hint is None, f"For {label}: {hint}"
    assert right, (
        f"For {label} momentum is {momentum:g}; which share of the old value does PyTorch keep at each step?")

    epsilon = float(config.get("epsilon", 1e-3))
    if abs(epsilon - torch_eps) > 1e-6 * torch_eps:
        assert abs(epsilon - 1e-3) > 1e-9, (
            f"For {label} epsilon is 1e-3 (Keras's default, used when you leave it out), but the PyTorch layer "
            f"used eps={torch_eps:g}. On a channel whose variance is close to eps the two give very different "
            "outputs: that is the channel whose ratio was far from 1. Pass the PyTorch value.")
        raise AssertionError(f"For {label} epsilon is {epsilon:g}, the PyTorch layer used {torch_eps:g}. Both "
                             "frameworks add it to the variance under the square root: it is the same number.")

    axis = config.get("axis", -1)
    assert axis in (1, -3), (
        f"For {label} axis is {axis!r}. PyTorch's BatchNorm2d works on channels-first (N, C, H, W) input, "
        "and the channels are axis 1; Keras's default axis=-1 would normalize each image column instead.")
    unknown = sorted(set(config) - {"axis", "momentum", "epsilon", "center", "scale"})
    assert not unknown, (f"For {label} the config has {unknown}: use the argument names of "
                         "keras.layers.BatchNormalization (axis, momentum, epsilon, center, scale).")
    assert config.get("center", True) and config.get("scale", True), (
        f"For {label} center/scale are off, but the PyTorch layer has a weight (gamma) and a bias (beta).")


def _check_weights(weights, state, label, torch_eps):
    gamma, beta, mean, var = (np.asarray(state[k], dtype=np.float64)
                              for k in ("weight", "bias", "running_mean", "running_var"))
    got = np.stack(weights)
    hint = first_matching_mistake(got, [
        ("gamma and beta are swapped: Keras's order is gamma (PyTorch's weight), beta (PyTorch's bias), "
         "moving_mean, moving_variance.", np.stack([beta, gamma, mean, var])),
        ("the fourth array is the standard deviation; Keras's moving_variance is a variance, like "
         "PyTorch's running_var.", np.stack([gamma, beta, mean, np.sqrt(var)])),
        ("epsilon is already in the stored variance: Keras adds `epsilon` itself, so copy running_var "
         "as it is.", np.stack([gamma, beta, mean, var + torch_eps])),
    ], rtol=1e-6, atol=1e-9)
    assert hint is None, f"For {label}: {hint}"
    assert np.allclose(weights[0], gamma) and np.allclose(weights[1], beta), (
        f"For {label} gamma and beta should be PyTorch's weight and bias, unchanged.")
    assert np.allclose(weights[2], mean, rtol=1e-6, atol=1e-9), (
        f"For {label} moving_mean should be PyTorch's running_mean, unchanged.")
    ratio = weights[3] / var
    if not np.allclose(ratio, 1.0, rtol=1e-6):
        assert not np.allclose(ratio, ratio[0], rtol=1e-6), (
            f"For {label} you multiplied running_var by {ratio[0]:.4f}. PyTorch divides by "
            "sqrt(running_var + eps) at inference, the unbiased value it stores; Keras divides by "
            "sqrt(moving_variance + epsilon). To get the same outputs copy running_var unchanged. Symptom: the "
            "same output ratio on every channel, whose square is that factor.")
        raise AssertionError(f"For {label} moving_variance should be PyTorch's running_var, unchanged.")


def _check_in_keras(config, weights, state, x, batch, label, torch_momentum, torch_eps):
    from bn_course.env import import_tensorflow

    import_tensorflow()
    import keras

    layer = keras.layers.BatchNormalization(**config)
    layer.build(x.shape)
    layer.set_weights([w.astype("float32") for w in weights])
    keras_out = np.asarray(layer(x.astype("float32"), training=False), dtype=np.float64)
    torch_out = torch_eval(x, state, torch_eps)
    error = np.max(np.abs(keras_out - torch_out)) / np.max(np.abs(torch_out))
    assert error < 1e-4, f"For {label} the Keras layer's inference output differs from PyTorch's by {error:.2g}."
    layer(batch.astype("float32"), training=True)
    expected = (1 - torch_momentum) * state["running_mean"] + torch_momentum * batch.mean(axis=(0, 2, 3))
    moved = np.asarray(layer.moving_mean, dtype=np.float64)
    assert np.allclose(moved, expected, rtol=1e-4, atol=1e-4), (
        f"For {label}, after one training step the Keras moving mean is {np.round(moved, 3)}, PyTorch's running "
        f"mean would be {np.round(expected, 3)}.")


def _check_convert_bn(fn):
    for seed, (label, torch_momentum, torch_eps, channels, shape) in enumerate(_CASES):
        state, x, batch = _case(seed, channels, shape)
        given = {key: value.copy() for key, value in state.items()}
        result = call_learner(fn, label, given, torch_momentum, torch_eps)
        assert all(np.array_equal(given[k], state[k]) for k in state), (
            f"For {label} your function changed the state dict it was given; build new arrays instead.")
        config, weights = _unpack(result, label, channels)
        _check_config(config, label, torch_momentum, torch_eps)
        _check_weights(weights, state, label, torch_eps)
        _check_in_keras(config, weights, state, x, batch, label, torch_momentum, torch_eps)


def check_convert_bn(fn):
    """Check ``fn(state, torch_momentum, torch_eps) -> (config, weights)``; returns a CheckResult.

    ``state`` holds a PyTorch ``BatchNorm2d``'s ``weight``, ``bias``, ``running_mean``,
    ``running_var`` (arrays (C,)) and ``num_batches_tracked``. The answer must give
    ``keras.layers.BatchNormalization(**config)`` on channels-first input, with
    ``layer.set_weights(weights)`` (gamma, beta, moving_mean, moving_variance), the same
    inference output as PyTorch's eval mode and the same moving-mean update. Four cases
    (PyTorch's defaults among them; channel 0 nearly constant). A failure names the mistake:
    momentum not translated, epsilon left at Keras's default, running_var rescaled, the
    channel axis, gamma/beta swapped, a standard deviation instead of a variance, a changed input.
    """
    return run_check(TITLE, lambda: _check_convert_bn(fn))


def _solution_convert_bn(state, torch_momentum=0.1, torch_eps=1e-5):
    config = {"axis": 1,                       # PyTorch's BatchNorm2d input is (N, C, H, W)
              "momentum": 1 - torch_momentum,  # PyTorch weights the new batch by m, Keras the old value
              "epsilon": torch_eps}            # Keras's default would be 1e-3
    weights = [state["weight"], state["bias"], state["running_mean"],
               state["running_var"]]           # unchanged: it is what PyTorch divides by at inference
    return config, weights


# Until bn_course/exercises/__init__.py imports check_convert_bn, it still imports this name.
check_torch_to_keras = check_convert_bn

EXERCISES = [
    Exercise(
        notebook="07_review",
        key="convert-bn",
        title=TITLE,
        check=check_convert_bn,
        solution=_solution_convert_bn,
        explanation=(
            "Three bugs, three symptoms. **Momentum:** PyTorch's `momentum` is the weight of the *new* batch "
            "statistic, Keras's the weight of the *old* moving value, so PyTorch's 0.1 is Keras's 0.9. Inference "
            "outputs cannot show this bug; one training step does (the moving mean jumped 90 % of the way "
            "instead of 10 %). **Epsilon:** leaving it out gives Keras's default 1e-3 instead of PyTorch's "
            "1e-5; that only matters where the variance is comparable to it, which is why one nearly constant "
            "channel came out about three times too small while the others were barely affected. "
            "**Variance:** PyTorch normalizes each *training* batch with the biased variance but stores the "
            "unbiased one in `running_var`, and divides by `sqrt(running_var + eps)` in eval mode. Keras "
            "divides by `sqrt(moving_variance + epsilon)`, so copying `running_var` unchanged gives identical "
            "outputs; 'un-biasing' it by (n-1)/n scaled every channel by the same factor, "
            "sqrt(16/15) ≈ 1.033 here. Keep `axis=1` while the inputs stay channels-first, or transpose them "
            "to (N, H, W, C) and use `axis=-1`."
        ),
    ),
]
