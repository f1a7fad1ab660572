"""The momentum explorer of notebook 05: moving statistics warming up, and the gap it causes.

:func:`warmup_state` is the pure compute function (tested on its own);
:class:`MomentumExplorer` is the slider layer on top of :class:`bn_course.widgets.Explorer`.

One feature feeds a BN layer; each training step sees a fresh batch of n values drawn
from a fixed population (mean mu, variance sigma**2) and Keras updates

    moving_k = momentum * moving_{k-1} + (1 - momentum) * batch_stat_k,

starting from Keras's initial values (moving_mean 0, moving_variance 1). If every
batch had the same statistic b the sequence would have the closed form

    moving_k = momentum**k * init + (1 - momentum**k) * b,

so the distance to b shrinks by the factor momentum**k: it is under 1 % of the
initial distance once k >= log(0.01) / log(momentum) (459 steps for momentum 0.99).

Until then inference mode (which uses the moving statistics) normalizes the feature
differently from training mode (which uses each batch's own): for inputs from the
population, inference-mode outputs have

    mean = (mu - moving_mean_k) / sqrt(moving_var_k + eps),   std = sigma / sqrt(moving_var_k + eps)

instead of the training-mode mean 0 and standard deviation ~1. The moving variance
averages *biased* batch variances, whose expectation is (n - 1) / n * sigma**2.
"""

import math

import numpy as np

from bn_course.validation import check_momentum
from bn_course.widgets import Explorer, new_figure, slider

__all__ = [
    "batch_stream",
    "ema",
    "ema_closed_form",
    "steps_to_within",
    "warmup_state",
    "MomentumExplorer",
    "POPULATION_MEAN",
    "POPULATION_STD",
]

POPULATION_MEAN = 4.0
POPULATION_STD = 2.0


def batch_stream(steps=1000, batch_size=32, mean=POPULATION_MEAN, std=POPULATION_STD, seed=0):
    """The statistics of ``steps`` random batches of one feature, computed once.

    Each batch has ``batch_size`` values from a normal population N(mean, std**2).
    Returns a dict: ``batch_mean`` and ``batch_var`` (biased, as Keras), each
    (steps,) float64, and the scalars ``mean``, ``var`` (= std**2), ``std``, ``batch_size``.
    """
    if batch_size < 2:
        raise ValueError("batch_size must be at least 2")
    rng = np.random.default_rng(seed)
    values = rng.normal(mean, std, size=(steps, batch_size))
    return {
        "batch_mean": values.mean(axis=1),
        "batch_var": values.var(axis=1),
        "mean": float(mean),
        "var": float(std) ** 2,
        "std": float(std),
        "batch_size": int(batch_size),
    }


def ema(values, momentum, init):
    """Keras moving average over a sequence: returns (len(values) + 1,) float64.

    ``out[0] = init`` and ``out[k] = momentum * out[k-1] + (1 - momentum) * values[k-1]``:
    ``out[k]`` is the moving statistic after k training steps.
    """
    keep = check_momentum(momentum)
    new = 1.0 - keep
    values = np.asarray(values, dtype=np.float64)
    out = np.empty(values.size + 1)
    out[0] = current = float(init)
    for k, value in enumerate(values.tolist(), start=1):
        current = keep * current + new * value
        out[k] = current
    return out


def ema_closed_form(init, target, momentum, k):
    """``momentum**k * init + (1 - momentum**k) * target``: k updates towards a constant target.

    Works elementwise on arrays (for k as well).
    """
    decay = np.power(float(momentum), k)
    return decay * np.asarray(init, dtype=np.float64) + (1.0 - decay) * np.asarray(target, dtype=np.float64)


def steps_to_within(fraction, momentum):
    """Fewest steps k with ``momentum**k <= fraction``: the moving statistic is then within
    ``fraction`` of its initial distance to a constant target. ``ceil(log(fraction) / log(momentum))``;
    1 for momentum 0 (one step copies the target), ``math.inf`` for momentum 1 (it never moves).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    momentum = check_momentum(momentum)
    if momentum == 1.0:
        return math.inf
    if momentum == 0.0:
        return 1
    k = math.ceil(math.log(fraction) / math.log(momentum))
    # guard against log rounding putting k one step too early or late
    while momentum**k > fraction:
        k += 1
    while k > 1 and momentum ** (k - 1) <= fraction:
        k -= 1
    return k


def warmup_state(stream, momentum, step, init_mean=0.0, init_var=1.0, eps=1e-3):
    """Moving statistics over a :func:`batch_stream`, read at training step ``step``.

    Args:
        stream: dict from :func:`batch_stream`.
        momentum: Keras momentum in [0, 1].
        step: 0 .. len(stream["batch_mean"]) (0 = before any training step).
        init_mean, init_var: the initial moving statistics (Keras: 0 and 1).
        eps: the BN epsilon.

    Returns a dict with the whole curves (length steps + 1)
        moving_mean, moving_var,
        inference_mean, inference_std  (inference-mode output statistics on population inputs),
    and at ``step``: mean_at, var_at, inference_mean_at, inference_std_at,
        training_std_at (training-mode output std of that step's batch,
        sqrt(var_B / (var_B + eps)); its mean is exactly 0), warmed_up = 1 - momentum**step,
        mean_error_at = |moving_mean - mu| / |mu - init_mean| (share of the initial gap left),
    plus steps_to_1pct, half_life (steps to halve the gap, may be fractional),
    expected_var = (n - 1) / n * sigma**2 (where the moving variance settles).
    """
    n_steps = len(stream["batch_mean"])
    if not 0 <= step <= n_steps:
        raise ValueError(f"step must be in 0..{n_steps}, got {step}")
    step = int(step)
    moving_mean = ema(stream["batch_mean"], momentum, init_mean)
    moving_var = ema(stream["batch_var"], momentum, init_var)
    denominator = np.sqrt(moving_var + eps)
    inference_mean = (stream["mean"] - moving_mean) / denominator
    inference_std = stream["std"] / denominator
    batch_var = stream["batch_var"][step - 1] if step > 0 else stream["batch_var"][0]
    gap = abs(stream["mean"] - init_mean)
    n = stream["batch_size"]
    return {
        "moving_mean": moving_mean,
        "moving_var": moving_var,
        "inference_mean": inference_mean,
        "inference_std": inference_std,
        "mean_at": float(moving_mean[step]),
        "var_at": float(moving_var[step]),
        "inference_mean_at": float(inference_mean[step]),
        "inference_std_at": float(inference_std[step]),
        "training_std_at": float(np.sqrt(batch_var / (batch_var + eps))),
        "warmed_up": 1.0 - float(momentum) ** step,
        "mean_error_at": float(abs(moving_mean[step] - stream["mean"]) / gap) if gap else 0.0,
        "steps_to_1pct": steps_to_within(0.01, momentum),
        "half_life": (math.log(0.5) / math.log(momentum)) if 0.0 < momentum < 1.0 else
                     (0.0 if momentum == 0.0 else math.inf),
        "expected_var": (n - 1) / n * stream["var"],
    }


class MomentumExplorer(Explorer):
    """Sliders for the momentum and the training step; three panels, redrawn by blitting.

    Left: batch means (dots), the moving mean and the population mean. Middle: the same
    for the variance. Right: the inference-mode output's mean and std on population
    inputs, against training mode's 0 and 1 — the train/inference gap. The batch
    statistics are computed once (:func:`batch_stream`); a slider move only reruns the
    moving average and redraws the moving artists. ``explorer.last`` is the latest
    :func:`warmup_state` dict plus ``momentum`` and ``step``.
    """

    def __init__(self, stream=None, eps=1e-3):
        self.stream = stream if stream is not None else batch_stream()
        self.eps = eps
        n_steps = len(self.stream["batch_mean"])
        sliders = {
            "momentum": slider("momentum", "momentum", 0.8, 0.999, 0.001, 0.99, readout_format=".3f"),
            "step": slider("step", "training step k", 0, n_steps, 1, 100, integer=True),
        }
        figure, (self.ax_mean, self.ax_var, self.ax_gap) = new_figure(ncols=3, figsize=(12.0, 3.9))
        steps = np.arange(1, n_steps + 1)
        self.x = np.arange(n_steps + 1)
        s = self.stream
        self.ax_mean.plot(steps, s["batch_mean"], ".", color="0.65", markersize=3, label="batch mean")
        self.ax_mean.axhline(s["mean"], color="k", linestyle="--", linewidth=1.5, label=f"population μ = {s['mean']:g}")
        self.ax_var.plot(steps, s["batch_var"], ".", color="0.65", markersize=3, label="batch variance (biased)")
        self.ax_var.axhline(s["var"], color="k", linestyle="--", linewidth=1.5, label=f"population σ² = {s['var']:g}")
        self.ax_gap.axhline(0.0, color="tab:red", linestyle="--", linewidth=1.5, label="training mode: mean 0")
        self.ax_gap.axhline(1.0, color="tab:purple", linestyle="--", linewidth=1.5, label="training mode: std 1")
        (self.line_mean,) = self.ax_mean.plot(self.x, np.zeros_like(self.x, float), color="tab:blue", linewidth=2.5,
                                              label="moving mean")
        (self.line_var,) = self.ax_var.plot(self.x, np.ones_like(self.x, float), color="tab:blue", linewidth=2.5,
                                            label="moving variance")
        (self.line_inf_mean,) = self.ax_gap.plot(self.x, np.zeros_like(self.x, float), color="tab:red", linewidth=2.5,
                                                 label="inference mode: mean")
        (self.line_inf_std,) = self.ax_gap.plot(self.x, np.ones_like(self.x, float), color="tab:purple",
                                                linewidth=2.5, label="inference mode: std")
        self.markers = [ax.axvline(0, color="tab:green", linewidth=2) for ax in (self.ax_mean, self.ax_var, self.ax_gap)]
        self.dots = [ax.plot([0], [0], "o", color="tab:green", markersize=8)[0]
                     for ax in (self.ax_mean, self.ax_var, self.ax_gap, self.ax_gap)]
        titles = ("mean", "variance", "train/inference gap")
        ylabels = ("value", "value", "output statistic")
        top_var = max(float(np.max(s["batch_var"])), s["var"]) * 1.05
        top_gap = max(s["mean"] / np.sqrt(1.0 + eps), s["std"] / np.sqrt(1.0 + eps), 1.0) * 1.1
        limits = ((min(0.0, float(np.min(s["batch_mean"]))) - 0.2, float(np.max(s["batch_mean"])) + 0.3),
                  (0.0, top_var), (-0.5, top_gap))
        for ax, title, ylabel, ylim in zip((self.ax_mean, self.ax_var, self.ax_gap), titles, ylabels, limits):
            ax.set_title(title, fontsize=13)
            ax.set_xlabel("training step", fontsize=12)
            ax.set_ylabel(ylabel, fontsize=12)
            ax.set_xlim(0, n_steps)
            ax.set_ylim(*ylim)
            ax.tick_params(labelsize=11)
            ax.legend(loc="lower right" if ax is not self.ax_gap else "upper right", fontsize=10)
        dynamic = [self.line_mean, self.line_var, self.line_inf_mean, self.line_inf_std, *self.markers, *self.dots]
        super().__init__(sliders, figure, dynamic=dynamic,
                         title="Momentum and warm-up: moving statistics from 0 and 1 to the population")

    def draw(self, momentum, step):
        state = warmup_state(self.stream, momentum, step, eps=self.eps)
        self.line_mean.set_ydata(state["moving_mean"])
        self.line_var.set_ydata(state["moving_var"])
        self.line_inf_mean.set_ydata(state["inference_mean"])
        self.line_inf_std.set_ydata(state["inference_std"])
        for marker in self.markers:
            marker.set_xdata([step])
        for dot, y in zip(self.dots, (state["mean_at"], state["var_at"],
                                      state["inference_mean_at"], state["inference_std_at"])):
            dot.set_data([step], [y])
        self.last = {**state, "momentum": momentum, "step": step}
        s = self.stream
        to_1pct = state["steps_to_1pct"]
        return (
            f"after k = {step} steps with momentum {momentum:.3f}: moving mean = {state['mean_at']:.3f} "
            f"(population {s['mean']:g}), moving variance = {state['var_at']:.3f} "
            f"(population {s['var']:g}; biased batch variances average to {state['expected_var']:.3f})<br>"
            f"warm-up done: 1 − m<sup>k</sup> = {state['warmed_up']:.1%}; gap left in the mean: "
            f"{state['mean_error_at']:.1%}; half-life {state['half_life']:.1f} steps; "
            f"within 1 % after {to_1pct} steps<br>"
            f"inference-mode output on population inputs: mean {state['inference_mean_at']:.3f}, "
            f"std {state['inference_std_at']:.3f} &nbsp;(training mode: mean 0, std {state['training_std_at']:.3f})"
        )
