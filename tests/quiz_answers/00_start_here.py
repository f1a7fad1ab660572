"""Recomputes every numeric answer of quizzes/00_start_here.json."""

import numpy as np

from bn_course.numpy_bn import batch_norm


def standardize_warmup():
    """z-score of 8 in 2, 4, 6, 8 with the population std: BN with gamma=1, beta=0, eps=0."""
    x = np.array([[2.0], [4.0], [6.0], [8.0]])
    return float(batch_norm(x, [1.0], [0.0], eps=0.0)[3, 0])


ANSWERS = {"standardize-warmup": standardize_warmup}
