"""The gamma/beta/epsilon explorer of notebook 02: one feature's histogram before and after BN.

:func:`formula_state` is the pure compute function (tested on its own);
:class:`FormulaExplorer` is the slider layer on top of :class:`bn_course.widgets.Explorer`.

For one feature with batch values x_1..x_m (biased variance, as Keras):

    y = gamma * (x - mu) / sqrt(var + eps) + beta
    mean(y) = beta,   std(y) = |gamma| * sigma / sqrt(sigma**2 + eps)

and the *identity point* gamma = sqrt(var + eps), beta = mu gives y = x exactly for
this batch. (In training mode that holds one batch at a time: fixed gamma and beta give
every batch mean beta, so no setting returns every batch unchanged; see notebook 02.)
"""

import ipywidgets as widgets
import numpy as np

from bn_course.numpy_bn import batch_norm
from bn_course.widgets import Explorer, new_figure, slider

__all__ = ["example_features", "identity_point", "formula_state", "FormulaExplorer", "HIST_EDGES"]

#: Fixed histogram bins shared by every update (so only bar heights change).
HIST_EDGES = np.linspace(-12.0, 12.0, 81)


def example_features(n=1000, seed=0):
    """Three single-feature batches of ``n`` activations, as a dict label -> (n,) float64 array.

    * a bell-shaped feature, mean 3 and standard deviation 2;
    * a ReLU output (a spike at 0 plus a half-bell): BN is affine, so the spike survives;
    * a nearly constant feature (mean 0.5, standard deviation 0.01), where eps matters.
    """
    rng = np.random.default_rng(seed)
    return {
        "bell-shaped (mean 3, std 2)": rng.normal(3.0, 2.0, size=n),
        "ReLU output (spike at 0)": np.maximum(0.0, rng.normal(0.5, 1.5, size=n)),
        "nearly constant (std 0.01)": rng.normal(0.5, 0.01, size=n),
    }


def identity_point(x, eps):
    """The (gamma, beta) for which BN returns its input unchanged: (sqrt(var + eps), mean).

    ``x`` is one feature's batch, shape (m,); the variance is the biased one.
    """
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(x.var() + eps)), float(x.mean())


def formula_state(x, gamma, beta, eps, edges=HIST_EDGES):
    """Batch-normalize one feature and summarize the result for the explorer.

    Args:
        x: one feature's batch, shape (m,).
        gamma, beta: scalars; eps: scalar >= 0.
        edges: histogram bin edges, shape (B + 1,).

    Returns a dict with
        y (m,), mean, var (of x, biased), y_mean, y_std (measured on y),
        predicted_std = |gamma| * sqrt(var) / sqrt(var + eps),
        counts_x, counts_y (B,) histogram counts, outside (values of y off the bins),
        identity_gamma, identity_beta (see :func:`identity_point`),
        max_change = max |y - x|.
    """
    x = np.asarray(x, dtype=np.float64)
    y = batch_norm(x[:, None], [gamma], [beta], eps=eps, axis=-1)[:, 0]
    mean, var = float(x.mean()), float(x.var())
    counts_x, _ = np.histogram(x, bins=edges)
    counts_y, _ = np.histogram(y, bins=edges)
    identity_gamma, identity_beta = identity_point(x, eps)
    return {
        "y": y,
        "mean": mean,
        "var": var,
        "y_mean": float(y.mean()),
        "y_std": float(y.std()),
        "predicted_std": abs(gamma) * np.sqrt(var) / np.sqrt(var + eps),
        "counts_x": counts_x,
        "counts_y": counts_y,
        "outside": int(y.size - counts_y.sum()),
        "identity_gamma": identity_gamma,
        "identity_beta": identity_beta,
        "max_change": float(np.max(np.abs(y - x))),
    }


class FormulaExplorer(Explorer):
    """Sliders for gamma, beta and log10(eps), a feature selector and an identity button.

    The figure shows the feature's histogram before BN (top) and after BN
    (bottom, with the input's outline for comparison). ``explorer.last`` is the
    latest :func:`formula_state` dict plus ``gamma``, ``beta``, ``eps`` and ``feature``.
    Buttons: :meth:`snap_to_identity` and :meth:`reset` (gamma 1, beta 0, as Keras initializes).
    """

    def __init__(self, features=None, edges=HIST_EDGES):
        self.features = features if features is not None else example_features()
        self.edges = np.asarray(edges, dtype=np.float64)
        feature = widgets.Dropdown(
            options=list(self.features), description="feature", layout={"width": "440px"},
            style={"description_width": "150px"},
        )
        feature.add_class("bn-select")
        feature.add_class("bn-select-feature")
        sliders = {
            "feature": feature,
            "gamma": slider("gamma", "γ (scale)", 0.0, 4.0, 0.01, 1.0),
            "beta": slider("beta", "β (shift)", -6.0, 6.0, 0.05, 0.0),
            "log10_eps": slider("log10_eps", "log₁₀ ε", -8.0, 0.0, 0.5, -3.0, readout_format=".1f"),
        }
        figure, (self.ax_x, self.ax_y) = new_figure(nrows=2, figsize=(9.0, 4.4))
        self.ax_y.sharex(self.ax_x)
        zeros = np.zeros(len(self.edges) - 1)
        self.bars_x = self.ax_x.stairs(zeros, self.edges, fill=True, color="0.6", label="x (input)")
        self.ghost = self.ax_y.stairs(zeros, self.edges, color="0.3", linestyle=":", linewidth=1.5,
                                      label="x (input, for comparison)")
        self.bars_y = self.ax_y.stairs(zeros, self.edges, fill=True, color="tab:blue", alpha=0.7,
                                       label="y = γ·x̂ + β")
        self.mean_line = self.ax_y.axvline(0.0, color="tab:red", linewidth=2.5, label="mean of y")
        n = len(next(iter(self.features.values())))
        self.ax_x.set_title(f"before BN: one feature over a batch of {n}", fontsize=13)
        self.ax_y.set_title("after BN (heights rescale to fit)", fontsize=13)
        for ax in (self.ax_x, self.ax_y):
            ax.set_ylabel("count", fontsize=12)
            ax.set_yticks([])  # counts are only compared by eye; no tick labels keeps redraws fast
            ax.grid(False, axis="y")
            ax.legend(loc="upper left", fontsize=12)
            ax.tick_params(labelsize=12)
        self.ax_y.set_xlabel("activation value", fontsize=12)
        self.ax_y.set_xlim(self.edges[0], self.edges[-1])
        # Blitting: the axes, labels and legends are drawn once and kept as a background
        # (no y tick labels, so rescaling the counts changes no text); every update redraws
        # only these artists. Text is what makes a full matplotlib draw slow (~50-80 ms),
        # against a few ms for this.
        dynamic = (self.bars_x, self.ghost, self.bars_y, self.mean_line)
        super().__init__(sliders, figure, dynamic=dynamic,
                         title="γ, β and ε: one feature before and after batch normalization")
        self.identity_button = widgets.Button(description="Snap to identity: γ = √(σ²+ε), β = μ",
                                              layout={"width": "300px"})
        self.identity_button.add_class("bn-button")
        self.identity_button.add_class("bn-button-identity")
        self.reset_button = widgets.Button(description="Reset: γ = 1, β = 0", layout={"width": "160px"})
        self.reset_button.add_class("bn-button")
        self.reset_button.add_class("bn-button-reset")
        self.identity_button.on_click(lambda _button: self.snap_to_identity())
        self.reset_button.on_click(lambda _button: self.reset())
        children = list(self.widget.children)
        position = children.index(self.live.image)
        children.insert(position, widgets.HBox([self.identity_button, self.reset_button]))
        self.widget.children = children
        self._holding = False

    def _on_change(self, change):
        if not self._holding:
            super()._on_change(change)

    def _set(self, **values):
        """Set several sliders, redrawing once."""
        self._holding = True
        try:
            for name, value in values.items():
                self.sliders[name].value = value
        finally:
            self._holding = False
        self.redraw()

    def snap_to_identity(self):
        """Move gamma and beta to the identity point of the current feature and eps."""
        values = self.values()
        gamma, beta = identity_point(self.features[values["feature"]], 10.0 ** values["log10_eps"])
        self._set(gamma=gamma, beta=beta)

    def reset(self):
        self._set(gamma=1.0, beta=0.0)

    def draw(self, feature, gamma, beta, log10_eps):
        eps = 10.0 ** log10_eps
        x = self.features[feature]
        state = formula_state(x, gamma, beta, eps, self.edges)
        self.bars_x.set_data(state["counts_x"])
        self.ghost.set_data(state["counts_x"])
        self.bars_y.set_data(state["counts_y"])
        self.mean_line.set_xdata([state["y_mean"]])
        self.ax_x.set_ylim(0, 1.1 * max(1, state["counts_x"].max()))
        self.ax_y.set_ylim(0, 1.1 * max(1, state["counts_x"].max(), state["counts_y"].max()))
        self.last = {**state, "gamma": gamma, "beta": beta, "eps": eps, "feature": feature}
        at_identity = state["max_change"] <= 1e-9 * (1.0 + np.max(np.abs(x)))
        verdict = ("<b>identity: y equals x</b> ✓" if at_identity
                   else f"max |y − x| = {state['max_change']:.3g}")
        outside = (f"<br>{state['outside']} of {x.size} values of y fall outside the plotted range."
                   if state["outside"] else "")
        return (
            f"x: μ = {state['mean']:.3g}, σ² = {state['var']:.3g} (σ = {np.sqrt(state['var']):.3g}); "
            f"ε = {eps:.1e}<br>"
            f"y: mean = {state['y_mean']:.3f} (= β), std = {state['y_std']:.3f} "
            f"(= γ·σ/√(σ²+ε) = {state['predicted_std']:.3f})<br>"
            f"identity point: γ = √(σ²+ε) = {state['identity_gamma']:.4g}, β = μ = {state['identity_beta']:.4g}; "
            f"{verdict}{outside}"
        )
