"""bn_course.experiments: the models notebook 04 teaches and their parameter counts."""

import numpy as np
import pytest

from bn_course import experiments as ex
from bn_course.env import import_tensorflow

import_tensorflow()
import keras  # noqa: E402


def test_builders_place_bn_and_bias_as_documented():
    before = ex.build_mlp(hidden=(8,), bn="before", momentum=0.9)
    kinds = [type(layer).__name__ for layer in before.layers]
    assert kinds == ["Dense", "BatchNormalization", "Activation", "Dense"]
    assert not before.layers[0].use_bias and before.layers[1].momentum == 0.9
    after = ex.build_mlp(hidden=(8,), bn="after")
    assert [type(layer).__name__ for layer in after.layers][:3] == ["Dense", "Activation", "BatchNormalization"]
    assert after.layers[0].use_bias
    plain = ex.build_mlp(hidden=(8, 8), activation="tanh")
    assert [type(layer).__name__ for layer in plain.layers] == ["Dense", "Dense", "Dense"]
    assert plain.layers[0].activation is keras.activations.tanh and plain.layers[0].use_bias
    with pytest.raises(ValueError, match="bn must be"):
        ex.build_mlp(bn="middle")
    cnn = ex.build_cnn(momentum=0.8)
    assert all(layer.momentum == 0.8 for layer in cnn.layers if isinstance(layer, keras.layers.BatchNormalization))


def test_parameter_counts_match_the_architecture():
    model = ex.build_mlp(input_dim=64, hidden=(16,), bn="before")
    trainable, frozen = ex.parameter_counts(model)
    assert trainable == 64 * 16 + 2 * 16 + 16 * 10 + 10
    assert frozen == 2 * 16
    assert trainable + frozen == model.count_params()


def test_layer_table_lists_each_layer_and_the_totals():
    table = ex.layer_table(ex.build_mlp(input_dim=64, hidden=(16,), bn="before"))
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["layer", "output", "shape"]
    assert any(line.startswith("BatchNormalization") and line.split()[-2:] == ["32", "32"] for line in lines)
    assert lines[-1].split() == ["total", f"{64 * 16 + 32 + 170:,}", "32"]


def test_cnn_without_bn_keeps_its_biases_and_applies_relu():
    plain = ex.build_cnn(bn=False)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    convs = [layer for layer in plain.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert all(layer.use_bias for layer in convs)
    assert all(layer.activation is keras.activations.relu for layer in convs[:-1])
    with_bn = ex.build_cnn()
    linear = [layer for layer in with_bn.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert [layer.use_bias for layer in linear] == [False, False, False, True]


def test_same_seed_same_weights():
    first, second = ex.build_mlp(bn="before", seed=3), ex.build_mlp(bn="before", seed=3)
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
