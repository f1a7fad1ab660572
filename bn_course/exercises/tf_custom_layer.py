"""Exercise checkers for notebook 03 (tf_custom_layer). Each ``check_*`` returns a CheckResult."""

import numpy as np

from bn_course.exercises.common import Exercise, run_check


def _layer_weights(layer):
    """The learner layer's four weights by name, read from ``layer.weights`` (not attributes)."""
    found = {w.name: w for w in layer.weights}
    missing = [n for n in ("gamma", "beta", "moving_mean", "moving_variance") if n not in found]
    assert not missing, (
        f"the layer has no weight(s) {missing}: subclass bn_course.layers.BatchNorm so that "
        "build() creates gamma, beta, moving_mean and moving_variance")
    return found


def _diagnose_training_output(y, x, gamma, beta, moving_mean, moving_var, eps):
    """Name the usual mistake behind a wrong training-mode output, or return None."""
    mean, var = x.mean(axis=0), x.var(axis=0)
    candidates = {
        "In training mode the layer must normalize with the batch's own mean and variance; "
        "yours used the moving statistics (is `training` ignored?).":
            gamma * (x - moving_mean) / np.sqrt(moving_var + eps) + beta,
        "Use the biased variance (divide by m, as tf.nn.moments does), not the unbiased one.":
            gamma * (x - mean) / np.sqrt(x.var(axis=0, ddof=1) + eps) + beta,
        "The normalized value must be scaled by gamma and shifted by beta: y = gamma * x_hat + beta.":
            (x - mean) / np.sqrt(var + eps),
        "tf.nn.batch_normalization takes offset (beta) *before* scale (gamma); "
        "yours has them swapped.":
            beta * (x - mean) / np.sqrt(var + eps) + gamma,
        "epsilon goes under the square root: (x - mean) / sqrt(var + epsilon).":
            gamma * (x - mean) / (np.sqrt(var) + eps) + beta,
    }
    for hint, candidate in candidates.items():
        if np.allclose(y, candidate, atol=1e-4):
            return hint
    return None


def check_layer_call(layer_class):
    """Check a learner's ``call`` (a subclass of ``bn_course.layers.BatchNorm``) against Keras.

    Builds ``layer_class(momentum=0.8, epsilon=1e-3)`` and a
    ``keras.layers.BatchNormalization`` with the same arguments on (16, 3) inputs,
    gives both the same non-trivial gamma and beta, then compares, within 1e-4:
    three training steps (outputs and moving statistics after each), inference with
    ``training=False`` and with ``training=None`` (outputs, and no update), a
    frozen layer (``trainable=False``) called with ``training=True``, and two
    training steps inside ``tf.function``. Raises AssertionError naming the first
    mistake it recognises: ignoring ``training``, no moving update, the momentum
    direction reversed, the unbiased variance, gamma/beta missing or swapped,
    epsilon outside the square root, batch statistics at inference, updating at
    inference, ignoring ``trainable=False``, Python-side updates lost in ``tf.function``.
    """
    from bn_course.env import import_tensorflow

    tf = import_tensorflow()
    import keras

    momentum, eps, shape = 0.8, 1e-3, (16, 3)
    gamma = np.array([1.5, 0.5, 2.0], dtype="float32")
    beta = np.array([0.2, -0.3, 1.0], dtype="float32")
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=[2.0 * k, -1.0, 0.5 + k], scale=[1.0 + k, 2.0, 0.5], size=shape).astype("float32")
               for k in range(3)]

    def make_pair():
        learner = layer_class(momentum=momentum, epsilon=eps)
        ref = keras.layers.BatchNormalization(momentum=momentum, epsilon=eps)
        for layer in (learner, ref):
            layer.build(shape)
        mine = _layer_weights(learner)
        mine["gamma"].assign(gamma)
        mine["beta"].assign(beta)
        ref.gamma.assign(gamma)
        ref.beta.assign(beta)
        return learner, ref, mine

    def as_array(y, what):
        assert y is not None, f"call() returned None {what}; it must return the normalized tensor"
        y = np.asarray(y, dtype=np.float64)
        assert y.shape == shape, f"call() returned shape {y.shape} {what}; expected the input shape {shape}"
        return y

    learner, ref, mine = make_pair()
    for step, x in enumerate(batches, start=1):
        old_mean = mine["moving_mean"].numpy().astype(np.float64)
        old_var = mine["moving_variance"].numpy().astype(np.float64)
        y = as_array(learner(x, training=True), "with training=True")
        y_ref = ref(x, training=True).numpy()
        if not np.allclose(y, y_ref, atol=1e-4):
            hint = _diagnose_training_output(y, x, gamma, beta, old_mean, old_var, eps)
            raise AssertionError(
                f"training step {step}: the output differs from Keras's. "
                + (hint or "Normalize with tf.nn.moments over self.reduction_axes, then "
                   "tf.nn.batch_normalization(x, mean, variance, offset=beta, scale=gamma, "
                   "variance_epsilon=self.epsilon)."))
        new_mean = mine["moving_mean"].numpy()
        new_var = mine["moving_variance"].numpy()
        batch_mean, batch_var = x.mean(axis=0), x.var(axis=0)
        if not np.allclose(new_mean, ref.moving_mean.numpy(), atol=1e-4):
            if np.allclose(new_mean, old_mean):
                hint = ("the moving mean did not change: update it in training mode with "
                        "self.moving_mean.assign(self.moving_mean * momentum + mean * (1 - momentum)).")
            elif np.allclose(new_mean, old_mean * (1 - momentum) + batch_mean * momentum, atol=1e-4):
                hint = ("the momentum direction is reversed: Keras keeps `momentum` of the OLD value, "
                        "moving * momentum + batch * (1 - momentum).")
            elif np.allclose(new_mean, batch_mean, atol=1e-4):
                hint = "the moving mean must be an average of the old value and the batch mean, not the batch mean."
            else:
                hint = "use moving_mean * momentum + batch_mean * (1 - momentum)."
            raise AssertionError(f"training step {step}: moving_mean differs from Keras's; {hint}")
        if not np.allclose(new_var, ref.moving_variance.numpy(), atol=1e-4):
            if np.allclose(new_var, old_var):
                hint = "the moving variance did not change: update it with .assign() like the moving mean."
            elif np.allclose(new_var, old_var * momentum + x.var(axis=0, ddof=1) * (1 - momentum), atol=1e-4):
                hint = "Keras stores the biased batch variance (the one tf.nn.moments returns)."
            elif np.allclose(new_var, old_var * (1 - momentum) + batch_var * momentum, atol=1e-4):
                hint = "the momentum direction is reversed: keep `momentum` of the OLD value."
            else:
                hint = "use moving_variance * momentum + batch_variance * (1 - momentum)."
            raise AssertionError(f"training step {step}: moving_variance differs from Keras's; {hint}")

    x = batches[-1] + 3.0  # a shifted batch: its own statistics differ from the moving ones
    for training in (False, None):
        before = mine["moving_mean"].numpy().copy()
        y = as_array(learner(x, training=training), f"with training={training}")
        y_ref = ref(x, training=training).numpy()
        if not np.allclose(y, y_ref, atol=1e-4):
            own = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
            hint = ("it normalized with the batch's own statistics, which is the naive layer's bug: "
                    "at inference use moving_mean and moving_variance."
                    if np.allclose(y, own, atol=1e-4) else
                    "at inference normalize with moving_mean and moving_variance.")
            meaning = " (None means inference, as in Keras)" if training is None else ""
            raise AssertionError(f"inference with training={training}{meaning} differs from Keras's: {hint}")
        if not np.allclose(before, mine["moving_mean"].numpy()):
            raise AssertionError(f"a call with training={training} changed the moving mean; "
                                 "only training mode may update the moving statistics.")

    learner.trainable = False
    ref.trainable = False
    before = mine["moving_mean"].numpy().copy()
    y = as_array(learner(x, training=True), "for a frozen layer")
    if not np.allclose(y, ref(x, training=True).numpy(), atol=1e-4) or \
            not np.allclose(before, mine["moving_mean"].numpy()):
        raise AssertionError(
            "with trainable=False, Keras runs the layer in inference mode even when training=True "
            "(and updates nothing): test `if training and self.trainable:`.")

    learner, ref, mine = make_pair()

    @tf.function
    def step(layer, batch):
        return layer(batch, training=True)

    for x in batches[:2]:
        y, y_ref = step(learner, x), step(ref, x)
    if not (np.allclose(mine["moving_mean"].numpy(), ref.moving_mean.numpy(), atol=1e-4)
            and np.allclose(mine["moving_variance"].numpy(), ref.moving_variance.numpy(), atol=1e-4)):
        raise AssertionError(
            "inside tf.function (as in model.fit) the moving statistics were not updated like Keras's: "
            "update the variables with .assign(...), not by rebinding self.moving_mean.")
    if not np.allclose(np.asarray(y), np.asarray(y_ref), atol=1e-4):
        raise AssertionError("inside tf.function (as in model.fit) the output differs from Keras's: "
                             "use TensorFlow ops only (no .numpy(), no Python branches on tensors).")


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = []
