"""Numerical gradients and relative error, for checking backward passes (notebook 02).

Used by notebooks 02 and 03 and by the unit tests; NumPy only.
"""

import numpy as np

__all__ = ["rel_error", "numerical_gradient"]


def rel_error(a, b, floor=1e-8):
    """Largest elementwise relative error ``|a - b| / max(floor, |a| + |b|)``.

    The ``floor`` stops two near-zero values from producing a huge ratio.
    A correct float64 backward pass checked with :func:`numerical_gradient`
    typically gives below 1e-7; float32 below 1e-3.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x, dy, h=1e-5):
    """Centered-difference estimate of ``d sum(f(x) * dy) / dx``.

    Args:
        f: function of one array returning an array shaped like ``dy``.
        x: float64 array; perturbed one element at a time on a copy.
        dy: upstream gradient, shape of ``f(x)``.
        h: step; the error of the estimate is O(h**2).

    Returns an array shaped like ``x``:
        grad[i] = sum((f(x + h e_i) - f(x - h e_i)) * dy) / (2 h)
    """
    x = np.array(x, dtype=np.float64)  # a copy: the caller's array is never touched
    dy = np.asarray(dy, dtype=np.float64)
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + h
        plus = np.sum(np.asarray(f(x)) * dy)
        flat_x[i] = original - h
        minus = np.sum(np.asarray(f(x)) * dy)
        flat_x[i] = original
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad
