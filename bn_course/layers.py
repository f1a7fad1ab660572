"""``BatchNorm``: batch normalization as a Keras 3 layer, equal to Keras's own (taught in notebook 03).

The class below is the lesson of notebook 03: the notebook shows it in one cell, character for
character, and ``tests/test_layer_source.py`` checks that the two copies are the same code.
Edit both together.

Contract (``tests/test_layers.py`` checks each point against ``keras.layers.BatchNormalization``):

- Same constructor arguments and defaults for ``axis=-1, momentum=0.99, epsilon=1e-3,
  center=True, scale=True`` (plus ``name``, ``dtype``, ``trainable``).
- Same weights, in the same order, each of shape (C,) with C = input_shape[axis]:
  ``gamma`` (ones, trainable; absent with ``scale=False``), ``beta`` (zeros, trainable;
  absent with ``center=False``), ``moving_mean`` (zeros) and ``moving_variance`` (ones),
  both non-trainable.
- Training mode (``training`` truthy and ``self.trainable``), with m values per feature::

      mean = sum(x) / m,  var = sum((x - mean)**2) / m          over every axis but ``axis``
      y    = gamma * (x - mean) / sqrt(var + epsilon) + beta
      moving <- moving * momentum + batch_statistic * (1 - momentum)

- Inference mode (``training`` False or None, or ``trainable=False``)::

      y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta

- float16/bfloat16 inputs are normalized in float32; the result has the layer's compute dtype.
- Bad arguments raise ``TypeError``/``ValueError`` naming the argument (momentum, epsilon and axis
  through ``bn_course.validation``, the checks every module of the course shares).
- Saving: importing this module registers the class as ``"bn_course>BatchNorm"``; a ``.keras``
  file records that name, so ``keras.saving.load_model`` restores the layer without
  ``custom_objects`` once ``bn_course.layers`` has been imported (Keras imports a saved
  object's module by itself only for its own packages).

What Keras's layer has and this one leaves out: custom initializers, regularizers and
constraints, masking, Batch Renormalization and ``synchronized=True``.
"""

from bn_course.env import import_tensorflow
from bn_course.validation import check_axis, check_eps, check_int, check_momentum

tf = import_tensorflow()  # before Keras, which would import TensorFlow noisily
import keras  # noqa: E402

__all__ = ["BatchNorm"]


@keras.saving.register_keras_serializable(package="bn_course")
class BatchNorm(keras.layers.Layer):
    """Batch normalization with moving statistics, like keras.layers.BatchNormalization."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        # Check the arguments now, with messages that name them (not deep inside call later).
        # check_momentum, check_eps and check_int are the course's shared checks (bn_course.validation):
        # TypeError for a wrong kind of value, ValueError for momentum outside [0, 1] or epsilon below 0.
        self.momentum = check_momentum(momentum)
        self.epsilon = check_eps(epsilon, name="epsilon")
        self.axis = check_int(axis, "axis", low=None)  # any int for now: build checks it exists in the input
        for name, value in [("center", center), ("scale", scale)]:
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        self.center, self.scale = center, scale

    def build(self, input_shape):
        rank = len(input_shape)
        axis = check_axis(self.axis, rank, input_shape)  # ValueError if out of range; -1 becomes rank - 1
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"the size of axis={self.axis} in the input shape {tuple(input_shape)} is None; "
                             "BatchNorm needs it to create its weights")
        # Four vectors of shape (C,), in Keras's order, with Keras's initial values.
        # autocast=False: call reads them as float32 even under mixed precision (no cast to float16).
        if self.scale:
            self.gamma = self.add_weight(shape=(channels,), name="gamma", initializer="ones", autocast=False)
        if self.center:
            self.beta = self.add_weight(shape=(channels,), name="beta", initializer="zeros", autocast=False)
        self.moving_mean = self.add_weight(shape=(channels,), name="moving_mean", initializer="zeros",
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(shape=(channels,), name="moving_variance", initializer="ones",
                                               trainable=False, autocast=False)
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={self.axis: channels})
        # The statistics average over every axis except `axis` ...
        self.reduction_axes = [a for a in range(rank) if a != axis]
        # ... and a (C,) vector reshaped to stats_shape lines up with `axis`, e.g. (1, C, 1, 1) for NCHW.
        self.stats_shape = [channels if a == axis else 1 for a in range(rank)]

    def call(self, inputs, training=None):
        # float16/bfloat16 inputs are normalized in float32, as Keras does:
        # statistics computed in 16 bits lose digits and can overflow.
        dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = tf.cast(inputs, dtype)
        moving_mean = tf.cast(self.moving_mean, dtype)
        moving_variance = tf.cast(self.moving_variance, dtype)
        if training and self.trainable:
            # Training mode: normalize with this batch's statistics (biased variance) ...
            mean, variance = tf.nn.moments(x, axes=self.reduction_axes)
            # ... and move the stored averages towards them. assign() writes into the variables.
            self.moving_mean.assign(moving_mean * self.momentum + mean * (1 - self.momentum))
            self.moving_variance.assign(moving_variance * self.momentum + variance * (1 - self.momentum))
        else:
            # Inference mode (training False or None, or a frozen layer): the stored statistics.
            mean, variance = moving_mean, moving_variance

        def line_up(vector):  # a (C,) vector, reshaped to broadcast along `axis`
            return tf.reshape(tf.cast(vector, dtype), self.stats_shape)

        outputs = tf.nn.batch_normalization(
            x,
            mean=line_up(mean),
            variance=line_up(variance),
            offset=line_up(self.beta) if self.center else None,  # offset (beta) comes before scale (gamma)
            scale=line_up(self.gamma) if self.scale else None,
            variance_epsilon=self.epsilon,
        )
        return tf.cast(outputs, self.compute_dtype)

    def get_config(self):
        # What model.save() writes for this layer; loading passes it back to __init__.
        config = super().get_config()
        config.update(axis=self.axis, momentum=self.momentum, epsilon=self.epsilon,
                      center=self.center, scale=self.scale)
        return config
