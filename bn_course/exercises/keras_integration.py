"""Notebook 04's checkers: ``redundant-biases`` (which layers' biases does a BN layer cancel?) and ``find-the-bug``
(a colleague's CNN runs and trains, but its BN layers normalize the wrong axis)."""

import numpy as np

from bn_course.env import import_keras
from bn_course.exercises.common import Exercise, call_learner, checker

# Each named layer of the two test models: is its bias cancelled by BN, and why (or why not)?
_BIAS_REASONS = {
    "dense_bn": (True, "it feeds BN directly: the batch mean of h + b contains b once, so BN subtracts it."),
    "dense_relu_bn": (False, "a ReLU sits between it and BN, and relu(h + b) is not relu(h) + b."),
    "dense_fused_bn": (False, "its own activation='relu' means BN sees relu(h + b): check each layer's activation."),
    "dense_nobias_bn": (False, "it has no bias to remove (`use_bias=False` already)."),
    "output": (False, "no BN layer follows it, so its bias matters."),
    "conv_bn": (True, "it feeds BN directly: all positions of channel c carry the same b_c, which BN subtracts."),
    "conv_maxpool_bn": (True, "only max pooling lies between it and BN, and max(x + b) = max(x) + b: BN cancels b."),
    "conv_relu_pool_bn": (False, "a ReLU sits between it and BN (pooling cannot help once the ReLU clipped h + b)."),
    "conv_avgpool_bn": (True, "only average pooling lies between it and BN, and mean(x + b) = mean(x) + b."),
    "conv_plain": (False, "it is followed by a ReLU and no BN at all, so its bias matters."),
}


def _bias_models():
    """Two Sequential models whose layer names say what follows them (see ``_BIAS_REASONS``)."""
    keras = import_keras()
    layers, bn, relu = keras.layers, keras.layers.BatchNormalization, lambda: keras.layers.Activation("relu")
    keras.utils.set_random_seed(0)

    def conv(name, size=3, **kwargs):
        return layers.Conv2D(8, size, padding="same", name=name, **kwargs)

    mlp = keras.Sequential([
        keras.Input(shape=(20,)), layers.Dense(16, name="dense_bn"), bn(), relu(),
        layers.Dense(16, name="dense_relu_bn"), relu(), bn(),
        layers.Dense(16, activation="relu", name="dense_fused_bn"), bn(),
        layers.Dense(16, use_bias=False, name="dense_nobias_bn"), bn(), relu(),
        layers.Dense(10, activation="softmax", name="output"),
    ], name="mlp_for_the_bias_exercise")
    cnn = keras.Sequential([
        keras.Input(shape=(8, 8, 1)), conv("conv_bn"), bn(), relu(), conv("conv_maxpool_bn"), layers.MaxPooling2D(2),
        bn(), relu(), conv("conv_relu_pool_bn"), relu(), layers.MaxPooling2D(2), bn(),
        conv("conv_avgpool_bn"), layers.AveragePooling2D(2), bn(), conv("conv_plain", 1, activation="relu"),
        layers.Flatten(), layers.Dense(10, activation="softmax", name="output"),
    ], name="cnn_for_the_bias_exercise")
    return mlp, cnn


@checker("Exercise 1: which biases does BN cancel?")
def check_redundant_biases(fn):
    """Check ``fn(model) -> names of the layers whose bias BN cancels`` on an MLP and a CNN: BN right after, or max or
    average pooling between (cancelled); a ReLU between or fused, no bias, no BN after (not cancelled)."""
    report = []
    for model in _bias_models():
        result = call_learner(fn, f"the model `{model.name}`", model)
        assert hasattr(result, "__iter__"), (
            f"redundant_biases should return a list of layer names, e.g. ['dense_bn']; it returned {result!r}.")
        got = {getattr(item, "name", item) for item in ([result] if isinstance(result, str) else result)}
        present = {layer.name for layer in model.layers}
        assert got <= present, (f"{sorted(got - present)} are not names of layers in `{model.name}`; return "
                                "`layer.name` of the layers whose bias BN cancels.")
        problems = [f"`{name}` {'should not be in' if name in got else 'is missing from'} your list: {reason}"
                    for name, (cancelled, reason) in _BIAS_REASONS.items()
                    if name in present and (name in got) != cancelled]
        if problems:
            report.append(f"On `{model.name}`: " + " ".join(problems))
    assert not report, " ".join(report)


def _solution_redundant_biases(model):
    import keras

    passes_a_constant = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)  # f(x + b) = f(x) + b
    names = []
    for position, layer in enumerate(model.layers):
        if not getattr(layer, "use_bias", False) or layer.get_config().get("activation", "linear") != "linear":
            continue
        following = model.layers[position + 1:]
        while following and isinstance(following[0], passes_a_constant):
            following = following[1:]
        if following and isinstance(following[0], keras.layers.BatchNormalization):
            names.append(layer.name)
    return names


_COLLEAGUE_LAYOUT = [("Conv2D", 16), ("Conv2D", 32), ("Dense", 64), ("Dense", 10)]  # its Conv2D and Dense layers
_IMAGE_AXES = {1: "image row", 2: "image column"}  # what a wrong axis of (N, H, W, C) indexes


@checker("Exercise 2: find the bug in a colleague's CNN")
def check_fixed_cnn(fn):
    """Check ``fixed_cnn() -> keras.Model``: the colleague's channels-last CNN, three BN layers on the channel
    axis. Named mistakes: BN per image row or column, BN removed, layers changed, channels-first convolutions."""
    keras = import_keras()
    model = call_learner(fn, "your fixed_cnn()")
    assert isinstance(model, keras.Model), f"fixed_cnn() should return the Keras model, not a {type(model).__name__}."
    linear = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    layout = [(type(layer).__name__, getattr(layer, "filters", None) or layer.units) for layer in linear]
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(getattr(layer, "data_format", None) != "channels_first" for layer in linear), (
        "A layer now uses data_format='channels_first', but the digits are channels-last (8, 8, 1) images: the data "
        "did not change, so the convolutions should not.")
    assert layout == _COLLEAGUE_LAYOUT, (
        f"Keep the colleague's architecture (Conv2D(16), Conv2D(32), Dense(64), Dense(10)); yours has {layout}. The "
        "bug is in one argument, not in the layers.")
    assert len(bns) >= 3, (
        f"Your model has {len(bns)} BN layers instead of 3. Removing BN hides the symptom but is not the fix: keep one "
        "BN layer after each Conv2D and after Dense(64).")
    for layer in bns:
        shape = tuple(layer.input.shape[1:])                 # without the batch axis
        kept = layer.axis % (len(shape) + 1)
        what = _IMAGE_AXES.get(kept, f"index along axis {kept}")
        assert kept == len(shape), (f"A BN layer on (N, {', '.join(map(str, shape))}) inputs still keeps "
                                    f"{shape[kept - 1]} statistics, one per {what}, where it needs one per channel "
                                    f"({shape[-1]}). Compare its gamma with the channels of the layer in front.")
    x = np.random.default_rng(0).random((32, 8, 8, 1), dtype=np.float32)
    first_bn = keras.Model(model.inputs[0], bns[0].output)
    worst = np.abs(first_bn(x, training=True).numpy().mean(axis=(0, 1, 2))).max()   # per channel
    assert worst <= 1e-3, f"In training mode the first BN output should have mean 0 per channel, not {worst:.2f}."


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


EXERCISES = [Exercise(notebook="04_keras_integration", key=key, title=title, check=check, solution=solution,
                      explanation=explanation) for key, title, check, solution, explanation in [
    ("redundant-biases", "Exercise 1: which biases does BN cancel?", check_redundant_biases, _solution_redundant_biases,
     "A bias is dead weight when BN receives it as **the same constant on every value it averages for one feature "
     "or channel**: the batch mean contains it once and BN subtracts it. That holds right after the layer and "
     "through max or average pooling (max(x + b) = max(x) + b, likewise the mean), not through a non-linearity, "
     "separate or fused (`activation='relu'`): relu(h + b) is not relu(h) + b. So walk forward from each layer "
     "with a bias and no activation, skip pooling layers, and see whether the next layer is BN."),
    ("find-the-bug", "Exercise 2: find the bug in a colleague's CNN", check_fixed_cnn, _solution_fixed_cnn,
     "**The bug: `axis=1` in every BN layer.** Right after `Dense(64)` and for channels-first images, but the "
     "digits are channels-last (N, 8, 8, C): axis 1 is the image **row**, so the first BN kept 8 statistics "
     "instead of 16, the second 4 instead of 32, silently, and the network still trains. **The symptom:** a BN "
     "over C channels has 2C trainable and 2C non-trainable parameters; after `Conv2D(16)` the table showed 16 "
     "and 16, not 32 and 32. **The fix:** the default `axis=-1`."),
]]
