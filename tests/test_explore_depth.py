"""bn_course.explore.depth: saturation, the deep-MLP statistics (incl. a gradient check) and the explorer."""

import numpy as np
import pytest

from bn_course.explore import depth as ed
from bn_course.data import load_digits, standardize
from bn_course.gradcheck import numerical_gradient, rel_error


@pytest.fixture(scope="module")
def batch():
    """Notebook 01's probe batch: the first 256 training digits, standardized with the training set's statistics."""
    digits = load_digits()
    return standardize(digits.x_train_flat)[:256], digits.y_train[:256]


@pytest.fixture(scope="module")
def weights():
    return ed.base_weights(12)


# --------------------------------------------------------------------------- saturation


def test_tanh_saturation_counts_both_tails_strictly():
    h = np.array([[0.995, -0.995, 0.99, -0.99], [1.0, -1.0, 0.5, 0.0]])
    assert [ed.saturated_share(v, "tanh") for v in h.ravel()] == [1, 1, 0, 0, 1, 1, 0, 0]
    assert ed.saturated_share(h, "tanh") == 0.5


def test_sigmoid_saturation_counts_both_ends_strictly():
    h = np.array([0.001, 0.01, 0.5, 0.99, 0.995, 0.0, 1.0, 0.2])
    assert [ed.saturated_share(v, "sigmoid") for v in h] == [1, 0, 0, 0, 1, 1, 1, 0]
    assert ed.saturated_share(h, "sigmoid") == 0.5


def test_saturation_of_a_standard_normal_input_matches_the_normal_tail():
    """Behind BN (z ~ N(0, 1)) about 0.81 % of tanh units are saturated: P(|z| > atanh 0.99)."""
    from math import atanh, erf, sqrt

    z = np.random.default_rng(0).normal(size=1_000_000)
    expected = 1.0 - erf(atanh(0.99) / sqrt(2.0))
    assert abs(ed.saturated_share(np.tanh(z), "tanh") - expected) < 5e-4
    assert 0.0080 < expected < 0.0082


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="activation must be one of"):
        ed.saturated_share(np.zeros(3), "relu")


def test_sigmoid_is_exact_and_does_not_overflow():
    z = np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0])
    with np.errstate(over="raise"):
        h = ed.activate(z, "sigmoid")
    np.testing.assert_allclose(h[1:4], 1.0 / (1.0 + np.exp(-z[1:4])))
    assert h[0] == 0.0 and h[-1] == 1.0


def test_the_saturation_thresholds_are_where_the_docstring_says():
    """The slope at the threshold: 1.99 % of tanh's maximum slope (1), 3.96 % of the sigmoid's (1/4)."""
    h_tanh = ed.activate(np.arctanh(ed.SATURATION_THRESHOLD), "tanh")
    h_sigmoid = ed.activate(np.log(ed.SATURATION_THRESHOLD / (1 - ed.SATURATION_THRESHOLD)), "sigmoid")
    assert round(100 * (1 - h_tanh**2), 2) == 1.99
    assert round(100 * h_sigmoid * (1 - h_sigmoid) / 0.25, 2) == 3.96
    assert "1.99 %" in ed.__doc__ and "3.96 %" in ed.__doc__


def test_layer_moments_are_over_all_values_of_a_layer(batch, weights):
    x, y = batch
    stats = ed.depth_statistics(x, y, depth=3, init_scale=2.0, weights=weights)
    np.testing.assert_allclose(stats.mean, [h.mean() for h in stats.post])
    np.testing.assert_allclose(stats.std, [h.std() for h in stats.post])


# --------------------------------------------------------------------------- weights


def test_base_weights_are_lecun_normal_and_nested():
    hidden, readout = ed.base_weights(6, width=64)
    assert [w.shape for w in hidden] == [(64, 64)] * 6 and readout.shape == (64, 10)
    assert abs(np.std(np.concatenate([w.ravel() for w in hidden])) - 1 / 8) < 0.005
    shallow, shallow_readout = ed.base_weights(3, width=64)
    for a, b in zip(shallow, hidden):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(shallow_readout, readout)


# --------------------------------------------------------------------------- the deep MLP


@pytest.mark.parametrize("activation, bn, scale", [("tanh", False, 1.0), ("sigmoid", True, 2.0), ("tanh", True, 0.7)])
def test_weight_gradients_match_finite_differences(activation, bn, scale):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 5)), rng.integers(0, 3, size=12)
    hidden, readout = ed.base_weights(3, width=4, input_dim=5, n_classes=3, seed=1)
    stats = ed.depth_statistics(x, y, depth=3, init_scale=scale, activation=activation, bn=bn,
                                weights=(hidden, readout), eps=1e-3)
    for layer in range(3):
        def loss_of(kernel, layer=layer):
            changed = [w.copy() for w in hidden]
            changed[layer] = kernel / scale  # the function multiplies by init_scale again
            return np.array([ed.depth_statistics(x, y, depth=3, init_scale=scale, activation=activation, bn=bn,
                                                 weights=(changed, readout)).loss])
        numeric = numerical_gradient(loss_of, scale * hidden[layer], np.ones(1))
        assert rel_error(stats.grads[layer], numeric) < 1e-6, layer
        assert stats.grad_std[layer] == pytest.approx(np.std(stats.grads[layer]))


def test_bn_output_is_normalized_and_blind_to_the_weight_scale(batch, weights):
    x, y = batch
    small = ed.depth_statistics(x, y, depth=8, init_scale=0.5, activation="tanh", bn=True, weights=weights)
    large = ed.depth_statistics(x, y, depth=8, init_scale=8.0, activation="tanh", bn=True, weights=weights)
    for z in large.pre:
        np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
        assert np.all(z.var(axis=0) > 0.999)  # var / (var + eps) with a large var
    for z in small.pre:  # small weights, small var: eps = 1e-3 takes a visible bite
        assert np.all(z.var(axis=0) > 0.95)
    medium = ed.depth_statistics(x, y, depth=8, init_scale=2.0, activation="tanh", bn=True, weights=weights)
    for a, b, c in zip(small.post, medium.post, large.post):
        np.testing.assert_allclose(b, c, atol=3e-3)  # equal up to the effect of eps
        np.testing.assert_allclose(a, c, atol=0.05)  # eps matters more when the weights are small
    assert medium.loss == pytest.approx(large.loss, abs=1e-3)


def test_large_tanh_init_saturates_without_bn_only(batch, weights):
    x, y = batch
    plain = ed.depth_statistics(x, y, depth=10, init_scale=8.0, activation="tanh", weights=weights)
    normed = ed.depth_statistics(x, y, depth=10, init_scale=8.0, activation="tanh", bn=True, weights=weights)
    assert plain.saturated[-1] > 0.6 and normed.saturated[-1] < 0.03
    assert plain.gradient_ratio > 100  # chaotic regime: gradients grow towards the input


def test_sigmoid_gradients_vanish_without_bn_only(batch, weights):
    x, y = batch
    plain = ed.depth_statistics(x, y, depth=10, init_scale=1.0, activation="sigmoid", weights=weights)
    normed = ed.depth_statistics(x, y, depth=10, init_scale=1.0, activation="sigmoid", bn=True, weights=weights)
    assert plain.gradient_ratio < 1e-4
    assert 0.2 < normed.gradient_ratio < 5
    assert plain.saturated.max() < 0.01  # it is not saturation: sigmoid' <= 0.25 does it


def test_histograms_are_shares(batch, weights):
    x, y = batch
    stats = ed.depth_statistics(x, y, depth=4, activation="sigmoid", weights=weights)
    assert stats.histograms.shape == (4, ed.HIST_BINS)
    np.testing.assert_allclose(stats.histograms.sum(axis=1), 1.0)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"depth": 0}, ValueError, "depth must be >= 1"),
    ({"depth": 3.5}, TypeError, "depth must be an int"),
    ({"depth": 4.0}, TypeError, "depth must be an int"),
    ({"depth": True}, TypeError, "depth must be an int"),
    ({"init_scale": 0.0}, ValueError, "init_scale must be positive"),
    ({"activation": "relu"}, ValueError, "activation must be one of"),
    ({"depth": 13}, ValueError, "fewer than depth=13"),
])
def test_bad_arguments_are_named(batch, weights, kwargs, error, message):
    x, y = batch
    with pytest.raises(error, match=message):
        ed.depth_statistics(x, y, weights=weights, **kwargs)


def test_inputs_are_not_modified(batch, weights):
    x, y = batch
    x_before, w_before = x.copy(), [w.copy() for w in weights[0]]
    ed.depth_statistics(x, y, depth=5, init_scale=3.0, bn=True, weights=weights)
    np.testing.assert_array_equal(x, x_before)
    for a, b in zip(weights[0], w_before):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- the explorer


def test_explorer_follows_its_controls(batch):
    x, y = batch
    explorer = ed.DepthExplorer(x, y, max_depth=12, depth=6)
    explorer.redraw()
    assert explorer.last.depth == 6 and explorer.last.activation == "tanh" and not explorer.last.bn
    explorer.sliders["init_scale"].value = 8.0
    assert explorer.last.init_scale == 8.0 and explorer.last.saturated[-1] > 0.5
    assert "Saturated units" in explorer.readout.value
    explorer.sliders["bn"].value = True
    assert explorer.last.bn and explorer.last.saturated[-1] < 0.05
    explorer.sliders["activation"].value = "sigmoid"
    explorer.sliders["depth"].value = 12
    assert explorer.last.activation == "sigmoid" and explorer.last.depth == 12
    assert explorer.live.image.value[:4] == b"\x89PNG"
    classes = {c for s in explorer.sliders.values() for c in s._dom_classes}
    assert {"bn-slider-init_scale", "bn-slider-depth", "bn-select-activation", "bn-checkbox-bn"} <= classes


def test_explorer_max_depth_is_a_whole_number(batch):
    x, y = batch
    with pytest.raises(TypeError, match="max_depth must be an int"):
        ed.DepthExplorer(x, y, max_depth=12.0)
