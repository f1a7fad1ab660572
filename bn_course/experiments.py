"""Small models and a deterministic training call shared by the TensorFlow notebooks.

Introduced in notebook 04; notebooks 01, 05 and 06 reuse it. Imports TensorFlow,
so ``import bn_course`` stays light and only notebooks that train pay for it.

Two ways to train:

* :func:`train` -- the everyday ``compile`` + ``fit``, one model at a time.
* :func:`train_lockstep` -- plain SGD for many *independent* Keras MLPs at once.
  Models with the same architecture are stacked into batched weights and stepped
  together inside one compiled TensorFlow loop, with the operations Keras uses, so
  tracing is paid once per architecture instead of a few tenths of a second per
  model. Each model keeps its own weights, learning rate and shuffling seed and
  trains exactly as it would alone (the tests compare it with ``tf.GradientTape``
  on the Keras model). The seed sweeps of notebook 04 (:func:`placement_experiment`,
  :func:`learning_rate_sweep`) and the reproduction of Figure 1 of Ioffe & Szegedy
  (2015) (:func:`figure1_experiment`) are built on it.

Also: :func:`parameter_counts` and :func:`layer_table` (trainable vs non-trainable
parameters) and :func:`mlp_forward_numpy` (a NumPy forward pass used at checkpoints).
"""

from dataclasses import dataclass

import numpy as np

from bn_course.env import import_tensorflow

import_tensorflow()  # before Keras, which would import TensorFlow noisily
import keras  # noqa: E402

__all__ = [
    "build_mlp",
    "build_cnn",
    "train",
    "parameter_counts",
    "layer_table",
    "mlp_forward_numpy",
    "LockstepResult",
    "train_lockstep",
    "train_together",
    "Sweep",
    "placement_experiment",
    "learning_rate_sweep",
    "Figure1Result",
    "figure1_experiment",
    "FIGURE1_PERCENTILES",
]

_PLACEMENTS = (None, "before", "after")


def build_mlp(input_dim=64, hidden=(64, 64), activation="relu", bn=None, use_bias=None,
              n_classes=10, seed=0, kernel_initializer="glorot_uniform", name=None, momentum=0.99):
    """A Dense MLP for (N, input_dim) inputs ending in a softmax over ``n_classes``.

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

    The seed 000 architecture scaled to 8x8 digits: each 3x3 'same' convolution
    halves the spatial size through its pooling. Without ``bn`` the convolutions
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


# --- several independent models trained in lock-step (notebook 04) ---


@dataclass(frozen=True)
class LockstepResult:
    """What :func:`train_lockstep` measured, at step 0 and every ``eval_every`` steps.

    steps: (T,) int, the step counts of the checkpoints (0 = before training).
    test_accuracy: (T, K) accuracy of each of the K models on the test set, in
        inference mode (``training=False``: moving statistics), NaN without a test set.
    loss: (T, K) mean training loss of each model over the steps since the previous
        checkpoint (NaN at step 0); ``inf`` once a model has diverged.
    step_loss: (steps, K) the training loss of every step (NaN or inf after divergence).
    diverged: (K,) bool, True if a model's training loss ever became non-finite.
    probes: list of T values returned by the ``probe`` callback (empty without one).
    """

    steps: np.ndarray
    test_accuracy: np.ndarray
    loss: np.ndarray
    step_loss: np.ndarray
    diverged: np.ndarray
    probes: list


def _as_per_model(value, count, name):
    values = list(value) if np.ndim(value) else [value] * count
    if len(values) != count:
        raise ValueError(f"{name} needs one value per model ({count}), got {len(values)}")
    return values


def _batch_indices(n, batch_size, steps, seed):
    """(steps, batch_size) sample indices: a fresh permutation each epoch, last partial batch dropped."""
    per_epoch = n // batch_size
    rng = np.random.default_rng(seed)
    epochs = -(-steps // per_epoch)
    order = np.concatenate([rng.permutation(n)[: per_epoch * batch_size] for _ in range(epochs)])
    return order[: steps * batch_size].reshape(steps, batch_size)


_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


_NUMPY_ACTIVATIONS = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "tanh": np.tanh,
    "softmax": _softmax,
}


def mlp_forward_numpy(model, x, training=False):
    """Run a Dense/BatchNormalization/Activation MLP in NumPy; return every layer's input to its non-linearity.

    Returns a list with one (n, units) array per layer of ``model``: for a Dense layer
    its pre-activation ``x @ W + b`` (before any fused activation), for a BN layer its
    output, for an Activation layer its output; the last entry is the softmax of the
    final Dense layer's logits. ``training=True`` normalizes each BN layer with the
    statistics of ``x`` itself (:func:`bn_course.numpy_bn.batch_norm`) without touching
    the moving statistics; ``training=False`` uses them
    (:func:`bn_course.numpy_bn.batch_norm_inference`), as ``model(x, training=False)``.
    Much faster than calling Keras eagerly, which matters at every checkpoint of
    :func:`train_lockstep`; the unit tests compare it with Keras.
    """
    from bn_course.numpy_bn import batch_norm, batch_norm_inference

    h = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    outputs = []
    for position, layer in enumerate(model.layers):
        kind = _layer_spec(layer)[0]
        if kind == "dense":
            pre = h @ layer.kernel.numpy() + (layer.bias.numpy() if layer.use_bias else 0.0)
            h = _NUMPY_ACTIVATIONS[layer.activation.__name__](pre)
            outputs.append(h if position == len(model.layers) - 1 else pre)
        elif kind == "activation":
            h = _NUMPY_ACTIVATIONS[layer.activation.__name__](h)
            outputs.append(h)
        else:
            channels = h.shape[-1]
            gamma = layer.gamma.numpy() if layer.scale else np.ones(channels)
            beta = layer.beta.numpy() if layer.center else np.zeros(channels)
            if training:
                h = batch_norm(h, gamma, beta, eps=layer.epsilon)
            else:
                h = batch_norm_inference(h, gamma, beta, layer.moving_mean.numpy(), layer.moving_variance.numpy(),
                                         eps=layer.epsilon)
            outputs.append(h)
    return outputs


def _layer_spec(layer):
    """A hashable description of one supported layer; models with equal specs are stacked together."""
    if isinstance(layer, keras.layers.Dense):
        return ("dense", layer.units, layer.use_bias, layer.activation.__name__)
    if isinstance(layer, keras.layers.BatchNormalization):
        if layer.axis not in (-1, 1) or layer.renorm or not layer.trainable:
            raise ValueError("train_lockstep supports BatchNormalization(axis=-1) on (N, D) inputs without renorm")
        return ("bn", layer.center, layer.scale, float(layer.momentum), float(layer.epsilon))
    if isinstance(layer, keras.layers.Activation):
        return ("activation", layer.activation.__name__)
    raise ValueError(f"train_lockstep supports Dense, BatchNormalization and Activation layers, "
                     f"not {type(layer).__name__}; train other models with train()")


def _model_spec(model):
    if len(model.inputs[0].shape) != 2:
        raise ValueError("train_lockstep trains models with flat (N, D) inputs")
    spec = tuple(_layer_spec(layer) for layer in model.layers)
    if spec[-1][0] != "dense" or spec[-1][3] != "softmax":
        raise ValueError("the last layer must be Dense(..., activation='softmax')")
    for item in spec[:-1]:
        if item[0] in ("dense", "activation") and item[-1] not in _ACTIVATIONS:
            raise ValueError(f"unsupported hidden activation {item[-1]!r}; use one of {_ACTIVATIONS}")
    return (model.inputs[0].shape[1],) + spec


_TRAINED = ("kernel", "bias", "gamma", "beta")


class _StackedModels:
    """G Keras models with the same architecture, their weights stacked along a new first axis.

    ``forward`` computes all G models at once on a (G, B, D) batch with the same
    operations Keras uses (``tf.nn.moments`` and ``tf.nn.batch_normalization`` for BN,
    biased variance, ``moving = moving * momentum + batch * (1 - momentum)``), so one
    traced graph serves the whole group. ``write_back`` copies the weights (and the
    moving statistics) back into the Keras models.
    """

    def __init__(self, tf, models, indices):
        self.tf, self.models, self.indices = tf, models, indices
        self.layers = []          # (spec, {weight name: stacked tf.Variable}, [the layer in each model])
        for position, layer in enumerate(models[0].layers):
            spec = _layer_spec(layer)
            peers = [model.layers[position] for model in models]
            names = [w.name for w in layer.weights]
            stacked = {name: tf.Variable(np.stack([next(w for w in peer.weights if w.name == name).numpy()
                                                   for peer in peers]),
                                         trainable=name in _TRAINED, name=name)
                       for name in names}
            self.layers.append((spec, stacked, peers))
        self.trainable = [var for _, stacked, _ in self.layers for name, var in stacked.items() if name in _TRAINED]

    def forward(self, xb):
        """(G, B, D) inputs -> (G, B, classes) logits, in training mode (moving statistics updated)."""
        tf = self.tf
        h = xb
        last = len(self.layers) - 1
        for position, (spec, stacked, peers) in enumerate(self.layers):
            kind = spec[0]
            if kind == "dense":
                h = tf.matmul(h, stacked["kernel"])            # (G, B, in) @ (G, in, out)
                if spec[2]:
                    h = h + stacked["bias"][:, None, :]
                if position != last:
                    h = peers[0].activation(h)
            elif kind == "activation":
                h = peers[0].activation(h)
            else:
                _, center, scale, momentum, epsilon = spec
                mean, variance = tf.nn.moments(h, axes=[1], keepdims=True)
                stacked["moving_mean"].assign(stacked["moving_mean"] * momentum + mean[:, 0, :] * (1.0 - momentum))
                stacked["moving_variance"].assign(stacked["moving_variance"] * momentum
                                                  + variance[:, 0, :] * (1.0 - momentum))
                h = tf.nn.batch_normalization(h, mean, variance,
                                              stacked["beta"][:, None, :] if center else None,
                                              stacked["gamma"][:, None, :] if scale else None, epsilon)
        return h

    def write_back(self):
        for _, stacked, peers in self.layers:
            values = {name: var.numpy() for name, var in stacked.items()}
            for k, layer in enumerate(peers):
                for weight in layer.weights:
                    weight.assign(values[weight.name][k])


def _one_blas_thread():
    """Run NumPy's small matrix products on one BLAS thread while TensorFlow holds the cores.

    With TensorFlow's threads busy, OpenBLAS's own thread pool spins and makes a
    (450, 64) @ (64, 100) product ten times slower. threadpoolctl comes with
    scikit-learn, which the course needs for its data; without it nothing is limited.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def train_lockstep(models, x, y, *, steps, learning_rates=0.1, batch_size=60, seeds=0,
                   x_test=None, y_test=None, eval_every=None, probe=None, jit_compile=False):
    """Train K independent Keras MLPs with plain SGD, side by side; return a :class:`LockstepResult`.

    Every step, model k draws its own mini-batch of ``batch_size`` samples of ``x``
    (N, D) / ``y`` (N,) integer labels, shuffled each epoch by ``seeds[k]``, runs
    in training mode (its BN layers normalize with the batch statistics and update
    their moving statistics), and takes one step ``w <- w - learning_rates[k] * dL/dw``
    on the mean sparse categorical cross-entropy of its softmax output.

    Why not ``fit``? Tracing and compiling a training function costs a few tenths
    of a second per model on a 2-core CPU, far more than training these tiny
    networks. So models with the same architecture are stacked into one set of
    batched weights and stepped together inside one compiled loop, with the same
    TensorFlow operations Keras uses; since no weight is shared, each model trains
    exactly as it would alone (the unit tests check one step against
    ``tf.GradientTape`` on the Keras model, and a model trained in a group against
    the same model trained alone). At every checkpoint the weights are copied back
    into the Keras models, and the test accuracy is measured in inference mode
    (moving statistics) with :func:`mlp_forward_numpy`. A model whose loss
    overflows is marked as diverged; the others are unaffected.

    Supported models: Sequential stacks of Dense, BatchNormalization (axis=-1) and
    Activation layers on (N, D) inputs, ending in Dense(softmax), as :func:`build_mlp`
    makes. ``learning_rates`` and ``seeds`` are one value for all models or one per
    model. Every ``eval_every`` steps (and at step 0) the test accuracy is measured
    and ``probe(models)`` is called, if given; its results are kept in ``probes``.
    ``eval_every`` defaults to ``steps`` (only the start and the end).
    ``jit_compile=True`` compiles the training loop with XLA: about a second more
    to compile, then several times fewer milliseconds per step; worth it for
    thousands of steps.
    """
    tf = import_tensorflow()
    models = list(models)
    if not models:
        raise ValueError("models is empty")
    count = len(models)
    rates = np.array([float(rate) for rate in _as_per_model(learning_rates, count, "learning_rates")],
                     dtype=np.float32)
    seed_list = [int(seed) for seed in _as_per_model(seeds, count, "seeds")]
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y have different lengths: {len(x)} and {len(y)}")
    if not 0 < batch_size <= len(x):
        raise ValueError(f"batch_size must be between 1 and len(x) = {len(x)}, got {batch_size}")
    steps = int(steps)
    eval_every = steps if eval_every is None else int(eval_every)
    if steps < 1 or eval_every < 1:
        raise ValueError("steps and eval_every must be positive")

    specs = {}
    for k, model in enumerate(models):
        specs.setdefault(_model_spec(model), []).append(k)
    groups = [_StackedModels(tf, [models[k] for k in indices], indices) for indices in specs.values()]
    order = [k for group in groups for k in group.indices]
    restore = np.argsort(order)                      # group order -> the caller's order
    x_all, y_all = tf.constant(x), tf.constant(y.astype(np.int32))
    group_rows = [tf.constant(group.indices, dtype=tf.int32) for group in groups]
    group_rates = [tf.constant(rates[group.indices]) for group in groups]
    variables = [var for group in groups for var in group.trainable]

    def sgd_step(batch):                             # batch: (K, B) sample indices
        with tf.GradientTape() as tape:
            losses = []
            for group, rows in zip(groups, group_rows):
                rows_batch = tf.gather(batch, rows)
                logits = group.forward(tf.gather(x_all, rows_batch))
                per_sample = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.gather(y_all, rows_batch),
                                                                            logits=logits)
                losses.append(tf.reduce_mean(per_sample, axis=1))
            total = tf.reduce_sum(tf.concat(losses, axis=0))
        grads = tape.gradient(total, variables)
        position = 0
        for group, rate in zip(groups, group_rates):
            for var in group.trainable:
                var.assign_sub(tf.reshape(rate, [-1] + [1] * (len(var.shape) - 1)) * grads[position])
                position += 1
        return tf.gather(tf.concat(losses, axis=0), restore)

    @tf.function(autograph=False, jit_compile=bool(jit_compile),
                 input_signature=[tf.TensorSpec([None, count, batch_size], tf.int32)])
    def run(indices):
        length = tf.shape(indices)[0]

        def body(step, history):
            return step + 1, history.write(step, sgd_step(indices[step]))

        _, history = tf.while_loop(lambda step, _: step < length, body,
                                   [tf.constant(0), tf.TensorArray(tf.float32, size=length)],
                                   parallel_iterations=1)
        return history.stack()

    batches = np.stack([_batch_indices(len(x), batch_size, steps, seed) for seed in seed_list],
                       axis=1).astype(np.int32)      # (steps, K, B)
    test_inputs = None if x_test is None else np.asarray(x_test, dtype=np.float32)

    checkpoints, accuracies, mean_losses, probes = [], [], [], []
    step_loss = np.empty((steps, count), dtype=np.float64)

    def checkpoint(step):
        for group in groups:
            group.write_back()
        checkpoints.append(step)
        if test_inputs is None:
            accuracies.append(np.full(count, np.nan))
        else:
            accuracies.append(np.array([np.mean(np.argmax(mlp_forward_numpy(model, test_inputs)[-1], axis=1)
                                                == np.asarray(y_test)) for model in models]))
        if step == 0:
            mean_losses.append(np.full(count, np.nan))
        else:
            done = step_loss[:step]
            recent = step_loss[checkpoints[-2]:step].mean(axis=0)
            mean_losses.append(np.where(np.isfinite(done).all(axis=0), recent, np.inf))
        if probe is not None:
            probes.append(probe(models))

    with _one_blas_thread():
        checkpoint(0)
        for start in range(0, steps, eval_every):
            stop = min(start + eval_every, steps)
            step_loss[start:stop] = run(tf.constant(batches[start:stop])).numpy()
            checkpoint(stop)
    diverged = ~np.isfinite(step_loss).all(axis=0)
    return LockstepResult(np.array(checkpoints), np.array(accuracies), np.array(mean_losses), step_loss,
                          diverged, probes)


def train_together(models, x, y, *, steps, learning_rate=0.05, batch_size=32, seed=0):
    """Plain SGD for several independent Keras models of any architecture, in one compiled loop.

    Used first in notebook 06 (CNNs with BN, renorm, layer and group norm). Every
    step all models see the same mini-batch of ``x`` / integer labels ``y`` (a fresh
    permutation per epoch drawn by ``seed``; the last partial batch is dropped, so
    no batch of one reaches a BN layer), are called with ``training=True`` (BN uses
    the batch statistics and updates its moving ones), and take one step
    ``w <- w - learning_rate * dL/dw`` on the mean sparse categorical cross-entropy
    of their softmax output. One ``tf.function`` traces all models once instead of
    one ``fit`` compilation each. For MLPs, :func:`train_lockstep` is faster and
    allows a learning rate and seed per model.

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


@dataclass(frozen=True)
class Sweep:
    """Final test accuracy and training loss of one model per (configuration, seed).

    labels: the K configurations, in order (e.g. ``"no BN"``, ``"BN before ReLU"``).
    seeds: the S seeds; a seed fixes a model's initial weights and its batch order.
    test_accuracy, final_loss: (K, S) arrays; final_loss is the mean training loss
        over the last epoch (``inf`` for a run that diverged).
    diverged: (K, S) bool.
    settings: the experiment's fixed settings (learning rate, epochs, ...), for the record.
    """

    labels: tuple
    seeds: tuple
    test_accuracy: np.ndarray
    final_loss: np.ndarray
    diverged: np.ndarray
    settings: dict

    def mean(self):
        """(K,) mean test accuracy over seeds."""
        return self.test_accuracy.mean(axis=1)

    def std(self):
        """(K,) standard deviation of the test accuracy over seeds (ddof=1, the sample spread)."""
        return self.test_accuracy.std(axis=1, ddof=1) if len(self.seeds) > 1 else np.zeros(len(self.labels))

    def row(self, label):
        """The (S,) test accuracies of one configuration."""
        return self.test_accuracy[self.labels.index(label)]

    def table(self):
        """A plain-text table: configuration, mean +- std accuracy, worst and best seed, loss, diverged runs."""
        width = max(len(str(label)) for label in self.labels)
        lines = [f"{'configuration':<{width}}  test accuracy (mean ± std)  worst   best   last-epoch loss  diverged"]
        for k, label in enumerate(self.labels):
            acc = self.test_accuracy[k]
            loss = np.median(self.final_loss[k])
            loss_text = "inf" if not np.isfinite(loss) else f"{loss:.3f}"
            lines.append(f"{str(label):<{width}}  {acc.mean():.3f} ± {self.std()[k]:.3f}"
                         f"{'':14}{acc.min():.3f}  {acc.max():.3f}  {loss_text:>15}"
                         f"  {int(self.diverged[k].sum())}/{len(self.seeds)}")
        return "\n".join(lines)


def _run_sweep(configs, x_train, y_train, x_test, y_test, seeds, epochs, batch_size, builder_defaults):
    """Build one MLP per (config, seed), train them all in lock-step, collect a :class:`Sweep`."""
    seeds = tuple(int(seed) for seed in seeds)
    models, rates, seed_list = [], [], []
    for label, options in configs:
        options = dict(options)
        rate = options.pop("learning_rate")
        for seed in seeds:
            kwargs = {**builder_defaults, **options, "seed": seed}
            kwargs.setdefault("input_dim", int(np.prod(np.shape(x_train)[1:])))
            models.append(build_mlp(**kwargs))
            rates.append(rate)
            seed_list.append(seed)
    steps_per_epoch = len(x_train) // batch_size
    result = train_lockstep(models, x_train, y_train, steps=epochs * steps_per_epoch, learning_rates=rates,
                            batch_size=batch_size, seeds=seed_list, x_test=x_test, y_test=y_test)
    last_epoch = result.step_loss[-steps_per_epoch:].mean(axis=0)
    shape = (len(configs), len(seeds))
    return Sweep(
        labels=tuple(label for label, _ in configs),
        seeds=seeds,
        test_accuracy=result.test_accuracy[-1].reshape(shape),
        final_loss=np.where(result.diverged, np.inf, last_epoch).reshape(shape),
        diverged=result.diverged.reshape(shape),
        settings={"epochs": epochs, "batch_size": batch_size, "optimizer": "plain SGD", **builder_defaults},
    )


_PLACEMENT_LABELS = {None: "no BN", "before": "BN before {act}", "after": "BN after {act}"}


def placement_experiment(x_train, y_train, x_test, y_test, *, placements=(None, "before", "after"),
                         seeds=(0, 1, 2, 3, 4), hidden=(64, 64), activation="relu", learning_rate=0.1,
                         epochs=10, batch_size=32, momentum=0.9):
    """Where should BN go? Train the same MLP with each placement for each seed; return a :class:`Sweep`.

    Placements as in :func:`build_mlp`: ``None`` (Dense(activation), no BN),
    ``"before"`` (Dense -> BN -> activation, no Dense bias) and ``"after"``
    (Dense -> activation -> BN). ``x_train`` is (N, D) flat. All runs use plain SGD
    with ``learning_rate`` for ``epochs`` epochs and are scored by test accuracy in
    inference mode. ``momentum`` is the BN momentum (0.9: a run of a few hundred
    steps is too short for Keras' 0.99 moving averages to forget their start values).
    Labels are "no BN", "BN before relu", "BN after relu" (with the activation's name).
    """
    configs = [(_PLACEMENT_LABELS[p].format(act=activation), {"bn": p, "learning_rate": learning_rate})
               for p in placements]
    sweep = _run_sweep(configs, x_train, y_train, x_test, y_test, seeds, epochs, batch_size,
                       {"hidden": tuple(hidden), "activation": activation, "momentum": momentum})
    sweep.settings["learning_rate"] = learning_rate
    return sweep


def learning_rate_sweep(x_train, y_train, x_test, y_test, *, learning_rates=(0.01, 0.1, 1.0),
                        placements=(None, "before", "after"), seeds=(0, 1, 2), hidden=(64, 64), activation="relu",
                        epochs=5, batch_size=32, momentum=0.9):
    """How large a learning rate does each network tolerate? Returns a :class:`Sweep`.

    One MLP per (placement, learning rate, seed), trained with plain SGD for
    ``epochs`` epochs. Labels are ``(placement label, learning rate)`` tuples, e.g.
    ``("no BN", 1.0)``; ``Sweep.diverged`` marks runs whose loss overflowed.
    """
    configs = [((_PLACEMENT_LABELS[p].format(act=activation), float(rate)), {"bn": p, "learning_rate": float(rate)})
               for p in placements for rate in learning_rates]
    return _run_sweep(configs, x_train, y_train, x_test, y_test, seeds, epochs, batch_size,
                      {"hidden": tuple(hidden), "activation": activation, "momentum": momentum})


# --- Figure 1 of Ioffe & Szegedy (2015), scaled down ---

FIGURE1_PERCENTILES = (15, 50, 85)


@dataclass(frozen=True)
class Figure1Result:
    """The two curves of each network in Figure 1, measured at the same checkpoints.

    steps: (T,) training steps of the checkpoints, 0 first.
    test_accuracy: {"without BN": (T,), "with BN": (T,)} inference-mode test accuracy.
    percentiles: {"without BN": (T, 3, U), "with BN": (T, 3, U)}: the 15th, 50th and
        85th percentiles over the evaluation batch of the input to each of the U
        sigmoids of the last hidden layer; ``unit`` picks the one the paper's plot shows.
    unit: the index of the plotted sigmoid.
    settings: learning rate, batch size, steps, sizes: the run's setup, for the table.
    """

    steps: np.ndarray
    test_accuracy: dict
    percentiles: dict
    unit: int
    settings: dict

    def unit_percentiles(self, name):
        """(T, 3) percentiles of the plotted sigmoid's input for network ``name``."""
        return self.percentiles[name][:, :, self.unit]

    def median_drift(self, name):
        """(U,) how far each sigmoid's median input moves over training: max minus min over checkpoints."""
        median = self.percentiles[name][:, 1, :]
        return median.max(axis=0) - median.min(axis=0)

    def steps_to(self, name, accuracy):
        """First checkpoint step at which ``name`` reaches ``accuracy``, or None if it never does."""
        reached = np.flatnonzero(self.test_accuracy[name] >= accuracy)
        return int(self.steps[reached[0]]) if reached.size else None


def _sigmoid_inputs(model, x_eval):
    """(n, U) inputs of the last hidden layer's sigmoids for the batch ``x_eval``.

    The network runs in training mode on ``x_eval`` -- every BN layer normalizes with
    the statistics of ``x_eval`` itself, as in a training step on that batch -- via
    :func:`mlp_forward_numpy`, so the moving statistics are left untouched. Without
    BN the sigmoid's input is the last hidden Dense layer's pre-activation
    ``h @ W + b``; with BN (Dense -> BN -> sigmoid) it is the BN output.
    """
    outputs = mlp_forward_numpy(model, x_eval, training=True)
    hidden_dense = [i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Dense)][-2]
    following = model.layers[hidden_dense + 1]
    return outputs[hidden_dense + 1] if isinstance(following, keras.layers.BatchNormalization) else outputs[hidden_dense]


def figure1_experiment(x_train, y_train, x_test, y_test, *, steps=2000, learning_rate=0.5, batch_size=60,
                       hidden=(100, 100, 100), eval_every=50, unit=0, seed=0, momentum=0.9):
    """Figure 1 of Ioffe & Szegedy (2015) on a small scale; returns a :class:`Figure1Result`.

    Two MLPs with the paper's shape -- three fully connected hidden layers of
    ``hidden`` sigmoid units and a softmax -- built by :func:`build_mlp` with the
    same ``seed``: "without BN" (Dense(sigmoid), with bias) and "with BN" (Dense
    without bias -> BN -> sigmoid). Both are trained side by side with plain SGD
    (``learning_rate``, batches of ``batch_size``, the same batch order) for
    ``steps`` steps. Every ``eval_every`` steps the test accuracy is measured and
    the 15th/50th/85th percentiles of the input to every last-layer sigmoid are
    taken over the test set (see :func:`_sigmoid_inputs`). The loop is compiled
    with XLA (``jit_compile``), which pays off over thousands of steps. ``momentum`` is the BN
    momentum used for the moving statistics that the test accuracy relies on.
    """
    x_train = np.asarray(x_train, dtype=np.float32).reshape(len(x_train), -1)
    x_test = np.asarray(x_test, dtype=np.float32).reshape(len(x_test), -1)
    names = ("without BN", "with BN")
    models = [build_mlp(input_dim=x_train.shape[1], hidden=tuple(hidden), activation="sigmoid", bn=placement,
                        seed=seed, momentum=momentum) for placement in (None, "before")]
    if not 0 <= unit < hidden[-1]:
        raise ValueError(f"unit must be in [0, {hidden[-1]}), got {unit}")

    def probe(trained):
        return [np.percentile(_sigmoid_inputs(model, x_test), FIGURE1_PERCENTILES, axis=0) for model in trained]

    result = train_lockstep(models, x_train, y_train, steps=steps, learning_rates=learning_rate,
                            batch_size=batch_size, seeds=seed, x_test=x_test, y_test=y_test,
                            eval_every=eval_every, probe=probe, jit_compile=True)
    percentiles = {name: np.array([p[k] for p in result.probes]) for k, name in enumerate(names)}
    accuracy = {name: result.test_accuracy[:, k] for k, name in enumerate(names)}
    settings = {"steps": steps, "learning_rate": learning_rate, "batch_size": batch_size, "hidden": tuple(hidden),
                "eval_every": eval_every, "momentum": momentum, "n_train": len(x_train), "n_test": len(x_test),
                "input_dim": x_train.shape[1]}
    return Figure1Result(result.steps, accuracy, percentiles, unit, settings)
