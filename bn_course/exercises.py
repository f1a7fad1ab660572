"""Checkers for the notebooks' exercises, one section per notebook.

Each ``check_*`` function takes the learner's function, runs it on fixed inputs
and raises ``AssertionError`` with a hint when it is wrong; notebooks call it
through :func:`bn_course.checks.run_check`. NumPy-only checkers import nothing
heavy; TensorFlow-based ones import it inside the function.
"""

import numpy as np

from bn_course.checks import run_check

__all__ = ["check_forward", "check_backward", "check_layer_call", "check_ema_steps", "check_fold_dense", "check_dense_bn_relu",
           "check_group_norm", "check_saturated_share", "check_torch_to_keras"]


# --- notebook 02 ---

# Fixed inputs for the forward checker: (label, shape, axis, eps). The 4-D cases
# use a channel count different from H and W, so a gamma broadcast along the wrong
# axis fails loudly instead of passing by accident.
_FORWARD_CASES = [
    ("an (N, D) = (8, 3) batch, axis=-1", (8, 3), -1, 1e-3),
    ("an (N, D) = (6, 4) batch with a large eps = 0.5, axis=-1", (6, 4), -1, 0.5),
    ("an (N, H, W, C) = (4, 2, 2, 3) batch, axis=-1", (4, 2, 2, 3), -1, 1e-3),
    ("an (N, C, H, W) = (4, 3, 2, 2) batch, axis=1", (4, 3, 2, 2), 1, 0.1),
]


def _forward_case(shape, axis, seed):
    rng = np.random.default_rng(seed)
    channels = shape[axis]
    # each channel gets its own mean and spread, so per-channel and wrong-axis statistics differ
    spread = [1] * len(shape)
    spread[axis] = channels
    loc = rng.uniform(-3.0, 3.0, size=channels).reshape(spread)
    scale = rng.uniform(0.5, 3.0, size=channels).reshape(spread)
    x = loc + scale * rng.normal(size=shape)
    gamma = rng.uniform(0.5, 2.0, size=channels)
    beta = rng.uniform(-1.0, 1.0, size=channels)
    return x, gamma, beta


def _forward_mistakes(x, gamma, beta, eps, axis):
    """The usual wrong versions of batch norm, each with the hint that fixes it."""
    axis = axis % x.ndim
    keep = [1] * x.ndim
    keep[axis] = x.shape[axis]
    g, b = gamma.reshape(keep), beta.reshape(keep)
    others = tuple(a for a in range(x.ndim) if a != axis)
    mean, var = x.mean(axis=others, keepdims=True), x.var(axis=others, keepdims=True)
    mistakes = [
        ("you used the unbiased variance (divide by m - 1, ddof=1). Batch norm, like Keras, "
         "divides by m: use np.var(...) with its default ddof=0, or mean((x - mu)**2).",
         g * (x - mean) / np.sqrt(x.var(axis=others, keepdims=True, ddof=1) + eps) + b),
        ("eps belongs under the square root: (x - mu) / np.sqrt(var + eps), "
         "not (x - mu) / (np.sqrt(var) + eps).",
         g * (x - mean) / (np.sqrt(var) + eps) + b),
        ("eps is missing: divide by np.sqrt(var + eps), not np.sqrt(var).",
         g * (x - mean) / np.sqrt(var) + b),
        ("you divided by sqrt(std + eps); the denominator is sqrt(var + eps), the square root "
         "of the variance, not of the standard deviation.",
         g * (x - mean) / np.sqrt(np.sqrt(var) + eps) + b),
        ("gamma and beta are swapped: y = gamma * x_hat + beta (gamma scales, beta shifts).",
         b * (x - mean) / np.sqrt(var + eps) + g),
        ("the scale and shift are missing: return gamma * x_hat + beta, not x_hat.",
         (x - mean) / np.sqrt(var + eps)),
        (f"wrong axes: you took the statistics over axis {axis}, the axis that must be KEPT. "
         "`axis` is the feature/channel axis (Keras meaning); average over every OTHER axis, "
         "e.g. reduce_axes = tuple(a for a in range(x.ndim) if a != axis).",
         g * (x - x.mean(axis=axis, keepdims=True))
         / np.sqrt(x.var(axis=axis, keepdims=True) + eps) + b),
    ]
    if x.ndim > 2:
        mean0, var0 = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
        mistakes.append((
            "you averaged over the batch axis only, so every pixel position got its own statistics. "
            "For images, each channel's mean and variance are over the batch AND the spatial axes "
            "(N*H*W values per channel): reduce over every axis except `axis`.",
            g * (x - mean0) / np.sqrt(var0 + eps) + b))
    return mistakes


def _call_learner(fn, label, *args, **kwargs):
    """Call the learner's function; turn a crash into a hint (NotImplementedError passes through)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # the learner's code may raise anything
        hint = ""
        if "broadcast" in str(error):
            hint = (" Shapes do not line up: reshape gamma, beta and the statistics so they broadcast "
                    "along the kept axis, e.g. shape (1, C, 1, 1) for (N, C, H, W) with axis=1, "
                    "or use keepdims=True in np.mean / np.var.")
        raise AssertionError(f"On {label} your function raised {type(error).__name__}: {str(error).strip()}.{hint}") from None


def _check_forward(fn):
    from bn_course.numpy_bn import batch_norm

    for seed, (label, shape, axis, eps) in enumerate(_FORWARD_CASES):
        x, gamma, beta = _forward_case(shape, axis, seed)
        x_before = x.copy()
        y = _call_learner(fn, label, x, gamma.copy(), beta.copy(), eps=eps, axis=axis)
        assert y is not None, "your function returned None: finish with `return y`."
        y = np.asarray(y, dtype=np.float64)
        assert y.shape == x.shape, (
            f"On {label} the output has shape {y.shape}, but batch norm keeps the input's shape "
            f"{x.shape}. Did a mean or sum drop an axis (keepdims=True keeps it)?")
        assert np.array_equal(x, x_before), (
            f"On {label} your function changed its input x in place (e.g. `x -= mu`); "
            "compute into a new array instead (`centred = x - mu`).")
        assert np.all(np.isfinite(y)), f"On {label} the output has NaN or inf values: is eps under the square root?"
        expected = batch_norm(x, gamma, beta, eps=eps, axis=axis)
        if np.allclose(y, expected, rtol=1e-6, atol=1e-6):
            continue
        for hint, wrong in _forward_mistakes(x, gamma, beta, eps, axis):
            if wrong.shape == y.shape and np.allclose(y, wrong, rtol=1e-6, atol=1e-6):
                raise AssertionError(f"On {label}: {hint}")
        worst = float(np.max(np.abs(y - expected)))
        raise AssertionError(
            f"On {label} the output differs from batch norm's by up to {worst:.3g}. Check the four "
            "steps: mean over every axis but `axis`, biased variance, (x - mean) / sqrt(var + eps), "
            "then gamma * x_hat + beta.")


def check_forward(fn):
    """Check a learner's ``fn(x, gamma, beta, eps=1e-3, axis=-1)``; returns a :class:`CheckResult`.

    Compares with :func:`bn_course.numpy_bn.batch_norm` (within 1e-6) on an (N, D)
    batch, an (N, D) batch with a large eps, an (N, H, W, C) batch with ``axis=-1``
    and an (N, C, H, W) batch with ``axis=1``. A failure names the first mistake it
    recognises: the unbiased variance, eps outside the square root or missing,
    sqrt of the std, gamma/beta swapped or missing, statistics over the kept axis,
    per-position statistics (batch axis only), a dropped axis, an input modified in
    place, shapes that do not broadcast.
    """
    return run_check("Exercise: batch norm forward pass", lambda: _check_forward(fn))


def _backward_mistakes(dy, x, gamma, eps):
    """(hint, (dx, dgamma, dbeta)) for the usual wrong (N, D) backward passes."""
    from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward

    _, cache = batch_norm_forward(x, gamma, beta=np.zeros_like(gamma), eps=eps)
    dx, dgamma, dbeta = batch_norm_backward(dy, cache)
    m = x.shape[0]
    x_hat, inv = cache["x_hat"], cache["inv_std"]
    dx_hat = dy * gamma
    dvar_term = -x_hat * inv * (dx_hat * x_hat).sum(axis=0) / m  # the path through the variance
    dmu_term = -inv * dx_hat.sum(axis=0) / m                        # the path through the mean
    return [
        ("dx treats the mean and variance as constants (dx = dy * gamma / sqrt(var + eps)). "
         "They depend on x too: add the paths through the variance and through the mean.",
         (dx_hat * inv, dgamma, dbeta)),
        ("dx misses the path through the mean: the mean depends on every x_i, which adds "
         "dmu / m to each dx_i.", (dx_hat * inv + dvar_term, dgamma, dbeta)),
        ("dx misses the path through the variance: the variance depends on every x_i, which adds "
         "dvar * 2 (x_i - mu) / m to each dx_i.", (dx_hat * inv + dmu_term, dgamma, dbeta)),
        ("dgamma must use the normalized input: dgamma = sum(dy * x_hat), not sum(dy * x).",
         (dx, (dy * x).sum(axis=0), dbeta)),
        ("dgamma and dbeta are swapped: return (dx, dgamma, dbeta) with dbeta = sum(dy) over the batch.",
         (dx, dbeta, dgamma)),
    ]


def _check_backward(fn):
    from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward

    for seed, (m, d, eps) in enumerate([(8, 3, 1e-3), (16, 5, 0.5)]):
        label = f"an (N, D) = ({m}, {d}) batch with eps = {eps}"
        rng = np.random.default_rng(100 + seed)
        x = rng.normal(loc=rng.uniform(-2, 2, size=d), scale=rng.uniform(0.5, 2.0, size=d), size=(m, d))
        gamma = rng.uniform(0.5, 2.0, size=d)
        dy = rng.normal(size=(m, d))
        inputs = (dy.copy(), x.copy(), gamma.copy())
        result = _call_learner(fn, label, dy, x, gamma, eps=eps)
        assert isinstance(result, (tuple, list)) and len(result) == 3, (
            "your function must return three arrays: (dx, dgamma, dbeta).")
        dx, dgamma, dbeta = (np.asarray(r, dtype=np.float64) for r in result)
        assert dx.shape == x.shape, f"On {label} dx has shape {dx.shape}; it must have x's shape {x.shape}."
        for name, value in (("dgamma", dgamma), ("dbeta", dbeta)):
            assert value.shape == (d,), (
                f"On {label} {name} has shape {value.shape}; it must have shape ({d},): "
                "one number per feature, summed over the batch (axis=0).")
        assert all(np.array_equal(a, b) for a, b in zip((dy, x, gamma), inputs)), (
            f"On {label} your function changed one of its inputs in place.")
        _, cache = batch_norm_forward(x, gamma, np.zeros(d), eps=eps)
        expected = batch_norm_backward(dy, cache)
        if all(np.allclose(a, b, rtol=1e-6, atol=1e-8) for a, b in zip((dx, dgamma, dbeta), expected)):
            continue
        for hint, wrong in _backward_mistakes(dy, x, gamma, eps):
            if all(np.allclose(a, b, rtol=1e-6, atol=1e-8) for a, b in zip((dx, dgamma, dbeta), wrong)):
                raise AssertionError(f"On {label}: {hint}")
        names = [n for n, a, b in zip(("dx", "dgamma", "dbeta"), (dx, dgamma, dbeta), expected)
                 if not np.allclose(a, b, rtol=1e-6, atol=1e-8)]
        raise AssertionError(
            f"On {label} {', '.join(names)} differ(s) from the correct gradient. Follow the stages "
            "dy -> dbeta, dgamma -> dx_hat -> dvar -> dmu -> dx, or use the closed form "
            "dx = gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat)).")


def check_backward(fn):
    """Check a learner's ``fn(dy, x, gamma, eps=1e-3) -> (dx, dgamma, dbeta)`` for (N, D) input.

    Compares with :func:`bn_course.numpy_bn.batch_norm_backward` (within 1e-6
    relative) on two batches; a failure names the first mistake it recognises:
    mean and variance treated as constants, a missing path through the mean or the
    variance, dgamma from x instead of x_hat, dgamma/dbeta swapped, wrong shapes.
    Returns a :class:`CheckResult`.
    """
    return run_check("Exercise: batch norm backward pass", lambda: _check_backward(fn))


# --- notebook 03 ---

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


# --- notebook 04 ---

def _block_layers(fn, units):
    """Call the learner's block builder and return its layers as a list."""
    result = fn(units)
    if hasattr(result, "layers") and not isinstance(result, (list, tuple)):
        result = list(result.layers)
    if not isinstance(result, (list, tuple)) or not result:
        raise AssertionError("dense_bn_relu(units) should return a list of Keras layers, "
                             f"e.g. [Dense, BatchNormalization, Activation]; it returned {type(result).__name__}.")
    return list(result)


def _check_dense_bn_relu(fn):
    from bn_course.env import import_tensorflow

    import_tensorflow()
    import keras

    input_dim, units = 20, 32
    layers = _block_layers(fn, units)
    kinds = []
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise AssertionError(f"Every item of the list must be a Keras layer; found {type(layer).__name__}.")
        if isinstance(layer, keras.layers.Dense):
            kinds.append("dense")
        elif isinstance(layer, keras.layers.BatchNormalization):
            kinds.append("bn")
        elif isinstance(layer, keras.layers.ReLU) or (
                isinstance(layer, keras.layers.Activation) and layer.activation is keras.activations.relu):
            kinds.append("relu")
        else:
            kinds.append(type(layer).__name__)
    dense = next((layer for layer in layers if isinstance(layer, keras.layers.Dense)), None)
    if dense is None or "bn" not in kinds:
        raise AssertionError("The block needs a keras.layers.Dense and a keras.layers.BatchNormalization "
                             f"(found: {', '.join(kinds)}).")
    if dense.activation is not keras.activations.linear:
        raise AssertionError("The Dense layer applies an activation itself, so BN would come after the "
                             "non-linearity. Leave Dense linear (no activation=...) and add "
                             "keras.layers.Activation('relu') after the BatchNormalization.")
    if "relu" not in kinds:
        raise AssertionError("The ReLU is missing: end the block with keras.layers.Activation('relu').")
    if kinds != ["dense", "bn", "relu"]:
        if kinds.index("relu") < kinds.index("bn"):
            raise AssertionError("The ReLU comes before the BatchNormalization. This exercise asks for the "
                                 "Dense -> BN -> ReLU order (BN normalizes the pre-activation).")
        raise AssertionError(f"Expected exactly three layers, Dense -> BatchNormalization -> ReLU; got {kinds}.")
    if dense.units != units:
        raise AssertionError(f"dense_bn_relu({units}) built a Dense layer with {dense.units} units: "
                             "use the units argument.")
    if dense.use_bias:
        raise AssertionError("The Dense layer still has a bias. BN subtracts the batch mean, which removes "
                             "any constant bias, and its beta plays the bias' role: pass use_bias=False.")
    bn = layers[1]
    if not (bn.center and bn.scale):
        raise AssertionError("Keep BN's beta and gamma (center=True, scale=True): without the Dense bias, "
                             "beta is the block's only shift.")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(input_dim,)), *layers])
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    want_trainable, want_frozen = input_dim * units + 2 * units, 2 * units
    if (trainable, frozen) != (want_trainable, want_frozen):
        raise AssertionError(f"On a {input_dim}-d input with {units} units the block should have "
                             f"{want_trainable} trainable parameters ({input_dim}x{units} kernel + gamma + beta) "
                             f"and {want_frozen} non-trainable ones (moving mean and variance); "
                             f"yours has {trainable} and {frozen}.")
    x = np.random.default_rng(0).normal(size=(16, input_dim)).astype(np.float32)
    y = model(x, training=True).numpy()
    h = x @ dense.kernel.numpy()
    expected = np.maximum((h - h.mean(0)) / np.sqrt(h.var(0) + bn.epsilon), 0.0)
    if not np.allclose(y, expected, atol=1e-4):
        raise AssertionError("The block's output in training mode is not relu(BN(x @ W)); "
                             "check that nothing else is in the block.")
    other = _block_layers(fn, 7)
    if not any(isinstance(layer, keras.layers.Dense) and layer.units == 7 for layer in other):
        raise AssertionError("dense_bn_relu(7) did not build a 7-unit Dense layer: use the units argument.")
    if any(new is old for new in other for old in layers):
        raise AssertionError("dense_bn_relu returned the same layer objects twice: create new layers "
                             "inside the function on every call.")


def check_dense_bn_relu(fn):
    """Check a learner's ``fn(units) -> [Dense, BatchNormalization, Activation('relu')]``.

    The block must be Dense(units, use_bias=False, no activation) -> BatchNormalization
    (gamma and beta kept) -> ReLU, with ``input_dim*units + 2*units`` trainable and
    ``2*units`` non-trainable parameters on a 20-d input (704 and 64 for 32 units), and
    compute ``relu((h - mean) / sqrt(var + eps))`` in training mode. New layers on every
    call. Returns a :class:`CheckResult`; a failure names the mistake (bias kept,
    activation inside Dense, ReLU before BN, BN's gamma/beta removed, units ignored).
    """
    return run_check("Exercise: a Dense -> BN -> ReLU block without the redundant bias",
                     lambda: _check_dense_bn_relu(fn))


# --- notebook 05 ---

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
        got = _call_learner(fn, label, init_arg, target_arg, momentum, k)
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
        result = _call_learner(fn, label, case["kernel"], case["bias"], case["gamma"], case["beta"],
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


# --- notebook 06 ---

# (label, shape (N, H, W, C), groups, eps) for the group-norm exercise. Every case has
# per-channel offsets and scales, so statistics over the wrong axes give different numbers.
_GROUP_NORM_CASES = [
    ("an (N, H, W, C) = (4, 3, 3, 6) batch with groups=2", (4, 3, 3, 6), 2, 1e-3),
    ("an (N, H, W, C) = (2, 4, 4, 8) batch with groups=4 and eps=0.1", (2, 4, 4, 8), 4, 0.1),
    ("an (N, H, W, C) = (3, 2, 2, 4) batch with groups=1 (layer norm)", (3, 2, 2, 4), 1, 1e-3),
    ("an (N, H, W, C) = (2, 3, 3, 4) batch with groups=4 (instance norm)", (2, 3, 3, 4), 4, 1e-3),
]


def _group_norm_case(shape, seed):
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    x = rng.uniform(-3.0, 3.0, size=channels) + rng.uniform(0.5, 3.0, size=channels) * rng.normal(size=shape)
    return x, rng.uniform(0.5, 2.0, size=channels), rng.uniform(-1.0, 1.0, size=channels)


def _group_norm_mistakes(x, gamma, beta, groups, eps):
    """The usual wrong group norms, each with the hint that fixes it."""
    from bn_course.normalizers import group_norm

    size = x.shape[-1] // groups

    def by_axes(values, axes, ddof=0, eps_outside=False):
        mean = values.mean(axis=axes, keepdims=True)
        std = values.std(axis=axes, keepdims=True, ddof=ddof)
        scale = std + eps if eps_outside else np.sqrt(std**2 + eps)
        return (values - mean) / scale

    grouped = x.reshape(*x.shape[:-1], groups, size)
    group_axes = (1, 2, 4)
    interleaved = x.reshape(*x.shape[:-1], size, groups)
    mistakes = [
        ("the statistics include the batch axis: group norm works within ONE sample, so average over "
         "H, W and the channels of a group, never over N (that would be batch-norm-like).",
         by_axes(grouped, (0, 1, 2, 4)).reshape(x.shape) * gamma + beta),
        ("the groups are not used: each channel got its own mean and variance (instance norm). Reshape the "
         "C channels to (groups, C // groups) and average over H, W and the channels of each group.",
         by_axes(x, (1, 2)) * gamma + beta),
        ("one mean and variance per sample over ALL channels (layer norm): split the channels into "
         "`groups` groups first.", by_axes(x, (1, 2, 3)) * gamma + beta),
        ("the channels of a group must be consecutive (channels 0 .. C/G - 1 form group 0), as "
         "keras.layers.GroupNormalization does: reshape to (..., groups, C // groups), not (..., C // groups, groups).",
         by_axes(interleaved, (1, 2, 3)).reshape(x.shape) * gamma + beta),
        ("eps belongs under the square root, added to the variance: (x - mean) / sqrt(var + eps).",
         by_axes(grouped, group_axes, eps_outside=True).reshape(x.shape) * gamma + beta),
        ("use the biased variance (divide by m, np.var's default ddof=0), as Keras does.",
         by_axes(grouped, group_axes, ddof=1).reshape(x.shape) * gamma + beta),
        ("gamma and beta are missing: finish with y = gamma * x_hat + beta (one value per channel).",
         group_norm(x, None, None, groups, eps)),
        ("beta is missing: y = gamma * x_hat + beta.", group_norm(x, gamma, None, groups, eps)),
        ("gamma is missing: y = gamma * x_hat + beta.", group_norm(x, None, beta, groups, eps)),
    ]
    return mistakes


def _check_group_norm(fn):
    from bn_course.normalizers import group_norm

    for seed, (label, shape, groups, eps) in enumerate(_GROUP_NORM_CASES):
        x, gamma, beta = _group_norm_case(shape, seed)
        x_before = x.copy()
        y = _call_learner(fn, label, x, gamma.copy(), beta.copy(), groups, eps=eps)
        assert y is not None, "your function returned None: finish with `return y`."
        y = np.asarray(y, dtype=np.float64)
        assert y.shape == x.shape, (
            f"On {label} the output has shape {y.shape}; group norm keeps the input's shape {x.shape}. "
            "Reshape back with y.reshape(x.shape) after normalizing the groups.")
        assert np.array_equal(x, x_before), (
            f"On {label} your function changed its input x in place; compute into a new array instead.")
        assert np.all(np.isfinite(y)), f"On {label} the output has NaN or inf values: is eps under the square root?"
        expected = group_norm(x, gamma, beta, groups, eps)
        if np.allclose(y, expected, rtol=1e-6, atol=1e-6):
            continue
        for hint, wrong in _group_norm_mistakes(x, gamma, beta, groups, eps):
            if np.allclose(y, wrong, rtol=1e-6, atol=1e-6):
                raise AssertionError(f"On {label}: {hint}")
        raise AssertionError(
            f"On {label} the output is not group norm (largest difference {np.abs(y - expected).max():.3g}). "
            "Reshape x to (N, H, W, groups, C // groups), take the mean and biased variance over axes "
            "(1, 2, 4) with keepdims=True, normalize, reshape back, then apply gamma and beta per channel.")


def check_group_norm(fn):
    """Check a learner's ``fn(x, gamma, beta, groups, eps=1e-3)`` for (N, H, W, C) inputs.

    It must equal :func:`bn_course.normalizers.group_norm` (and so
    ``keras.layers.GroupNormalization``) within 1e-6 on four float64 cases, including
    groups=1 (layer norm) and groups=C (instance norm), and leave x unchanged. Returns a
    :class:`CheckResult`; a failure names the mistake it recognises (statistics over the
    batch, groups ignored, all channels in one group, interleaved groups, eps outside the
    root, unbiased variance, gamma or beta missing).
    """
    return run_check("Exercise: group normalization in NumPy", lambda: _check_group_norm(fn))


# --- notebook 01 ---


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
        value = _call_learner(fn, label, h, activation)
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


# --- notebook 07 ---

_TORCH_CASES = [(0.1, 1e-5), (0.01, 1e-5), (0.3, 1e-3), (0.05, 2e-5)]


def _check_torch_to_keras(fn):
    for torch_momentum, torch_eps in _TORCH_CASES:
        label = f"PyTorch momentum={torch_momentum}, eps={torch_eps:g}"
        result = _call_learner(fn, label, torch_momentum, torch_eps)
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
