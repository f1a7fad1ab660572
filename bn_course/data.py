"""The course's offline data set: scikit-learn's bundled 8x8 handwritten digits (notebook 01 on).

Nothing is downloaded: the 1,797 images ship inside scikit-learn. The split is stratified and
fixed by ``seed``, so every run sees the same samples.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Digits", "load_digits", "standardize"]


@dataclass(frozen=True)
class Digits:
    """A deterministic train/test split of the digits.

    x_train, x_test: float32 images (N, 8, 8, 1), the raw 0..16 intensities divided by 16.
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
    """The digits split stratified by class: 1,347 training and 450 test images by default."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return Digits(x_train, y_train, x_test, y_test)


def standardize(x, reference=None, scale=True):
    """Per-column ``(x - mean) / std`` of an (N, D) array with the statistics of ``reference`` (default x).

    Returns float64 (N, D). Columns constant in ``reference`` (std 0, e.g. the digits' blank corners)
    are only centred; ``scale=False`` only centres. Used for the digit pixels fed to the explorers of
    notebook 01 (standardized) and notebook 06 (centred).
    """
    x = np.asarray(x, dtype=np.float64)
    reference = x if reference is None else np.asarray(reference, dtype=np.float64)
    centred = x - reference.mean(axis=0)
    if not scale:
        return centred
    std = reference.std(axis=0)
    return centred / np.where(std > 0, std, 1.0)
