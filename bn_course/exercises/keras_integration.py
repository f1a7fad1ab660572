"""Exercise checkers for notebook 04 (keras_integration). Each ``check_*`` returns a CheckResult.

Two exercises, registered in ``EXERCISES`` with worked solutions:

* ``redundant-biases`` -- an idea: which layers' biases does a BN layer cancel?
* ``find-the-bug`` -- a colleague's CNN runs and trains, but its BN layers normalize the wrong axis.
"""

import numpy as np

from bn_course.exercises.common import Exercise, call_learner, run_check


def _keras():
    from bn_course.env import import_tensorflow

    import_tensorflow()
    import keras

    return keras


# --------------------------------------------------------------------- exercise 1: redundant biases

# For every named layer of the two test models: is its bias cancelled by BN, and why (or why not)?
_BIAS_REASONS = {
    "dense_bn": (True, "it feeds BN directly: the batch mean of h + b contains b exactly once, so BN "
                       "subtracts it again."),
    "dense_relu_bn": (False, "a ReLU sits between it and BN: relu(h + b) is not relu(h) + b, "
                             "the bias decides which values survive the ReLU, and BN cannot undo that."),
    "dense_fused_bn": (False, "it applies its own activation (`activation='relu'`), so BN sees "
                              "relu(h + b), not h + b: look at each layer's activation, not only at the "
                              "next layer's type."),
    "dense_nobias_bn": (False, "it has no bias to remove (`use_bias=False` already)."),
    "output": (False, "no BN layer follows it, so its bias matters."),
    "conv_bn": (True, "it feeds BN directly: every position of channel c carries the same b_c, and BN "
                      "subtracts the channel's mean over the batch and all positions."),
    "conv_maxpool_bn": (True, "it reaches BN through max pooling only, and "
                              "max(x + b) = max(x) + b: BN still sees the same constant b_c on every value of "
                              "channel c and cancels it."),
    "conv_relu_pool_bn": (False, "a ReLU sits between it and BN (pooling does not help once "
                                 "the ReLU has clipped h + b)."),
    "conv_avgpool_bn": (True, "it reaches BN through average pooling only, and "
                              "mean(x + b) = mean(x) + b: the constant passes through and BN cancels it."),
    "conv_plain": (False, "it is followed by a ReLU and no BN at all, so its bias matters."),
}


def _bias_models():
    """Two Sequential models whose layer names say what follows them (see ``_BIAS_REASONS``)."""
    keras = _keras()
    layers = keras.layers
    keras.utils.set_random_seed(0)
    mlp = keras.Sequential([
        keras.Input(shape=(20,)),
        layers.Dense(16, name="dense_bn"), layers.BatchNormalization(), layers.Activation("relu"),
        layers.Dense(16, name="dense_relu_bn"), layers.Activation("relu"), layers.BatchNormalization(),
        layers.Dense(16, activation="relu", name="dense_fused_bn"), layers.BatchNormalization(),
        layers.Dense(16, use_bias=False, name="dense_nobias_bn"), layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.Dense(10, activation="softmax", name="output"),
    ], name="mlp_for_the_bias_exercise")
    cnn = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(8, 3, padding="same", name="conv_bn"), layers.BatchNormalization(), layers.Activation("relu"),
        layers.Conv2D(8, 3, padding="same", name="conv_maxpool_bn"), layers.MaxPooling2D(2),
        layers.BatchNormalization(), layers.Activation("relu"),
        layers.Conv2D(8, 3, padding="same", name="conv_relu_pool_bn"), layers.Activation("relu"),
        layers.MaxPooling2D(2), layers.BatchNormalization(),
        layers.Conv2D(8, 3, padding="same", name="conv_avgpool_bn"), layers.AveragePooling2D(2),
        layers.BatchNormalization(),
        layers.Conv2D(8, 1, activation="relu", name="conv_plain"),
        layers.Flatten(), layers.Dense(10, activation="softmax", name="output"),
    ], name="cnn_for_the_bias_exercise")
    return mlp, cnn


def _as_names(result, model):
    if result is None:
        raise AssertionError("redundant_biases returned None: return a list of layer names, e.g. ['dense_bn'].")
    if isinstance(result, str):
        result = [result]
    try:
        items = list(result)
    except TypeError:
        raise AssertionError(f"redundant_biases should return a list of layer names; it returned "
                             f"{type(result).__name__}.") from None
    names = [getattr(item, "name", item) for item in items]   # layer objects are fine too
    unknown = [name for name in names if name not in {layer.name for layer in model.layers}]
    if unknown:
        raise AssertionError(f"{unknown} are not names of layers in `{model.name}`; return `layer.name` of the "
                             "layers whose bias BN cancels.")
    return set(names)


def _check_redundant_biases(fn):
    report = []
    for model in _bias_models():
        got = _as_names(call_learner(fn, f"the model `{model.name}`", model), model)
        named = [layer.name for layer in model.layers if layer.name in _BIAS_REASONS]
        want = {name for name in named if _BIAS_REASONS[name][0]}
        problems = []
        for name in named:
            if name in got and name not in want:
                problems.append(f"`{name}` should not be in your list: {_BIAS_REASONS[name][1]}")
            elif name in want and name not in got:
                problems.append(f"`{name}` is missing from your list: {_BIAS_REASONS[name][1]}")
        if problems:
            report.append(f"On `{model.name}`: " + " ".join(problems))
    if report:
        raise AssertionError(" ".join(report))


def check_redundant_biases(fn):
    """Check a learner's ``fn(model) -> list of layer names`` whose bias a BN layer cancels.

    Tried on an MLP and a CNN (``_bias_models``) whose layers cover every case the notebook
    states: BN directly after the layer (cancelled), max or average pooling in between
    (cancelled), a ReLU in between or fused into the layer (not cancelled), no bias, no BN.
    A failure names each layer listed or missed wrongly and why. Returns a :class:`CheckResult`.
    """
    return run_check("Exercise 1: which biases does BN cancel?", lambda: _check_redundant_biases(fn))


def _solution_redundant_biases(model):
    import keras

    passes_a_constant = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)  # f(x + b) = f(x) + b
    names = []
    for position, layer in enumerate(model.layers):
        has_bias = getattr(layer, "use_bias", False)
        linear = layer.get_config().get("activation", "linear") == "linear"
        if not (has_bias and linear):
            continue
        following = model.layers[position + 1:]
        while following and isinstance(following[0], passes_a_constant):
            following = following[1:]
        if following and isinstance(following[0], keras.layers.BatchNormalization):
            names.append(layer.name)
    return names


# --------------------------------------------------------------------- exercise 2: find the bug

def _colleague_layout():
    """What the colleague's CNN is made of: (kind, units) of its Conv2D and Dense layers."""
    return [("Conv2D", 16), ("Conv2D", 32), ("Dense", 64), ("Dense", 10)]


def _check_fixed_cnn(fn):
    keras = _keras()
    model = fn()
    if not isinstance(model, keras.Model):
        raise AssertionError(f"fixed_cnn() should return the Keras model; it returned {type(model).__name__}.")
    linear = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    if any(getattr(layer, "data_format", "channels_last") == "channels_first" for layer in linear):
        raise AssertionError("A layer now uses data_format='channels_first', but the digits are channels-last "
                             "images of shape (8, 8, 1): the data did not change, so the convolutions should not.")
    layout = [(type(layer).__name__, getattr(layer, "filters", None) or getattr(layer, "units", None))
              for layer in linear]
    if layout != _colleague_layout():
        raise AssertionError(f"Keep the colleague's architecture (Conv2D(16), Conv2D(32), Dense(64), Dense(10)); "
                             f"yours has {layout}. The bug is in one argument, not in the layers.")
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if len(bns) < 3:
        raise AssertionError(f"Your model has {len(bns)} BN layers instead of 3. Removing BN hides the symptom "
                             "but is not the fix: keep one BN layer after each Conv2D and after Dense(64).")
    for layer in bns:
        shape = tuple(layer.input.shape[1:])                 # without the batch axis
        rank = len(shape) + 1
        kept = layer.axis % rank
        if kept != rank - 1:
            what = {1: "image row", 2: "image column"}.get(kept, f"index along axis {kept}") if rank == 4 else \
                f"index along axis {kept}"
            raise AssertionError(f"A BN layer on (N, {', '.join(map(str, shape))}) inputs still keeps "
                                 f"{shape[kept - 1]} statistics, one per {what}, where it needs one per channel "
                                 f"({shape[-1]}). Compare its gamma and moving mean with the channels of the "
                                 "layer in front.")
    x = np.random.default_rng(0).random((32, 8, 8, 1), dtype=np.float32)
    first_bn = keras.Model(model.inputs[0], bns[0].output)(x, training=True).numpy()
    channel_means = first_bn.mean(axis=(0, 1, 2))
    if np.abs(channel_means).max() > 1e-3:
        raise AssertionError("In training mode the first BN layer's output should have mean 0 in every channel; "
                             f"yours has channel means up to {np.abs(channel_means).max():.2f}.")


def check_fixed_cnn(fn):
    """Check a learner's ``fixed_cnn() -> keras.Model``: the colleague's CNN with per-channel BN.

    Same layers as the colleague's (Conv2D(16), Conv2D(32), Dense(64), Dense(10), three BN layers,
    channels-last), every BN layer keeping one statistic per channel of its input, and the
    first BN output centred per channel in training mode. A failure names the mistake: a BN still
    normalizing per image row, BN removed, architecture changed, channels-first convolutions.
    """
    return run_check("Exercise 2: find the bug in a colleague's CNN", lambda: _check_fixed_cnn(fn))


def _solution_fixed_cnn():
    import keras

    keras.utils.set_random_seed(0)

    def bn():
        return keras.layers.BatchNormalization(momentum=0.9)   # the bug was axis=1; the default axis=-1 is right

    return keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", use_bias=False), bn(), keras.layers.Activation("relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, padding="same", use_bias=False), bn(), keras.layers.Activation("relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, use_bias=False), bn(), keras.layers.Activation("relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = [
    Exercise(
        "04_keras_integration", "redundant-biases", "Exercise 1: which biases does BN cancel?",
        check_redundant_biases, _solution_redundant_biases,
        "A bias is dead weight when BN receives it as **the same constant on every value it averages "
        "for one feature or channel**: then the batch mean contains it once and BN subtracts it again. "
        "That holds when BN comes directly after the layer, and also through layers that pass a "
        "per-channel constant through unchanged, such as max or average pooling "
        "(max(x + b) = max(x) + b, mean(x + b) = mean(x) + b). A non-linearity in between breaks it, "
        "whether it is a separate `Activation` layer or fused into the layer with `activation='relu'`: "
        "relu(h + b) is not relu(h) + b. So walk forward from each linear layer that has a bias and "
        "no activation, skip pooling layers, and see whether the next layer is BN."),
    Exercise(
        "04_keras_integration", "find-the-bug", "Exercise 2: find the bug in a colleague's CNN",
        check_fixed_cnn, _solution_fixed_cnn,
        "**The bug: `axis=1` in every BN layer.** It is right for the BN after `Dense(64)`, whose input is "
        "(N, 64), and for channels-first images, but the digits are channels-last (N, 8, 8, C): there "
        "axis 1 is the image **row**, so the first BN layer kept 8 statistics (one per row, each over the "
        "batch, the 8 columns and all 16 channels) instead of 16, and the second kept 4 instead of 32. "
        "Keras accepts it silently and the network still trains. **The symptom** is in the parameter "
        "table: a BN layer over C channels has 2C trainable and 2C non-trainable parameters, and after "
        "`Conv2D(16)` the table showed 16 and 16, not 32 and 32. **The fix:** the default `axis=-1`."),
]
