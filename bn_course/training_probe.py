"""Per-layer statistics recorded at every training step of deep MLPs (notebook 01).

:func:`build_probe_model` makes a deep Dense MLP with :func:`bn_course.experiments.build_mlp`
(optionally with "noisy BN", see :class:`DistributionShift`), and :func:`train_probed`
trains several of them side by side with plain SGD while recording, for every hidden
layer l = 1..L (layer 1 next to the input) and every step t:

    saturated[t, l]     share of layer l's activations on the step's batch that are
                        saturated (:func:`bn_course.explore_depth.saturated_mask`)
    grad_std[t, l]      std of the entries of dL/dW_l, W_l the Dense kernel
    update_ratio[t, l]  ||W_l(t+1) - W_l(t)|| / ||W_l(t)|| (Frobenius norms); with plain
                        SGD that is learning_rate * ||dL/dW_l|| / ||W_l||

and what a fixed probe batch looks like inside the networks: per-unit mean and std of
every layer's activations before every step (for the models chosen with ``probe_for``),
and the activations themselves before and after training (every model, for histograms). Probe forward passes run in training mode,
as the network sees data while it learns, and leave the BN moving statistics untouched.

Imports TensorFlow (through :func:`bn_course.env.import_tensorflow`).
"""

from dataclasses import dataclass, field

import numpy as np

from bn_course.env import import_tensorflow
from bn_course.experiments import build_mlp
from bn_course.explore_depth import saturated_share

tf = import_tensorflow()
import keras  # noqa: E402

__all__ = ["DistributionShift", "ProbeModel", "build_probe_model", "ProbeHistory", "train_probed",
           "landscape_probe", "LandscapeResult", "smooth", "plot_layers"]


@keras.saving.register_keras_serializable(package="bn_course")
class DistributionShift(keras.layers.Layer):
    """Deliberate, time-varying distribution shift after a BN layer ("noisy BN", Santurkar et al. 2018).

    In training mode, every call draws for each unit j a new scale ``a_j ~ U(1 - s, 1 + s)``
    and shift ``b_j ~ U(-m, m)`` and returns ``a * x + b + n`` with i.i.d. per-sample
    noise ``n ~ N(0, noise**2)``: the next layer's input never has a fixed mean and
    variance, which is exactly what BN was meant to guarantee. In inference mode it
    is the identity. ``shift`` = m, ``scale`` = s, ``noise`` as above.
    """

    def __init__(self, shift=1.0, scale=0.5, noise=0.3, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.shift, self.scale, self.noise, self.seed = float(shift), float(scale), float(noise), int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, x, training=None):
        if not training:
            return x
        units = x.shape[-1]
        a = keras.random.uniform((units,), 1.0 - self.scale, 1.0 + self.scale, seed=self.seed_generator)
        b = keras.random.uniform((units,), -self.shift, self.shift, seed=self.seed_generator)
        n = self.noise * keras.random.normal(keras.ops.shape(x), seed=self.seed_generator)
        return a * x + b + n

    def get_config(self):
        return {**super().get_config(), "shift": self.shift, "scale": self.scale, "noise": self.noise,
                "seed": self.seed}


@dataclass
class ProbeModel:
    """A trainable MLP and the handles the recorder needs.

    model: keras.Model mapping (N, D) inputs to ``[probabilities, h_1, ..., h_L]``,
        the softmax output and each hidden layer's activations (N, width).
    kernels: the L hidden Dense kernels (the readout's is not included).
    label: a short name for tables and legends.
    """

    model: object
    kernels: list
    label: str
    bn: bool
    noisy: bool
    activation: str


def _initializer(init_std):
    if init_std is None:
        return "glorot_uniform"
    # A config dict, not an instance: each Dense layer then gets its own initializer and seed.
    return {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": float(init_std)}}


def build_probe_model(depth=8, width=64, activation="tanh", bn=False, init_std=None, noisy=False,
                      seed=0, momentum=0.9, input_dim=64, label=None, noise_options=None):
    """A deep Dense MLP (``depth`` hidden layers of ``width`` units) wrapped for probing.

    ``bn=True`` is Dense (no bias) -> BN -> activation in every hidden block
    (:func:`bn_course.experiments.build_mlp` with ``bn="before"``); ``noisy=True``
    also inserts a :class:`DistributionShift` right after every BN layer.
    ``init_std=None`` keeps Keras' default Glorot-uniform kernels; a number draws
    them from N(0, init_std**2) (e.g. 1.0: the naive "standard normal" init).
    The same ``seed`` gives the same kernels with and without BN.
    """
    if noisy and not bn:
        raise ValueError("noisy=True needs bn=True: the shift is injected after each BN layer")
    base = build_mlp(input_dim=input_dim, hidden=(width,) * depth, activation=activation,
                     bn="before" if bn else None, seed=seed, kernel_initializer=_initializer(init_std),
                     momentum=momentum)
    inputs = keras.Input(shape=(input_dim,))
    h = inputs
    hidden_outputs = []
    dense_layers = [layer for layer in base.layers if isinstance(layer, keras.layers.Dense)]
    noise_options = dict(noise_options or {})
    for index, layer in enumerate(base.layers):
        h = layer(h)
        if noisy and isinstance(layer, keras.layers.BatchNormalization):
            h = DistributionShift(seed=seed * 1000 + index, **noise_options)(h)
        is_hidden_output = (isinstance(layer, keras.layers.Activation) if bn
                            else isinstance(layer, keras.layers.Dense) and layer is not dense_layers[-1])
        if is_hidden_output:
            hidden_outputs.append(h)
    model = keras.Model(inputs, [h, *hidden_outputs])
    name = label or ("noisy BN" if noisy else "BN" if bn else "no BN")
    return ProbeModel(model, [layer.kernel for layer in dense_layers[:-1]], name, bn, noisy, activation)


@dataclass
class ProbeHistory:
    """What :func:`train_probed` recorded, for K models, T steps, L hidden layers of ``width`` units.

    labels: (K,) model labels.
    loss: (K, T) training loss of each step's batch (before the step's update).
    saturated, grad_std, update_ratio: (K, T, L), see the module docstring.
    probe_labels: the P models whose probe statistics were recorded (``probe_for``).
    probe_mean, probe_std: (P, T + 1, L, width) per-unit mean and std of every layer's
        activations on the probe batch, before each step and after the last one.
    first_activations, last_activations: K lists of L arrays (n_probe, width): the probe
        batch's activations before and after training.
    train_accuracy, test_accuracy: (K,) after training, in inference mode.
    initial_test_accuracy: (K,) before training.
    landscape_steps: (C,) steps at which :func:`landscape_probe` ran.
    landscapes: label -> list of C :class:`LandscapeResult`, for the models asked for.
    settings: learning rate, batch size, steps, ...
    """

    labels: tuple
    loss: np.ndarray
    saturated: np.ndarray
    grad_std: np.ndarray
    update_ratio: np.ndarray
    probe_labels: tuple
    probe_mean: np.ndarray
    probe_std: np.ndarray
    first_activations: list
    last_activations: list
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    initial_test_accuracy: np.ndarray
    landscape_steps: np.ndarray = None
    landscapes: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def index(self, label):
        """Position of the model called ``label``."""
        return self.labels.index(label)

    def drift(self, label, layer):
        """(T,) how far layer ``layer``'s (1-based) activation distribution moves in each step.

        Mean over the layer's units of ``|change of the unit's mean| + |change of its std|``
        on the probe batch, from just before a step to just before the next one: the
        shift of its input distribution that the next layer has to cope with.
        """
        if label not in self.probe_labels:
            raise ValueError(f"no probe statistics for {label!r}; recorded: {self.probe_labels}")
        k = self.probe_labels.index(label)
        mean = self.probe_mean[k, :, layer - 1]
        std = self.probe_std[k, :, layer - 1]
        return (np.abs(np.diff(mean, axis=0)) + np.abs(np.diff(std, axis=0))).mean(axis=1)


def _batch_order(n, batch_size, steps, seed):
    """(steps, batch_size) sample indices: a fresh seeded permutation each epoch, incomplete batches dropped."""
    rng = np.random.default_rng(seed)
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    order = [rng.permutation(n)[: per_epoch * batch_size].reshape(per_epoch, batch_size) for _ in range(epochs)]
    return np.concatenate(order)[:steps]


def _moving_variables(models):
    return [v for m in models for v in m.non_trainable_variables]


def train_probed(probe_models, x, y, x_test=None, y_test=None, *, steps=300, learning_rate=0.1, batch_size=64,
                 seed=0, x_probe=None, probe_for=None, landscape_for=(), landscape_every=100,
                 multipliers=(0.5, 1.0, 2.0, 4.0)):
    """Train the models side by side with plain SGD and record per-layer statistics every step.

    Every model sees the same batches (order fixed by ``seed``); their losses are summed
    under one tape, which gives each model exactly its own gradient (no shared weights).
    ``x`` (N, D) float inputs, ``y`` (N,) int labels; ``x_probe`` (n, D) the fixed probe
    batch (default: the first 256 rows of ``x``), passed before each step through the
    models whose labels are in ``probe_for`` (default: all; the probe costs a forward
    pass per model and step), and through every model before and after training
    (``first_activations``, ``last_activations``). For the models whose labels are in ``landscape_for``, :func:`landscape_probe`
    runs on the step's batch before every ``landscape_every``-th update (step 0 included).
    Returns a :class:`ProbeHistory`.
    """
    probe_models = list(probe_models)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    x_probe = tf.constant(x[:256] if x_probe is None else np.asarray(x_probe, dtype=np.float32))
    models = [pm.model for pm in probe_models]
    flat_weights = [w for m in models for w in m.trainable_variables]
    kernel_positions = [next(i for i, w in enumerate(flat_weights) if w is kernel)
                        for pm in probe_models for kernel in pm.kernels]
    moving = _moving_variables(models)
    backup = [tf.Variable(v.value, trainable=False) for v in moving]
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    rate = tf.constant(learning_rate, tf.float32)

    probe_labels = tuple(pm.label for pm in probe_models if probe_for is None or pm.label in probe_for)
    probed = [pm.model for pm in probe_models if pm.label in probe_labels]

    def probe_pass(chosen):
        """The probe batch through the chosen models in training mode, moving statistics restored after."""
        for keep, v in zip(backup, moving):
            keep.assign(v)
        outputs = [tf.stack(m(x_probe, training=True)[1:]) for m in chosen]  # K x (L, n, width)
        for keep, v in zip(backup, moving):
            v.assign(keep)
        return outputs

    @tf.function(autograph=False)
    def step(xb, yb):
        """Probe moments, then one SGD step of every model.

        Returns the probe's per-unit (mean, std), the losses, the hidden kernels'
        gradients and the batch's hidden activations.
        """
        probe = [tf.nn.moments(h, axes=[1]) for h in probe_pass(probed)] if probed else []
        with tf.GradientTape() as tape:
            outputs = [m(xb, training=True) for m in models]
            losses = [loss_fn(yb, out[0]) for out in outputs]
            total = tf.add_n(losses)
        grads = tape.gradient(total, flat_weights)
        for w, g in zip(flat_weights, grads):
            w.assign_sub(rate * g)
        moments = tf.stack([tf.stack([mean, tf.sqrt(var)]) for mean, var in probe]) if probe else tf.zeros([0])
        return moments, tf.stack(losses), [grads[i] for i in kernel_positions], [tf.stack(out[1:]) for out in outputs]

    def record(kernel_grads, activations, kernels_before):
        """(K, 3, L): saturated share, gradient std, update ratio, computed in NumPy."""
        rows, position = [], 0
        for k, pm in enumerate(probe_models):
            count = len(pm.kernels)
            g = kernel_grads[position: position + count]
            w = kernels_before[position: position + count]
            position += count
            sat = [saturated_share(h, pm.activation) for h in activations[k]]
            gstd = [float(np.std(gi)) for gi in g]
            ratio = [learning_rate * float(np.linalg.norm(gi) / np.linalg.norm(wi)) for gi, wi in zip(g, w)]
            rows.append([sat, gstd, ratio])
        return np.array(rows)

    def activations_now():
        return [[h.numpy() for h in out] for out in probe_pass(models)]

    def accuracy(inputs, labels):
        # eager calls: two evaluations are cheaper than tracing another graph of K models
        if inputs is None:
            return np.full(len(models), np.nan)
        inputs = tf.constant(np.asarray(inputs, dtype=np.float32))
        return np.array([np.mean(np.argmax(m(inputs, training=False)[0].numpy(), axis=-1) == np.asarray(labels))
                         for m in models])

    initial_test = accuracy(x_test, y_test)
    first = activations_now()
    order = _batch_order(len(x), batch_size, steps, seed)
    landscape_models = [pm for pm in probe_models if pm.label in landscape_for]
    landscapes = {pm.label: [] for pm in landscape_models}
    landscape_steps, moments, losses, records = [], [], [], []
    for t in range(steps):
        batch = order[t]
        if landscape_models and t % landscape_every == 0:
            landscape_steps.append(t)
            for pm in landscape_models:
                landscapes[pm.label].append(landscape_probe(pm, x[batch], y[batch], learning_rate, multipliers))
        kernels_before = [flat_weights[i].numpy() for i in kernel_positions]
        probe, loss, kernel_grads, activations = step(tf.constant(x[batch]), tf.constant(y[batch]))
        moments.append(probe.numpy())
        losses.append(loss.numpy())
        records.append(record([g.numpy() for g in kernel_grads], [a.numpy() for a in activations], kernels_before))
    last = activations_now()
    depth, width = len(last[0]), last[0][0].shape[1]
    chosen = [k for k, pm in enumerate(probe_models) if pm.label in probe_labels]
    moments.append(np.array([[[h.mean(axis=0) for h in last[k]], [h.std(axis=0) for h in last[k]]] for k in chosen]))
    moments = (np.stack([m.reshape(len(chosen), 2, depth, width) for m in moments], axis=1) if chosen
               else np.zeros((0, steps + 1, 2, depth, width)))  # (P, T + 1, 2, L, width)
    records = np.stack(records, axis=1)  # (K, T, 3, L)
    return ProbeHistory(
        labels=tuple(pm.label for pm in probe_models),
        loss=np.stack(losses, axis=1),
        saturated=records[:, :, 0],
        grad_std=records[:, :, 1],
        update_ratio=records[:, :, 2],
        probe_labels=probe_labels,
        probe_mean=moments[:, :, 0],
        probe_std=moments[:, :, 1],
        first_activations=first,
        last_activations=last,
        train_accuracy=accuracy(x, y),
        test_accuracy=accuracy(x_test, y_test),
        initial_test_accuracy=initial_test,
        landscape_steps=np.array(landscape_steps),
        landscapes=landscapes,
        settings={"steps": steps, "learning_rate": learning_rate, "batch_size": batch_size, "seed": seed,
                  "n_probe": int(x_probe.shape[0])},
    )


@dataclass
class LandscapeResult:
    """Loss and gradient along the gradient direction, for one model at one point of training.

    multipliers: (S,) step sizes as multiples of the learning rate.
    loss: (S,) loss of the batch at ``w - m * lr * g``.
    grad_change: (S,) ``||g(w - m lr g) - g(w)|| / ||g(w)||``, how much the gradient
        changes over that step (0 = perfectly predictive).
    """

    multipliers: np.ndarray
    loss: np.ndarray
    grad_change: np.ndarray

    @property
    def loss_range(self):
        return float(self.loss.max() - self.loss.min())


def landscape_probe(probe_model, x_batch, y_batch, learning_rate, multipliers=(0.5, 1.0, 2.0, 4.0)):
    """Santurkar et al.'s "loss landscape" and "gradient predictiveness" at the current weights.

    Computes the batch gradient g at the current weights w, then for each multiplier m
    the batch loss and gradient at ``w - m * learning_rate * g`` (training mode, the
    BN moving statistics and the weights are restored afterwards). Returns a
    :class:`LandscapeResult`.
    """
    model = probe_model.model
    weights = model.trainable_variables
    moving = model.non_trainable_variables
    saved_w = [w.numpy() for w in weights]
    saved_m = [v.numpy() for v in moving]
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    xb = tf.constant(np.asarray(x_batch, dtype=np.float32))
    yb = tf.constant(np.asarray(y_batch))

    def loss_and_grad():
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True)[0])
        grads = tape.gradient(loss, weights)
        return float(loss), np.concatenate([g.numpy().ravel() for g in grads])

    try:
        _, g0 = loss_and_grad()
        losses, changes = [], []
        for m in multipliers:
            offset = 0
            for w, start in zip(weights, saved_w):
                size = start.size
                w.assign(start - m * learning_rate * g0[offset: offset + size].reshape(start.shape))
                offset += size
            loss, g = loss_and_grad()
            losses.append(loss)
            changes.append(np.linalg.norm(g - g0) / np.linalg.norm(g0))
    finally:
        for w, value in zip(weights, saved_w):
            w.assign(value)
        for v, value in zip(moving, saved_m):
            v.assign(value)
    return LandscapeResult(np.asarray(multipliers, dtype=float), np.array(losses), np.array(changes))


def smooth(values, window=10):
    """Trailing moving average along the first axis (steps); same shape, the first entries average fewer steps."""
    values = np.asarray(values, dtype=np.float64)
    cumulative = np.cumsum(values, axis=0)
    out = cumulative.copy()
    out[window:] = cumulative[window:] - cumulative[:-window]
    counts = np.minimum(np.arange(1, len(values) + 1), window).reshape(-1, *([1] * (values.ndim - 1)))
    return out / counts


def plot_layers(ax, values, title, log=False, window=10, every=2, cmap="viridis", ylabel=None):
    """Draw one line per layer of a (T, L) record against the step, layer 1 dark, layer L light.

    ``values`` are smoothed with :func:`smooth` over ``window`` steps and drawn at every
    ``every``-th step (keeps the figure small). Returns the lines.
    """
    import matplotlib

    values = smooth(values, window)
    steps = np.arange(len(values))[::every]
    colors = matplotlib.colormaps[cmap](np.linspace(0.0, 0.9, values.shape[1]))
    lines = []
    for layer in range(values.shape[1]):
        (line,) = ax.plot(steps, values[::every, layer], color=colors[layer], linewidth=2, label=f"layer {layer + 1}")
        lines.append(line)
    if log:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("training step")
    if ylabel:
        ax.set_ylabel(ylabel)
    return lines
