"""Small models and a deterministic training call shared by the TensorFlow notebooks.

Introduced in notebook 04; notebooks 01, 05 and 06 reuse it. Imports TensorFlow,
so ``import bn_course`` stays light and only notebooks that train pay for it.
"""

import numpy as np

from bn_course.env import import_tensorflow

import_tensorflow()  # before Keras, which would import TensorFlow noisily
import keras  # noqa: E402

__all__ = ["build_mlp", "build_cnn", "train"]

_PLACEMENTS = (None, "before", "after")


def build_mlp(input_dim=64, hidden=(64, 64), activation="relu", bn=None, use_bias=None,
              n_classes=10, seed=0, kernel_initializer="glorot_uniform", name=None):
    """A Dense MLP for (N, input_dim) inputs ending in a softmax over ``n_classes``.

    ``bn`` places a ``keras.layers.BatchNormalization`` in each hidden block:
        None      Dense(activation)
        "before"  Dense -> BN -> Activation   (the BN paper's placement)
        "after"   Dense -> Activation -> BN
    ``use_bias`` defaults to False only for "before", where BN's beta makes the
    Dense bias redundant (notebook 04 shows why). Weights are seeded by ``seed``.
    """
    if bn not in _PLACEMENTS:
        raise ValueError(f"bn must be one of {_PLACEMENTS}, got {bn!r}")
    if use_bias is None:
        use_bias = bn != "before"
    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=(input_dim,))]
    for units in hidden:
        if bn is None:
            layers.append(keras.layers.Dense(units, activation=activation, use_bias=use_bias,
                                             kernel_initializer=kernel_initializer))
            continue
        layers.append(keras.layers.Dense(units, use_bias=use_bias, kernel_initializer=kernel_initializer))
        block = [keras.layers.BatchNormalization(), keras.layers.Activation(activation)]
        layers.extend(block if bn == "before" else block[::-1])
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers, name=name or f"mlp_bn_{bn or 'none'}")


def build_cnn(input_shape=(8, 8, 1), filters=(16, 32), dense=64, bn=True, n_classes=10, seed=0, name=None):
    """Conv2D -> BN -> ReLU -> MaxPool blocks, then Dense -> BN -> ReLU and a softmax.

    The seed 000 architecture scaled to 8x8 digits: each 3x3 'same' convolution
    halves the spatial size through its pooling. Without ``bn`` the convolutions
    and the dense layer keep their bias and apply ReLU directly.
    """
    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=input_shape)]

    def block(linear):
        if bn:
            return [linear, keras.layers.BatchNormalization(), keras.layers.Activation("relu")]
        linear.activation = keras.activations.relu
        return [linear]

    for count in filters:
        layers += block(keras.layers.Conv2D(count, 3, padding="same", use_bias=not bn))
        layers.append(keras.layers.MaxPooling2D(2))
    layers.append(keras.layers.Flatten())
    layers += block(keras.layers.Dense(dense, use_bias=not bn))
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers, name=name or f"cnn_{'bn' if bn else 'plain'}")


def train(model, x, y, epochs=5, batch_size=32, learning_rate=1e-3, optimizer="adam",
          validation_data=None, seed=0):
    """Compile with sparse categorical cross-entropy and fit quietly; return the history dict.

    Shuffling is seeded by ``seed`` so a rerun gives the same curve. Keys:
    ``loss``, ``accuracy`` and, with ``validation_data``, ``val_loss``, ``val_accuracy``
    (one value per epoch).
    """
    optimizers = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}, got {optimizer!r}")
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=optimizers[optimizer](learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(np.asarray(x), np.asarray(y), epochs=epochs, batch_size=batch_size,
                        validation_data=validation_data, shuffle=True, verbose=0)
    return history.history
