"""Folding batch normalization into the layer before it, for inference (notebook 05).

At inference BN is a fixed per-channel affine map ``y = z * s + t`` with ``s = gamma / sqrt(var + eps)``,
``t = beta - mean * s``. After a linear layer ``z = x @ W + b`` (Dense, or Conv1D/2D/3D with output
channels last) it merges into it: ``W' = W * s``, ``b' = (b - mean) * s + beta`` (b = 0 without bias).
Notebook 05's exercise 3 derives this; :func:`fold_batchnorm` applies it to a ``Sequential`` model.
Keras is imported only inside the functions that take a Keras model.
"""

import numpy as np

from bn_course.env import import_tensorflow
from bn_course.validation import as_float_array, check_channel_vector, check_eps

__all__ = ["bn_scale_shift", "fold_batchnorm_weights", "batchnorm_parameters", "fold_batchnorm"]


def bn_scale_shift(gamma, beta, mean, var, eps=1e-3):
    """Inference-mode BN as ``y = z * scale + shift``: ``scale = gamma / sqrt(var + eps)``,
    ``shift = beta - mean * scale``; each (C,) float64. Needs var >= 0 and var + eps > 0."""
    gamma, beta, mean, var = (check_channel_vector(value, name, np.size(gamma)).astype(np.float64)
                              for value, name in ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var")))
    eps = check_eps(eps)
    if np.any(var < 0) or np.any(var + eps <= 0):
        raise ValueError("var must be >= 0 and var + eps > 0")
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def fold_batchnorm_weights(kernel, bias, gamma, beta, mean, var, eps=1e-3):
    """Merge an inference-mode BN into the linear layer before it; the inputs are not modified.

    ``kernel``: Dense (D_in, C) or convolution (..., C_in, C), output channels last; ``bias``: (C,) or
    None (``use_bias=False``); ``gamma, beta, mean, var``: (C,). Returns ``(kernel * s, (bias - mean) * s
    + beta)`` with ``s = gamma / sqrt(var + eps)``, in the dtype of ``kernel`` (float32 for Keras).
    """
    kernel = as_float_array(kernel, "kernel")
    if kernel.ndim < 2:
        raise ValueError(f"kernel must have rank >= 2 with output channels last, got shape {kernel.shape}")
    channels = kernel.shape[-1]
    scale, shift = bn_scale_shift(check_channel_vector(gamma, "gamma", channels), beta, mean, var, eps)
    bias = 0.0 if bias is None else check_channel_vector(bias, "bias", channels).astype(np.float64)
    return (kernel.astype(np.float64) * scale).astype(kernel.dtype), (bias * scale + shift).astype(kernel.dtype)


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
    import_tensorflow()  # quietly, before Keras imports TensorFlow
    import keras

    if not isinstance(model, keras.Sequential):
        raise TypeError(f"fold_batchnorm needs a keras.Sequential model, got {type(model).__name__}")
    linear_types = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
    layers, copies = list(model.layers), []  # copies: (new layer, its weights), set once the model is built
    while layers:
        layer = layers.pop(0)
        bn = layers[0] if layers else None
        if (type(layer) in linear_types  # exactly: not a subclass with its own call()
                and isinstance(bn, keras.layers.BatchNormalization)
                and keras.activations.serialize(layer.activation) in ("linear", None)
                and bn.axis in (-1, len(bn.input.shape) - 1)):
            stats = batchnorm_parameters(layers.pop(0))
            weights = fold_batchnorm_weights(layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else None,
                                             stats["gamma"], stats["beta"], stats["moving_mean"],
                                             stats["moving_variance"], stats["epsilon"])
            config = {**layer.get_config(), "use_bias": True, "name": f"{layer.name}_folded"}
        else:
            config, weights = layer.get_config(), layer.get_weights()
        copies.append((layer.__class__.from_config(config), list(weights)))
    folded = keras.Sequential([keras.Input(shape=model.input_shape[1:]), *(new for new, _ in copies)],
                              name=f"{model.name}_folded")
    for new, weights in copies:
        new.set_weights(weights)
    return folded
