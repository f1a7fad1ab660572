"""The init-scale and depth explorer of notebook 01: a deep sigmoid/tanh MLP, layer by layer.

Notebook 01 builds and measures its networks in Keras, in view; this module is the explorer's
NumPy copy of the same kind of network, fast enough to recompute on every slider move.
:func:`depth_statistics` is the pure compute function (tested on its own);
:class:`DepthExplorer` is the slider layer on top of :class:`bn_course.widgets.Explorer`.

The network (no biases, so only the weight scale matters):

    h_0 = x                                      (N, 64) standardized digit pixels
    z_l = h_{l-1} @ (init_scale * V_l)           V_l ~ N(0, 1 / fan_in): LeCun normal, fixed by ``seed``
    z_l <- batch_norm(z_l, gamma=1, beta=0)      only with ``bn=True`` (batch statistics, eps=1e-3)
    h_l = act(z_l)                               tanh or sigmoid, l = 1..depth
    logits = h_depth @ V_out                     V_out ~ N(0, 1 / width), never rescaled
    loss = mean softmax cross-entropy over the batch

``init_scale=1`` is LeCun's normal initialization (Keras ``lecun_normal`` without its
truncation); ``init_scale=8`` for width 64 is the naive ``RandomNormal(stddev=1.0)``.

A unit is *saturated* when its activation sits on a flat part of its curve, where the
derivative is below a few percent of its maximum:

    tanh:     |h| > 0.99                 (tanh'(z) = 1 - h**2 < 0.0199: 1.99 % of its max 1)
    sigmoid:  h < 0.01  or  h > 0.99     (sigmoid'(z) = h (1 - h) < 0.0099: 3.96 % of its max 0.25)
"""

import contextlib
from dataclasses import dataclass
from time import perf_counter

import ipywidgets as widgets
import numpy as np

from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward
from bn_course.widgets import Explorer, new_figure, slider

__all__ = [
    "ACTIVATIONS",
    "SATURATION_THRESHOLD",
    "activate",
    "saturated_mask",
    "saturated_share",
    "standardize",
    "digits_batch",
    "base_weights",
    "DepthStats",
    "depth_statistics",
    "DepthExplorer",
    "measure_latency",
]

ACTIVATIONS = ("tanh", "sigmoid")
#: A unit counts as saturated when its activation is within this of the curve's upper limit
#: (tanh: |h| > 0.99; sigmoid: h > 0.99 or h < 0.01).
SATURATION_THRESHOLD = 0.99
_SIGMOID_LOW = 0.01  # written out: 1 - 0.99 is 0.010000000000000009 in floating point
#: Bins of the per-layer activation histograms, over each activation's full output range.
HIST_BINS = 40
_RANGE = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


_BLAS = []


def _one_blas_thread():
    """A context running NumPy's BLAS on one thread (or a no-op without threadpoolctl).

    The matrices here are tiny (256 x 64); several BLAS threads only fight over the
    cores, which made an update 3-5 times slower on a busy 2-core machine.
    threadpoolctl comes with scikit-learn, which the course's data set needs anyway.
    """
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - scikit-learn always brings it
            _BLAS.append(None)
    controller = _BLAS[0]
    return controller.limit(limits=1, user_api="blas") if controller else contextlib.nullcontext()


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def activate(z, activation):
    """``tanh(z)`` or ``sigmoid(z) = 1 / (1 + exp(-z))`` (overflow-safe), same shape as ``z``."""
    _check_activation(activation)
    z = np.asarray(z, dtype=np.float64)
    if activation == "tanh":
        return np.tanh(z)
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # the same function, without exp overflow


def _derivative_from_output(h, activation):
    """act'(z) written with h = act(z): tanh' = 1 - h**2, sigmoid' = h * (1 - h)."""
    return 1.0 - h * h if activation == "tanh" else h * (1.0 - h)


def saturated_mask(h, activation):
    """Boolean array, shape of ``h``: True where an activation is saturated (see the module docstring)."""
    _check_activation(activation)
    h = np.asarray(h, dtype=np.float64)
    if activation == "tanh":
        return np.abs(h) > SATURATION_THRESHOLD
    return (h > SATURATION_THRESHOLD) | (h < _SIGMOID_LOW)


def saturated_share(h, activation):
    """Share (0..1) of all entries of the activation array ``h`` that are saturated."""
    return float(np.mean(saturated_mask(h, activation)))


def standardize(x, reference=None):
    """Per-pixel standardization ``(x - mean) / std`` with the statistics of ``reference`` (default ``x``).

    ``x`` is (N, D). Pixels that are constant in ``reference`` (std 0, e.g. the
    digits' always-blank corners) are only centred, not divided.
    """
    x = np.asarray(x, dtype=np.float64)
    reference = x if reference is None else np.asarray(reference, dtype=np.float64)
    mean = reference.mean(axis=0)
    std = reference.std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1.0)


def digits_batch(n=256, seed=0):
    """A fixed batch of ``n`` training digits: ``(x, y)`` with x (n, 64) standardized, y (n,) labels.

    The pixels are standardized with the whole training set's per-pixel statistics,
    so the *input* is well scaled and whatever goes wrong happens inside the network.
    """
    from bn_course.data import load_digits

    digits = load_digits()
    x_train = digits.x_train_flat
    rng = np.random.default_rng(seed)
    index = rng.choice(len(x_train), size=n, replace=False)
    return standardize(x_train[index], reference=x_train), digits.y_train[index]


def base_weights(depth, width=64, input_dim=64, n_classes=10, seed=0):
    """LeCun-normal weights ``V_l ~ N(0, 1 / fan_in)`` for ``depth`` hidden layers and the readout.

    Returns ``(hidden, readout)``: a list of ``depth`` arrays (the first (input_dim,
    width), the others (width, width)) and one (width, n_classes) array. Layer l's
    weights depend only on ``seed`` and l, so a deeper network extends a shallower one.
    """
    rng = np.random.default_rng(seed)
    readout = rng.normal(0.0, 1.0 / np.sqrt(width), size=(width, n_classes))
    hidden = []
    for layer in range(depth):
        fan_in = input_dim if layer == 0 else width
        hidden.append(rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, width)))
    return hidden, readout


@dataclass(frozen=True)
class DepthStats:
    """Per-layer statistics of one forward and backward pass (L = depth, layer 1 nearest the input).

    pre: L arrays (N, width), the input of each nonlinearity (after BN when ``bn``).
    post: L arrays (N, width), the activations h_l.
    mean, std: (L,) mean and (biased) std of each layer's activations, over all N * width values.
    saturated: (L,) share of saturated units per layer (:func:`saturated_share`).
    grads: L arrays, dL/dW_l, the loss gradient with respect to layer l's weight
        matrix W_l = init_scale * V_l (same shapes as the weights).
    grad_std: (L,) standard deviation of the entries of each dL/dW_l.
    histograms: (L, HIST_BINS) share of each layer's activations in each bin
        (bins span the activation's range, see :data:`HIST_BINS`).
    loss: the mean cross-entropy of the batch.
    """

    activation: str
    depth: int
    init_scale: float
    bn: bool
    pre: list
    post: list
    mean: np.ndarray
    std: np.ndarray
    saturated: np.ndarray
    grads: list
    grad_std: np.ndarray
    histograms: np.ndarray
    loss: float

    @property
    def gradient_ratio(self):
        """grad_std of the first layer divided by that of the last: << 1 means vanishing towards the input."""
        return float(self.grad_std[0] / self.grad_std[-1])


def depth_statistics(x, y, depth=10, init_scale=1.0, activation="tanh", bn=False, weights=None,
                     width=64, seed=0, eps=1e-3):
    """Forward and backward pass of the module's deep MLP on one batch; returns :class:`DepthStats`.

    Args:
        x: (N, D) inputs (use :func:`digits_batch`); y: (N,) integer labels.
        depth: number of hidden layers, >= 1.
        init_scale: multiplies every hidden weight matrix (1 = LeCun normal).
        activation: "tanh" or "sigmoid".
        bn: normalize each pre-activation with its batch statistics (gamma 1, beta 0,
            biased variance, ``eps``) before the nonlinearity, as in Dense -> BN -> act.
        weights: ``(hidden, readout)`` from :func:`base_weights` with at least ``depth``
            hidden layers (pass them to avoid redrawing random numbers); made from
            ``width`` and ``seed`` when None.
    The backward pass uses :func:`bn_course.numpy_bn.batch_norm_backward` through the BN steps.
    """
    _check_activation(activation)
    if int(depth) < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    depth = int(depth)
    if not init_scale > 0:
        raise ValueError(f"init_scale must be positive, got {init_scale}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if weights is None:
        weights = base_weights(depth, width=width, input_dim=x.shape[1], n_classes=int(y.max()) + 1, seed=seed)
    hidden, readout = weights
    if len(hidden) < depth:
        raise ValueError(f"weights hold {len(hidden)} hidden layers, fewer than depth={depth}")
    with _one_blas_thread():
        return _depth_statistics(x, y, hidden[:depth], readout, init_scale, activation, bool(bn), eps)


def _depth_statistics(x, y, hidden, readout, init_scale, activation, bn, eps):
    depth = len(hidden)
    kernels = [init_scale * w for w in hidden]

    inputs, pre, post, caches = [], [], [], []
    h = x
    for kernel in kernels:
        inputs.append(h)
        z = h @ kernel
        cache = None
        if bn:
            units = z.shape[1]
            z, cache = batch_norm_forward(z, np.ones(units), np.zeros(units), eps=eps)
        h = activate(z, activation)
        pre.append(z)
        post.append(h)
        caches.append(cache)

    logits = h @ readout
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    n = len(y)
    loss = float(-log_p[np.arange(n), y].mean())
    dlogits = np.exp(log_p)
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n

    grads = [None] * depth
    dh = dlogits @ readout.T
    for layer in reversed(range(depth)):
        dz = dh * _derivative_from_output(post[layer], activation)
        if bn:
            dz = batch_norm_backward(dz, caches[layer])[0]
        grads[layer] = inputs[layer].T @ dz
        if layer:
            dh = dz @ kernels[layer].T

    histograms = np.stack([_histogram(h_l, activation) for h_l in post])
    means = np.array([float(np.mean(h_l)) for h_l in post])
    stds = np.array([float(np.std(h_l)) for h_l in post])
    saturated = np.array([saturated_share(h_l, activation) for h_l in post])
    grad_std = np.array([float(np.std(g)) for g in grads])
    return DepthStats(activation, depth, float(init_scale), bn, pre, post, means, stds, saturated,
                      grads, grad_std, histograms, loss)


def _histogram(h, activation):
    """(HIST_BINS,) share of the entries of ``h`` in each of the equal bins over the activation's range."""
    low, high = _RANGE[activation]
    index = np.clip(((h.ravel() - low) * (HIST_BINS / (high - low))).astype(np.intp), 0, HIST_BINS - 1)
    return np.bincount(index, minlength=HIST_BINS) / h.size


#: Share per histogram bin shown darkest in the explorer (an even spread gives 1/40 = 0.025).
HISTOGRAM_VMAX = 0.12
#: Relative gradient std shown on the explorer's log axis (values outside are pinned to its edges).
GRADIENT_RANGE = (1e-12, 1e4)


class DepthExplorer(Explorer):
    """Init-scale and depth sliders, an activation switch and a BN checkbox for a deep MLP.

    Three panels share the layer axis (layer 1, next to the input, at the top):
    the histogram of each layer's activations on the batch (colour = share of the layer's
    values in each of the 40 bins; 1/40 = 2.5 % if spread evenly, darkest at
    :data:`HISTOGRAM_VMAX` or more),
    the share of saturated units per layer, and each layer's gradient spread
    ``std(dL/dW_l)`` relative to the last layer's (log scale: a value of 1e-6 at
    layer 1 means the first layer gets a million times smaller gradients).
    ``explorer.last`` is the latest :class:`DepthStats`.

    Built once with base weights for ``max_depth`` layers; an update rescales them
    (no new random numbers) and blits only the changing artists (image, bars, line) over
    the static background (:class:`bn_course.widgets.LiveFigure`), which is redrawn only
    when the activation, and with it the histogram's axis, changes.
    """

    def __init__(self, x, y, max_depth=20, width=64, seed=0, depth=10, init_scale=1.0, activation="tanh",
                 bn=False):
        self.x, self.y = np.asarray(x, dtype=np.float64), np.asarray(y)
        self.max_depth = int(max_depth)
        self.weights = base_weights(self.max_depth, width=width, input_dim=self.x.shape[1],
                                    n_classes=int(self.y.max()) + 1, seed=seed)
        activation_choice = widgets.ToggleButtons(options=list(ACTIVATIONS), value=activation,
                                                  description="activation", style={"description_width": "150px"})
        activation_choice.add_class("bn-select")
        activation_choice.add_class("bn-select-activation")
        bn_box = widgets.Checkbox(value=bn, description="batch normalization before each activation",
                                  indent=False, layout={"width": "440px"})
        bn_box.add_class("bn-checkbox")
        bn_box.add_class("bn-checkbox-bn")
        sliders = {
            "init_scale": slider("init_scale", "init scale (× LeCun)", 0.1, 10.0, 0.1, init_scale,
                                 readout_format=".1f"),
            "depth": slider("depth", "hidden layers", 1, self.max_depth, 1, depth, integer=True),
            "activation": activation_choice,
            "bn": bn_box,
        }
        figure, _ = new_figure()
        figure.clear()
        figure.set_size_inches(10.5, 4.6)
        self.ax_hist, self.ax_sat, self.ax_grad = figure.subplots(1, 3, width_ratios=[1.5, 1.0, 1.0])
        layers = np.arange(1, self.max_depth + 1)
        self.image = self.ax_hist.imshow(np.zeros((self.max_depth, HIST_BINS)), aspect="auto", cmap="Blues",
                                         vmin=0.0, vmax=HISTOGRAM_VMAX, interpolation="nearest",
                                         extent=(-1.0, 1.0, self.max_depth + 0.5, 0.5))
        self.bars = self.ax_sat.barh(layers, np.zeros(self.max_depth), height=0.7, color="tab:red")
        (self.grad_line,) = self.ax_grad.plot(np.ones(self.max_depth), layers, "o-", color="tab:blue",
                                              markersize=5, linewidth=2)
        self.ax_hist.set_ylabel("hidden layer (1 = next to the input)", fontsize=12)
        self.ax_hist.set_title("activation histogram per layer", fontsize=12)
        self.ax_sat.set_title("share of saturated units", fontsize=12)
        self.ax_sat.set_xlim(0.0, 1.0)
        self.ax_sat.set_xticks([0.0, 0.5, 1.0], ["0", "50%", "100%"])
        self.ax_grad.set_title("gradient spread ÷ last layer's", fontsize=12)
        self.ax_grad.set_xscale("log")
        self.ax_grad.set_xlim(*GRADIENT_RANGE)
        self.ax_grad.axvline(1.0, color="0.4", linewidth=1, linestyle=":")
        self.ax_grad.set_xlabel("std(dL/dW_l) / std(dL/dW_last)  (log)", fontsize=11)
        self.ax_sat.set_xlabel("|tanh| > 0.99, or sigmoid < 0.01 or > 0.99", fontsize=10)
        for ax in (self.ax_hist, self.ax_sat, self.ax_grad):
            ax.set_ylim(self.max_depth + 0.5, 0.5)
            ax.tick_params(labelsize=11)
            ax.grid(False, axis="y")
        for ax in (self.ax_sat, self.ax_grad):
            ax.set_yticks(layers[::2] if self.max_depth > 10 else layers)
        self.ax_hist.set_yticks(layers[::2] if self.max_depth > 10 else layers)
        self._static_activation = None
        super().__init__(sliders, figure, title="Activations and gradients, layer by layer, at initialization",
                         dynamic=(self.image, *self.bars, self.grad_line))

    def _set_static(self, activation):
        """The parts of the figure that depend only on the activation (its output range)."""
        low, high = _RANGE[activation]
        self.image.set_extent((low, high, self.max_depth + 0.5, 0.5))
        self.ax_hist.set_xlim(low, high)
        self.ax_hist.set_xticks(np.linspace(low, high, 5))
        self.ax_hist.set_xlabel(f"{activation} activation value", fontsize=12)

    def draw(self, init_scale, depth, activation, bn):
        if activation != self._static_activation:  # new axis range: redraw the static background once
            self._set_static(activation)
            self.live.invalidate()
            self._static_activation = activation
        depth = min(int(depth), self.max_depth)
        stats = depth_statistics(self.x, self.y, depth=depth, init_scale=init_scale, activation=activation,
                                 bn=bn, weights=self.weights)
        image = np.full((self.max_depth, HIST_BINS), np.nan)
        image[:depth] = stats.histograms
        self.image.set_data(np.ma.masked_invalid(image))
        for layer, bar in enumerate(self.bars):
            bar.set_width(stats.saturated[layer] if layer < depth else 0.0)
        relative = np.clip(stats.grad_std / stats.grad_std[-1], *GRADIENT_RANGE)
        shown = np.full(self.max_depth, np.nan)
        shown[:depth] = relative
        self.grad_line.set_xdata(shown)
        self.last = stats
        ratio = stats.gradient_ratio
        return (
            f"{depth} {activation} layers, weights {init_scale:.1f} × LeCun, "
            f"{'with' if bn else 'without'} BN. Loss on the batch: {stats.loss:.2f} (ln 10 = 2.30 is chance).<br>"
            f"Saturated units: {100 * stats.saturated[0]:.0f} % in layer 1, "
            f"{100 * stats.saturated[-1]:.0f} % in layer {depth}. "
            f"Activation std: {stats.std[0]:.2g} in layer 1, {stats.std[-1]:.2g} in layer {depth}.<br>"
            f"Gradient spread, first ÷ last layer: {ratio:.2g}"
            + (" (vanishing towards the input)" if ratio < 1e-2 else
               " (exploding towards the input)" if ratio > 1e2 else "")
        )


def measure_latency(explorer, moves=50, seed=0):
    """Move the explorer's ``init_scale`` and ``depth`` sliders ``moves`` times; return the update times (s).

    Each move sets one slider to a new random value, which triggers one full
    update (compute + redraw + PNG). Returns a (moves,) array of wall-clock seconds.
    """
    rng = np.random.default_rng(seed)
    scale, depth = explorer.sliders["init_scale"], explorer.sliders["depth"]
    times = np.empty(moves)
    for i in range(moves):
        control = scale if i % 2 == 0 else depth
        if control is scale:
            new = round(float(rng.uniform(scale.min, scale.max)), 1)
            new = new if new != scale.value else round(scale.min + scale.max - new, 1)
        else:
            new = int(rng.integers(depth.min, depth.max + 1))
            new = new if new != depth.value else (depth.min if new != depth.min else depth.max)
        start = perf_counter()
        control.value = new
        times[i] = perf_counter() - start
    return times
