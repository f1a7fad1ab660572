"""Recomputes every numeric answer of quizzes/04_keras_integration.json, with Keras itself."""

import numpy as np

from bn_course.env import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

from bn_course.experiments import parameter_counts  # noqa: E402


def conv_bn_trainable():
    model = keras.Sequential([keras.Input(shape=(16, 16, 32)),
                              keras.layers.Conv2D(64, 3, padding="same", use_bias=False),
                              keras.layers.BatchNormalization()])
    return parameter_counts(model)[0]


def cnn_moving_variance():
    """215 Keras updates of a fresh layer (momentum 0.99) on batches of variance 0.014 (mean 0)."""
    layer = keras.layers.BatchNormalization(momentum=0.99)
    batch = np.array([[-1.0], [1.0]], dtype="float32") * np.sqrt(0.014)
    for _ in range(215):
        layer(batch, training=True)
    return float(layer.moving_variance.numpy()[0])


def epsilon_constant_feature():
    layer = keras.layers.BatchNormalization(gamma_initializer=keras.initializers.Constant(1.5),
                                            beta_initializer=keras.initializers.Constant(0.2))
    return float(layer(np.zeros((8, 1), dtype="float32"), training=True).numpy()[0, 0])


ANSWERS = {
    "conv-bn-trainable": conv_bn_trainable,
    "cnn-moving-variance": cnn_moving_variance,
    "epsilon-constant-feature": epsilon_constant_feature,
}
