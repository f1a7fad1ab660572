"""The models notebook 04 teaches, for the later TensorFlow notebooks, and its parameter table.

Notebook 04 writes these networks in view and checks that :func:`build_mlp` and :func:`build_cnn`
build the same models; notebooks 05 and 06 import them from here. Imports TensorFlow (``import bn_course``
does not import this module).
"""

import numpy as np

from bn_course.env import import_tensorflow

import_tensorflow()  # before Keras, which would import TensorFlow noisily
import keras  # noqa: E402

__all__ = ["build_mlp", "build_cnn", "parameter_counts", "layer_table"]

_PLACEMENTS = (None, "before", "after")


def build_mlp(input_dim=64, hidden=(64, 64), activation="relu", bn=None, use_bias=None,
              n_classes=10, seed=0, kernel_initializer="glorot_uniform", name=None, momentum=0.99):
    """A Dense MLP for (N, input_dim) inputs ending in a softmax over ``n_classes``.

    ``bn`` places a BatchNormalization (with ``momentum``) in each hidden block:
    None: Dense(activation); "before": Dense -> BN -> Activation (the BN paper's);
    "after": Dense -> Activation -> BN. ``use_bias`` defaults to False only for
    "before", where BN's beta makes the Dense bias redundant. Weights are seeded by ``seed``.
    """
    if bn not in _PLACEMENTS:
        raise ValueError(f"bn must be one of {_PLACEMENTS}, got {bn!r}")
    if use_bias is None:
        use_bias = bn != "before"
    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=(input_dim,))]
    for units in hidden:
        dense = keras.layers.Dense(units, None if bn else activation, use_bias=use_bias,
                                   kernel_initializer=kernel_initializer)
        if bn is None:
            layers.append(dense)
        elif bn == "before":
            layers += [dense, keras.layers.BatchNormalization(momentum=momentum), keras.layers.Activation(activation)]
        else:
            layers += [dense, keras.layers.Activation(activation), keras.layers.BatchNormalization(momentum=momentum)]
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers, name=name or f"mlp_bn_{bn or 'none'}")


def build_cnn(input_shape=(8, 8, 1), filters=(16, 32), dense=64, bn=True, n_classes=10, seed=0, name=None,
              momentum=0.99):
    """[Conv2D(3x3, same) -> BN -> ReLU -> MaxPool(2)] per filter count, Dense -> BN -> ReLU, softmax.

    With ``bn`` the layers in front of BN have ``use_bias=False`` (BN's beta takes its
    place); without it they keep their bias and apply ReLU directly.
    """
    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=input_shape)]

    def block(linear):
        if bn:
            return [linear, keras.layers.BatchNormalization(momentum=momentum), keras.layers.Activation("relu")]
        linear.activation = keras.activations.relu
        return [linear]

    for count in filters:
        layers += block(keras.layers.Conv2D(count, 3, padding="same", use_bias=not bn))
        layers.append(keras.layers.MaxPooling2D(2))
    layers.append(keras.layers.Flatten())
    layers += block(keras.layers.Dense(dense, use_bias=not bn))
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers, name=name or f"cnn_{'bn' if bn else 'plain'}")


def parameter_counts(model):
    """``(trainable, non_trainable)`` scalar counts of a built model or layer, as ``model.summary()``.

    BN's gamma and beta are trainable; its moving mean and variance are not.
    """
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, non_trainable


def layer_table(model):
    """A short ``model.summary()``: class, output shape, trainable and non-trainable counts, totals.

    Leaves out the auto-generated layer names, which depend on the session.
    """
    rows = [("layer", "output shape", "trainable", "non-trainable")]
    for layer in model.layers:
        trainable, non_trainable = parameter_counts(layer)
        rows.append((type(layer).__name__, str(tuple(layer.output.shape)), f"{trainable:,}", f"{non_trainable:,}"))
    trainable, non_trainable = parameter_counts(model)
    rows.append(("total", "", f"{trainable:,}", f"{non_trainable:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for name, shape, trainable, frozen in rows:  # text left-aligned, counts right-aligned
        lines.append(f"{name:<{widths[0]}}  {shape:<{widths[1]}}  {trainable:>{widths[2]}}  {frozen:>{widths[3]}}")
    rule = "-" * len(lines[0])
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])
