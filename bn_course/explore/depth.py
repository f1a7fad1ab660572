"""Notebook 01's explorer: a NumPy copy of its deep sigmoid/tanh MLP, fast enough for every slider move.

:func:`depth_statistics` computes one forward and backward pass; :class:`DepthExplorer` shows it, layer by layer.

    h_0 = x                              (N, D) standardized inputs
    z_l = h_{l-1} @ (init_scale * V_l)   V_l ~ N(0, 1 / fan_in): LeCun normal (untruncated), no biases
    z_l <- batch_norm(z_l, 1, 0, eps)    only with bn=True (batch statistics, biased variance)
    h_l = act(z_l)                       tanh or sigmoid, l = 1..depth
    loss = mean softmax cross-entropy of logits = h_depth @ V_out, V_out ~ N(0, 1 / width), never rescaled

(``init_scale=8`` for width 64 is ``RandomNormal(stddev=1.0)``.) A value is *saturated* where the slope
is below a few percent of its maximum (strict inequalities):

    tanh:     |h| > 0.99               (1 - h**2 < 0.0199: 1.99 % of its max 1)
    sigmoid:  h < 0.01  or  h > 0.99   (h (1 - h) < 0.0099: 3.96 % of its max 0.25)
"""

from collections import namedtuple

import ipywidgets as widgets
import numpy as np

from bn_course.env import one_blas_thread
from bn_course.numpy_bn import batch_norm_backward, batch_norm_forward
from bn_course.validation import check_int
from bn_course.explore.widgets import Explorer, control, new_figure, slider

__all__ = ["RANGES", "SATURATION_THRESHOLD", "HIST_BINS", "activate", "saturated_share", "base_weights",
           "DepthStats", "depth_statistics", "DepthExplorer"]

SATURATION_THRESHOLD = 0.99
HIST_BINS = 40  # bins of the per-layer histograms, over the activation's whole output range
RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}  # the activations and their output ranges
HISTOGRAM_VMAX = 0.12  # share per bin shown darkest (an even spread gives 1/40 = 0.025)
GRADIENT_RANGE = (1e-12, 1e4)  # relative gradient spread shown on the log axis (outside: pinned to its edges)


def _check_activation(activation):
    if activation not in RANGES:
        raise ValueError(f"activation must be one of {tuple(RANGES)}, got {activation!r}")


def activate(z, activation):
    """``tanh(z)`` or ``sigmoid(z) = 1 / (1 + exp(-z))`` (overflow-safe), same shape as ``z``."""
    _check_activation(activation)
    z = np.asarray(z, dtype=np.float64)
    return np.tanh(z) if activation == "tanh" else 0.5 * (1.0 + np.tanh(0.5 * z))


def saturated_share(h, activation):
    """Share (0..1) of all entries of the activation array ``h`` that are saturated (module docstring)."""
    _check_activation(activation)
    h = np.asarray(h, dtype=np.float64)
    if activation == "tanh":
        saturated = np.abs(h) > SATURATION_THRESHOLD
    else:
        saturated = (h < 0.01) | (h > SATURATION_THRESHOLD)
    return float(np.mean(saturated))


def base_weights(depth, width=64, input_dim=64, n_classes=10, seed=0):
    """LeCun-normal ``(hidden, readout)``: ``depth`` arrays (input_dim, width) then (width, width), and one
    (width, n_classes). Layer l depends only on ``seed`` and l, so a deeper network extends a shallower one."""
    rng = np.random.default_rng(seed)
    readout = rng.normal(0.0, 1.0 / np.sqrt(width), size=(width, n_classes))
    fan_ins = [input_dim] + [width] * (depth - 1)
    return [rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, width)) for fan_in in fan_ins], readout


class DepthStats(namedtuple("DepthStats", ["activation", "depth", "init_scale", "bn", "pre", "post", "mean", "std",
                                           "saturated", "grads", "grad_std", "histograms", "loss"])):
    """One forward and backward pass, L = depth layers (layer 1 next to the input), and its arguments.

    pre, post: L arrays (N, width), each nonlinearity's input (after BN with ``bn``) and output h_l.
    mean, std, saturated: (L,) mean, biased std and saturated share of each layer's N * width activations.
    grads: L arrays dL/dW_l for W_l = init_scale * V_l; grad_std: (L,) the std of each one's entries.
    histograms: (L, HIST_BINS) share of each layer's activations per bin; loss: the batch's cross-entropy.
    """

    @property
    def gradient_ratio(self):
        """grad_std of the first layer / the last's: << 1 vanishing towards the input, >> 1 exploding."""
        return float(self.grad_std[0] / self.grad_std[-1])


def depth_statistics(x, y, depth=10, init_scale=1.0, activation="tanh", bn=False, weights=None, width=64, seed=0,
                     eps=1e-3):
    """The module docstring's MLP on the batch ``x`` (N, D), ``y`` (N,) labels, forward and backward (through
    :mod:`bn_course.numpy_bn` with ``bn``): a :class:`DepthStats`. ``weights``: ``(hidden, readout)`` from
    :func:`base_weights` with at least ``depth`` hidden layers (made from ``width`` and ``seed`` when None)."""
    depth = check_int(depth, "depth")
    if not init_scale > 0:
        raise ValueError(f"init_scale must be positive, got {init_scale}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    hidden, readout = weights or base_weights(depth, width, x.shape[1], int(y.max()) + 1, seed)
    if len(hidden) < depth:
        raise ValueError(f"weights hold {len(hidden)} hidden layers, fewer than depth={depth}")
    kernels = [init_scale * w for w in hidden[:depth]]
    with one_blas_thread():  # tiny products: more BLAS threads only fight over the cores
        pre, post, caches = [], [], []  # per layer: nonlinearity input and output, BN cache
        h = x
        for kernel in kernels:
            z = h @ kernel
            cache = None
            if bn:
                z, cache = batch_norm_forward(z, np.ones(z.shape[1]), np.zeros(z.shape[1]), eps=eps)
            h = activate(z, activation)
            pre.append(z)
            post.append(h)
            caches.append(cache)
        logits = h @ readout
        log_p = logits - logits.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        rows = np.arange(len(y))
        dlogits = np.exp(log_p)
        dlogits[rows, y] -= 1.0
        dh = (dlogits / len(y)) @ readout.T
        grads = [None] * depth
        for layer in reversed(range(depth)):
            h = post[layer]
            dz = dh * (1.0 - h * h if activation == "tanh" else h * (1.0 - h))  # act' written with h
            if bn:
                dz = batch_norm_backward(dz, caches[layer])[0]
            grads[layer] = (post[layer - 1] if layer else x).T @ dz
            dh = dz @ kernels[layer].T

    low, high = RANGES[activation]
    bins = [np.clip(((h.ravel() - low) * (HIST_BINS / (high - low))).astype(np.intp), 0, HIST_BINS - 1) for h in post]
    return DepthStats(activation, depth, float(init_scale), bool(bn), pre, post,
                      mean=np.array([h.mean() for h in post]), std=np.array([h.std() for h in post]),
                      saturated=np.array([saturated_share(h, activation) for h in post]), grads=grads,
                      grad_std=np.array([g.std() for g in grads]),
                      histograms=np.stack([np.bincount(b, minlength=HIST_BINS) / b.size for b in bins]),
                      loss=float(-log_p[rows, y].mean()))


class DepthExplorer(Explorer):
    """Init-scale and depth sliders, an activation switch and a BN checkbox for the MLP at initialization.
    Three panels share the layer axis (layer 1 at the top): each layer's activation histogram, its saturated
    share and its gradient spread relative to the last layer's. ``explorer.last`` is the latest :class:`DepthStats`.
    """

    def __init__(self, x, y, max_depth=20, width=64, seed=0, depth=10, init_scale=1.0, activation="tanh", bn=False):
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y)
        self.max_depth = check_int(max_depth, "max_depth")
        self.weights = base_weights(self.max_depth, width, self.x.shape[1], int(self.y.max()) + 1, seed)
        sliders = {
            "init_scale": slider("init_scale", "init scale (× LeCun)", 0.1, 10.0, 0.1, init_scale,
                                 readout_format=".1f"),
            "depth": slider("depth", "hidden layers", 1, self.max_depth, 1, depth, integer=True),
            "activation": control(widgets.ToggleButtons, "select", "activation", options=list(RANGES),
                                  value=activation, description="activation"),
            "bn": control(widgets.Checkbox, "checkbox", "bn", value=bn, indent=False,
                          description="batch normalization before each activation"),
        }
        figure, axes = new_figure(ncols=3, figsize=(10.5, 4.6), width_ratios=[1.5, 1.0, 1.0])
        self.ax_hist, ax_sat, ax_grad = axes
        layers = np.arange(1, self.max_depth + 1)
        self.image = self.ax_hist.imshow(np.zeros((self.max_depth, HIST_BINS)), aspect="auto", cmap="Blues",
                                         vmin=0.0, vmax=HISTOGRAM_VMAX, interpolation="nearest")  # extent: draw()
        self.bars = ax_sat.barh(layers, np.zeros(self.max_depth), height=0.7, color="tab:red")
        (self.grad_line,) = ax_grad.plot(np.ones(self.max_depth), layers, "o-", markersize=5, linewidth=2)
        ax_grad.axvline(1.0, color="0.4", linewidth=1, linestyle=":")
        self.ax_hist.set_ylabel("hidden layer (1 = next to the input)", fontsize=12)
        ax_sat.set(xlim=(0.0, 1.0), xticks=[0.0, 0.5, 1.0], xticklabels=["0", "50%", "100%"])
        ax_sat.set_xlabel("|tanh| > 0.99, or sigmoid < 0.01 or > 0.99", fontsize=10)
        ax_grad.set(xscale="log", xlim=GRADIENT_RANGE)
        ax_grad.set_xlabel("std(dL/dW_l) / std(dL/dW_last)  (log)", fontsize=11)
        for ax, title in zip(axes, ("activation histogram per layer", "share of saturated units",
                                    "gradient spread ÷ last layer's")):
            ax.set_title(title, fontsize=12)
            ax.set(ylim=(self.max_depth + 0.5, 0.5), yticks=layers[::2] if self.max_depth > 10 else layers)
            ax.tick_params(labelsize=11)
            ax.grid(False, axis="y")
        self._static_activation = None
        super().__init__(sliders, figure, title="Activations and gradients, layer by layer, at initialization",
                         dynamic=(self.image, *self.bars, self.grad_line))

    def draw(self, init_scale, depth, activation, bn):
        if activation != self._static_activation:  # a new histogram range: redraw the static background once
            low, high = RANGES[activation]
            self.image.set_extent((low, high, self.max_depth + 0.5, 0.5))
            self.ax_hist.set(xlim=(low, high), xticks=np.linspace(low, high, 5))
            self.ax_hist.set_xlabel(f"{activation} activation value", fontsize=12)
            self.live.invalidate()
            self._static_activation = activation
        stats = self.last = depth_statistics(self.x, self.y, depth, init_scale, activation, bn, weights=self.weights)
        shown = np.full((self.max_depth, HIST_BINS), np.nan)
        shown[:depth] = stats.histograms
        self.image.set_data(np.ma.masked_invalid(shown))
        for layer, bar in enumerate(self.bars):
            bar.set_width(stats.saturated[layer] if layer < depth else 0.0)
        relative = np.full(self.max_depth, np.nan)
        relative[:depth] = np.clip(stats.grad_std / stats.grad_std[-1], *GRADIENT_RANGE)
        self.grad_line.set_xdata(relative)
        ratio = stats.gradient_ratio
        trend = " (vanishing towards the input)" if ratio < 1e-2 else ""
        trend = " (exploding towards the input)" if ratio > 1e2 else trend
        return (f"{depth} {activation} layers, weights {init_scale:.1f} × LeCun, {'with' if bn else 'without'} BN. "
                f"Loss on the batch: {stats.loss:.2f} (ln 10 = 2.30 is chance).<br>"
                f"Saturated units: {100 * stats.saturated[0]:.0f} % in layer 1, {100 * stats.saturated[-1]:.0f} % "
                f"in layer {depth}. Activation std: {stats.std[0]:.2g} in layer 1, {stats.std[-1]:.2g} in layer "
                f"{depth}.<br>Gradient spread, first ÷ last layer: {ratio:.2g}{trend}")
