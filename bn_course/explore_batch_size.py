"""The batch-size explorer of notebook 06: how noisy batch statistics get, and what that costs.

:func:`digit_features` makes the population (the first hidden layer of a network,
computed once in NumPy); :func:`batch_statistics` and :func:`batch_size_curves` are the
pure compute functions (tested on their own); :class:`BatchSizeExplorer` is the slider
layer on top of :class:`bn_course.widgets.Explorer`.

A BN layer in training mode estimates each feature's mean and variance from the
B values of one mini-batch. For batches drawn independently from a population with
mean mu and standard deviation sigma:

* the batch mean is unbiased and its standard error is ``sigma / sqrt(B)``: the
  standardized error ``(mean_B - mu) / sigma`` has standard deviation ``1 / sqrt(B)``;
* the *biased* batch variance (what Keras uses) averages ``(B - 1) / B * sigma**2``,
  so a batch of 2 sees half the population variance on average, and a batch of 1 sees 0;
* the training-mode output ``(x - mean_B) / sqrt(var_B + eps)`` differs from the
  inference-mode output ``(x - mu) / sqrt(sigma**2 + eps)``; the root-mean-square
  difference (the *train/inference gap*) shrinks roughly like ``1 / sqrt(B)`` for large
  B and is about 1 for B = 1, where training mode outputs 0 (i.e. beta) for every sample.

Notebook 06 measures these laws in view with a few lines of NumPy; the functions here
compute the same quantities for the slider (and the tests).

(Inside one epoch batches are drawn *without* replacement from a finite training set,
which makes the standard error smaller by ``sqrt((N - B) / (N - 1))``; the functions here
draw with replacement, the clean i.i.d. case.)
"""


import ipywidgets as widgets
import numpy as np

from bn_course.data import load_digits
from bn_course.numpy_bn import batch_norm, batch_norm_inference
from bn_course.widgets import Explorer, new_figure

__all__ = [
    "digit_features",
    "batch_statistics",
    "batch_size_curves",
    "BatchSizeExplorer",
    "BATCH_SIZES",
]

BATCH_SIZES = tuple(2**k for k in range(9))  # 1, 2, 4, ..., 256
_HIST_EDGES = np.linspace(-3.0, 3.0, 61)
_RATIO_EDGES = np.linspace(0.0, 2.0, 61)


def digit_features(n_features=8, seed=0):
    """The population: ReLU features of all 1,797 digits, shape (1797, n_features), float64.

    ``relu(x @ W)`` where x are the 64 pixel values of every digit of
    :func:`bn_course.data.load_digits` (training and test images, values in [0, 1]),
    centred on the mean digit, and W is a fixed random (64, n_features) matrix with
    He-normal scale ``sqrt(2 / 64)``: what a freshly initialized dense ReLU layer feeds
    the layer after it. About half the values are exact zeros: skewed and non-Gaussian,
    like real activations. Notebook 06 computes the same population in view; same
    ``seed``, same features.
    """
    digits = load_digits()
    pixels = np.concatenate([digits.x_train_flat, digits.x_test_flat]).astype(np.float64)
    pixels = pixels - pixels.mean(axis=0)
    weights = np.random.default_rng(seed).normal(0.0, np.sqrt(2 / 64), size=(64, n_features))
    return np.maximum(pixels @ weights, 0.0)


def batch_statistics(features, batch_size, n_batches=1000, eps=1e-3, seed=0):
    """Statistics of ``n_batches`` random mini-batches drawn from ``features``.

    Args:
        features: (N, D) population, one column per feature.
        batch_size: B >= 1; each batch is B rows drawn with replacement.
        n_batches: how many batches.
        eps: the BN epsilon (Keras default 1e-3).
        seed: fixes the batches.

    Returns a dict:
        mean_error: (n_batches, D) standardized batch-mean errors (mean_B - mu) / sigma.
        std_ratio: (n_batches, D) batch standard deviation / sigma (biased, as Keras).
        se_mean: measured standard deviation of ``mean_error``, averaged over features
            (the standard error of the batch mean in units of sigma).
        se_theory: ``1 / sqrt(B)``.
        var_ratio: mean of var_B / sigma**2 over batches and features.
        var_ratio_theory: ``(B - 1) / B``.
        gap: root-mean-square difference between training-mode BN outputs (batch
            statistics) and inference-mode outputs (population statistics), gamma = 1,
            beta = 0, over all samples of all batches and features.
        batch_size: B.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {features.shape}")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
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

    batch_mean = batches.mean(axis=1)
    batch_var = batches.var(axis=1)
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
    """:func:`batch_statistics` for every batch size in ``sizes``.

    Returns a dict with ``sizes`` (K,) and, each (K,), ``se_mean``, ``se_theory``,
    ``var_ratio``, ``var_ratio_theory``, ``gap``; plus ``mean_hist`` and ``ratio_hist``,
    (K, bins) densities of the standardized batch-mean errors on ``mean_edges``
    (-3 .. 3) and of the std ratios on ``ratio_edges`` (0 .. 2), with those edges.
    """
    sizes = np.asarray(sizes, dtype=int)
    keys = ("se_mean", "se_theory", "var_ratio", "var_ratio_theory", "gap")
    out = {key: np.empty(len(sizes)) for key in keys}
    out["mean_hist"] = np.empty((len(sizes), len(_HIST_EDGES) - 1))
    out["ratio_hist"] = np.empty((len(sizes), len(_RATIO_EDGES) - 1))
    for k, size in enumerate(sizes):
        stats = batch_statistics(features, size, n_batches=n_batches, eps=eps, seed=seed)
        for key in keys:
            out[key][k] = stats[key]
        out["mean_hist"][k] = np.histogram(stats["mean_error"], bins=_HIST_EDGES, density=True)[0]
        out["ratio_hist"][k] = np.histogram(stats["std_ratio"], bins=_RATIO_EDGES, density=True)[0]
    out["sizes"] = sizes
    out["mean_edges"] = _HIST_EDGES
    out["ratio_edges"] = _RATIO_EDGES
    return out


def _batch_size_slider(sizes, value):
    """A batch-size slider over ``sizes`` with the course's slider CSS classes."""
    control = widgets.SelectionSlider(
        options=[(str(size), int(size)) for size in sizes],
        value=int(value),
        description="batch size B",
        continuous_update=True,
        layout={"width": "440px"},
        style={"description_width": "150px"},
    )
    control.add_class("bn-slider")
    control.add_class("bn-slider-batch_size")
    return control


class BatchSizeExplorer(Explorer):
    """A batch-size slider (1, 2, 4, ..., 256) over three panels.

    Left: the distribution of standardized batch means (mean_B - mu) / sigma for the chosen
    B, with the band +-1/sqrt(B). Middle: the distribution of batch std / sigma (1 is the
    population value). Both histograms are scaled to a peak of 1, so their width is what
    changes. Right: the standard error of the batch mean and the train/inference
    gap against B on log-log axes, with the 1/sqrt(B) line and the chosen B marked.
    Everything is computed once (:func:`batch_size_curves`); a move only swaps the data of
    the moving artists and blits them onto a background drawn once. ``explorer.last``
    holds the chosen B's numbers: ``batch_size``, ``se_mean``, ``se_theory``,
    ``var_ratio``, ``var_ratio_theory`` and ``gap`` (as in :func:`batch_statistics`).
    """

    def __init__(self, features=None, sizes=BATCH_SIZES, value=4, n_batches=1000, seed=0):
        features = digit_features() if features is None else features
        self.curves = batch_size_curves(features, sizes=sizes, n_batches=n_batches, seed=seed)
        sliders = {"batch_size": _batch_size_slider(self.curves["sizes"], value)}
        figure, (ax_mean, ax_std, ax_curve) = new_figure(ncols=3, figsize=(12.0, 3.7))
        c = self.curves
        self._mean_steps = ax_mean.stairs(c["mean_hist"][0], c["mean_edges"], fill=True, alpha=0.6,
                                          color="tab:blue", label="batch means")
        self._band = ax_mean.axvspan(-1, 1, color="tab:orange", alpha=0.15, label="±1/√B")
        ax_mean.axvline(0.0, color="black", lw=1.5, label="population mean")
        ax_mean.set(xlim=(-3, 3), ylim=(0, 1.12), xlabel="(batch mean − μ) / σ", ylabel="frequency (peak = 1)",
                    title="Batch means")
        ax_mean.legend(loc="upper left", fontsize=9)

        self._std_steps = ax_std.stairs(c["ratio_hist"][0], c["ratio_edges"], fill=True, alpha=0.6,
                                        color="tab:green", label="batch std")
        ax_std.axvline(1.0, color="black", lw=1.5, label="population std")
        self._std_mean = ax_std.axvline(1.0, color="tab:red", lw=1.5, ls="--", label="√(mean batch var)")
        ax_std.set(xlim=(0, 2), ylim=(0, 1.12), xlabel="batch std / σ", ylabel="frequency (peak = 1)",
                   title="Batch standard deviations")
        ax_std.legend(loc="upper right", fontsize=9)

        sizes = c["sizes"]
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
        super().__init__(sliders, figure, dynamic=dynamic,
                         title="How noisy are the batch statistics?")

    def draw(self, batch_size):
        c = self.curves
        k = int(np.flatnonzero(c["sizes"] == batch_size)[0])
        half = 1.0 / np.sqrt(batch_size)
        self._mean_steps.set_data(c["mean_hist"][k] / c["mean_hist"][k].max())
        self._band.set_x(-half)
        self._band.set_width(2 * half)
        self._std_steps.set_data(c["ratio_hist"][k] / c["ratio_hist"][k].max())
        root = np.sqrt(c["var_ratio"][k])
        self._std_mean.set_xdata([root, root])
        self._marker.set_xdata([batch_size, batch_size])
        self.last = {key: float(c[key][k]) for key in ("se_mean", "se_theory", "var_ratio",
                                                       "var_ratio_theory", "gap")}
        self.last["batch_size"] = int(batch_size)
        last = self.last
        return (
            f"B = {batch_size}: std of the batch mean = {last['se_mean']:.3f} σ "
            f"(theory σ/√B = {last['se_theory']:.3f} σ); "
            f"mean batch variance = {last['var_ratio']:.3f} σ² (theory (B−1)/B = {last['var_ratio_theory']:.3f}); "
            f"train/inference gap (RMS) = {last['gap']:.3f}"
        )
