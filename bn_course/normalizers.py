"""Layer, group and instance normalization in NumPy, as Keras computes them (notebook 06).

Batch norm (:mod:`bn_course.numpy_bn`) averages each channel over the *batch*; these average over
parts of *one sample*, so a sample's output never depends on its batch-mates and training and
inference compute the same thing. For channels-last x (N, H, W, C), m values per statistic:

==================  ==============================  ======================  ==============
normalizer          one mean and variance for ...   m values per statistic  gamma, beta
==================  ==============================  ======================  ==============
batch norm          each channel c                  N * H * W               (C,)
layer norm (paper)  each sample n                   H * W * C               (C,) [#]_
group norm, G       each sample n and group g       H * W * C / G           (C,)
instance norm       each sample n and channel c     H * W                   (C,)
==================  ==============================  ======================  ==============

.. [#] ``LayerNormalization(axis=[1, 2, 3])`` has gamma, beta of shape (H, W, C); ``GroupNormalization(
   groups=1)`` is the same normalization with (C,). ``LayerNormalization()`` (axis=-1) uses m = C.

Per group: mu = mean(x), var = mean((x - mu)**2), y = gamma * (x - mu) / sqrt(var + eps) + beta,
Keras's default eps = 1e-3. Group g holds *consecutive* channels g*C/G .. (g+1)*C/G - 1, as in Keras.
"""

import numpy as np

from bn_course.validation import as_float_array, check_axis, check_eps, check_int

__all__ = ["layer_norm", "group_norm", "instance_norm", "statistic_labels", "plot_statistic_groups", "NORMALIZERS"]

NORMALIZERS = ("batch", "layer", "group", "instance")


def _normalize(x, axes, eps):
    centered = x - x.mean(axis=axes, keepdims=True)
    return centered / np.sqrt(np.mean(centered * centered, axis=axes, keepdims=True) + eps)


def _param(value, name, x, axes, default):
    """``value`` (None: ``default``) of shape ``x.shape[axes]``, reshaped to broadcast against ``x``."""
    if value is None:
        return default
    array, sizes = as_float_array(value, name), tuple(x.shape[a] for a in axes)
    if array.shape != sizes:
        raise ValueError(f"{name} must have shape {sizes}, got shape {array.shape}")
    return array.reshape([x.shape[a] if a in axes else 1 for a in range(x.ndim)])


def layer_norm(x, gamma=None, beta=None, eps=1e-3, axis=-1):
    """``keras.layers.LayerNormalization(axis=axis, epsilon=eps)`` in NumPy.

    x: rank >= 2, batch first, e.g. (N, D) or (N, H, W, C). ``axis``: an int or a tuple/list of ints, the
    axes normalized over, for each position of the others (-1: each feature vector; (1, 2, 3): the paper's
    layer norm for images). gamma, beta: shape ``x.shape[axis]`` (for a tuple, the tuple of sizes, like
    the Keras layer's weights); None means 1 and 0. Returns y with the shape of x.
    """
    x, eps = as_float_array(x, "x"), check_eps(eps)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(check_axis(a, x.ndim, x.shape) for a in axes)
    if 0 in axes:
        raise ValueError("layer_norm normalizes within a sample: axis must not include the batch axis 0")
    return _normalize(x, axes, eps) * _param(gamma, "gamma", x, axes, 1.0) + _param(beta, "beta", x, axes, 0.0)


def group_norm(x, gamma=None, beta=None, groups=32, eps=1e-3):
    """``keras.layers.GroupNormalization(groups=groups, epsilon=eps)`` for channels-last x (N, ..., C).

    One mean and biased variance per (sample, group) over the H * W * C / G values of the group
    (G = ``groups`` divides C; G = 1 is layer norm over (H, W, C), G = C instance norm), then
    gamma, beta (C,) per channel (None means 1 and 0). Returns y with the shape of x.
    """
    x, eps = as_float_array(x, "x"), check_eps(eps)
    if x.ndim < 2:
        raise ValueError(f"x must have a batch axis and a channel axis (rank >= 2), got shape {x.shape}")
    groups = check_int(groups, "groups")
    if x.shape[-1] % groups:
        raise ValueError(f"groups={groups} must divide the number of channels C={x.shape[-1]}")
    grouped = x.reshape(*x.shape[:-1], groups, -1)                      # (N, ..., G, C/G)
    y = _normalize(grouped, tuple(range(1, x.ndim - 1)) + (x.ndim,), eps).reshape(x.shape)  # all axes but N, G
    return y * _param(gamma, "gamma", x, (x.ndim - 1,), 1.0) + _param(beta, "beta", x, (x.ndim - 1,), 0.0)


def instance_norm(x, gamma=None, beta=None, eps=1e-3):
    """Instance norm: one mean and variance per (sample, channel) over H * W values; the same as
    ``group_norm(x, gamma, beta, groups=C, eps)`` and ``keras.layers.GroupNormalization(groups=-1)``."""
    x = as_float_array(x, "x")
    return group_norm(x, gamma, beta, groups=x.shape[-1], eps=eps)


def statistic_labels(kind, batch_size, channels, groups=None):
    """Which statistic each (sample, channel) pair shares, as an (N, C) int array.

    ``kind`` is one of :data:`NORMALIZERS`. Cells with one label are averaged together (over their
    H x W positions too): batch labels cell (n, c) with c, layer with n, group with n * G + c // (C / G),
    instance with n * C + c; so C, N, N * G and N * C means per batch.
    """
    if kind not in NORMALIZERS:
        raise ValueError(f"kind must be one of {NORMALIZERS}, got {kind!r}")
    n, c = np.arange(batch_size)[:, None], np.arange(channels)[None, :]
    if kind == "batch":
        return np.array(np.broadcast_to(c, (batch_size, channels)))
    groups = {"layer": 1, "group": groups, "instance": channels}[kind]  # layer norm is G = 1, instance norm G = C
    groups = check_int(groups, "groups")
    if channels % groups:
        raise ValueError(f"groups={groups} must divide channels={channels}")
    return n * groups + c // (channels // groups)


def plot_statistic_groups(axes, batch_size=4, channels=6, groups=2):
    """Draw the four normalizers' :func:`statistic_labels` on a sequence of four matplotlib axes.

    Each panel is an (N, C) grid of squares, one per (sample, channel); squares of one colour share
    one mean and variance. Each title gives the number of means per batch.
    """
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    titles = {"batch": "Batch norm", "layer": "Layer norm", "group": f"Group norm, G = {groups}",
              "instance": "Instance norm"}
    palette = ListedColormap(colormaps["tab20"].colors + colormaps["tab20b"].colors)       # 40 distinct colours
    for ax, kind in zip(axes, NORMALIZERS):
        labels = statistic_labels(kind, batch_size, channels, groups=groups)
        ax.imshow(labels % palette.N, cmap=palette, vmin=0, vmax=palette.N - 1)
        ax.set_xticks(range(channels), [str(c) for c in range(channels)])
        ax.set_yticks(range(batch_size), [str(n) for n in range(batch_size)])
        ax.set_xticks(np.arange(-0.5, channels), minor=True)
        ax.set_yticks(np.arange(-0.5, batch_size), minor=True)
        ax.grid(which="minor", color="white", linewidth=2)
        ax.grid(which="major", visible=False)
        ax.tick_params(which="minor", length=0)
        ax.set_xlabel("channel c")
        ax.set_title(f"{titles[kind]}\n{len(np.unique(labels))} means per batch", fontsize=12)
    axes[0].set_ylabel("sample n in the batch")
