"""Recomputes every numeric answer of quizzes/07_review.json."""

import numpy as np

from bn_course.numpy_bn import update_moving


def warmup_moving_variance():
    """Keras's moving variance after 200 steps of momentum 0.99, starting at 1, batch variance 0.01."""
    moving = np.ones(1)
    for _ in range(200):
        moving = update_moving(moving, np.array([0.01]), momentum=0.99)
    return float(moving[0])


def pytorch_running_var():
    """Keras reproduces PyTorch's eval output when moving_variance equals running_var: it is copied unchanged."""
    running_var, eps = 0.63, 1e-5
    x = np.linspace(-2.0, 3.0, 11)
    torch_out = x / np.sqrt(running_var + eps)           # PyTorch eval mode (mean 0, gamma 1, beta 0)
    candidates = {v: x / np.sqrt(v + eps) for v in (running_var * 63 / 64, running_var, running_var * 64 / 63)}
    (match,) = [v for v, keras_out in candidates.items() if np.allclose(keras_out, torch_out, rtol=1e-12)]
    return match


def sync_values_per_channel():
    """Synchronized BN on channels-last maps: every value of a channel on every replica."""
    replicas, per_replica, height, width, channels = 4, 2, 16, 16, 3
    global_batch = np.zeros((replicas * per_replica, height, width, channels))
    return global_batch[..., 0].size


ANSWERS = {
    "warmup-moving-variance": warmup_moving_variance,
    "pytorch-running-var": pytorch_running_var,
    "sync-values-per-channel": sync_values_per_channel,
}
