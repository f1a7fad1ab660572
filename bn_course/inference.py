"""Folding batch normalization into the layer before it, for inference (notebook 05).

At inference a BN layer is a fixed per-channel affine map,

    y = gamma * (z - mean) / sqrt(var + eps) + beta = z * s + t,
    s = gamma / sqrt(var + eps),    t = beta - mean * s,

so when it directly follows a linear layer ``z = x @ W + b`` (Dense) or
``z = conv(x, W) + b`` (Conv1D/2D/3D, output channels last) it can be merged into it:

    W' = W * s       (each output channel's column / filter scaled by its s)
    b' = (b - mean) * s + beta       (b = 0 when the layer has use_bias=False)

and ``x @ W' + b'`` equals BN(x @ W + b) in inference mode up to float rounding.
Notebook 05's exercise 3 has the learner derive the formula; :func:`fold_batchnorm`
applies it to every foldable pair of a ``Sequential`` model (plumbing: the model
rebuilding). Computed in NumPy; Keras is imported only by the functions that take a
Keras model, so ``import bn_course.inference`` stays light.
"""

import numpy as np

from bn_course.env import import_tensorflow
from bn_course.validation import check_channel_vector, check_eps

__all__ = ["bn_scale_shift", "fold_batchnorm_weights", "batchnorm_parameters", "fold_batchnorm"]


def _vector(value, name, channels):
    """``value`` checked to be (channels,) by :func:`bn_course.validation.check_channel_vector`, in float64."""
    return check_channel_vector(value, name, channels).astype(np.float64)


def bn_scale_shift(gamma, beta, mean, var, eps=1e-3):
    """Inference-mode BN as ``y = z * scale + shift``; returns ``(scale, shift)``, each (C,).

    ``scale = gamma / sqrt(var + eps)`` and ``shift = beta - mean * scale``, in float64.
    ``var`` must be >= 0 and ``eps`` >= 0 with ``var + eps > 0``.
    """
    channels = np.size(gamma)
    gamma, beta, mean, var = (_vector(value, name, channels) for value, name in
                              ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var")))
    eps = check_eps(eps)
    if np.any(var < 0) or np.any(var + eps <= 0):
        raise ValueError("var must be >= 0 and var + eps > 0")
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def fold_batchnorm_weights(kernel, bias, gamma, beta, mean, var, eps=1e-3):
    """Merge an inference-mode BN into the linear layer before it.

    Args:
        kernel: the Dense kernel (D_in, C) or a convolution kernel (..., C_in, C):
            the output channel is the last axis, as in Keras.
        bias: (C,), or None for a layer with ``use_bias=False``.
        gamma, beta, mean, var: the BN layer's (C,) parameters and moving statistics.
        eps: the BN layer's epsilon.

    Returns ``(kernel', bias')`` with the dtype of ``kernel`` (float32 for Keras):
        kernel' = kernel * s,   bias' = (bias - mean) * s + beta,   s = gamma / sqrt(var + eps).
    The inputs are not modified.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim < 2:
        raise ValueError(f"kernel must have rank >= 2 with output channels last, got shape {kernel.shape}")
    channels = kernel.shape[-1]
    gamma = _vector(gamma, "gamma", channels)
    scale, shift = bn_scale_shift(gamma, beta, mean, var, eps)
    bias = np.zeros(channels) if bias is None else _vector(bias, "bias", channels)
    dtype = kernel.dtype if np.issubdtype(kernel.dtype, np.floating) else np.float64
    new_kernel = (kernel.astype(np.float64) * scale).astype(dtype)
    new_bias = (bias * scale + shift).astype(dtype)
    return new_kernel, new_bias


def batchnorm_parameters(layer):
    """A Keras BatchNormalization layer's numbers as a dict of float64 arrays / floats.

    Keys: ``gamma`` (ones when ``scale=False``), ``beta`` (zeros when ``center=False``),
    ``moving_mean``, ``moving_variance``, ``epsilon``, ``momentum``, ``axis``.
    """
    mean = np.asarray(layer.moving_mean.numpy(), dtype=np.float64)
    return {
        "gamma": np.asarray(layer.gamma.numpy(), np.float64) if layer.scale else np.ones_like(mean),
        "beta": np.asarray(layer.beta.numpy(), np.float64) if layer.center else np.zeros_like(mean),
        "moving_mean": mean,
        "moving_variance": np.asarray(layer.moving_variance.numpy(), dtype=np.float64),
        "epsilon": float(layer.epsilon),
        "momentum": float(layer.momentum),
        "axis": layer.axis,
    }


def _clone_layer(layer, **changes):
    config = layer.get_config()
    config.update(changes)
    return layer.__class__.from_config(config)


def fold_batchnorm(model):
    """A copy of a Keras ``Sequential`` model with every foldable BN merged away.

    A BatchNormalization layer is folded when it normalizes the last axis and directly
    follows a Dense or Conv1D/2D/3D layer with no activation (``activation=None`` /
    "linear", the Dense -> BN -> Activation placement). The linear layer is rebuilt
    with ``use_bias=True`` and the weights of :func:`fold_batchnorm_weights`; every
    other layer (including a BN that cannot be folded) is copied unchanged. The
    result computes what ``model(x, training=False)`` computes, with fewer operations.

    Raises TypeError for a model that is not ``keras.Sequential``.
    """
    import_tensorflow()  # quietly, before Keras imports TensorFlow
    import keras

    if not isinstance(model, keras.Sequential):
        raise TypeError(f"fold_batchnorm needs a keras.Sequential model, got {type(model).__name__}")
    linear_types = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
    layers = list(model.layers)
    new_layers = [keras.Input(shape=model.input_shape[1:])]
    pending = []  # (new layer, weights) to set once the model is built
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        foldable = (
            isinstance(layer, linear_types)
            and type(layer) in linear_types  # not a subclass with its own call()
            and isinstance(nxt, keras.layers.BatchNormalization)
            and keras.activations.serialize(layer.activation) in ("linear", None)
            and nxt.axis in (-1, len(nxt.input.shape) - 1)
        )
        if foldable:
            bn = batchnorm_parameters(nxt)
            kernel = layer.kernel.numpy()
            bias = layer.bias.numpy() if layer.use_bias else None
            weights = fold_batchnorm_weights(kernel, bias, bn["gamma"], bn["beta"],
                                             bn["moving_mean"], bn["moving_variance"], bn["epsilon"])
            new = _clone_layer(layer, use_bias=True, name=f"{layer.name}_folded")
            pending.append((new, list(weights)))
            i += 2
        else:
            new = _clone_layer(layer)
            pending.append((new, layer.get_weights()))
            i += 1
        new_layers.append(new)
    folded = keras.Sequential(new_layers, name=f"{model.name}_folded")
    for new, weights in pending:
        new.set_weights(weights)
    return folded
