"""Recomputes every numeric answer of quizzes/05_training_vs_inference.json."""

import numpy as np

from bn_course.explore.momentum import ema, steps_to_within
from bn_course.inference import fold_batchnorm_weights

BATCH = np.array([1.0, 2.0, 3.0, 6.0])  # one channel, four values


def moving_mean_after_k():
    """100 Keras updates (momentum 0.99) from 0 towards a constant batch mean 2.0."""
    return float(ema(np.full(100, 2.0), 0.99, 0.0)[-1])


def torch_momentum():
    """The Keras momentum whose update equals PyTorch's running = (1 - 0.1) * running + 0.1 * batch."""
    running, moving, torch_m = 0.0, 0.0, 0.1
    keras_m = 1 - torch_m
    for batch in (3.0, -1.0, 4.0):
        running = (1 - torch_m) * running + torch_m * batch
        moving = keras_m * moving + (1 - keras_m) * batch
        assert np.isclose(running, moving)
    return keras_m


def unbiased_variance():
    """What PyTorch adds (times momentum) to running_var: the unbiased variance of the batch."""
    return float(BATCH.var(ddof=1))


def steps_momentum_09():
    return steps_to_within(0.01, 0.9)


def folded_bias():
    _, bias = fold_batchnorm_weights(np.ones((1, 1)), [0.5], [2.0], [0.3], [1.5], [3.999], eps=0.001)
    return float(bias[0])


ANSWERS = {
    "moving-mean-after-k": moving_mean_after_k,
    "torch-momentum": torch_momentum,
    "unbiased-variance": unbiased_variance,
    "steps-momentum-09": steps_momentum_09,
    "folded-bias": folded_bias,
}
