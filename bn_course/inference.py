"""Batch normalization at inference time (introduced in notebook 05).

Three tools, each computed in NumPy (Keras is imported only by the functions that
take a Keras model, so ``import bn_course.inference`` stays light):

**Folding.** At inference a BN layer is a fixed per-channel affine map,

    y = gamma * (z - mean) / sqrt(var + eps) + beta = z * s + t,
    s = gamma / sqrt(var + eps),    t = beta - mean * s,

so when it directly follows a linear layer ``z = x @ W + b`` (Dense) or
``z = conv(x, W) + b`` (Conv1D/2D/3D, output channels last) it can be merged into it:

    W' = W * s       (each output channel's column / filter scaled by its s)
    b' = (b - mean) * s + beta       (b = 0 when the layer has use_bias=False)

and ``x @ W' + b'`` equals BN(x @ W + b) in inference mode up to float rounding.

**Population statistics.** The exact mean and variance of a BN layer's input over a
whole data set (what the moving averages only estimate), accumulated batch by batch
in float64 with Chan et al.'s pairwise update, so nothing needs to fit in memory:

    mean = sum(z) / M,    var = sum((z - mean)**2) / (M - ddof)

with M = number of samples x all non-channel positions (N for Dense, N*H*W for Conv2D).

**PyTorch conventions.** ``torch.nn.BatchNorm{1,2,3}d`` differs from Keras in three ways:

    momentum: running = (1 - m_torch) * running + m_torch * batch   (default m_torch = 0.1)
              Keras:    moving  = m_keras * moving + (1 - m_keras) * batch   (default 0.99)
              so m_keras = 1 - m_torch (PyTorch's default is Keras's 0.9);
    eps:      1e-5 (Keras 1e-3);
    variance: both normalize a training batch with its *biased* variance, but PyTorch
              stores the *unbiased* one in running_var:
              running_var = (1 - m) * running_var + m * var_biased * n / (n - 1),
              n = values per channel in the batch. Keras stores the biased one.

At inference both compute gamma * (x - stored_mean) / sqrt(stored_var + eps) + beta
with the stored values as they are, so converting a layer means copying the four
arrays unchanged and translating momentum, eps and the channel axis. Rescaling
running_var by (n-1)/n "to make it Keras-like" would change the outputs.
"""

import numpy as np

from bn_course.env import import_tensorflow
from bn_course.numpy_bn import _normalize_axis

__all__ = [
    "bn_scale_shift",
    "fold_batchnorm_weights",
    "batchnorm_parameters",
    "fold_batchnorm",
    "PopulationStatistics",
    "population_statistics",
    "bn_input_model",
    "recompute_population_statistics",
    "torch_batch_norm_train",
    "torch_update_running",
    "torch_to_keras_bn",
    "keras_to_torch_bn",
]


def _vector(value, name, channels=None):
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of per-channel values, got shape {array.shape}")
    if channels is not None and array.size != channels:
        raise ValueError(f"{name} has {array.size} values but there are {channels} channels")
    return array


# --------------------------------------------------------------------------- folding

def bn_scale_shift(gamma, beta, mean, var, eps=1e-3):
    """Inference-mode BN as ``y = z * scale + shift``; returns ``(scale, shift)``, each (C,).

    ``scale = gamma / sqrt(var + eps)`` and ``shift = beta - mean * scale``, in float64.
    ``var`` must be >= 0 and ``eps`` >= 0 with ``var + eps > 0``.
    """
    gamma = _vector(gamma, "gamma")
    channels = gamma.size
    beta = _vector(beta, "beta", channels)
    mean = _vector(mean, "mean", channels)
    var = _vector(var, "var", channels)
    if eps < 0 or np.any(var < 0) or np.any(var + eps <= 0):
        raise ValueError("var must be >= 0, eps >= 0 and var + eps > 0")
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


# -------------------------------------------------------------- population statistics

class PopulationStatistics:
    """Exact per-channel mean and variance of a stream of batches, in float64.

    ``update(batch)`` takes an array whose channel axis is ``axis`` (Keras meaning:
    the kept axis); every other axis is reduced. Batches are merged with the
    pairwise formula of Chan, Golub & LeVeque (1979):

        n = n_a + n_b,  delta = mean_b - mean_a
        mean = mean_a + delta * n_b / n
        M2 = M2_a + M2_b + delta**2 * n_a * n_b / n        (M2 = sum of squared deviations)

    so the result equals NumPy's mean/var over the concatenated data without
    holding it in memory. ``variance(ddof)`` = M2 / (count - ddof).
    """

    def __init__(self, axis=-1):
        self.axis = axis
        self.count = 0
        self.mean = None
        self._m2 = None

    def update(self, batch):
        batch = np.asarray(batch, dtype=np.float64)
        if batch.ndim < 2:
            raise ValueError(f"a batch needs a batch axis and a channel axis, got shape {batch.shape}")
        axis = _normalize_axis(batch, self.axis)
        rows = np.moveaxis(batch, axis, -1).reshape(-1, batch.shape[axis])
        n_b = rows.shape[0]
        if n_b == 0:
            return self
        mean_b = rows.mean(axis=0)
        m2_b = ((rows - mean_b) ** 2).sum(axis=0)
        if self.mean is None:
            self.count, self.mean, self._m2 = n_b, mean_b, m2_b
            return self
        if mean_b.size != self.mean.size:
            raise ValueError(f"batch has {mean_b.size} channels, earlier batches had {self.mean.size}")
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / n
        self._m2 = self._m2 + m2_b + delta**2 * self.count * n_b / n
        self.count = n
        return self

    def variance(self, ddof=0):
        """M2 / (count - ddof): ddof=0 the biased (population) variance, ddof=1 the unbiased one."""
        if self.mean is None:
            raise ValueError("no data yet: call update() with at least one batch")
        if self.count - ddof <= 0:
            raise ValueError(f"need more than {ddof} values per channel, have {self.count}")
        return self._m2 / (self.count - ddof)


def population_statistics(data, axis=-1, ddof=0):
    """Exact ``(mean, var)``, each (C,) float64, of an array or an iterable of batches.

    ``data`` is one array (N, ..., C) or an iterable of such arrays; statistics are
    over every axis but ``axis``; ``ddof=0`` gives the biased variance (what Keras
    stores), ``ddof=1`` the unbiased one. See :class:`PopulationStatistics`.
    """
    stats = PopulationStatistics(axis=axis)
    batches = [data] if isinstance(data, np.ndarray) else data
    for batch in batches:
        stats.update(batch)
    return stats.mean, stats.variance(ddof)


def bn_input_model(model, layers=None):
    """A Keras model mapping ``model``'s input to the inputs of its BN layers.

    ``layers`` defaults to every ``keras.layers.BatchNormalization`` in ``model``
    (in order); the returned model has one output per layer. Call it with
    ``training=False`` (the default) to see what the layers receive at inference.
    """
    import_tensorflow()  # quietly, before Keras imports TensorFlow
    import keras

    if layers is None:
        layers = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    outputs = [l.input for l in layers]
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs)


def recompute_population_statistics(model, x, batch_size=256, ddof=0, assign=False):
    """Exact statistics of every BN layer's input over the data set ``x``.

    Runs ``model`` in inference mode over ``x`` in batches of ``batch_size`` and
    returns ``{layer name: (mean, var)}`` (float64, shape (C,), ``var`` with ``ddof``).
    With ``assign=True`` each layer's ``moving_mean`` / ``moving_variance`` are
    replaced by the result *before* the next layer is measured, so a later layer's
    statistics are exactly those of the inputs it receives at inference (one pass
    over ``x`` per BN layer). With ``assign=False`` one pass measures all layers
    with the current moving statistics upstream, and the model is not changed.
    """
    import_tensorflow()  # quietly, before Keras imports TensorFlow
    import keras

    layers = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer")
    x = np.asarray(x)

    def measure(targets):
        probe = bn_input_model(model, targets)
        accumulators = [PopulationStatistics(axis=l.axis) for l in targets]
        for start in range(0, len(x), batch_size):
            outputs = probe(x[start:start + batch_size], training=False)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            for accumulator, out in zip(accumulators, outputs):
                accumulator.update(np.asarray(out))
        return [(a.mean, a.variance(ddof)) for a in accumulators]

    if not assign:
        return {l.name: stats for l, stats in zip(layers, measure(layers))}
    result = {}
    for layer in layers:
        mean, var = measure([layer])[0]
        layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
        layer.moving_variance.assign(var.astype(layer.moving_variance.dtype))
        result[layer.name] = (mean, var)
    return result


# -------------------------------------------------------------- PyTorch conventions

def torch_update_running(running_mean, running_var, batch, momentum=0.1, axis=1):
    """One PyTorch running-statistics update, simulated in NumPy.

    ``batch`` has its channels on ``axis`` (PyTorch layout: 1, i.e. (N, C) or (N, C, H, W));
    with n = values per channel in the batch (N, or N*H*W), mu_B and the biased
    var_B over every other axis:

        running_mean = (1 - momentum) * running_mean + momentum * mu_B
        running_var  = (1 - momentum) * running_var  + momentum * var_B * n / (n - 1)

    Returns new ``(running_mean, running_var)`` (float64); needs n >= 2 (PyTorch raises too).
    """
    batch = np.asarray(batch, dtype=np.float64)
    axis = _normalize_axis(batch, axis)
    reduce_axes = tuple(a for a in range(batch.ndim) if a != axis)
    n = batch.size // batch.shape[axis]
    if n < 2:
        raise ValueError("PyTorch needs more than one value per channel in training mode")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    mean = batch.mean(axis=reduce_axes)
    unbiased = batch.var(axis=reduce_axes) * n / (n - 1)
    new_mean = (1 - momentum) * np.asarray(running_mean, np.float64) + momentum * mean
    new_var = (1 - momentum) * np.asarray(running_var, np.float64) + momentum * unbiased
    return new_mean, new_var


def torch_batch_norm_train(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5, axis=1):
    """A training-mode ``torch.nn.BatchNorm*d`` forward pass, simulated in NumPy.

    Output: ``weight * (x - mu_B) / sqrt(var_B + eps) + bias`` with the batch's own
    mean and *biased* variance (``bn_course.numpy_bn.batch_norm`` with ``axis``);
    then the running statistics are updated by :func:`torch_update_running`.
    Returns ``(y, running_mean, running_var)``.
    """
    from bn_course.numpy_bn import batch_norm

    y = batch_norm(np.asarray(x, np.float64), weight, bias, eps=eps, axis=axis)
    return (y, *torch_update_running(running_mean, running_var, x, momentum=momentum, axis=axis))


def torch_to_keras_bn(state, momentum=0.1, eps=1e-5, affine=True, track_running_stats=True,
                      channels_first=True):
    """Translate a PyTorch BatchNorm's ``state_dict`` and options into Keras terms.

    Args:
        state: dict with ``running_mean`` and ``running_var`` and, when ``affine``,
            ``weight`` (gamma) and ``bias`` (beta); values are arrays (C,) (a
            ``num_batches_tracked`` entry is accepted and ignored).
        momentum, eps, affine, track_running_stats: the PyTorch constructor arguments.
        channels_first: the Keras model keeps PyTorch's (N, C, ...) layout (axis=1);
            False when the inputs are transposed to channels last (axis=-1).

    Returns ``(config, weights)``: ``keras.layers.BatchNormalization(**config)`` and
    ``layer.set_weights(weights)`` (order gamma, beta, moving_mean, moving_variance,
    without gamma/beta when not affine). config has ``momentum = 1 - momentum``
    (rounded to 12 decimals, so 0.1 gives exactly 0.9),
    ``epsilon = eps``, ``center = scale = affine``, ``axis``. Values are copied
    unchanged (float32), running_var included: see the module docstring.

    Raises ValueError for ``momentum=None`` (PyTorch's cumulative average has no
    Keras equivalent) and for ``track_running_stats=False`` (no stored statistics:
    PyTorch then normalizes with batch statistics even in eval mode).
    """
    if momentum is None:
        raise ValueError("momentum=None means a cumulative average in PyTorch; Keras only has the "
                         "exponential moving average, so there is no equivalent momentum")
    if not track_running_stats:
        raise ValueError("track_running_stats=False keeps no running statistics (batch statistics "
                         "are used in eval mode too); a Keras BatchNormalization layer cannot do that")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    mean = _vector(state["running_mean"], "running_mean")
    channels = mean.size
    var = _vector(state["running_var"], "running_var", channels)
    weights = []
    if affine:
        weights += [_vector(state["weight"], "weight", channels), _vector(state["bias"], "bias", channels)]
    weights += [mean, var]
    config = {
        "axis": 1 if channels_first else -1,
        "momentum": round(1.0 - float(momentum), 12),
        "epsilon": float(eps),
        "center": bool(affine),
        "scale": bool(affine),
    }
    return config, [w.astype(np.float32) for w in weights]


def keras_to_torch_bn(config, weights):
    """The inverse of :func:`torch_to_keras_bn`.

    ``config`` holds a Keras BatchNormalization's ``momentum`` and ``epsilon``
    (and optionally ``center``, ``scale``, defaults True; ``layer.get_config()`` works);
    ``weights`` is ``layer.get_weights()``. Returns ``(state, options)``: a
    ``state_dict``-like dict (``weight``, ``bias`` when affine, ``running_mean``,
    ``running_var``, float32, values unchanged) and the constructor options
    ``{"momentum": 1 - keras_momentum, "eps": epsilon, "affine": ...}``.

    Raises ValueError when only one of center/scale is set (PyTorch's ``affine``
    has both or neither; pass gamma = 1 or beta = 0 explicitly instead).
    """
    center, scale = bool(config.get("center", True)), bool(config.get("scale", True))
    if center != scale:
        raise ValueError("PyTorch's affine=True has both weight and bias; a Keras layer with only one of "
                         "center/scale needs the other filled in (gamma = 1 or beta = 0) first")
    weights = [np.asarray(w, dtype=np.float32) for w in weights]
    expected = 4 if scale else 2
    if len(weights) != expected:
        raise ValueError(f"expected {expected} weight arrays for center={center}, scale={scale}, got {len(weights)}")
    state = {}
    if scale:
        state["weight"], state["bias"] = weights[0], weights[1]
    state["running_mean"], state["running_var"] = weights[-2], weights[-1]
    options = {"momentum": round(1.0 - float(config["momentum"]), 12), "eps": float(config["epsilon"]), "affine": scale}
    return state, options
