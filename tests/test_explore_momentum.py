"""bn_course.explore.momentum: the warm-up compute function and the explorer's controls."""

import math

import numpy as np
import pytest

from bn_course.explore.momentum import (
    MomentumExplorer,
    batch_stream,
    ema,
    steps_to_within,
    warmup_state,
)
from bn_course.numpy_bn import update_moving

STREAM = batch_stream(steps=300, batch_size=32, seed=0)


def test_stream_is_deterministic_and_uses_the_biased_variance():
    again = batch_stream(steps=300, batch_size=32, seed=0)
    np.testing.assert_array_equal(STREAM["batch_mean"], again["batch_mean"])
    values = np.random.default_rng(0).normal(4.0, 2.0, size=(300, 32))
    np.testing.assert_allclose(STREAM["batch_var"], values.var(axis=1, ddof=0))
    assert STREAM["var"] == 4.0 and STREAM["batch_size"] == 32


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.8, 0.9, 0.99, 0.999, 1.0])
@pytest.mark.parametrize("key, mean", [("batch_mean", 4.0), ("batch_var", 4.0), ("batch_mean", 0.0)])
def test_ema_equals_update_moving_applied_step_by_step(momentum, key, mean):
    values = batch_stream(steps=1000, mean=mean, seed=1)[key]
    moving, expected = np.array(0.5), [0.5]
    for value in values:
        moving = update_moving(moving, np.array(value), momentum=momentum)
        expected.append(float(moving))
    curve = ema(values, momentum, 0.5)
    assert curve.shape == (1001,) and curve[0] == 0.5
    np.testing.assert_allclose(curve, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9, 0.99])
def test_closed_form_matches_the_recursion_for_a_constant_batch(momentum):
    curve, k = ema(np.full(40, 3.0), momentum, 1.0), np.arange(41)
    np.testing.assert_allclose(curve, momentum**k * 1.0 + (1 - momentum**k) * 3.0, rtol=1e-12)


def test_steps_to_within_one_percent():
    assert steps_to_within(0.01, 0.99) == 459  # "about 460 steps" in notebook 05
    assert steps_to_within(0.01, 0.9) == 44
    assert steps_to_within(0.01, 0.999) == 4603
    assert steps_to_within(0.5, 0.99) == 69
    for m in (0.5, 0.9, 0.99, 0.995):
        k = steps_to_within(0.01, m)
        assert m**k <= 0.01 < m ** (k - 1)
    assert steps_to_within(0.01, 0.0) == 1 and steps_to_within(0.01, 1.0) == math.inf
    with pytest.raises(ValueError):
        steps_to_within(1.5, 0.9)


def test_warmup_state_gap_formulas():
    state = warmup_state(STREAM, 0.99, 100, eps=1e-3)
    mm, mv = state["moving_mean"][100], state["moving_var"][100]
    assert state["mean_at"] == mm and state["var_at"] == mv
    assert state["inference_mean_at"] == pytest.approx((4.0 - mm) / np.sqrt(mv + 1e-3))
    assert state["inference_std_at"] == pytest.approx(2.0 / np.sqrt(mv + 1e-3))
    assert state["warmed_up"] == pytest.approx(1 - 0.99**100)
    assert state["mean_error_at"] == pytest.approx(abs(mm - 4.0) / 4.0)
    assert state["steps_to_1pct"] == 459 and state["half_life"] == pytest.approx(68.97, abs=0.01)
    assert state["expected_var"] == pytest.approx(31 / 32 * 4.0)
    # before any step the moving statistics are Keras's initial 0 and 1
    start = warmup_state(STREAM, 0.99, 0)
    assert start["mean_at"] == 0.0 and start["var_at"] == 1.0
    assert start["inference_mean_at"] == pytest.approx(4.0 / np.sqrt(1.001))
    # with a fast momentum, 300 steps close the gap to the batch-noise level
    late = warmup_state(STREAM, 0.9, 300)
    assert abs(late["inference_mean_at"]) < 0.3 and abs(late["inference_std_at"] - 1.0) < 0.2
    assert 0.99 < late["training_std_at"] <= 1.0


def test_explorer_sliders_update_the_state_and_readout():
    explorer = MomentumExplorer(stream=STREAM)
    explorer.redraw()
    assert explorer.last["step"] == 100 and explorer.last["momentum"] == pytest.approx(0.99)
    first_png = explorer.live.image.value
    explorer.sliders["momentum"].value = 0.9
    assert explorer.last["momentum"] == pytest.approx(0.9) and explorer.last["steps_to_1pct"] == 44
    explorer.sliders["step"].value = 250
    assert explorer.last["mean_at"] == pytest.approx(warmup_state(STREAM, 0.9, 250)["mean_at"])
    assert "within 1 % after 44 steps" in explorer.readout.value
    assert explorer.live.image.value != first_png and explorer.live.image.value[:4] == b"\x89PNG"
    for name, control in explorer.sliders.items():
        assert "bn-slider" in control._dom_classes and f"bn-slider-{name}" in control._dom_classes


def test_momentum_is_checked_by_the_shared_validation():
    for bad, error in ((1.5, ValueError), (-0.1, ValueError), (True, TypeError), ("0.9", TypeError)):
        with pytest.raises(error, match="momentum must"):
            ema([1.0, 2.0], bad, 0.0)
        with pytest.raises(error, match="momentum must"):
            steps_to_within(0.01, bad)


@pytest.mark.parametrize("bad, error", [(3.5, TypeError), (100.0, TypeError), (True, TypeError), (-1, ValueError),
                                        (301, ValueError)])
def test_step_is_a_whole_number_of_steps_in_range(bad, error):
    with pytest.raises(error, match="step must"):
        warmup_state(STREAM, 0.99, bad)


@pytest.mark.parametrize("bad, error", [(2.5, TypeError), (32.0, TypeError), (True, TypeError), (1, ValueError)])
def test_stream_batch_size_is_a_whole_number_of_at_least_two(bad, error):
    with pytest.raises(error, match="batch_size must"):
        batch_stream(steps=10, batch_size=bad)
