"""Section 4: ``bn_course.layers.BatchNorm`` against ``keras.layers.BatchNormalization``.

A training step (forward in training mode under a GradientTape, the moving-average
update, the backward pass to the input and to gamma/beta) and an inference step, each
compiled with ``tf.function``, on one (128, 16, 16, 32) float32 tensor. The two layers
are timed alternately (ours, Keras, ours, Keras, ...), so a burst of load on a shared
machine hits both; the ratio is of the medians.
"""

import time

import numpy as np

from benchmarks.timing import Row, format_seconds, median
from bn_course.env import import_tensorflow

SHAPE = (128, 16, 16, 32)
TARGET_RATIO = 1.3
CALLS_PER_SAMPLE = 10  # one timed sample = this many steps (a step is ~ms; a single one is too noisy)


def steps(layer, x, dy):
    """``(train_step, inference_step)`` for ``layer``, both ``tf.function``s returning a small tensor."""
    tf = import_tensorflow()

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * dy)
        dx, *dparams = tape.gradient(loss, [x, *layer.trainable_variables])
        # Returning dx would copy 4 MB out; a reduction of it forces it to be computed.
        return tf.reduce_sum(dx[0, 0, 0]) + tf.add_n([tf.reduce_sum(d) for d in dparams])

    @tf.function
    def inference_step():
        return layer(x, training=False)[0, 0, 0]

    return train_step, inference_step


def _sample(step, calls):
    start = time.perf_counter()
    for _ in range(calls):
        result = step()
    result.numpy()  # wait for the last call
    return (time.perf_counter() - start) / calls


def compare(first, second, repeats, calls=CALLS_PER_SAMPLE):
    """Median seconds per call of two zero-argument steps, sampled alternately after a warm-up."""
    for step in (first, second):
        _sample(step, 2)  # traces and compiles
    a, b = [], []
    for _ in range(repeats):
        a.append(_sample(first, calls))
        b.append(_sample(second, calls))
    return median(a), median(b)


def layers(shape=SHAPE):
    """``(ours, keras's)``: both built on ``shape`` with the same default arguments."""
    import keras

    from bn_course.layers import BatchNorm

    ours, reference = BatchNorm(), keras.layers.BatchNormalization()
    ours.build(shape)
    reference.build(shape)
    return ours, reference


def run(repeats, shape=SHAPE, calls=CALLS_PER_SAMPLE):
    tf = import_tensorflow()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(1.0, 2.0, size=shape), dtype=tf.float32)
    dy = tf.constant(rng.normal(size=shape), dtype=tf.float32)
    ours, reference = layers(shape)
    our_train, our_infer = steps(ours, x, dy)
    keras_train, keras_infer = steps(reference, x, dy)
    rows = []
    for label, mine, theirs in (("training step (forward + backward + moving update)", our_train, keras_train),
                                ("inference step", our_infer, keras_infer)):
        t_ours, t_keras = compare(mine, theirs, max(repeats, 5), calls)
        rows.append(Row("4 layer", f"BatchNorm {label}, {shape} float32", format_seconds(t_ours),
                        f"Keras BatchNormalization {format_seconds(t_keras)}", t_ours / t_keras,
                        f"≤ {TARGET_RATIO}×", t_ours / t_keras <= TARGET_RATIO))
    return rows
