"""Notebook 04's exercise checker: the right block passes, each classic mistake gets its own hint."""

import pytest

from bn_course.env import import_tensorflow
from bn_course.exercises import check_dense_bn_relu

import_tensorflow()
import keras  # noqa: E402


def right(units):
    return [keras.layers.Dense(units, use_bias=False), keras.layers.BatchNormalization(),
            keras.layers.Activation("relu")]


def test_right_answers_pass():
    assert check_dense_bn_relu(right).passed
    relu_layer = lambda units: [keras.layers.Dense(units, use_bias=False), keras.layers.BatchNormalization(),
                                keras.layers.ReLU()]
    assert check_dense_bn_relu(relu_layer).passed
    as_sequential = lambda units: keras.Sequential(right(units))
    assert check_dense_bn_relu(as_sequential).passed


def test_untouched_exercise_is_not_attempted():
    def todo(units):
        raise NotImplementedError  # your code here

    assert check_dense_bn_relu(todo).status == "not attempted"


@pytest.mark.parametrize("wrong, hint", [
    (lambda u: [keras.layers.Dense(u), keras.layers.BatchNormalization(), keras.layers.Activation("relu")],
     "use_bias=False"),
    (lambda u: [keras.layers.Dense(u, use_bias=False, activation="relu"), keras.layers.BatchNormalization()],
     "Leave Dense linear"),
    (lambda u: [keras.layers.Dense(u, use_bias=False), keras.layers.Activation("relu"),
                keras.layers.BatchNormalization()], "ReLU comes before"),
    (lambda u: [keras.layers.Dense(u, use_bias=False), keras.layers.BatchNormalization()], "ReLU is missing"),
    (lambda u: [keras.layers.Dense(u, use_bias=False), keras.layers.BatchNormalization(center=False),
                keras.layers.Activation("relu")], "center=True"),
    (lambda u: [keras.layers.Dense(32, use_bias=False), keras.layers.BatchNormalization(),
                keras.layers.Activation("relu")] if u == 32 else right(32), "units argument"),
    (lambda u: [keras.layers.Dense(u, use_bias=False), keras.layers.Activation("relu")], "BatchNormalization"),
    (lambda u: "Dense -> BN -> ReLU", "list of Keras layers"),
    (lambda u: right(u) + [keras.layers.Dropout(0.5)], "exactly three layers"),
])
def test_each_mistake_gets_its_hint(wrong, hint):
    result = check_dense_bn_relu(wrong)
    assert result.status == "failed", result
    assert hint in result.message, result.message


def test_reused_layers_are_caught():
    shared_bn = keras.layers.BatchNormalization()

    def reuses_bn(units):
        return [keras.layers.Dense(units, use_bias=False), shared_bn, keras.layers.Activation("relu")]

    result = check_dense_bn_relu(reuses_bn)
    assert result.status == "failed" and "new layers" in result.message, result
