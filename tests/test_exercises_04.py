"""Notebook 04's exercise checkers: the right answer passes, each classic mistake gets its own hint."""

import pytest

from bn_course.env import import_tensorflow
from bn_course.exercises import keras_integration as k04

import_tensorflow()
import keras  # noqa: E402


# ------------------------------------------------------------------ exercise 1: which biases does BN cancel?

def _cancelled_by_next_bn_only(model):
    """The common half-right answer: only a layer directly followed by BN (pooling and fused activations ignored)."""
    layers = model.layers
    return [layer.name for layer, following in zip(layers, layers[1:])
            if getattr(layer, "use_bias", False) and isinstance(following, keras.layers.BatchNormalization)]


def _any_bn_later(model):
    """Lists every biased layer with a BN anywhere after it."""
    layers = model.layers
    return [layer.name for i, layer in enumerate(layers) if getattr(layer, "use_bias", False)
            and any(isinstance(later, keras.layers.BatchNormalization) for later in layers[i + 1:])]


def _with_no_bias_layers(model):
    return k04._solution_redundant_biases(model) + [layer.name for layer in model.layers
                                                    if getattr(layer, "use_bias", None) is False]


def test_redundant_biases_solution_passes_and_layer_objects_are_accepted():
    assert k04.check_redundant_biases(k04._solution_redundant_biases).passed
    as_layers = lambda model: [model.get_layer(name) for name in k04._solution_redundant_biases(model)]
    assert k04.check_redundant_biases(as_layers).passed


def test_redundant_biases_untouched_is_not_attempted():
    def redundant_biases(model):
        raise NotImplementedError  # your code here

    assert k04.check_redundant_biases(redundant_biases).status == "not attempted"


@pytest.mark.parametrize("wrong, hints", [
    (_cancelled_by_next_bn_only, ["`dense_fused_bn` should not be in your list", "`conv_maxpool_bn` is missing"]),
    (_any_bn_later, ["`dense_relu_bn` should not be in your list: a ReLU sits between"]),
    (_with_no_bias_layers, ["`dense_nobias_bn` should not be in your list: it has no bias"]),
    (lambda model: [], ["`dense_bn` is missing"]),
    (lambda model: None, ["returned None"]),
    (lambda model: ["conv7"], ["not names of layers"]),
    (lambda model: 42, ["list of layer names"]),
])
def test_redundant_biases_mistakes_are_named(wrong, hints):
    result = k04.check_redundant_biases(wrong)
    assert result.status == "failed", result
    for hint in hints:
        assert hint in result.message, result.message


def test_the_cnn_case_names_pooling_and_relu():
    def mlp_right_cnn_wrong(model):
        if "mlp" in model.name:
            return k04._solution_redundant_biases(model)
        return ["conv_bn", "conv_relu_pool_bn"]

    message = k04.check_redundant_biases(mlp_right_cnn_wrong).message
    assert "max(x + b) = max(x) + b" in message and "mean(x + b)" in message and "ReLU sits between" in message


# ------------------------------------------------------------------ exercise 2: find the bug

def _cnn(axis=-1, filters=(16, 32), bn_count=3, data_format="channels_last"):
    """The colleague's CNN with ``axis`` in the BN layers after the convolutions (axis=1 after Dense(64))."""
    keras.utils.set_random_seed(0)

    def block(linear):
        kept = 1 if isinstance(linear, keras.layers.Dense) else axis
        return [linear, keras.layers.BatchNormalization(axis=kept), keras.layers.Activation("relu")] \
            if bn_count else [linear, keras.layers.Activation("relu")]

    return keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        *block(keras.layers.Conv2D(filters[0], 3, padding="same", use_bias=False, data_format=data_format)),
        keras.layers.MaxPooling2D(2),
        *block(keras.layers.Conv2D(filters[1], 3, padding="same", use_bias=False, data_format=data_format)),
        keras.layers.Flatten(),
        *block(keras.layers.Dense(64, use_bias=False)),
        keras.layers.Dense(10, activation="softmax"),
    ])


def test_fixed_cnn_solution_and_equivalent_fixes_pass():
    assert k04.check_fixed_cnn(k04._solution_fixed_cnn).passed
    assert k04.check_fixed_cnn(lambda: _cnn(axis=3)).passed      # axis 3 is the channel axis of (N, 8, 8, C)


def test_fixed_cnn_untouched_is_not_attempted():
    def fixed_cnn():
        raise NotImplementedError  # copy colleague_cnn here and fix it

    assert k04.check_fixed_cnn(fixed_cnn).status == "not attempted"


@pytest.mark.parametrize("wrong, hint", [
    (lambda: _cnn(axis=1), "8 statistics, one per image row"),
    (lambda: _cnn(axis=2), "one per image column"),
    (lambda: _cnn(bn_count=0), "Removing BN hides the symptom"),
    (lambda: _cnn(filters=(8, 32)), "Keep the colleague's architecture"),
    (lambda: "a model", "should return the Keras model"),
])
def test_fixed_cnn_mistakes_are_named(wrong, hint):
    result = k04.check_fixed_cnn(wrong)
    assert result.status == "failed", result
    assert hint in result.message, result.message


def test_channels_first_convolutions_are_named():
    result = k04.check_fixed_cnn(lambda: _cnn(axis=1, data_format="channels_first"))
    assert result.status in ("failed", "error") and "channels_first" in result.message, result


def test_both_exercises_are_registered_with_solutions_that_pass():
    keys = {exercise.key: exercise for exercise in k04.EXERCISES}
    assert set(keys) == {"redundant-biases", "find-the-bug"}
    for exercise in keys.values():
        assert exercise.notebook == "04_keras_integration"
        assert exercise.check(exercise.solution).passed, exercise.key


def test_the_colleagues_bug_is_silent_and_the_network_still_trains():
    """The find-the-bug explanation says Keras accepts axis=1 and the network still trains: check both."""
    from bn_course.data import load_digits

    digits = load_digits()
    buggy = _cnn(axis=1)
    buggy.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = buggy.fit(digits.x_train, digits.y_train, epochs=3, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert [tuple(layer.gamma.shape) for layer in buggy.layers
            if isinstance(layer, keras.layers.BatchNormalization)] == [(8,), (4,), (64,)]
