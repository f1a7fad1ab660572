"""Notebook 03's checker: the learner writes ``call`` of a ``bn_course.layers.BatchNorm`` subclass (whose ``build``
sets ``self.reduction_axes`` and ``self.stats_shape``). Training mode: ``gamma * (x - mean) / sqrt(var + eps) + beta``
with the batch's per-channel mean and biased variance, and ``moving = moving * momentum + batch stat * (1 - momentum)``;
inference (training False or None, or a frozen layer): the same with the moving statistics."""

import numpy as np

from bn_course.env import import_tensorflow
from bn_course.exercises.common import EPS_HINT, Exercise, call_learner, checker, expect, mismatch, moments, normalize

tf = None  # TensorFlow, bound by check_layer_call on first use (the solution below uses it, as the notebook does)
MOMENTUM, EPSILON, TOL = 0.8, 1e-3, 1e-4

# (label, input shape, axis); every dimension differs from C, so wrong axes give other statistics.
CASES = [
    ("a rank-2 (N, D) = (16, 3) batch with axis=-1", (16, 3), -1),
    ("a rank-4 channels-first (N, C, H, W) = (8, 3, 4, 5) batch with axis=1", (8, 3, 4, 5), 1),
    ("a rank-4 channels-last (N, H, W, C) = (6, 4, 5, 3) batch with axis=-1", (6, 4, 5, 3), -1),
]
_CRASH_HINTS = [  # (words in the error, hint)
    (("shape", "broadcast", "dimensions must be equal"), " Average over self.reduction_axes, one value per channel, "
     "and reshape each (C,) vector to self.stats_shape."),
    (("numpy", "symbolic"), " Use TensorFlow ops only in call (no .numpy(), no Python `if` on a tensor)."),
]
_OWN = "Your layer used the batch's own statistics (the naive layer's bug): use moving_mean and moving_variance."


def _check_case(layer_class, label, shape, axis, rng):
    """Three training steps (the last two in tf.function, as fit runs them), inference, a frozen layer."""
    axes = tuple(a for a in range(len(shape)) if a != axis % len(shape))
    keep = [1 if a in axes else n for a, n in enumerate(shape)]
    layer = layer_class(axis=axis, momentum=MOMENTUM, epsilon=EPSILON)
    layer.build(shape)
    weights = {w.name: w for w in layer.weights}
    assert {"gamma", "beta", "moving_mean", "moving_variance"} <= set(weights), (
        "the layer lacks gamma, beta or the moving statistics: subclass bn_course.layers.BatchNorm, write only call().")
    gamma, beta = rng.uniform(0.5, 2.0, shape[axis]), rng.uniform(-1.0, 1.0, shape[axis])
    weights["gamma"].assign(gamma)
    weights["beta"].assign(beta)
    g, b = np.reshape(gamma, keep), np.reshape(beta, keep)  # lined up with the channels

    def moving():
        return [weights[n].numpy().astype(np.float64).reshape(keep) for n in ("moving_mean", "moving_variance")]

    def train(batch):
        return layer(batch, training=True)

    for step, call in enumerate([train] + [tf.function(train)] * 2, start=1):
        where, old = f"{label}, training step {step}", moving()
        x = rng.uniform(-3.0, 3.0, keep) + step + rng.uniform(0.5, 3.0, keep) * rng.normal(size=shape)
        y = call_learner(call, where, x.astype("float32"), crash_hints=_CRASH_HINTS)
        (mean, var), unbiased = moments(x, axes), moments(x, axes, ddof=1)[1]
        expect(where, y, normalize(x, mean, var, g, b, EPSILON), [
            ("in training mode use the batch's own statistics, not the moving ones. Is `training` ignored, or "
             "tested the wrong way round?", normalize(x, *old, g, b, EPSILON)),
            ("you normalized with the unbiased variance (divide by m - 1). BN divides by m, as tf.nn.moments does.",
             normalize(x, mean, unbiased, g, b, EPSILON)),
            ("gamma and beta are swapped: tf.nn.batch_normalization takes offset (beta) before scale (gamma).",
             normalize(x, mean, var, b, g, EPSILON)),
            ("it is not scaled by gamma and shifted by beta: pass offset=beta and scale=gamma.",
             normalize(x, mean, var, eps=EPSILON)),
            ("epsilon goes under the square root: (x - mean) / sqrt(var + epsilon).",
             g * (x - mean) / (np.sqrt(var) + EPSILON) + b),
            ("the statistics cover the whole batch at once (every axis); BN keeps one mean and variance per channel.",
             normalize(x, *moments(x, None), g, b, EPSILON)),
            ("the statistics were taken over the batch axis only; average over self.reduction_axes (batch AND "
             "spatial).", normalize(x, *moments(x, 0), g, b, EPSILON)),
        ], "normalize with tf.nn.moments over self.reduction_axes, everything reshaped to self.stats_shape.",
            rtol=TOL, atol=TOL, nan_hint=EPS_HINT)
        for name, before, after, stat, unbiased_stat in zip(("moving_mean", "moving_variance"), old, moving(),
                                                           (mean, var), (mean, unbiased)):
            expect(where, after, before * MOMENTUM + stat * (1 - MOMENTUM), [
                (f"it did not change: update it with self.{name}.assign(...) (rebinding is lost in tf.function).",
                 before),
                ("the momentum direction is reversed: Keras keeps `momentum` of the OLD value.",
                 before * (1 - MOMENTUM) + stat * MOMENTUM),
                ("it was replaced by the batch statistic; it must average its old value and the batch's.", stat),
                ("Keras stores the biased batch variance (the one tf.nn.moments returns), not the unbiased one.",
                 before * MOMENTUM + unbiased_stat * (1 - MOMENTUM)),
            ], f"use {name} * momentum + batch statistic * (1 - momentum), per channel.", name=name, rtol=TOL,
                atol=TOL)

    x = (x + 2.0).astype("float32")  # its own statistics differ from the moving ones
    before = moving()
    expected = normalize(x, *before, g, b, EPSILON)
    own = normalize(x, *moments(x.astype(np.float64), axes), g, b, EPSILON)
    why = {False: "", None: "None means inference, as in Keras (a bare layer(x) call passes it). ",
           True: "Keras runs a frozen BN layer in inference mode: test `if training and self.trainable:`. "}
    for training in (False, None, True):
        layer.trainable = training is not True
        where = label + (", with trainable=False and training=True" if training else f", at inference ({training=})")
        y = call_learner(lambda batch: layer(batch, training=training), where, x, crash_hints=_CRASH_HINTS)
        hint = mismatch(where, y, expected, [(_OWN, own)], "the output is wrong: at inference normalize with "
                        "moving_mean and moving_variance (reshaped to self.stats_shape).", rtol=TOL, atol=TOL,
                        nan_hint=EPS_HINT)
        if hint != _OWN and not all(np.allclose(now, then) for now, then in zip(moving(), before)):
            hint = "The moving statistics changed; only training mode may update them."
        assert hint is None, f"On {where}: {why[training]}{hint}"


@checker("Exercise: the layer's call")
def check_layer_call(answer):
    """Check ``call`` (in a ``BatchNorm`` subclass, or the bare function) against NumPy on ``CASES``."""
    global tf
    tf = import_tensorflow()
    from bn_course.layers import BatchNorm  # imports TensorFlow: only here, not when the checkers are imported
    layer_class = answer if isinstance(answer, type) else type("LearnerBatchNorm", (BatchNorm,), {"call": answer})
    rng = np.random.default_rng(0)
    for label, shape, axis in CASES:
        _check_case(layer_class, label, shape, axis, rng)


def _solution_call(self, inputs, training=None):
    if training and self.trainable:  # training mode, as in fit (a frozen layer never trains)
        mean, variance = tf.nn.moments(inputs, axes=self.reduction_axes)  # per channel, biased
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1 - self.momentum))
    else:  # inference: training False or None (predict, evaluate, a bare call), or a frozen layer
        mean, variance = self.moving_mean, self.moving_variance
    shape = self.stats_shape  # (C,) vectors line up with the feature axis, e.g. (1, C, 1, 1) for axis=1
    return tf.nn.batch_normalization(inputs, mean=tf.reshape(mean, shape), variance=tf.reshape(variance, shape),
                                     offset=tf.reshape(self.beta, shape), scale=tf.reshape(self.gamma, shape),
                                     variance_epsilon=self.epsilon)


EXERCISES = [Exercise(
    notebook="03_tf_custom_layer", key="call", title="Exercise: the layer's call", check=check_layer_call,
    solution=_solution_call, explanation=(
        "Put this body into `MyBatchNorm.call`. Training mode only when `training` is true *and* the layer is "
        "trainable; `None`, `False` and a frozen layer mean inference. In training, the batch's per-channel mean and "
        "biased variance over `self.reduction_axes`, with the moving averages updated by `.assign` (it survives "
        "inside `fit`); at inference, the moving statistics. Reshaped to `self.stats_shape`, the (C,) vectors "
        "broadcast along the feature axis for any layout."))]
