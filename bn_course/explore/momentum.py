"""The momentum explorer of notebook 05: moving statistics warming up, and the gap it causes.

Each training step sees a fresh batch of n values of one feature from N(mu, sigma**2); Keras updates
``moving_k = momentum * moving_{k-1} + (1 - momentum) * batch_stat_k`` from moving_mean 0 and
moving_variance 1. For a constant batch statistic b, ``moving_k = momentum**k * init + (1 - momentum**k) * b``.
Until warmed up, inference mode normalizes population inputs to
``mean = (mu - moving_mean) / sqrt(moving_var + eps)``, ``std = sigma / sqrt(moving_var + eps)``
instead of training mode's 0 and ~1. Biased batch variances average to (n - 1) / n * sigma**2.
"""

import math

import numpy as np

from bn_course.validation import check_int, check_momentum
from bn_course.explore.widgets import Explorer, new_figure, slider

__all__ = ["batch_stream", "ema", "steps_to_within", "warmup_state", "MomentumExplorer"]


def batch_stream(steps=1000, batch_size=32, mean=4.0, std=2.0, seed=0):
    """Statistics of ``steps`` random batches of ``batch_size`` values from N(mean, std**2): a dict of
    ``batch_mean``, ``batch_var`` (biased, as Keras), each (steps,), and ``mean``, ``var``, ``std``, ``batch_size``."""
    batch_size = check_int(batch_size, "batch_size", low=2)
    values = np.random.default_rng(seed).normal(mean, std, size=(steps, batch_size))
    return {"batch_mean": values.mean(axis=1), "batch_var": values.var(axis=1), "mean": float(mean),
            "var": float(std) ** 2, "std": float(std), "batch_size": batch_size}


def ema(values, momentum, init):
    """Keras moving average, (len(values) + 1,): out[k], the statistic after k steps, equals (to rounding)
    :func:`bn_course.numpy_bn.update_moving` applied k times from ``init``, a loop too slow for the slider. Vectorised:
    ``out[k] = momentum**k * init + sum_{j=1..k} momentum**(k-j) * (1 - momentum) * values[j-1]``, log2(k) passes."""
    m = check_momentum(momentum)
    out = np.concatenate([[init], (1.0 - m) * np.asarray(values, dtype=np.float64)])  # the terms, j = 0..k
    shift = 1
    while shift < len(out):  # after this pass, out[k] sums the terms j = k - 2 * shift + 1 .. k
        out[shift:] = out[shift:] + m**shift * out[:-shift]
        shift *= 2
    return out


def steps_to_within(fraction, momentum):
    """Fewest steps k with ``momentum**k <= fraction`` (1 for momentum 0, ``math.inf`` for momentum 1)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    momentum = check_momentum(momentum)
    if momentum in (0.0, 1.0):
        return 1 if momentum == 0.0 else math.inf
    k = math.ceil(math.log(fraction) / math.log(momentum))
    while momentum**k > fraction:  # log rounding can put k one step off either way
        k += 1
    while k > 1 and momentum ** (k - 1) <= fraction:
        k -= 1
    return k


def warmup_state(stream, momentum, step, init_mean=0.0, init_var=1.0, eps=1e-3):
    """Moving statistics over a :func:`batch_stream`, read at training step ``step`` (0 = before training).

    Returns the curves (steps + 1,) ``moving_mean``, ``moving_var``, ``inference_mean``, ``inference_std``
    (inference-mode output statistics on population inputs); at ``step``: ``mean_at``, ``var_at``,
    ``inference_mean_at``, ``inference_std_at``, ``training_std_at`` = sqrt(var_B / (var_B + eps)),
    ``warmed_up`` = 1 - momentum**step, ``mean_error_at`` (share of the initial mean gap left);
    and ``steps_to_1pct``, ``half_life`` (steps), ``expected_var`` = (n - 1) / n * sigma**2.
    """
    n_steps = len(stream["batch_mean"])
    step = check_int(step, "step", low=0)
    momentum = check_momentum(momentum)
    if step > n_steps:
        raise ValueError(f"step must be in 0..{n_steps}, got {step}")
    if momentum in (0.0, 1.0):
        half_life = 0.0 if momentum == 0.0 else math.inf
    else:
        half_life = math.log(0.5) / math.log(momentum)
    moving_mean = ema(stream["batch_mean"], momentum, init_mean)
    moving_var = ema(stream["batch_var"], momentum, init_var)
    denominator = np.sqrt(moving_var + eps)
    inference_mean = (stream["mean"] - moving_mean) / denominator
    inference_std = stream["std"] / denominator
    batch_var = stream["batch_var"][max(step - 1, 0)]
    gap = abs(stream["mean"] - init_mean)
    return {
        "moving_mean": moving_mean, "moving_var": moving_var,
        "inference_mean": inference_mean, "inference_std": inference_std,
        "mean_at": float(moving_mean[step]), "var_at": float(moving_var[step]),
        "inference_mean_at": float(inference_mean[step]), "inference_std_at": float(inference_std[step]),
        "training_std_at": float(np.sqrt(batch_var / (batch_var + eps))),
        "warmed_up": 1.0 - momentum**step,
        "mean_error_at": float(abs(moving_mean[step] - stream["mean"]) / gap) if gap else 0.0,
        "steps_to_1pct": steps_to_within(0.01, momentum),
        "half_life": half_life,
        "expected_var": (stream["batch_size"] - 1) / stream["batch_size"] * stream["var"],
    }


class MomentumExplorer(Explorer):
    """Momentum and step sliders over three panels: batch means with the moving mean, the same for the
    variance, and inference mode's output mean/std against training mode's 0 and 1. The batches are
    drawn once; a move reruns the moving average. ``last``: the latest :func:`warmup_state` plus
    ``momentum`` and ``step``."""

    def __init__(self, stream=None):
        self.stream = s = stream if stream is not None else batch_stream()
        n_steps = len(s["batch_mean"])
        start = warmup_state(s, 0.99, 0)  # before any step (momentum plays no part yet): the widest gap
        sliders = {
            "momentum": slider("momentum", "momentum", 0.8, 0.999, 0.001, 0.99, readout_format=".3f"),
            "step": slider("step", "training step k", 0, n_steps, 1, 100, integer=True),
        }
        figure, axes = new_figure(ncols=3, figsize=(12.0, 3.9))
        ax_mean, ax_var, ax_gap = axes
        steps = np.arange(n_steps + 1.0)  # step 0 (before training) to n_steps
        ax_mean.plot(steps[1:], s["batch_mean"], ".", color="0.65", markersize=3, label="batch mean")
        ax_mean.axhline(s["mean"], color="k", linestyle="--", linewidth=1.5, label=f"population μ = {s['mean']:g}")
        ax_var.plot(steps[1:], s["batch_var"], ".", color="0.65", markersize=3, label="batch variance (biased)")
        ax_var.axhline(s["var"], color="k", linestyle="--", linewidth=1.5, label=f"population σ² = {s['var']:g}")
        ax_gap.axhline(0.0, color="tab:red", linestyle="--", linewidth=1.5, label="training mode: mean 0")
        ax_gap.axhline(1.0, color="tab:purple", linestyle="--", linewidth=1.5, label="training mode: std 1")
        curves = ((ax_mean, "tab:blue", "moving mean"), (ax_var, "tab:blue", "moving variance"),
                  (ax_gap, "tab:red", "inference mode: mean"), (ax_gap, "tab:purple", "inference mode: std"))
        self.lines, self.dots = [], []  # one line and one dot (at the chosen step) per curve; draw() sets both
        for ax, color, label in curves:
            (line,) = ax.plot(steps, np.zeros_like(steps), color=color, linewidth=2.5, label=label)
            self.lines.append(line)
            self.dots.append(ax.plot([0], [0], "o", color="tab:green", markersize=8)[0])
        self.markers = [ax.axvline(0, color="tab:green", linewidth=2) for ax in axes]
        gap_top = max(start["inference_mean_at"], start["inference_std_at"], 1.0) * 1.1
        limits = ((min(0.0, float(np.min(s["batch_mean"]))) - 0.2, float(np.max(s["batch_mean"])) + 0.3),
                  (0.0, max(float(np.max(s["batch_var"])), s["var"]) * 1.05), (-0.5, gap_top))
        for ax, title, ylabel, ylim in zip(axes, ("mean", "variance", "train/inference gap"),
                                           ("value", "value", "output statistic"), limits):
            ax.set_title(title, fontsize=13)
            ax.set_xlabel("training step", fontsize=12)
            ax.set_ylabel(ylabel, fontsize=12)
            ax.set(xlim=(0, n_steps), ylim=ylim)
            ax.tick_params(labelsize=11)
            ax.legend(loc="upper right" if ax is ax_gap else "lower right", fontsize=10)
        super().__init__(sliders, figure, dynamic=[*self.lines, *self.markers, *self.dots],
                         title="Momentum and warm-up: moving statistics from 0 and 1 to the population")

    def draw(self, momentum, step):
        state = warmup_state(self.stream, momentum, step)
        for line, key in zip(self.lines, ("moving_mean", "moving_var", "inference_mean", "inference_std")):
            line.set_ydata(state[key])
        for marker in self.markers:
            marker.set_xdata([step])
        for dot, key in zip(self.dots, ("mean_at", "var_at", "inference_mean_at", "inference_std_at")):
            dot.set_data([step], [state[key]])
        self.last = {**state, "momentum": momentum, "step": step}
        s = self.stream
        return (
            f"after k = {step} steps with momentum {momentum:.3f}: moving mean = {state['mean_at']:.3f} "
            f"(population {s['mean']:g}), moving variance = {state['var_at']:.3f} "
            f"(population {s['var']:g}; biased batch variances average to {state['expected_var']:.3f})<br>"
            f"warm-up done: 1 − m<sup>k</sup> = {state['warmed_up']:.1%}; gap left in the mean: "
            f"{state['mean_error_at']:.1%}; half-life {state['half_life']:.1f} steps; "
            f"within 1 % after {state['steps_to_1pct']} steps<br>"
            f"inference-mode output on population inputs: mean {state['inference_mean_at']:.3f}, "
            f"std {state['inference_std_at']:.3f} &nbsp;(training mode: mean 0, std {state['training_std_at']:.3f})"
        )
