"""Numerical gradients and relative error, for checking backward passes (taught in notebook 02, 4c).

Notebook 02 shows both functions in full in a cell; ``tests/test_backward_graph.py`` checks
that the cell and this file hold the same code. Notebook 03 and the unit tests import them
from here. NumPy only.
"""

import numpy as np

__all__ = ["rel_error", "numerical_gradient"]


def numerical_gradient(f, x, dy, h=1e-5):
    """Central-difference estimate of d sum(f(x) * dy) / dx, nudging one element of x at a time.
    x: any shape; f(x) has the shape of dy. Returns a float64 array shaped like x."""
    x = np.array(x, dtype=np.float64)                     # a copy: the caller's array is never touched
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        plus = np.sum(f(x) * dy)
        x[i] = original - h
        minus = np.sum(f(x) * dy)
        x[i] = original
        grad[i] = (plus - minus) / (2 * h)                # error of order h**2
    return grad


def rel_error(a, b, floor=1e-8):
    """Largest elementwise |a - b| / (|a| + |b|); the floor keeps two near-zero values from blowing up."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b)), initial=0.0))
