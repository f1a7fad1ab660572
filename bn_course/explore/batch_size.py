"""The batch-size explorer of notebook 06: how noisy batch statistics get, and what that costs.

A BN layer in training mode estimates each feature's mean and variance from the B values of one
mini-batch. For batches drawn independently from a population with mean mu and std sigma:

* the batch mean's standard error is ``sigma / sqrt(B)``;
* the *biased* batch variance (what Keras uses) averages ``(B - 1) / B * sigma**2``;
* the RMS difference between training-mode ``(x - mean_B) / sqrt(var_B + eps)`` and inference-mode
  ``(x - mu) / sqrt(sigma**2 + eps)`` outputs (the *train/inference gap*) shrinks roughly like
  ``1 / sqrt(B)`` and is about 1 for B = 1, where training mode outputs 0 for every sample.

Batches are drawn with replacement; drawn without (as in an epoch), the standard error is
multiplied by sqrt((N - B) / (N - 1)).
"""

import ipywidgets as widgets
import numpy as np

from bn_course.data import load_digits, standardize
from bn_course.numpy_bn import batch_norm, batch_norm_inference
from bn_course.validation import check_int
from bn_course.explore.widgets import Explorer, control, new_figure

__all__ = ["digit_features", "batch_statistics", "batch_size_curves", "BatchSizeExplorer", "BATCH_SIZES"]

BATCH_SIZES = tuple(2**k for k in range(9))  # 1, 2, 4, ..., 256
_MEAN_EDGES, _RATIO_EDGES = np.linspace(-3.0, 3.0, 61), np.linspace(0.0, 2.0, 61)
_NUMBERS = ("se_mean", "se_theory", "var_ratio", "var_ratio_theory", "gap")


def digit_features(n_features=8, seed=0):
    """The population of notebook 06: ``relu(x @ W)``, shape (1797, n_features), float64.

    x: the 64 pixels of all 1,797 digits centred on the mean digit; W: a fixed random (64, n_features)
    He-normal matrix (std sqrt(2 / 64)), as a fresh dense ReLU layer. About half the values are zeros.
    """
    digits = load_digits()
    pixels = standardize(np.concatenate([digits.x_train_flat, digits.x_test_flat]), scale=False)
    weights = np.random.default_rng(seed).normal(0.0, np.sqrt(2 / 64), size=(64, n_features))
    return np.maximum(pixels @ weights, 0.0)


def batch_statistics(features, batch_size, n_batches=1000, eps=1e-3, seed=0):
    """Statistics of ``n_batches`` mini-batches of B = ``batch_size`` >= 1 rows drawn with replacement from
    ``features`` (N, D), BN epsilon ``eps``. A dict:
        mean_error, std_ratio: (n_batches, D), (mean_B - mu) / sigma and the biased batch std / sigma.
        se_mean: std of ``mean_error`` averaged over features; se_theory: 1 / sqrt(B).
        var_ratio: mean of var_B / sigma**2; var_ratio_theory: (B - 1) / B.
        gap: RMS difference of training-mode (batch statistics) and inference-mode (population statistics)
            BN outputs, gamma = 1, beta = 0, over all samples of all batches; batch_size: B.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {features.shape}")
    batch_size = check_int(batch_size, "batch_size")
    n, d = features.shape
    mu, var = features.mean(axis=0), features.var(axis=0)
    sigma = np.sqrt(var)
    rng = np.random.default_rng([seed, batch_size])
    batches = features[rng.integers(0, n, size=(n_batches, batch_size))]   # (n_batches, B, D)
    # BN over axis 0 of (B, n_batches * D): each column is one feature of one batch.
    columns = batches.transpose(1, 0, 2).reshape(batch_size, n_batches * d)
    ones, zeros = np.ones(n_batches * d), np.zeros(n_batches * d)
    trained = batch_norm(columns, ones, zeros, eps=eps)
    inferred = batch_norm_inference(columns, ones, zeros, np.tile(mu, n_batches), np.tile(var, n_batches), eps=eps)
    batch_mean, batch_var = batches.mean(axis=1), batches.var(axis=1)
    mean_error = (batch_mean - mu) / sigma
    return {
        "mean_error": mean_error,
        "std_ratio": np.sqrt(batch_var) / sigma,
        "se_mean": float(mean_error.std(axis=0).mean()),
        "se_theory": 1.0 / np.sqrt(batch_size),
        "var_ratio": float((batch_var / var).mean()),
        "var_ratio_theory": (batch_size - 1) / batch_size,
        "gap": float(np.sqrt(np.mean((trained - inferred) ** 2))),
        "batch_size": batch_size,
    }


def batch_size_curves(features, sizes=BATCH_SIZES, n_batches=1000, eps=1e-3, seed=0):
    """:func:`batch_statistics` for every batch size in ``sizes`` (K,): a dict with ``sizes`` and, each (K,),
    ``se_mean``, ``se_theory``, ``var_ratio``, ``var_ratio_theory``, ``gap``; plus (K, bins) densities
    ``mean_hist`` of the mean errors on ``mean_edges`` (-3 .. 3), ``ratio_hist`` of the std ratios on ``ratio_edges``
    (0 .. 2)."""
    stats = [batch_statistics(features, size, n_batches=n_batches, eps=eps, seed=seed) for size in sizes]
    out = {key: np.array([s[key] for s in stats]) for key in _NUMBERS}
    out["mean_hist"] = np.array([np.histogram(s["mean_error"], bins=_MEAN_EDGES, density=True)[0] for s in stats])
    out["ratio_hist"] = np.array([np.histogram(s["std_ratio"], bins=_RATIO_EDGES, density=True)[0] for s in stats])
    return {**out, "sizes": np.asarray(sizes, dtype=int), "mean_edges": _MEAN_EDGES, "ratio_edges": _RATIO_EDGES}


class BatchSizeExplorer(Explorer):
    """A batch-size slider (1, 2, 4, ..., 256) over three panels, all computed once (:func:`batch_size_curves`).

    Left: the standardized batch means for the chosen B, with the band +-1/sqrt(B); middle: batch
    std / sigma (both histograms scaled to a peak of 1, so their width is what changes); right: the
    standard error and the train/inference gap against B (log-log) with 1/sqrt(B) and B marked.
    ``explorer.last``: ``batch_size`` and the numbers of :func:`batch_statistics` for that B.
    """

    def __init__(self, features=None, value=4):
        self.curves = c = batch_size_curves(digit_features() if features is None else features)
        sizes = c["sizes"]
        sliders = {"batch_size": control(widgets.SelectionSlider, "slider", "batch_size", description="batch size B",
                                         options=[(str(size), int(size)) for size in sizes], value=int(value),
                                         continuous_update=True)}
        figure, (ax_mean, ax_std, ax_curve) = new_figure(ncols=3, figsize=(12.0, 3.7))
        self._mean_steps = ax_mean.stairs(c["mean_hist"][0], c["mean_edges"], fill=True, alpha=0.6,
                                          color="tab:blue", label="batch means")
        self._band = ax_mean.axvspan(-1, 1, color="tab:orange", alpha=0.15, label="±1/√B")
        ax_mean.axvline(0.0, color="black", lw=1.5, label="population mean")
        ax_mean.set(xlim=(-3, 3), xlabel="(batch mean − μ) / σ", title="Batch means")
        self._std_steps = ax_std.stairs(c["ratio_hist"][0], c["ratio_edges"], fill=True, alpha=0.6,
                                        color="tab:green", label="batch std")
        ax_std.axvline(1.0, color="black", lw=1.5, label="population std")
        self._std_mean = ax_std.axvline(1.0, color="tab:red", lw=1.5, ls="--", label="√(mean batch var)")
        ax_std.set(xlim=(0, 2), xlabel="batch std / σ", title="Batch standard deviations")
        for ax, corner in ((ax_mean, "upper left"), (ax_std, "upper right")):
            ax.set(ylim=(0, 1.12), ylabel="frequency (peak = 1)")
            ax.legend(loc=corner, fontsize=9)
        ax_curve.loglog(sizes, c["se_theory"], color="black", lw=1, ls="--", label="1/√B")
        ax_curve.loglog(sizes, c["se_mean"], "o", color="tab:blue", label="std of batch mean / σ")
        ax_curve.loglog(sizes, c["gap"], "s", color="tab:purple", label="train/inference gap")
        self._marker = ax_curve.axvline(sizes[0], color="tab:orange", lw=2)
        ax_curve.set(xlabel="batch size B", ylabel="in units of σ", title="Noise shrinks like 1/√B",
                     xlim=(0.8, sizes[-1] * 1.25))
        ax_curve.set_xticks(sizes, [str(s) for s in sizes])
        ax_curve.minorticks_off()
        ax_curve.legend(loc="lower left", fontsize=9)
        dynamic = [self._mean_steps, self._band, self._std_steps, self._std_mean, self._marker]
        super().__init__(sliders, figure, dynamic=dynamic, title="How noisy are the batch statistics?")

    def draw(self, batch_size):
        c = self.curves
        k = int(np.flatnonzero(c["sizes"] == batch_size)[0])
        half, root = 1.0 / np.sqrt(batch_size), np.sqrt(c["var_ratio"][k])
        self._mean_steps.set_data(c["mean_hist"][k] / c["mean_hist"][k].max())
        self._band.set_x(-half)
        self._band.set_width(2 * half)
        self._std_steps.set_data(c["ratio_hist"][k] / c["ratio_hist"][k].max())
        self._std_mean.set_xdata([root, root])
        self._marker.set_xdata([batch_size, batch_size])
        last = self.last = {"batch_size": int(batch_size), **{key: float(c[key][k]) for key in _NUMBERS}}
        return (
            f"B = {batch_size}: std of the batch mean = {last['se_mean']:.3f} σ "
            f"(theory σ/√B = {last['se_theory']:.3f} σ); "
            f"mean batch variance = {last['var_ratio']:.3f} σ² (theory (B−1)/B = {last['var_ratio_theory']:.3f}); "
            f"train/inference gap (RMS) = {last['gap']:.3f}"
        )
