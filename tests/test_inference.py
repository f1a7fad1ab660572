"""bn_course.inference: folding BN into the layer before it, checked against Keras in inference mode."""

import subprocess
import sys

import numpy as np
import pytest

from bn_course.env import import_tensorflow
from bn_course.inference import batchnorm_parameters, bn_scale_shift, fold_batchnorm, fold_batchnorm_weights
from bn_course.numpy_bn import batch_norm_inference

import_tensorflow()
import keras  # noqa: E402


def _randomize_bn(model, seed=0):
    """Give every BN layer non-trivial gamma, beta and moving statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.moving_mean.shape[0]
            if layer.scale:
                layer.gamma.assign(rng.uniform(0.5, 2.0, c).astype("float32"))
            if layer.center:
                layer.beta.assign(rng.normal(size=c).astype("float32"))
            layer.moving_mean.assign(rng.normal(1.0, 1.0, c).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.3, 3.0, c).astype("float32"))


def test_importing_the_numpy_parts_does_not_load_tensorflow():
    code = ("import sys, bn_course.inference, bn_course.explore.momentum; "
            "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scale_shift_reproduces_inference_bn():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(10, 4))
    gamma, beta, mean = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    var = rng.uniform(0.1, 2, size=4)
    scale, shift = bn_scale_shift(gamma.astype("float32"), beta, mean.astype("float32"), var, eps=1e-3)
    assert scale.dtype == shift.dtype == np.float64
    scale, shift = bn_scale_shift(gamma, beta, mean, var, eps=1e-3)
    np.testing.assert_allclose(z * scale + shift, batch_norm_inference(z, gamma, beta, mean, var, eps=1e-3),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="var must be >= 0"):
        bn_scale_shift(gamma, beta, mean, -var, eps=1e-3)
    with pytest.raises(ValueError, match=r"var \+ eps must be > 0"):
        bn_scale_shift(gamma, beta, mean, np.zeros(4), eps=0.0)


@pytest.mark.parametrize("use_bias", [True, False])
def test_fold_weights_for_a_conv_kernel_in_numpy(use_bias):
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 3, 2, 4)).astype("float32")
    bias = rng.normal(size=4) if use_bias else None
    gamma, beta, mean = rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4)
    var = rng.uniform(0.2, 2, 4)
    before = kernel.copy()
    new_kernel, new_bias = fold_batchnorm_weights(kernel, bias, gamma, beta, mean, var, eps=1e-3)
    assert new_kernel.dtype == np.float32 and new_kernel.shape == kernel.shape
    np.testing.assert_array_equal(kernel, before)  # not modified in place
    s = gamma / np.sqrt(var + 1e-3)
    np.testing.assert_allclose(new_kernel, kernel * s, rtol=1e-6)
    np.testing.assert_allclose(new_bias, ((bias if use_bias else 0.0) - mean) * s + beta, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype, expected", [("float16", "float16"), ("float32", "float32"), ("float64", "float64"),
                                             ("int8", "float64"), ("int64", "float64")])
def test_folded_weights_keep_a_float_kernels_dtype(dtype, expected):
    ones = np.ones(3)
    kernel, bias = fold_batchnorm_weights(np.arange(6).reshape(2, 3).astype(dtype), ones, ones, ones, ones, ones)
    assert kernel.dtype == expected and bias.dtype == expected
    np.testing.assert_allclose(kernel, np.arange(6).reshape(2, 3) / np.sqrt(1.001), rtol=1e-3)


@pytest.mark.parametrize("use_bias", [True, False])
def test_folded_dense_model_predicts_the_same(use_bias):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(6,)),
        keras.layers.Dense(5, use_bias=use_bias), keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
        keras.layers.Dense(4, use_bias=use_bias), keras.layers.BatchNormalization(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    _randomize_bn(model)
    folded = fold_batchnorm(model)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in folded.layers)
    assert len(folded.layers) == len(model.layers) - 2
    x = np.random.default_rng(2).normal(size=(32, 6)).astype("float32")
    np.testing.assert_allclose(folded(x).numpy(), model(x, training=False).numpy(), atol=1e-5)


@pytest.mark.parametrize("use_bias", [True, False])
def test_folded_conv_model_predicts_the_same(use_bias):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 2)),
        keras.layers.Conv2D(4, 3, padding="same", use_bias=use_bias), keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(3, 3, use_bias=use_bias), keras.layers.BatchNormalization(),
        keras.layers.Flatten(), keras.layers.Dense(2),
    ])
    _randomize_bn(model, seed=3)
    folded = fold_batchnorm(model)
    assert sum(isinstance(l, keras.layers.BatchNormalization) for l in folded.layers) == 0
    x = np.random.default_rng(4).normal(size=(16, 8, 8, 2)).astype("float32")
    np.testing.assert_allclose(folded(x).numpy(), model(x, training=False).numpy(), atol=1e-5)


def test_bn_after_an_activation_or_without_scale_is_handled():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(5, activation="relu"), keras.layers.BatchNormalization(),  # not foldable: stays
        keras.layers.Dense(3), keras.layers.BatchNormalization(center=False, scale=False),  # foldable
    ])
    _randomize_bn(model, seed=5)
    folded = fold_batchnorm(model)
    assert sum(isinstance(l, keras.layers.BatchNormalization) for l in folded.layers) == 1
    x = np.random.default_rng(6).normal(size=(8, 4)).astype("float32")
    np.testing.assert_allclose(folded(x).numpy(), model(x, training=False).numpy(), atol=1e-5)


def test_fold_needs_a_sequential_model():
    inputs = keras.Input(shape=(3,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(TypeError, match="Sequential"):
        fold_batchnorm(functional)


def test_batchnorm_parameters_fill_in_gamma_and_beta_when_absent():
    layer = keras.layers.BatchNormalization(center=False, scale=False, epsilon=1e-4, momentum=0.9)
    layer.build((None, 3))
    params = batchnorm_parameters(layer)
    np.testing.assert_array_equal(params["gamma"], 1.0)
    np.testing.assert_array_equal(params["beta"], 0.0)
    assert params["epsilon"] == pytest.approx(1e-4) and params["momentum"] == pytest.approx(0.9)


def test_bad_arguments_name_the_argument():
    kernel, ones = np.ones((2, 3)), np.ones(3)
    with pytest.raises(ValueError, match="gamma must have shape \\(3,\\)"):
        fold_batchnorm_weights(kernel, None, np.ones((3, 1)), ones, ones, ones)
    with pytest.raises(ValueError, match="bias must have shape \\(3,\\)"):
        fold_batchnorm_weights(kernel, np.ones(2), ones, ones, ones, ones)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        bn_scale_shift(ones, ones, ones, ones, eps=-1e-3)
    with pytest.raises(TypeError, match="var must be a numeric array"):
        bn_scale_shift(ones, ones, ones, "1 1 1")
