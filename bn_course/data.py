"""The course's offline data set: scikit-learn's bundled 8x8 handwritten digits.

Introduced in notebook 01, used by every notebook that trains a model. Nothing is
downloaded: the 1,797 images ship inside scikit-learn. The split is stratified and
fixed by ``seed``, so every run sees the same samples.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Digits", "load_digits", "N_CLASSES"]

N_CLASSES = 10


@dataclass(frozen=True)
class Digits:
    """A deterministic train/test split of the digits.

    x_train, x_test: float32 images, shape (N, 8, 8, 1), values in [0, 1]
        (the raw 0..16 intensities divided by 16).
    y_train, y_test: int64 labels in 0..9, shape (N,).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def x_train_flat(self):
        """Training images as (N, 64) rows, for dense networks."""
        return self.x_train.reshape(len(self.x_train), -1)

    @property
    def x_test_flat(self):
        """Test images as (N, 64) rows, for dense networks."""
        return self.x_test.reshape(len(self.x_test), -1)


def load_digits(test_fraction=0.25, seed=0):
    """Load the digits and split them, stratified by class.

    Returns a :class:`Digits` with 1,347 training and 450 test images for the
    default ``test_fraction=0.25``. Same ``seed`` gives the same split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return Digits(x_train, y_train, x_test, y_test)
