"""The gamma/beta/epsilon explorer of notebook 02: one feature's histogram before and after BN.

For one feature with batch values x_1..x_m (biased variance, as Keras):

    y = gamma * (x - mu) / sqrt(var + eps) + beta
    mean(y) = beta,   std(y) = |gamma| * sigma / sqrt(sigma**2 + eps)

and the *identity point* gamma = sqrt(var + eps), beta = mu gives y = x exactly, for this batch only.
"""

import ipywidgets as widgets
import numpy as np

from bn_course.numpy_bn import batch_norm
from bn_course.explore.widgets import Explorer, control, new_figure, slider

__all__ = ["example_features", "identity_point", "formula_state", "FormulaExplorer", "HIST_EDGES"]

HIST_EDGES = np.linspace(-12.0, 12.0, 81)  # fixed bins: a slider move changes only the bar heights


def example_features(n=1000, seed=0):
    """Three single-feature batches, label -> (n,) float64: a bell (mean 3, std 2), a ReLU output (a spike at 0
    that BN, being affine, keeps) and a nearly constant feature (mean 0.5, std 0.01), where eps matters."""
    rng = np.random.default_rng(seed)
    return {
        "bell-shaped (mean 3, std 2)": rng.normal(3.0, 2.0, size=n),
        "ReLU output (spike at 0)": np.maximum(0.0, rng.normal(0.5, 1.5, size=n)),
        "nearly constant (std 0.01)": rng.normal(0.5, 0.01, size=n),
    }


def identity_point(x, eps):
    """(sqrt(var + eps), mean) of one feature's batch ``x`` (m,): the (gamma, beta) giving y = x."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(x.var() + eps)), float(x.mean())


def formula_state(x, gamma, beta, eps, edges=HIST_EDGES):
    """Batch-normalize one feature ``x`` (m,) with scalars gamma, beta, eps and summarize it.

    Returns a dict: y (m,); mean, var of x (biased); y_mean, y_std measured on y;
    predicted_std = |gamma| * sqrt(var) / sqrt(var + eps); counts_x, counts_y (B,) histograms
    on ``edges`` (B + 1,); outside (values of y off the bins); identity_gamma, identity_beta
    (:func:`identity_point`); max_change = max |y - x|.
    """
    x = np.asarray(x, dtype=np.float64)
    y = batch_norm(x[:, None], [gamma], [beta], eps=eps)[:, 0]
    var = float(x.var())
    counts_y = np.histogram(y, bins=edges)[0]
    identity_gamma, identity_beta = identity_point(x, eps)
    return {
        "y": y, "mean": float(x.mean()), "var": var, "y_mean": float(y.mean()), "y_std": float(y.std()),
        "predicted_std": abs(gamma) * np.sqrt(var) / np.sqrt(var + eps),
        "counts_x": np.histogram(x, bins=edges)[0], "counts_y": counts_y, "outside": int(y.size - counts_y.sum()),
        "identity_gamma": identity_gamma, "identity_beta": identity_beta,
        "max_change": float(np.max(np.abs(y - x))),
    }


class FormulaExplorer(Explorer):
    """Sliders for gamma, beta and log10(eps), a feature selector, identity and reset buttons. Top: the feature's
    histogram before BN; bottom: after BN, with the input's outline.
    ``explorer.last`` is the latest :func:`formula_state` plus ``gamma``, ``beta``, ``eps``, ``feature``."""

    def __init__(self):
        self.features = example_features()
        sliders = {
            "feature": control(widgets.Dropdown, "select", "feature", options=list(self.features),
                               description="feature"),
            "gamma": slider("gamma", "γ (scale)", 0.0, 4.0, 0.01, 1.0),
            "beta": slider("beta", "β (shift)", -6.0, 6.0, 0.05, 0.0),
            "log10_eps": slider("log10_eps", "log₁₀ ε", -8.0, 0.0, 0.5, -3.0, readout_format=".1f"),
        }
        figure, (self.ax_x, self.ax_y) = new_figure(nrows=2, figsize=(9.0, 4.4))
        self.ax_y.sharex(self.ax_x)
        zeros = np.zeros(len(HIST_EDGES) - 1)
        self.bars_x = self.ax_x.stairs(zeros, HIST_EDGES, fill=True, color="0.6", label="x (input)")
        self.ghost = self.ax_y.stairs(zeros, HIST_EDGES, color="0.3", linestyle=":", linewidth=1.5,
                                      label="x (input, for comparison)")
        self.bars_y = self.ax_y.stairs(zeros, HIST_EDGES, fill=True, color="tab:blue", alpha=0.7,
                                       label="y = γ·x̂ + β")
        self.mean_line = self.ax_y.axvline(0.0, color="tab:red", linewidth=2.5, label="mean of y")
        n = len(next(iter(self.features.values())))
        for ax, title in ((self.ax_x, f"before BN: one feature over a batch of {n}"),
                          (self.ax_y, "after BN (heights rescale to fit)")):
            ax.set_title(title, fontsize=13)
            ax.set_ylabel("count", fontsize=12)
            ax.set_yticks([])  # no tick labels: rescaling the counts changes no text, so blitting works
            ax.grid(False, axis="y")
            ax.legend(loc="upper left", fontsize=12)
            ax.tick_params(labelsize=12)
        self.ax_y.set_xlabel("activation value", fontsize=12)
        self.ax_y.set_xlim(HIST_EDGES[0], HIST_EDGES[-1])
        self.identity_button = control(widgets.Button, "button", "identity", width="300px",
                                       description="Snap to identity: γ = √(σ²+ε), β = μ")
        self.reset_button = control(widgets.Button, "button", "reset", width="160px",
                                    description="Reset: γ = 1, β = 0")
        self.identity_button.on_click(lambda _button: self.snap_to_identity())
        self.reset_button.on_click(lambda _button: self.reset())
        super().__init__(sliders, figure, title="γ, β and ε: one feature before and after batch normalization",
                         dynamic=(self.bars_x, self.ghost, self.bars_y, self.mean_line),
                         buttons=(self.identity_button, self.reset_button))

    def snap_to_identity(self):
        """Move gamma and beta to the identity point of the current feature and eps."""
        values = self.values()
        gamma, beta = identity_point(self.features[values["feature"]], 10.0 ** values["log10_eps"])
        self.set_values(gamma=gamma, beta=beta)

    def reset(self):
        """gamma 1, beta 0, as Keras initializes them."""
        self.set_values(gamma=1.0, beta=0.0)

    def draw(self, feature, gamma, beta, log10_eps):
        eps, x = 10.0**log10_eps, self.features[feature]
        state = formula_state(x, gamma, beta, eps)
        self.bars_x.set_data(state["counts_x"])
        self.ghost.set_data(state["counts_x"])
        self.bars_y.set_data(state["counts_y"])
        self.mean_line.set_xdata([state["y_mean"]])
        self.ax_x.set_ylim(0, 1.1 * max(1, state["counts_x"].max()))
        self.ax_y.set_ylim(0, 1.1 * max(1, state["counts_x"].max(), state["counts_y"].max()))
        self.last = {**state, "gamma": gamma, "beta": beta, "eps": eps, "feature": feature}
        at_identity = state["max_change"] <= 1e-9 * (1.0 + np.max(np.abs(x)))
        verdict = "<b>identity: y equals x</b> ✓" if at_identity else f"max |y − x| = {state['max_change']:.3g}"
        outside = (f"<br>{state['outside']} of {x.size} values of y fall outside the plotted range."
                   if state["outside"] else "")
        return (
            f"x: μ = {state['mean']:.3g}, σ² = {state['var']:.3g} (σ = {np.sqrt(state['var']):.3g}); "
            f"ε = {eps:.1e}<br>"
            f"y: mean = {state['y_mean']:.3f} (= β), std = {state['y_std']:.3f} "
            f"(= γ·σ/√(σ²+ε) = {state['predicted_std']:.3f})<br>"
            f"identity point: γ = √(σ²+ε) = {state['identity_gamma']:.4g}, "
            f"β = μ = {state['identity_beta']:.4g}; {verdict}{outside}"
        )
