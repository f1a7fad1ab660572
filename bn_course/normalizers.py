"""Layer, group and instance normalization in NumPy, as Keras computes them (notebook 06).

Batch normalization (:mod:`bn_course.numpy_bn`) averages each channel over the
*batch*; the normalizers here average over parts of *one sample*, so a sample's
output never depends on the other samples in its batch, and training and
inference compute exactly the same thing. For a channels-last image batch
x of shape (N, H, W, C), with m values in each group and the *biased* variance:

==================  ==============================  ======================  ==============
normalizer          one mean and variance for ...   m values per statistic  gamma, beta
==================  ==============================  ======================  ==============
batch norm          each channel c                  N * H * W               (C,)
layer norm (paper)  each sample n                   H * W * C               (C,) [#]_
group norm, G       each sample n and group g       H * W * C / G           (C,)
instance norm       each sample n and channel c     H * W                   (C,)
==================  ==============================  ======================  ==============

.. [#] ``keras.layers.LayerNormalization(axis=[1, 2, 3])`` gives gamma and beta of
   shape (H, W, C), one per element; ``GroupNormalization(groups=1)`` is the same
   normalization with one gamma and beta per channel. ``LayerNormalization()`` with
   its default ``axis=-1`` normalizes each pixel's C channels on their own: m = C.

Each normalizer computes, per group of m values,

    mu = mean(x),  var = mean((x - mu)**2),  y = gamma * (x - mu) / sqrt(var + eps) + beta

with Keras's default ``eps = 1e-3``. Group norm splits the C channels into G groups of
*consecutive* channels (channels 0 .. C/G - 1 form group 0), as
``keras.layers.GroupNormalization`` does. Inputs are never modified in place.
"""

import numpy as np

from bn_course.validation import as_float_array, check_eps

__all__ = ["layer_norm", "group_norm", "instance_norm", "statistic_labels", "plot_statistic_groups", "NORMALIZERS"]

NORMALIZERS = ("batch", "layer", "group", "instance")


def _normalize(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=axes, keepdims=True)
    return centered / np.sqrt(var + eps)


def layer_norm(x, gamma=None, beta=None, eps=1e-3, axis=-1):
    """``keras.layers.LayerNormalization(axis=axis, epsilon=eps)`` in NumPy.

    Args:
        x: array of rank >= 2, batch first, e.g. (N, D), (N, T, D) or (N, H, W, C).
        gamma, beta: scale and shift of shape ``x.shape[axis]`` (a tuple of axes gives
            the tuple of their sizes, as the Keras layer's weights have); None means
            1 and 0.
        eps: added to the variance before the square root.
        axis: the axis or axes normalized over, for each position of the others
            (Keras's meaning). The default -1 normalizes each feature vector on its own;
            ``axis=(1, 2, 3)`` is the paper's layer norm for (N, H, W, C) images.

    Returns y with the shape of x: every slice along ``axis`` has mean 0 and variance
    var / (var + eps) before gamma and beta.
    """
    x = as_float_array(x, "x")
    eps = check_eps(eps)
    axes = tuple(a % x.ndim for a in np.atleast_1d(axis).tolist())
    if 0 in axes:
        raise ValueError("layer_norm normalizes within a sample: axis must not include the batch axis 0")
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    y = _normalize(x, axes, eps)
    if gamma is not None:
        y = y * _param(gamma, "gamma", shape)
    if beta is not None:
        y = y + _param(beta, "beta", shape)
    return y


def _param(value, name, shape):
    """A parameter reshaped to broadcast along the normalized axes, or a ValueError naming it."""
    array = as_float_array(value, name)
    wanted = int(np.prod(shape))
    if array.size != wanted:
        sizes = tuple(s for s in shape if s != 1) or (1,)
        raise ValueError(f"{name} has {array.size} values but must have shape {sizes}")
    return array.reshape(shape)


def group_norm(x, gamma=None, beta=None, groups=32, eps=1e-3):
    """``keras.layers.GroupNormalization(groups=groups, epsilon=eps)`` for channels-last inputs.

    Args:
        x: (N, ..., C), e.g. (N, H, W, C) images or (N, D) features (C = D).
        gamma, beta: (C,) per-channel scale and shift; None means 1 and 0.
        groups: G, a divisor of C. Channels g*C/G .. (g+1)*C/G - 1 form group g.
            G = 1 is layer norm over (H, W, C); G = C is instance norm.
        eps: added to the variance before the square root.

    Computes one mean and one biased variance per (sample, group) over the
    H * W * C / G values of that group, normalizes, then applies gamma and beta per channel.
    Returns y with the shape of x.
    """
    x = as_float_array(x, "x")
    eps = check_eps(eps)
    if x.ndim < 2:
        raise ValueError(f"x must have a batch axis and a channel axis (rank >= 2), got shape {x.shape}")
    channels = x.shape[-1]
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive integer, got {groups!r}")
    if channels % groups:
        raise ValueError(f"groups={groups} must divide the number of channels C={channels}")
    grouped = x.reshape(*x.shape[:-1], groups, channels // groups)      # (N, ..., G, C/G)
    axes = tuple(range(1, x.ndim - 1)) + (x.ndim,)                      # all but N and G
    y = _normalize(grouped, axes, eps).reshape(x.shape)
    if gamma is not None:
        y = y * _param(gamma, "gamma", (channels,))
    if beta is not None:
        y = y + _param(beta, "beta", (channels,))
    return y


def instance_norm(x, gamma=None, beta=None, eps=1e-3):
    """Instance norm: one mean and variance per (sample, channel) over H * W values.

    The same as ``group_norm(x, gamma, beta, groups=C, eps)`` and
    ``keras.layers.GroupNormalization(groups=-1)``.
    """
    x = as_float_array(x, "x")
    return group_norm(x, gamma, beta, groups=x.shape[-1], eps=eps)


def statistic_labels(kind, batch_size, channels, groups=None):
    """Which statistic each (sample, channel) pair shares, as an (N, C) int array.

    Cells with the same label are averaged together (over all their H x W
    positions too): ``kind`` is one of :data:`NORMALIZERS`. ``"batch"`` labels
    cell (n, c) with c; ``"layer"`` with n; ``"group"`` with n * G + c // (C / G);
    ``"instance"`` with n * C + c. The number of distinct labels is the number of
    means the normalizer computes for one batch: C, N, N * G and N * C.
    """
    if kind not in NORMALIZERS:
        raise ValueError(f"kind must be one of {NORMALIZERS}, got {kind!r}")
    n = np.arange(batch_size)[:, None]
    c = np.arange(channels)[None, :]
    if kind == "batch":
        labels = np.broadcast_to(c, (batch_size, channels))
    elif kind == "layer":
        labels = np.broadcast_to(n, (batch_size, channels))
    elif kind == "instance":
        labels = n * channels + c
    else:
        if groups is None or channels % groups:
            raise ValueError(f"group needs groups dividing channels={channels}, got {groups!r}")
        labels = n * groups + c // (channels // groups)
    return np.array(labels)


def plot_statistic_groups(axes, batch_size=4, channels=6, groups=2):
    """Draw batch, layer, group and instance norm's :func:`statistic_labels` on four axes.

    Each panel is an (N, C) grid of squares, one per (sample, channel) pair; squares of one
    colour share one mean and variance. Its title gives the number of means per batch
    (C, N, N * G and N * C). Plotting only: ``axes`` is a sequence of four matplotlib axes.
    """
    from matplotlib.colors import ListedColormap
    import matplotlib.pyplot as plt

    titles = {"batch": "Batch norm", "layer": "Layer norm", "group": f"Group norm, G = {groups}",
              "instance": "Instance norm"}
    palette = ListedColormap(plt.cm.tab20.colors + plt.cm.tab20b.colors)       # 40 distinct colours
    for ax, kind in zip(axes, NORMALIZERS):
        labels = statistic_labels(kind, batch_size, channels, groups=groups if kind == "group" else None)
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
