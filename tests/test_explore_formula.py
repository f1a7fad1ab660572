"""bn_course.explore.formula: the compute function's promises and the explorer's controls."""

import numpy as np
import pytest

from bn_course.explore.formula import (
    HIST_EDGES,
    FormulaExplorer,
    example_features,
    formula_state,
    identity_point,
)
from bn_course.numpy_bn import batch_norm

FEATURES = example_features()


@pytest.mark.parametrize("label", list(FEATURES))
@pytest.mark.parametrize("eps", [0.0, 1e-5, 1e-3, 1.0])
def test_identity_point_returns_the_input(label, eps):
    x = FEATURES[label]
    gamma, beta = identity_point(x, eps)
    state = formula_state(x, gamma, beta, eps)
    np.testing.assert_allclose(state["y"], x, atol=1e-12)
    assert state["max_change"] < 1e-12
    assert (state["identity_gamma"], state["identity_beta"]) == (gamma, beta)


@pytest.mark.parametrize("gamma, beta, eps", [(1.0, 0.0, 1e-3), (2.5, -1.0, 1e-8), (0.3, 4.0, 1.0)])
def test_mean_is_beta_and_std_is_predicted(gamma, beta, eps):
    x = FEATURES["bell-shaped (mean 3, std 2)"]
    state = formula_state(x, gamma, beta, eps)
    np.testing.assert_allclose(state["y"], batch_norm(x[:, None], [gamma], [beta], eps=eps)[:, 0])
    assert state["y_mean"] == pytest.approx(beta, abs=1e-12)
    assert state["y_std"] == pytest.approx(state["predicted_std"], rel=1e-12)
    assert state["mean"] == pytest.approx(x.mean()) and state["var"] == pytest.approx(x.var())


def test_histograms_use_the_fixed_bins_and_count_what_falls_outside():
    x = FEATURES["bell-shaped (mean 3, std 2)"]
    state = formula_state(x, 4.0, 6.0, 1e-3)  # y reaches well past the right edge
    assert state["counts_x"].shape == state["counts_y"].shape == (len(HIST_EDGES) - 1,)
    assert state["counts_x"].sum() == x.size  # the input fits inside the bins
    assert state["outside"] == np.sum((state["y"] < HIST_EDGES[0]) | (state["y"] > HIST_EDGES[-1])) > 0


def test_eps_damps_a_nearly_constant_feature():
    x = FEATURES["nearly constant (std 0.01)"]
    stds = {eps: formula_state(x, 1.0, 0.0, eps)["y_std"] for eps in (1e-8, 1e-5, 1e-3)}
    assert stds[1e-8] > 0.99 and 0.9 < stds[1e-5] < 0.97 and 0.25 < stds[1e-3] < 0.35


def test_example_features_are_deterministic():
    again = example_features()
    for label, x in FEATURES.items():
        np.testing.assert_array_equal(x, again[label])
        assert x.shape == (1000,)


@pytest.fixture()
def explorer():
    explorer = FormulaExplorer()
    explorer.redraw()
    return explorer


def test_sliders_drive_the_state_and_readout(explorer):
    assert explorer.last["gamma"] == 1.0 and explorer.last["beta"] == 0.0
    assert explorer.last["eps"] == pytest.approx(1e-3)  # Keras's default
    explorer.sliders["beta"].value = 2.0
    assert explorer.last["y_mean"] == pytest.approx(2.0)
    explorer.sliders["log10_eps"].value = -5.0
    assert explorer.last["eps"] == pytest.approx(1e-5)
    assert "ε = 1.0e-05" in explorer.readout.value
    assert "mean = 2.000 (= β)" in explorer.readout.value
    assert bytes(explorer.live.image.value[:4]) == b"\x89PNG"


def test_identity_button_and_reset(explorer):
    for label in FEATURES:
        explorer.sliders["feature"].value = label
        explorer.identity_button.click()
        assert explorer.last["feature"] == label
        assert explorer.last["max_change"] < 1e-9
        assert "identity: y equals x" in explorer.readout.value
    explorer.reset_button.click()
    assert (explorer.last["gamma"], explorer.last["beta"]) == (1.0, 0.0)
    assert "identity" in explorer.readout.value and "max |y − x|" in explorer.readout.value


def test_widget_carries_the_css_classes(explorer):
    assert "bn-explorer" in explorer.widget._dom_classes
    for name in ("gamma", "beta", "log10_eps"):
        assert f"bn-slider-{name}" in explorer.sliders[name]._dom_classes
    assert "bn-button-identity" in explorer.identity_button._dom_classes
    assert "bn-figure" in explorer.live.image._dom_classes and "bn-readout" in explorer.readout._dom_classes


def test_blitted_picture_matches_a_full_redraw(explorer):
    """The fast path (only the moving artists redrawn) must show what a full draw shows."""
    explorer.sliders["gamma"].value = 2.0
    explorer.sliders["beta"].value = -3.0
    fast = np.asarray(explorer.live.figure.canvas.buffer_rgba()).copy()
    explorer.live.invalidate()  # the slow path: background drawn again, then the blit
    explorer.redraw()
    full = np.asarray(explorer.live.figure.canvas.buffer_rgba())
    assert np.array_equal(fast, full)
