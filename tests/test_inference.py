"""bn_course.inference: folding, population statistics and the PyTorch conversion, checked against Keras."""

import subprocess
import sys

import numpy as np
import pytest

from bn_course.env import import_tensorflow
from bn_course.inference import (
    PopulationStatistics,
    bn_scale_shift,
    fold_batchnorm,
    fold_batchnorm_weights,
    keras_to_torch_bn,
    population_statistics,
    recompute_population_statistics,
    torch_batch_norm_train,
    torch_to_keras_bn,
    torch_update_running,
)
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
    code = ("import sys, bn_course.inference, bn_course.explore_momentum; "
            "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scale_shift_reproduces_inference_bn():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(10, 4))
    gamma, beta, mean = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    var = rng.uniform(0.1, 2, size=4)
    scale, shift = bn_scale_shift(gamma, beta, mean, var, eps=1e-3)
    np.testing.assert_allclose(z * scale + shift, batch_norm_inference(z, gamma, beta, mean, var, eps=1e-3),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        bn_scale_shift(gamma, beta, mean, -var, eps=1e-3)


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


@pytest.mark.parametrize("shape, axis", [((50, 3), -1), ((7, 4, 4, 3), -1), ((7, 3, 4, 4), 1)])
@pytest.mark.parametrize("ddof", [0, 1])
def test_population_statistics_match_numpy_in_any_batching(shape, axis, ddof):
    x = np.random.default_rng(7).normal(3.0, 2.0, size=shape)
    reduce = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    mean, var = population_statistics(x, axis=axis, ddof=ddof)
    np.testing.assert_allclose(mean, x.mean(axis=reduce), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=reduce, ddof=ddof), rtol=1e-12)
    pieces = [x[i:i + 3] for i in range(0, len(x), 3)]  # uneven batches, merged pairwise
    mean2, var2 = population_statistics(pieces, axis=axis, ddof=ddof)
    np.testing.assert_allclose(mean2, mean, rtol=1e-12)
    np.testing.assert_allclose(var2, var, rtol=1e-12)


def test_population_statistics_are_stable_far_from_zero():
    x = 1e6 + np.random.default_rng(8).normal(size=(1000, 2))
    stats = PopulationStatistics()
    for chunk in np.array_split(x, 17):
        stats.update(chunk)
    np.testing.assert_allclose(stats.variance(), x.var(axis=0), rtol=1e-9)
    with pytest.raises(ValueError):
        PopulationStatistics().variance()


def test_recompute_matches_the_bn_inputs_and_assign_updates_layer_by_layer():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(6,)),
        keras.layers.Dense(5, use_bias=False), keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
        keras.layers.Dense(4, use_bias=False), keras.layers.BatchNormalization(),
    ])
    x = np.random.default_rng(9).normal(2.0, 3.0, size=(300, 6)).astype("float32")
    first = model.layers[0](x).numpy()
    stats = recompute_population_statistics(model, x, batch_size=64, ddof=1)
    bn1, bn2 = model.layers[1], model.layers[4]
    np.testing.assert_allclose(stats[bn1.name][0], first.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stats[bn1.name][1], first.var(axis=0, ddof=1), rtol=1e-4)
    np.testing.assert_array_equal(bn1.moving_mean.numpy(), 0.0)  # assign=False changes nothing
    assigned = recompute_population_statistics(model, x, batch_size=64, assign=True)
    np.testing.assert_allclose(bn1.moving_mean.numpy(), assigned[bn1.name][0], rtol=1e-6)
    # the second layer was measured with the first already updated: its inputs now have exactly these stats
    second_input = keras.Model(model.inputs[0], bn2.input)(x).numpy()
    np.testing.assert_allclose(bn2.moving_mean.numpy(), second_input.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn2.moving_variance.numpy(), second_input.var(axis=0), rtol=1e-4)
    out = model(x, training=False).numpy()  # BN2 output over the data set: mean ~beta = 0, var ~1
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-4)


def test_torch_update_stores_the_unbiased_variance():
    batch = np.array([[1.0], [2.0], [3.0], [6.0]])
    mean, var = torch_update_running(np.zeros(1), np.ones(1), batch, momentum=0.1)
    assert mean[0] == pytest.approx(0.1 * 3.0)
    assert var[0] == pytest.approx(0.9 + 0.1 * 14.0 / 3.0)
    with pytest.raises(ValueError, match="more than one value"):
        torch_update_running(np.zeros(1), np.ones(1), batch[:1])


def test_torch_training_output_uses_the_biased_variance():
    x = np.random.default_rng(10).normal(size=(8, 3, 2, 2))
    y, _, _ = torch_batch_norm_train(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), eps=0.0)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, rtol=1e-9)


def test_converted_layer_matches_simulated_pytorch_at_inference():
    rng = np.random.default_rng(11)
    weight, bias = rng.uniform(0.5, 2.0, 3), rng.normal(size=3)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for _ in range(30):
        batch = np.moveaxis(rng.normal(size=(8, 4, 4, 3)) * [1.0, 3.0, 0.2] + [1.0, -2.0, 0.5], -1, 1)
        _, running_mean, running_var = torch_batch_norm_train(batch, weight, bias, running_mean, running_var)
    state = {"weight": weight, "bias": bias, "running_mean": running_mean, "running_var": running_var,
             "num_batches_tracked": 30}
    config, weights = torch_to_keras_bn(state, momentum=0.1, eps=1e-5)
    assert config["momentum"] == 0.9 and config["epsilon"] == 1e-5 and config["axis"] == 1
    layer = keras.layers.BatchNormalization(**config)
    layer.build((None, 3, 4, 4))
    layer.set_weights(weights)
    x = np.moveaxis(rng.normal(size=(5, 4, 4, 3)) * [1.0, 3.0, 0.2] + [1.0, -2.0, 0.5], -1, 1)
    expected = batch_norm_inference(x, weight, bias, running_mean, running_var, eps=1e-5, axis=1)
    np.testing.assert_allclose(layer(x.astype("float32"), training=False).numpy(), expected, atol=1e-5)
    # channels last: same numbers, axis -1
    config_last, _ = torch_to_keras_bn(state, channels_first=False)
    assert config_last["axis"] == -1


def test_round_trips_and_refusals():
    state = {"weight": np.array([1.5, 0.5]), "bias": np.array([0.1, -0.2]),
             "running_mean": np.array([3.0, -1.0]), "running_var": np.array([2.0, 0.5])}
    config, weights = torch_to_keras_bn(state, momentum=0.1, eps=1e-5)
    back, options = keras_to_torch_bn(config, weights)
    assert options == {"momentum": 0.1, "eps": 1e-5, "affine": True}
    for name in state:
        np.testing.assert_allclose(back[name], state[name], rtol=1e-7)
    # Keras -> PyTorch -> Keras from a real layer's config and weights
    layer = keras.layers.BatchNormalization(momentum=0.95, epsilon=1e-4)
    layer.build((None, 2))
    layer.set_weights([w.astype("float32") for w in (state["weight"], state["bias"],
                                                     state["running_mean"], state["running_var"])])
    state2, options2 = keras_to_torch_bn(layer.get_config(), layer.get_weights())
    assert options2["momentum"] == pytest.approx(0.05) and options2["eps"] == pytest.approx(1e-4)
    config3, weights3 = torch_to_keras_bn(state2, **options2, channels_first=False)
    assert config3["momentum"] == pytest.approx(0.95)
    for a, b in zip(weights3, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    # not affine
    config4, weights4 = torch_to_keras_bn({"running_mean": [0.0], "running_var": [1.0]}, affine=False)
    assert not config4["center"] and len(weights4) == 2
    assert keras_to_torch_bn(config4, weights4)[1]["affine"] is False
    with pytest.raises(ValueError, match="cumulative"):
        torch_to_keras_bn(state, momentum=None)
    with pytest.raises(ValueError, match="track_running_stats"):
        torch_to_keras_bn(state, track_running_stats=False)
    with pytest.raises(ValueError, match="affine"):
        keras_to_torch_bn({"momentum": 0.99, "epsilon": 1e-3, "center": True, "scale": False}, weights[1:])
