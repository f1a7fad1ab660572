"""Exercise checker for notebook 03 (tf_custom_layer): the learner writes the layer's ``call``.

The learner subclasses ``bn_course.layers.BatchNorm`` (which supplies the constructor, ``build``
with ``self.reduction_axes`` and ``self.stats_shape``, and ``get_config``) and writes ``call``.
:func:`check_layer_call` runs it on every layout the notebook promises and names the mistake.
TensorFlow is imported only when a check runs, so importing this module stays light.
"""

import re

import numpy as np

from bn_course.exercises.common import Exercise, first_matching_mistake, run_check

tf = None  # TensorFlow, imported by _tensorflow() the first time a check runs

MOMENTUM, EPSILON = 0.8, 1e-3

# (label, input shape, axis). Every dimension differs from the channel count, so statistics
# over the wrong axes fail loudly (or give different numbers) instead of passing by accident.
CASES = [
    ("a rank-2 (N, D) = (16, 3) batch with axis=-1", (16, 3), -1),
    ("a rank-4 channels-first (N, C, H, W) = (8, 3, 4, 5) batch with axis=1", (8, 3, 4, 5), 1),
    ("a rank-4 channels-last (N, H, W, C) = (6, 4, 5, 3) batch with axis=-1", (6, 4, 5, 3), -1),
]

_SHAPE_HINT = ("The statistics and weights must line up with the feature axis: average over "
               "self.reduction_axes (every axis except self.axis), which gives one value per channel, "
               "and reshape each (C,) vector to self.stats_shape, e.g. (1, C, 1, 1) for axis=1.")


def _tensorflow():
    global tf
    if tf is None:
        from bn_course.env import import_tensorflow

        tf = import_tensorflow()
    return tf


# --------------------------------------------------------------------------- NumPy references


def _keep(vector, shape, axis):
    """A (C,) vector reshaped to broadcast along ``axis`` of an array of ``shape``."""
    line = [1] * len(shape)
    line[axis % len(shape)] = len(vector)
    return np.reshape(vector, line)


def _stats(x, axis, axes=None, ddof=0):
    """Per-channel mean and variance over every axis but ``axis`` (or over ``axes``), kept broadcastable."""
    if axes is None:
        axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    return x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True, ddof=ddof)


def _normalize(x, mean, var, gamma, beta, axis):
    return _keep(gamma, x.shape, axis) * (x - mean) / np.sqrt(var + EPSILON) + _keep(beta, x.shape, axis)


def _training_mistakes(x, axis, gamma, beta, moving_mean, moving_var):
    """(hint, wrong output) for the usual wrong training-mode outputs."""
    mean, var = _stats(x, axis)
    g, b = _keep(gamma, x.shape, axis), _keep(beta, x.shape, axis)
    mistakes = [
        ("in training mode the layer must normalize with the batch's own mean and variance; yours used the "
         "moving statistics. Is `training` ignored, or the test for training mode the wrong way round?",
         _normalize(x, _keep(moving_mean, x.shape, axis), _keep(moving_var, x.shape, axis), gamma, beta, axis)),
        ("you normalized with the unbiased variance (divide by m - 1). BN divides by m, as tf.nn.moments does.",
         _normalize(x, mean, _stats(x, axis, ddof=1)[1], gamma, beta, axis)),
        ("gamma and beta are swapped: tf.nn.batch_normalization takes offset (beta) BEFORE scale (gamma). "
         "Pass them by keyword.", _normalize(x, mean, var, beta, gamma, axis)),
        ("the output is not scaled by gamma and shifted by beta: pass offset=beta and scale=gamma.",
         (x - mean) / np.sqrt(var + EPSILON)),
        ("epsilon goes under the square root: (x - mean) / sqrt(var + epsilon).",
         g * (x - mean) / (np.sqrt(var) + EPSILON) + b),
        ("the statistics were taken over the whole batch at once (every axis); BN keeps one mean and "
         "variance per channel: average over self.reduction_axes only.",
         _normalize(x, *_stats(x, axis, axes=tuple(range(x.ndim))), gamma, beta, axis)),
    ]
    if x.ndim > 2:
        mistakes.append((
            "the statistics were taken over the batch axis only, so every pixel position got its own mean "
            "and variance. For images each channel's statistics are over the batch AND the spatial axes: "
            "average over self.reduction_axes.",
            _normalize(x, *_stats(x, axis, axes=(0,)), gamma, beta, axis)))
    return mistakes


# --------------------------------------------------------------------------- running the learner's layer


def _clean(error):
    """The message of an exception, without the frame Keras wraps around errors raised in call()."""
    text = str(error)
    inner = re.search(r"\x1b\[1m(.*?)\x1b\[0m", text, re.S)
    text = inner.group(1) if inner else text
    text = re.sub(r"\{\{function_node[^}]*\}\}|\[Op:\w+\]|\bname:\s*$", "", text.strip())
    return " ".join(text.split()).rstrip(" .")[:300]


def _run(layer, x, training, where):
    """The learner's layer called on ``x``, as a float64 array of x's shape (AssertionError otherwise)."""
    try:
        y = layer(x, training=training)
    except NotImplementedError:
        raise
    except Exception as error:  # the learner's code may raise anything
        message = _clean(error)
        hint = ""
        if any(s in message.lower() for s in ("shape", "broadcast", "dimensions must be equal")):
            hint = " " + _SHAPE_HINT
        elif "numpy" in message.lower() or "symbolic" in message.lower():
            hint = " Use TensorFlow ops only inside call (no .numpy(), no NumPy functions on tensors)."
        raise AssertionError(f"{where}, your call raised {type(error).__name__}: {message}.{hint}") from None
    assert y is not None, f"{where}, call returned None: finish with `return` and the normalized tensor."
    y = np.asarray(y, dtype=np.float64)
    assert y.shape == x.shape, f"{where}, call returned shape {y.shape}; BN keeps the input's shape {x.shape}."
    return y


def _weights(layer):
    """The layer's four weights by name (read from ``layer.weights``, as Keras saves them)."""
    found = {w.name: w for w in layer.weights}
    missing = [n for n in ("gamma", "beta", "moving_mean", "moving_variance") if n not in found]
    assert not missing, (
        f"the layer has no weight(s) {missing}: subclass bn_course.layers.BatchNorm, whose build() creates "
        "gamma, beta, moving_mean and moving_variance, and write only call().")
    return found


def _moving(weights):
    return weights["moving_mean"].numpy().astype(np.float64), weights["moving_variance"].numpy().astype(np.float64)


def _check_update(where, name, new, old, batch_stat, unbiased=None):
    """Name the mistake in one moving statistic after a training step, if any."""
    expected = old * MOMENTUM + batch_stat * (1 - MOMENTUM)
    if np.allclose(new, expected, rtol=1e-4, atol=1e-5):
        return
    mistakes = [
        (f"{name} did not change: in training mode update it with "
         f"self.{name}.assign(...) (the exponential moving average of the batch statistic).", old),
        ("the momentum direction is reversed: Keras keeps `momentum` of the OLD value, "
         "moving * momentum + batch * (1 - momentum) (weighting the batch by momentum is PyTorch's convention).",
         old * (1 - MOMENTUM) + batch_stat * MOMENTUM),
        (f"{name} was replaced by the batch statistic; it must be an average of its old value and the batch's.",
         batch_stat),
    ]
    if unbiased is not None:
        mistakes.append(("Keras stores the biased batch variance (the one tf.nn.moments returns), "
                         "not the unbiased one.", old * MOMENTUM + unbiased * (1 - MOMENTUM)))
    hint = first_matching_mistake(new, mistakes, rtol=1e-4, atol=1e-5)
    raise AssertionError(f"{where}, {name} is wrong: " + (hint or f"use {name} * momentum + batch statistic * "
                                                             "(1 - momentum), with the statistic per channel."))


def _make(layer_class, shape, axis, rng):
    layer = layer_class(axis=axis, momentum=MOMENTUM, epsilon=EPSILON)
    layer.build(shape)
    weights = _weights(layer)
    channels = shape[axis]
    gamma, beta = rng.uniform(0.5, 2.0, channels), rng.uniform(-1.0, 1.0, channels)
    weights["gamma"].assign(gamma)
    weights["beta"].assign(beta)
    return layer, weights, gamma, beta


def _batches(shape, axis, rng, steps=3):
    """Batches whose channels have different means and spreads, changing from step to step."""
    channels = shape[axis]
    return [(_keep(rng.uniform(-3.0, 3.0, channels) + step, shape, axis)
             + _keep(rng.uniform(0.5, 3.0, channels), shape, axis) * rng.normal(size=shape)).astype("float32")
            for step in range(steps)]


def _check_case(layer_class, label, shape, axis, rng):
    layer, weights, gamma, beta = _make(layer_class, shape, axis, rng)
    batches = _batches(shape, axis, rng)
    for step, x in enumerate(batches, start=1):
        where = f"On {label}, training step {step}"
        old_mean, old_var = _moving(weights)
        y = _run(layer, x, True, where)
        mean, var = _stats(x.astype(np.float64), axis)
        expected = _normalize(x.astype(np.float64), mean, var, gamma, beta, axis)
        if not np.allclose(y, expected, rtol=1e-4, atol=1e-4):
            hint = first_matching_mistake(y, _training_mistakes(x.astype(np.float64), axis, gamma, beta,
                                                                old_mean, old_var), rtol=1e-4, atol=1e-4)
            raise AssertionError(f"{where}, the output is wrong: " + (hint or (
                "normalize with tf.nn.moments over self.reduction_axes, then tf.nn.batch_normalization with "
                "the statistics and weights reshaped to self.stats_shape.")))
        new_mean, new_var = _moving(weights)
        _check_update(where, "moving_mean", new_mean, old_mean, mean.ravel())
        _check_update(where, "moving_variance", new_var, old_var, var.ravel(),
                      unbiased=_stats(x.astype(np.float64), axis, ddof=1)[1].ravel())

    x = (batches[-1] + 2.0).astype("float32")  # a shifted batch: its own statistics differ from the moving ones
    moving_mean, moving_var = _moving(weights)
    expected = _normalize(x.astype(np.float64), _keep(moving_mean, shape, axis), _keep(moving_var, shape, axis),
                          gamma, beta, axis)
    own = _normalize(x.astype(np.float64), *_stats(x.astype(np.float64), axis), gamma, beta, axis)
    for training in (False, None):
        where = f"On {label}, at inference (training={training})"
        y = _run(layer, x, training, where)
        changed = not (np.allclose(_moving(weights)[0], moving_mean) and np.allclose(_moving(weights)[1], moving_var))
        none_means = "None means inference, as in Keras (a bare layer(x) call passes it). " if training is None else ""
        if np.allclose(y, own, rtol=1e-4, atol=1e-4):
            raise AssertionError(
                f"{where}: {none_means}Your layer normalized with the batch's own statistics, which is the naive "
                "layer's bug: at inference use moving_mean and moving_variance"
                + (", and update nothing." if changed else "."))
        if changed:
            raise AssertionError(f"{where}: {none_means}The moving statistics changed; only training mode may "
                                 "update them.")
        if not np.allclose(y, expected, rtol=1e-4, atol=1e-4):
            raise AssertionError(f"{where}, the output is wrong: at inference normalize with moving_mean and "
                                 "moving_variance (reshaped to self.stats_shape), then gamma and beta.")

    layer.trainable = False
    where = f"On {label}, with trainable=False and training=True"
    y = _run(layer, x, True, where)
    if not np.allclose(y, expected, rtol=1e-4, atol=1e-4) or not np.allclose(_moving(weights)[0], moving_mean):
        raise AssertionError(f"{where}: Keras runs a frozen BN layer in inference mode even when training=True, "
                             "and updates nothing. Test `if training and self.trainable:`.")


def _check_in_tf_function(layer_class, rng):
    """Two training steps inside tf.function, as model.fit runs them: the updates must persist."""
    label, shape, axis = CASES[0]
    layer, weights, _, _ = _make(layer_class, shape, axis, rng)
    step = tf.function(lambda batch: layer(batch, training=True))
    expected_mean, expected_var = _moving(weights)
    for x in _batches(shape, axis, rng, steps=2):
        try:
            step(x)
        except Exception as error:  # the learner's code may raise anything
            raise AssertionError(
                f"Inside tf.function (as in model.fit) your call raised {type(error).__name__}: {_clean(error)}. "
                "Use TensorFlow ops only (no .numpy(), no Python `if` on a tensor).") from None
        mean, var = _stats(x.astype(np.float64), axis)
        expected_mean = expected_mean * MOMENTUM + mean.ravel() * (1 - MOMENTUM)
        expected_var = expected_var * MOMENTUM + var.ravel() * (1 - MOMENTUM)
    got_mean, got_var = _moving(weights)
    if not (np.allclose(got_mean, expected_mean, rtol=1e-4, atol=1e-5)
            and np.allclose(got_var, expected_var, rtol=1e-4, atol=1e-5)):
        raise AssertionError("Inside tf.function (as in model.fit) the moving statistics were not updated: "
                             "write into the variables with .assign(...); rebinding self.moving_mean = ... "
                             "is lost when the function is traced.")


def _check_layer_call(answer):
    _tensorflow()
    from bn_course.layers import BatchNorm

    if isinstance(answer, type):
        layer_class = answer
    else:  # a bare call(self, inputs, training=None) function: attach it to a BatchNorm subclass
        layer_class = type("LearnerBatchNorm", (BatchNorm,), {"call": answer})
    rng = np.random.default_rng(0)
    for label, shape, axis in CASES:
        _check_case(layer_class, label, shape, axis, rng)
    _check_in_tf_function(layer_class, rng)


def check_layer_call(answer):
    """Check a learner's ``call`` and return a :class:`~bn_course.checks.CheckResult`.

    ``answer`` is a subclass of ``bn_course.layers.BatchNorm`` that overrides ``call`` (or a bare
    ``call(self, inputs, training=None)`` function). With ``momentum=0.8``, ``epsilon=1e-3`` and
    non-trivial gamma and beta, on a rank-2 (N, D) batch with ``axis=-1``, a rank-4 channels-first
    batch with ``axis=1`` and a rank-4 channels-last batch with ``axis=-1``, it compares with NumPy
    (within 1e-4): three training steps (output and both moving statistics after each), inference
    with ``training=False`` and ``training=None`` (output, and no update), a frozen layer
    (``trainable=False``) called with ``training=True``; then two training steps inside
    ``tf.function``. A failure names the case and the first mistake it recognises: moving
    statistics used in training, the unbiased variance, gamma/beta swapped or missing, epsilon
    outside the square root, statistics over every axis or over the batch axis only, shapes that
    do not line up with the feature axis, moving statistics not updated, the momentum direction
    reversed, the batch statistic stored instead of averaged, batch statistics at inference
    (also for ``training=None``), updates at inference, ``trainable=False`` ignored, updates lost
    inside ``tf.function``.
    """
    return run_check("Exercise: the layer's call", lambda: _check_layer_call(answer))


def _solution_call(self, inputs, training=None):
    if training and self.trainable:  # training mode, as in fit (a frozen layer never trains)
        mean, variance = tf.nn.moments(inputs, axes=self.reduction_axes)  # per channel, biased
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1 - self.momentum))
    else:  # inference: training False or None (predict, evaluate, a bare call), or a frozen layer
        mean, variance = self.moving_mean, self.moving_variance
    shape = self.stats_shape  # (C,) vectors line up with the feature axis, e.g. (1, C, 1, 1) for axis=1
    return tf.nn.batch_normalization(
        inputs,
        mean=tf.reshape(mean, shape),
        variance=tf.reshape(variance, shape),
        offset=tf.reshape(self.beta, shape),
        scale=tf.reshape(self.gamma, shape),
        variance_epsilon=self.epsilon,
    )


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = [
    Exercise(
        "03_tf_custom_layer", "call", "Exercise: the layer's call", check_layer_call, _solution_call,
        "Put this function's body into `MyBatchNorm.call`. Three decisions make the layer correct. "
        "**Which mode?** Training mode only when `training` is true *and* the layer is trainable; "
        "`training=None` (a bare call) and `training=False` (`predict`, `evaluate`) are inference, and so is "
        "any call of a frozen layer. **Which statistics?** In training, the batch's own per-channel mean and "
        "biased variance, over `self.reduction_axes`; the moving averages then keep `momentum` of their old "
        "value, written with `.assign` so the update survives inside `fit`. At inference, the moving "
        "statistics, so each sample's output no longer depends on its batch. **Which shape?** The statistics "
        "and weights are vectors of length C; reshaped to `self.stats_shape` they broadcast along the feature "
        "axis for any layout (the complete layer in section 5 also casts float16 inputs to float32)."),
]
