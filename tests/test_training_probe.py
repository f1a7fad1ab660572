"""bn_course.training_probe: the models, the per-step records, the probe's side effects, noisy BN, the landscape."""

import numpy as np
import pytest

tp = pytest.importorskip("bn_course.training_probe")
keras = tp.keras


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 12)).astype(np.float32)
    y = rng.integers(0, 10, size=96)
    return x, y


def _model(**kwargs):
    options = {"depth": 3, "width": 8, "input_dim": 12, "activation": "tanh"}
    return tp.build_probe_model(**{**options, **kwargs})


def test_models_expose_every_hidden_layer():
    for kwargs in ({}, {"bn": True}, {"bn": True, "noisy": True}):
        pm = _model(**kwargs)
        assert len(pm.model.outputs) == 1 + 3 and len(pm.kernels) == 3
        assert all(k.shape == s for k, s in zip(pm.kernels, [(12, 8), (8, 8), (8, 8)]))
    assert sum(isinstance(layer, tp.DistributionShift) for layer in _model(bn=True, noisy=True).model.layers) == 3


def test_same_seed_same_kernels_with_and_without_bn():
    plain, normed = _model(init_std=1.0), _model(init_std=1.0, bn=True)
    for a, b in zip(plain.kernels, normed.kernels):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert abs(np.std(plain.kernels[1].numpy()) - 1.0) < 0.3


def test_noisy_needs_bn():
    with pytest.raises(ValueError, match="noisy=True needs bn=True"):
        _model(noisy=True)


def test_distribution_shift_moves_the_distribution_in_training_only():
    layer = tp.DistributionShift(shift=1.0, scale=0.5, noise=0.0, seed=3)
    x = np.random.default_rng(1).normal(size=(256, 16)).astype(np.float32)
    np.testing.assert_array_equal(layer(x, training=False), x)
    first, second = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    assert np.abs(first.mean(axis=0) - x.mean(axis=0)).max() > 0.2
    assert not np.allclose(first, second)  # a new shift each call
    ratio = first.std(axis=0) / x.std(axis=0)
    assert np.all((ratio > 0.5 - 1e-4) & (ratio < 1.5 + 1e-4))
    restored = tp.DistributionShift.from_config(layer.get_config())
    assert (restored.shift, restored.scale, restored.noise, restored.seed) == (1.0, 0.5, 0.0, 3)


def test_records_have_the_documented_shapes(data):
    x, y = data
    models = [_model(label="a"), _model(bn=True, label="b")]
    history = tp.train_probed(models, x, y, x[:32], y[:32], steps=4, batch_size=16, x_probe=x[:20])
    assert history.labels == ("a", "b")
    assert history.loss.shape == (2, 4)
    for array in (history.saturated, history.grad_std, history.update_ratio):
        assert array.shape == (2, 4, 3)
    assert history.probe_mean.shape == history.probe_std.shape == (2, 5, 3, 8)
    assert len(history.first_activations[1]) == 3 and history.first_activations[1][0].shape == (20, 8)
    assert history.drift("b", 2).shape == (4,)
    assert np.all((history.saturated >= 0) & (history.saturated <= 1))
    assert history.test_accuracy.shape == (2,)


def test_one_step_matches_the_recorded_update_ratio_and_gradient(data):
    x, y = data
    pm = _model(bn=True)
    before = [k.numpy() for k in pm.kernels]
    history = tp.train_probed([pm], x, y, steps=1, learning_rate=0.5, batch_size=16)
    after = [k.numpy() for k in pm.kernels]
    for layer, (w0, w1) in enumerate(zip(before, after)):
        assert history.update_ratio[0, 0, layer] == pytest.approx(np.linalg.norm(w1 - w0) / np.linalg.norm(w0), rel=1e-4)
        assert history.grad_std[0, 0, layer] == pytest.approx(np.std((w0 - w1) / 0.5), rel=1e-4)


def test_probe_passes_leave_the_moving_statistics_alone(data):
    """After one step the moving mean must hold exactly one update, from the training batch."""
    x, y = data
    pm, twin = _model(bn=True), _model(bn=True)
    tp.train_probed([pm], x, y, steps=1, batch_size=16, seed=5)
    batch = tp._batch_order(len(x), 16, 1, 5)[0]
    twin.model(x[batch], training=True)
    bn = [layer for layer in pm.model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    bn_twin = [layer for layer in twin.model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    np.testing.assert_allclose(bn[0].moving_mean.numpy(), bn_twin[0].moving_mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn[0].moving_variance.numpy(), bn_twin[0].moving_variance.numpy(), rtol=1e-5)


def test_batch_order_covers_each_epoch_once():
    order = tp._batch_order(10, 3, 7, seed=0)
    assert order.shape == (7, 3)
    for epoch in range(2):
        assert len(set(order[3 * epoch: 3 * epoch + 3].ravel())) == 9


def test_landscape_probe_restores_everything(data):
    x, y = data
    pm = _model(bn=True)
    weights = [v.numpy().copy() for v in pm.model.variables]
    result = tp.landscape_probe(pm, x[:32], y[:32], learning_rate=0.1, multipliers=(0.5, 2.0))
    for v, saved in zip(pm.model.variables, weights):
        np.testing.assert_array_equal(v.numpy(), saved)
    assert result.loss.shape == result.grad_change.shape == (2,)
    assert np.all(result.grad_change >= 0) and result.loss_range >= 0
    assert result.grad_change[1] > result.grad_change[0]  # a longer step changes the gradient more


def test_probe_statistics_only_for_the_chosen_models(data):
    x, y = data
    models = [_model(label="a"), _model(bn=True, label="b")]
    history = tp.train_probed(models, x, y, steps=3, batch_size=16, x_probe=x[:20], probe_for=("b",))
    assert history.probe_labels == ("b",) and history.probe_mean.shape == (1, 4, 3, 8)
    with pytest.raises(ValueError, match="no probe statistics for 'a'"):
        history.drift("a", 1)
    assert len(history.last_activations) == 2  # before/after activations are kept for every model
    none = tp.train_probed([_model(label="c")], x, y, steps=2, batch_size=16, probe_for=())
    assert none.probe_mean.shape == (0, 3, 3, 8)


def test_probe_moments_match_the_probe_activations(data):
    x, y = data
    pm = _model(bn=True)
    history = tp.train_probed([pm], x, y, steps=2, batch_size=16, x_probe=x[:20])
    for layer in range(3):
        np.testing.assert_allclose(history.probe_mean[0, -1, layer], history.last_activations[0][layer].mean(axis=0))
        np.testing.assert_allclose(history.probe_std[0, 0, layer], history.first_activations[0][layer].std(axis=0),
                                   rtol=1e-4, atol=1e-6)


def test_smooth_is_a_trailing_mean():
    np.testing.assert_allclose(tp.smooth(np.array([1.0, 3.0, 5.0, 7.0]), window=2), [1.0, 2.0, 4.0, 6.0])
    values = np.arange(12.0).reshape(6, 2)
    assert tp.smooth(values, 3).shape == (6, 2)
