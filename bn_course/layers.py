"""``BatchNorm``: batch normalization as a Keras 3 layer, equal to Keras's own (notebook 03).

Imports TensorFlow (through :func:`bn_course.env.import_tensorflow`), so ``import bn_course``
alone stays light. Importing this module also registers the layer with Keras's serializer
under the name ``"bn_course>BatchNorm"``; see :class:`BatchNorm` for what that means when
a saved model is loaded.
"""

import math
import numbers

from bn_course.env import import_tensorflow

tf = import_tensorflow()  # before Keras, which would import TensorFlow noisily
import keras  # noqa: E402

__all__ = ["BatchNorm"]


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(
            f"axis must be an int (the feature axis to keep, e.g. -1 or 1), "
            f"got {type(axis).__name__} {axis!r}"
        )
    return int(axis)


def _check_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_flag(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


@keras.saving.register_keras_serializable(package="bn_course")
class BatchNorm(keras.layers.Layer):
    """Batch normalization with moving statistics, behaving exactly like Keras's layer.

    A from-scratch version of ``keras.layers.BatchNormalization`` restricted to its
    core arguments. For the same arguments and weights it gives the same outputs,
    the same moving statistics after every step and the same gradients
    (``tests/test_layers.py`` checks this against Keras 3).

    Shapes: the input has any rank >= 1, e.g. (N, D) after a Dense layer,
    (N, H, W, C) after a ``channels_last`` Conv2D, (N, C, H, W) for ``channels_first``.
    ``axis`` is the feature axis that is *kept*; C = input_shape[axis] must be known
    when the layer is built. All four weights have shape (C,); the output has the
    input's shape.

    Weights (created in ``build``, in this order, with Keras's initializers):
        gamma            (C,) ones,  trainable       -- absent when ``scale=False``
        beta             (C,) zeros, trainable       -- absent when ``center=False``
        moving_mean      (C,) zeros, non-trainable
        moving_variance  (C,) ones,  non-trainable
    So a layer on C features has 2C trainable and 2C non-trainable parameters.

    Training mode (``training`` truthy *and* ``self.trainable``), with m = number of
    values per feature (the product of every input dimension except ``axis``)::

        mean     = sum(x) / m                      over every axis except ``axis``
        var      = sum((x - mean)**2) / m          biased: divide by m, not m - 1
        y        = gamma * (x - mean) / sqrt(var + epsilon) + beta
        moving_mean     <- moving_mean     * momentum + mean * (1 - momentum)
        moving_variance <- moving_variance * momentum + var  * (1 - momentum)

    ``momentum`` is the share of the *old* value kept (0.99 keeps 99 %; PyTorch's
    ``momentum=0.1`` weights the new value instead, i.e. Keras ``momentum=0.9``).
    The moving variance stores the same biased variance that normalizes the batch.

    Inference mode (``training`` False or None -- None is what ``predict``,
    ``evaluate`` and a plain ``layer(x)`` pass -- or any call while
    ``trainable=False``)::

        y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta

    and nothing is updated, so each sample's output is independent of the rest
    of its batch. As in Keras, ``trainable=False`` freezes the layer *and* forces
    inference mode even when ``training=True`` (the fine-tuning convention);
    ``model.compile`` must be called again after changing it.

    float16/bfloat16 inputs are normalized in float32 (their range is too small for
    sums of squares) and the result is cast to the layer's compute dtype, as Keras
    does: float32 under the default policy, float16 under ``mixed_float16``. The
    weights are never autocast, so under a mixed policy they stay float32.

    Args:
        axis: int, the feature axis to keep; negative values count from the end.
        momentum: float in [0, 1], share of the old moving statistic kept per step.
        epsilon: float >= 0, added to the variance under the square root.
        center: bool, add the learned offset ``beta``.
        scale: bool, multiply by the learned scale ``gamma``.
        **kwargs: the usual layer arguments (``name``, ``dtype``, ``trainable``).

    Raises:
        TypeError: ``axis`` is not an int, a number argument is not a number,
            ``center``/``scale`` is not a bool.
        ValueError: ``momentum`` outside [0, 1], ``epsilon`` negative or not finite;
            at build time, ``axis`` out of range for the input shape or the feature
            dimension unknown (None).

    Differences from ``keras.layers.BatchNormalization``: none in behaviour for the
    arguments above. Keras has more options this layer does not implement:
    custom initializers, regularizers and constraints for the weights, masking
    (statistics over unmasked positions only), Batch Renormalization
    (``renorm``, ``renorm_clipping``, ``renorm_momentum``), and statistics
    synchronized across replicas (``synchronized=True``); Keras 2's virtual batches
    and adjustment are gone from Keras 3 altogether.

    Saving: importing ``bn_course.layers`` registers the class as
    ``"bn_course>BatchNorm"``, and a ``.keras`` file records that name. Keras 3.15
    imports the recorded module automatically only for Keras's own packages, so in a
    new Python process run ``import bn_course.layers`` before
    ``keras.saving.load_model(path)``; no ``custom_objects`` are needed then.
    Without the import, loading fails with ``TypeError: Could not locate class 'BatchNorm'``.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis)
        self.momentum = _check_number(momentum, "momentum")
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(
                f"momentum must be in [0, 1] (the share of the old moving value kept, "
                f"Keras default 0.99), got {momentum}"
            )
        self.epsilon = _check_number(epsilon, "epsilon")
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0 (Keras default 1e-3), got {epsilon}")
        self.center = _check_flag(center, "center")
        self.scale = _check_flag(scale, "scale")
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self.reduction_axes = None  # set in build: the axes the statistics average over

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"axis={self.axis} does not exist in an input of shape {tuple(input_shape)} "
                f"(rank {rank}); use an axis in [{-rank}, {rank - 1}]"
            )
        axis = self.axis % rank
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(
                f"the feature dimension (axis={self.axis}) of the input shape "
                f"{tuple(input_shape)} is None; BatchNorm needs to know it to create "
                "gamma, beta and the moving statistics (give the Input layer a full shape)"
            )
        shape = (channels,)
        # autocast=False: under a mixed policy the weights stay float32 inside call().
        if self.scale:
            self.gamma = self.add_weight(shape=shape, name="gamma", initializer="ones",
                                         trainable=True, autocast=False)
        if self.center:
            self.beta = self.add_weight(shape=shape, name="beta", initializer="zeros",
                                        trainable=True, autocast=False)
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean", initializer="zeros",
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer="ones", trainable=False, autocast=False)
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={self.axis: channels})
        self.reduction_axes = tuple(a for a in range(rank) if a != axis)
        # A (C,) vector reshaped to this lines up with `axis` (e.g. (1, C, 1, 1) for NCHW).
        self._broadcast_shape = tuple(channels if a == axis else 1 for a in range(rank))

    def call(self, inputs, training=None):
        dtype = keras.backend.result_type(inputs.dtype, "float32")  # float16/bfloat16 -> float32
        x = tf.cast(inputs, dtype)
        moving_mean = tf.cast(self.moving_mean, dtype)
        moving_variance = tf.cast(self.moving_variance, dtype)
        gamma = tf.cast(self.gamma, dtype) if self.scale else None
        beta = tf.cast(self.beta, dtype) if self.center else None

        if training and self.trainable:
            # Training mode: normalize with this batch's statistics (biased variance) ...
            mean, variance = tf.nn.moments(x, axes=self.reduction_axes)
            # ... and fold them into the moving averages; assign() persists inside tf.function.
            self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(
                moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            # Inference mode (training False/None, or a frozen layer): the stored statistics.
            mean, variance = moving_mean, moving_variance

        outputs = tf.nn.batch_normalization(
            x,
            mean=self._line_up(mean),
            variance=self._line_up(variance),
            offset=self._line_up(beta),  # offset (beta) comes before scale (gamma)
            scale=self._line_up(gamma),
            variance_epsilon=self.epsilon,
        )
        return tf.cast(outputs, self.compute_dtype)

    def _line_up(self, vector):
        """Reshape a (C,) vector so it broadcasts against the input along ``axis``."""
        return None if vector is None else tf.reshape(vector, self._broadcast_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis,
            momentum=self.momentum,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
        )
        return config
