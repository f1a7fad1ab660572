"""Recomputes every numeric answer of quizzes/05_training_vs_inference.json."""

import numpy as np

from bn_course.explore_momentum import ema, steps_to_within
from bn_course.inference import fold_batchnorm_weights, torch_to_keras_bn, torch_update_running

BATCH = np.array([[1.0], [2.0], [3.0], [6.0]])  # one channel, four values


def moving_mean_after_k():
    """100 Keras updates (momentum 0.99) from 0 towards a constant batch mean 2.0."""
    return float(ema(np.full(100, 2.0), 0.99, 0.0)[-1])


def torch_momentum():
    config, _ = torch_to_keras_bn({"running_mean": [0.0], "running_var": [1.0]}, momentum=0.1, affine=False)
    return config["momentum"]


def unbiased_variance():
    return float(BATCH.var(ddof=1))


def torch_running_var():
    _, running_var = torch_update_running(np.zeros(1), np.ones(1), BATCH, momentum=0.1)
    return float(running_var[0])


def steps_momentum_09():
    return steps_to_within(0.01, 0.9)


def folded_bias():
    _, bias = fold_batchnorm_weights(np.ones((1, 1)), [0.5], [2.0], [0.3], [1.5], [3.999], eps=0.001)
    return float(bias[0])


ANSWERS = {
    "moving-mean-after-k": moving_mean_after_k,
    "torch-momentum": torch_momentum,
    "unbiased-variance": unbiased_variance,
    "torch-running-var": torch_running_var,
    "steps-momentum-09": steps_momentum_09,
    "folded-bias": folded_bias,
}
