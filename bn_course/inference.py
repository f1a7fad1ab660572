"""Folding batch normalization into the layer before it, for inference (notebook 05).

At inference BN is a fixed per-channel affine map ``y = z * s + t`` with ``s = gamma / sqrt(var + eps)``,
``t = beta - mean * s``. After a linear layer ``z = x @ W + b`` (Dense, or Conv1D/2D/3D with output
channels last) it merges into it: ``W' = W * s``, ``b' = (b - mean) * s + beta`` (b = 0 without bias).
Notebook 05's exercise 3 derives this; :func:`fold_batchnorm` applies it to a ``Sequential`` model.
Keras is imported only inside the functions that take a Keras model.
"""

import numpy as np

from bn_course.env import import_keras
from bn_course.validation import as_float_array, check_channel_vector, check_eps, check_variance

__all__ = ["bn_scale_shift", "fold_batchnorm_weights", "batchnorm_parameters", "fold_batchnorm"]


def bn_scale_shift(gamma, beta, mean, var, eps=1e-3):
    """Inference-mode BN as ``y = z * scale + shift``: ``scale = gamma / sqrt(var + eps)``,
    ``shift = beta - mean * scale``; each (C,) float64. Needs var >= 0 and var + eps > 0."""
    channels = np.size(gamma)  # every vector must be (C,), with C gamma's length
    gamma = check_channel_vector(gamma, "gamma", channels)
    beta = check_channel_vector(beta, "beta", channels)
    mean = check_channel_vector(mean, "mean", channels)
    var = check_variance(var, "var", channels).astype(np.float64)  # so scale and shift are float64 too
    eps = check_eps(eps)
    if np.any(var + eps == 0):
        raise ValueError("var + eps must be > 0: with eps=0, every var must be > 0")
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def fold_batchnorm_weights(kernel, bias, gamma, beta, mean, var, eps=1e-3):
    """Merge an inference-mode BN into the linear layer before it; the inputs are not modified.

    ``kernel``: Dense (D_in, C) or convolution (..., C_in, C), output channels last; ``bias``: (C,) or
    None (``use_bias=False``); ``gamma, beta, mean, var``: (C,). Returns ``(kernel * s, (bias - mean) * s
    + beta)`` with ``s = gamma / sqrt(var + eps)``, in a float kernel's own dtype (float64 for an integer one).
    """
    kernel = np.asarray(kernel)
    dtype = kernel.dtype if np.issubdtype(kernel.dtype, np.floating) else np.float64
    kernel = as_float_array(kernel, "kernel")
    if kernel.ndim < 2:
        raise ValueError(f"kernel must have rank >= 2 with output channels last, got shape {kernel.shape}")
    channels = kernel.shape[-1]
    scale, shift = bn_scale_shift(check_channel_vector(gamma, "gamma", channels), beta, mean, var, eps)
    bias = 0.0 if bias is None else check_channel_vector(bias, "bias", channels)
    return (kernel * scale).astype(dtype), (bias * scale + shift).astype(dtype)


def batchnorm_parameters(layer):
    """A Keras BN layer's ``gamma`` (ones if ``scale=False``), ``beta`` (zeros if ``center=False``),
    ``moving_mean``, ``moving_variance`` (float64) and ``epsilon``, ``momentum``, ``axis``, as a dict."""
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


def fold_batchnorm(model):
    """A copy of a ``keras.Sequential`` model (TypeError otherwise) with every foldable BN merged away.

    A BN on the last axis right after a Dense/Conv1D/2D/3D with no activation is folded into it (rebuilt
    with ``use_bias=True``); every other layer is copied. The copy computes ``model(x, training=False)``.
    """
    keras = import_keras()
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"fold_batchnorm needs a keras.Sequential model, got {type(model).__name__}")
    linear_types = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
    copies = []  # (class, config, weights) of each layer of the copy
    previous = None
    for layer in model.layers:
        if (isinstance(layer, keras.layers.BatchNormalization)
                and type(previous) in linear_types  # exactly: not a subclass with its own call()
                and keras.activations.serialize(previous.activation) in ("linear", None)
                and layer.axis in (-1, len(layer.input.shape) - 1)):
            stats = batchnorm_parameters(layer)
            bias = previous.bias.numpy() if previous.use_bias else None
            weights = fold_batchnorm_weights(previous.kernel.numpy(), bias, stats["gamma"], stats["beta"],
                                             stats["moving_mean"], stats["moving_variance"], stats["epsilon"])
            config = {**previous.get_config(), "use_bias": True, "name": f"{previous.name}_folded"}
            copies[-1] = (type(previous), config, list(weights))  # replaces the copy of `previous`
        else:
            copies.append((type(layer), layer.get_config(), layer.get_weights()))
        previous = layer
    new_layers = [cls.from_config(config) for cls, config, _ in copies]
    folded = keras.Sequential([keras.Input(shape=model.input_shape[1:]), *new_layers], name=f"{model.name}_folded")
    for new, (_, _, weights) in zip(new_layers, copies):
        new.set_weights(weights)
    return folded
