"""Exercise checkers for notebook 04 (keras_integration). Each ``check_*`` returns a CheckResult."""

import numpy as np

from bn_course.exercises.common import Exercise, run_check


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


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = []
