"""Recomputes every numeric answer of quizzes/06_beyond_batchnorm.json (NumPy and Keras)."""

import numpy as np

from bn_course.explore.batch_size import batch_statistics


def _keras():
    from bn_course.env import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def standard_error():
    """sigma / sqrt(B) for sigma = 2, B = 16, confirmed by sampling a N(0, 2^2) population."""
    population = np.random.default_rng(0).normal(0.0, 2.0, size=(20000, 1))
    measured = batch_statistics(population, 16, n_batches=4000)["se_mean"] * population.std()
    assert abs(measured - 0.5) < 0.02
    return 2.0 / np.sqrt(16)


def halve_the_noise():
    """The B with sigma/sqrt(B) = (sigma/sqrt(8)) / 2; the listed mistakes are 16 (doubling) and 64 (8 squared)."""
    b = float(np.round((2 * np.sqrt(8)) ** 2))
    assert np.isclose(np.sqrt(16) / np.sqrt(8), np.sqrt(2)) and np.isclose(np.sqrt(64) / np.sqrt(8), np.sqrt(8))
    return b


def biased_variance_b4():
    """E[biased batch variance] / sigma^2 for B = 4: exact (B-1)/B, confirmed by sampling."""
    population = np.random.default_rng(1).normal(size=(20000, 1))
    assert abs(batch_statistics(population, 4, n_batches=4000)["var_ratio"] - 0.75) < 0.02
    return 3 / 4


def batch_of_one_output():
    keras = _keras()
    layer = keras.layers.BatchNormalization()
    layer.build((None, 1))
    layer.gamma.assign([2.0])
    layer.beta.assign([0.3])
    return float(np.asarray(layer(np.array([[5.0]], dtype="float32"), training=True))[0, 0])


def moving_variance_one_step():
    keras = _keras()
    layer = keras.layers.BatchNormalization(momentum=0.99)
    layer(np.array([[5.0]], dtype="float32"), training=True)
    return float(np.asarray(layer.moving_variance)[0])


def last_batch_size():
    sizes = [len(part) for part in np.array_split(np.arange(1001), np.arange(50, 1001, 50))]
    return sizes[-1]


ANSWERS = {
    "standard-error": standard_error,
    "halve-the-noise": halve_the_noise,
    "biased-variance-b4": biased_variance_b4,
    "batch-of-one-output": batch_of_one_output,
    "moving-variance-one-step": moving_variance_one_step,
    "last-batch-size": last_batch_size,
}
