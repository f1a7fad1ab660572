"""The models notebook 04 teaches, for the later TensorFlow notebooks, and its parameter table.

Notebook 04 writes these networks in its own cells (a Dense -> BN -> Activation MLP,
a Conv2D -> BN -> ReLU CNN) and checks that :func:`build_mlp` builds the same MLPs and
:func:`build_cnn` its CNN with ``use_bias=False`` (plus one more pooling layer);
notebooks 05 and 06 import them from here. Imports TensorFlow, so ``import bn_course``
stays light and only notebooks that train pay for it.

* :func:`build_mlp`, :func:`build_cnn` -- the two models.
* :func:`parameter_counts`, :func:`layer_table` -- trainable vs non-trainable parameters.
* :func:`train`, :func:`train_together` -- training calls that no notebook uses any more
  (the notebooks train with ``fit`` or a loop written in view).
"""

import numpy as np

from bn_course.env import import_tensorflow

import_tensorflow()  # before Keras, which would import TensorFlow noisily
import keras  # noqa: E402

__all__ = ["build_mlp", "build_cnn", "train", "train_together", "parameter_counts", "layer_table"]

_PLACEMENTS = (None, "before", "after")


def build_mlp(input_dim=64, hidden=(64, 64), activation="relu", bn=None, use_bias=None,
              n_classes=10, seed=0, kernel_initializer="glorot_uniform", name=None, momentum=0.99):
    """A Dense MLP for (N, input_dim) inputs ending in a softmax over ``n_classes`` (taught in notebook 04).

    Notebook 04 section 7 writes these three networks in view as ``mlp_variant``; notebook 05
    imports them from here.

    ``bn`` places a ``keras.layers.BatchNormalization`` in each hidden block:
        None      Dense(activation)
        "before"  Dense -> BN -> Activation   (the BN paper's placement)
        "after"   Dense -> Activation -> BN
    ``use_bias`` defaults to False only for "before", where BN's beta makes the
    Dense bias redundant (notebook 04 shows why). Weights are seeded by ``seed``.
    ``momentum`` is passed to every BN layer (Keras' default 0.99; short runs of a
    few hundred steps need a smaller one, see notebook 04).
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
        block = [keras.layers.BatchNormalization(momentum=momentum), keras.layers.Activation(activation)]
        layers.extend(block if bn == "before" else block[::-1])
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers, name=name or f"mlp_bn_{bn or 'none'}")


def build_cnn(input_shape=(8, 8, 1), filters=(16, 32), dense=64, bn=True, n_classes=10, seed=0, name=None,
              momentum=0.99):
    """Conv2D -> BN -> ReLU -> MaxPool blocks, then Dense -> BN -> ReLU and a softmax.

    Notebook 04's CNN for the 8x8 digits (the MNIST CNN of a Q&A answer on BN in
    TensorFlow, with half the widths), written there in view; notebooks 05 and 06 import
    it from here. Each 3x3 'same' convolution is followed by a pooling that halves the
    spatial size. With ``bn`` the layers in front of BN have
    no bias (``use_bias=False``: BN's beta takes its place). Without ``bn`` the convolutions
    and the dense layer keep their bias and apply ReLU directly. ``momentum`` is
    passed to every BN layer.
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


def train_together(models, x, y, *, steps, learning_rate=0.05, batch_size=32, seed=0):
    """Plain SGD for several independent Keras models of any architecture, in one compiled loop.

    No notebook uses it now (notebook 04 writes the same loop in view). Every
    step all models see the same mini-batch of ``x`` / integer labels ``y`` (a fresh
    permutation per epoch drawn by ``seed``; the last partial batch is dropped, so
    no batch of one reaches a BN layer), are called with ``training=True`` (BN uses
    the batch statistics and updates its moving ones), and take one step
    ``w <- w - learning_rate * dL/dw`` on the mean sparse categorical cross-entropy
    of their softmax output. One ``tf.function`` traces all models once instead of
    one ``fit`` compilation each.

    Returns the per-step training losses, shape (steps, len(models)).
    """
    tf = import_tensorflow()
    models = list(models)
    if not models:
        raise ValueError("models is empty")
    x = np.asarray(x, dtype=np.float32)
    if len(x) != len(y):
        raise ValueError(f"x and y have different lengths: {len(x)} and {len(y)}")
    if not 0 < batch_size <= len(x):
        raise ValueError(f"batch_size must be between 1 and len(x) = {len(x)}, got {batch_size}")
    if int(steps) < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    x_all, y_all = tf.constant(x), tf.constant(np.asarray(y, dtype=np.int32))
    weights = [model.trainable_variables for model in models]

    @tf.function
    def run(indices):
        history = tf.TensorArray(tf.float32, size=tf.shape(indices)[0])
        for step in tf.range(tf.shape(indices)[0]):
            x_batch, y_batch = tf.gather(x_all, indices[step]), tf.gather(y_all, indices[step])
            losses = []
            for model, variables in zip(models, weights):
                with tf.GradientTape() as tape:
                    probabilities = model(x_batch, training=True)
                    loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y_batch, probabilities))
                for variable, gradient in zip(variables, tape.gradient(loss, variables)):
                    variable.assign_sub(learning_rate * gradient)
                losses.append(loss)
            history = history.write(step, tf.stack(losses))
        return history.stack()

    batches = _batch_indices(len(x), batch_size, int(steps), seed).astype(np.int32)
    return run(tf.constant(batches)).numpy()


def _batch_indices(n, batch_size, steps, seed):
    """(steps, batch_size) sample indices: a fresh permutation each epoch, last partial batch dropped."""
    per_epoch = n // batch_size
    rng = np.random.default_rng(seed)
    epochs = -(-steps // per_epoch)
    order = np.concatenate([rng.permutation(n)[: per_epoch * batch_size] for _ in range(epochs)])
    return order[: steps * batch_size].reshape(steps, batch_size)


def parameter_counts(model):
    """``(trainable, non_trainable)`` numbers of scalars in a built Keras model or layer.

    Trainable weights are changed by the optimizer (kernels, biases, BN's gamma and
    beta); non-trainable ones are not (BN's moving mean and variance, which the layer
    assigns itself in training mode). Matches the two counts of ``model.summary()``.
    """
    def size(weights):
        return int(sum(np.prod(weight.shape) for weight in weights))

    return size(model.trainable_weights), size(model.non_trainable_weights)


def layer_table(model):
    """A plain-text table of a built model: each layer's class, output shape and its two parameter counts.

    Like ``model.summary()`` but short, without the auto-generated layer names (which
    depend on how many layers the session has created) and with the trainable and
    non-trainable counts in separate columns, plus their totals.
    """
    rows = [("layer", "output shape", "trainable", "non-trainable")]
    for layer in model.layers:
        trainable, frozen = parameter_counts(layer)
        shape = "(None, " + ", ".join(str(d) for d in layer.output.shape[1:]) + ")"
        rows.append((type(layer).__name__, shape, f"{trainable:,}", f"{frozen:,}"))
    trainable, frozen = parameter_counts(model)
    rows.append(("total", "", f"{trainable:,}", f"{frozen:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}" for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)
