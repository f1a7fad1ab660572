"""Section 5: inference with BN folded into the layer before it, against the unfolded model.

Two small ``keras.Sequential`` models with trained-looking BN statistics (random gamma,
beta, moving mean and variance, so folding changes real numbers): a Dense MLP on
(256, 64) digit-sized inputs and a small Conv2D network on (64, 32, 32, 3) images.
:func:`bn_course.inference.fold_batchnorm` merges each Dense/Conv2D + BN pair; both
models are called as ``model(x, training=False)`` under ``tf.function`` on the same
batch, timed alternately (unfolded, folded, unfolded, ...). The outputs are checked
to agree before anything is timed.
"""

import numpy as np

from benchmarks.layer import compare
from benchmarks.timing import Row, format_seconds
from bn_course.env import import_tensorflow


def _randomize_bn(model, rng):
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, c), rng.normal(0, 0.5, c),
                               rng.normal(0, 0.5, c), rng.uniform(0.5, 2.0, c)])


def models():
    """``{label: (unfolded model, input batch)}``."""
    tf = import_tensorflow()  # noqa: F841  (before Keras: quiet import)
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    L = keras.layers
    dense = keras.Sequential([keras.Input((64,)),
                              L.Dense(256, use_bias=False), L.BatchNormalization(), L.ReLU(),
                              L.Dense(256, use_bias=False), L.BatchNormalization(), L.ReLU(),
                              L.Dense(10)], name="dense_bn")
    conv = keras.Sequential([keras.Input((32, 32, 3)),
                             L.Conv2D(32, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
                             L.Conv2D(32, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
                             L.MaxPooling2D(),
                             L.Conv2D(64, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
                             L.GlobalAveragePooling2D(), L.Dense(10)], name="conv_bn")
    for model in (dense, conv):
        _randomize_bn(model, rng)
    return {
        "Dense MLP 64-256-256-10, 2 BN, batch (256, 64)": (dense, rng.normal(size=(256, 64)).astype("float32")),
        "Conv2D net 32-32-64, 3 BN, batch (64, 32, 32, 3)": (conv, rng.normal(size=(64, 32, 32, 3)).astype("float32")),
    }


def run(repeats, calls=10):
    tf = import_tensorflow()
    from bn_course.inference import fold_batchnorm

    rows = []
    for label, (model, batch) in models().items():
        folded = fold_batchnorm(model)
        x = tf.constant(batch)
        np.testing.assert_allclose(folded(x, training=False).numpy(), model(x, training=False).numpy(),
                                   rtol=1e-3, atol=1e-3)
        unfolded_step = tf.function(lambda m=model: model(x, training=False))
        folded_step = tf.function(lambda: folded(x, training=False))
        t_unfolded, t_folded = compare(unfolded_step, folded_step, max(repeats, 5), calls)
        rows.append(Row("5 folding", f"folded inference, {label}", format_seconds(t_folded),
                        f"unfolded {format_seconds(t_unfolded)}", t_folded / t_unfolded,
                        "expected < 1"))  # the issue sets no target: reported, not judged
    return rows
