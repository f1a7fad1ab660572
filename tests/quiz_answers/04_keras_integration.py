"""Recomputes every numeric answer of quizzes/04_keras_integration.json, with Keras where it counts parameters."""

import numpy as np

from bn_course.env import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

from bn_course.experiments import parameter_counts  # noqa: E402


def _seed000_cnn(use_bias=True):
    """Seed 000's CNN exactly as written (28x28x1 MNIST input, one pooling layer)."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), padding="same", use_bias=use_bias),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), padding="same", use_bias=use_bias),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(128, use_bias=use_bias),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def original_cnn_trainable():
    return parameter_counts(_seed000_cnn())[0]


def original_cnn_non_trainable():
    return parameter_counts(_seed000_cnn())[1]


def conv_bn_trainable():
    model = keras.Sequential([keras.Input(shape=(16, 16, 32)),
                              keras.layers.Conv2D(64, 3, padding="same", use_bias=False),
                              keras.layers.BatchNormalization()])
    return parameter_counts(model)[0]


def bias_savings():
    return parameter_counts(_seed000_cnn(True))[0] - parameter_counts(_seed000_cnn(False))[0]


def cnn_moving_variance():
    """215 Keras updates of a fresh layer on batches of variance 0.02 (mean 0)."""
    layer = keras.layers.BatchNormalization(momentum=0.99)
    batch = np.array([[-1.0], [1.0]], dtype="float32") * np.sqrt(0.02)
    for _ in range(215):
        layer(batch, training=True)
    return float(layer.moving_variance.numpy()[0])


def epsilon_constant_feature():
    layer = keras.layers.BatchNormalization(gamma_initializer=keras.initializers.Constant(1.5),
                                            beta_initializer=keras.initializers.Constant(0.2))
    return float(layer(np.zeros((8, 1), dtype="float32"), training=True).numpy()[0, 0])


ANSWERS = {
    "original-cnn-trainable": original_cnn_trainable,
    "original-cnn-non-trainable": original_cnn_non_trainable,
    "conv-bn-trainable": conv_bn_trainable,
    "bias-savings": bias_savings,
    "cnn-moving-variance": cnn_moving_variance,
    "epsilon-constant-feature": epsilon_constant_feature,
}
