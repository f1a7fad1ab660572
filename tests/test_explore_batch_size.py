"""bn_course.explore.batch_size: the 1/sqrt(B) laws, and the slider driving the figure."""

import numpy as np
import pytest

from bn_course.explore.batch_size import (BATCH_SIZES, BatchSizeExplorer, batch_size_curves, batch_statistics,
                                         digit_features)


@pytest.fixture(scope="module")
def features():
    return digit_features()


@pytest.fixture(scope="module")
def curves(features):
    return batch_size_curves(features)


def test_features_are_a_fixed_skewed_population(features):
    assert features.shape == (1797, 8)
    assert features.min() == 0.0 and np.all(features.std(axis=0) > 0.1)
    assert 0.4 < np.mean(features == 0) < 0.6                      # about half exact zeros, like ReLU outputs
    np.testing.assert_array_equal(features, digit_features())


def test_standard_error_of_the_mean_is_sigma_over_sqrt_b(curves):
    np.testing.assert_allclose(curves["se_mean"], 1 / np.sqrt(curves["sizes"]), rtol=0.05)
    slope = np.polyfit(np.log(curves["sizes"]), np.log(curves["se_mean"]), 1)[0]
    assert abs(slope + 0.5) < 0.02


def test_biased_variance_averages_to_b_minus_one_over_b(curves):
    sizes = curves["sizes"]
    np.testing.assert_allclose(curves["var_ratio"], (sizes - 1) / sizes, atol=0.03)
    assert curves["var_ratio"][0] == 0.0


def test_gap_is_one_for_a_single_sample_and_shrinks(curves):
    gap = curves["gap"]
    assert abs(gap[0] - 1.0) < 0.05
    assert np.all(np.diff(gap) < 0)
    big = curves["sizes"] >= 16
    slope = np.polyfit(np.log(curves["sizes"][big]), np.log(gap[big]), 1)[0]
    assert abs(slope + 0.5) < 0.03


def test_batch_of_one_in_training_mode_outputs_zero(features):
    stats = batch_statistics(features, 1, n_batches=50)
    assert np.all(stats["std_ratio"] == 0.0)
    with pytest.raises(ValueError):
        batch_statistics(features[:, 0], 4)


@pytest.mark.parametrize("bad, error", [(4.0, TypeError), (2.5, TypeError), (True, TypeError), (0, ValueError)])
def test_batch_size_is_a_whole_number_of_at_least_one(features, bad, error):
    with pytest.raises(error, match="batch_size must"):
        batch_statistics(features, bad, n_batches=10)


def test_same_seed_same_numbers(features):
    a = batch_statistics(features, 8, n_batches=100, seed=3)
    b = batch_statistics(features, 8, n_batches=100, seed=3)
    np.testing.assert_array_equal(a["mean_error"], b["mean_error"])


def test_slider_moves_redraw_figure_and_readout():
    explorer = BatchSizeExplorer()
    explorer.redraw()
    first = explorer.live.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    control = explorer.sliders["batch_size"]
    assert "bn-slider" in control._dom_classes and "bn-slider-batch_size" in control._dom_classes
    assert list(control.options) == [(str(b), b) for b in BATCH_SIZES]
    control.value = 64
    assert explorer.last["batch_size"] == 64
    assert abs(explorer.last["se_mean"] - 1 / 8) < 0.01
    assert "B = 64" in explorer.readout.value and explorer.live.image.value != first
    control.value = 1
    assert explorer.last["var_ratio"] == 0.0
