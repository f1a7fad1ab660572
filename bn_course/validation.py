"""Argument checks shared by every module (one place, so every error message reads the same); notebook 03
imports three of them for its layer.

Each function returns the cleaned value or raises a ``TypeError`` (wrong kind of value) or
``ValueError`` (right kind, wrong value) whose message names the argument.
"""

import numbers

import numpy as np

__all__ = ["as_float_array", "check_axis", "check_channel_vector", "check_variance", "check_eps", "check_momentum",
           "check_int"]


def as_float_array(value, name):
    """``value`` as a NumPy float array (float32 or wider; never a copy when already one)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}")
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    return array.astype(np.result_type(array.dtype, np.float32), copy=False)


def check_axis(axis, ndim, shape):
    """``axis`` as a non-negative int for an input of rank ``ndim`` and ``shape`` (NumPy/Keras negatives)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} is out of range for an input of rank {ndim} (shape {tuple(shape)})")
    return int(axis) % ndim


def check_channel_vector(value, name, channels):
    """``value`` as a float array of shape exactly (channels,), e.g. gamma, beta or a moving statistic."""
    array = as_float_array(value, name)
    if array.shape != (channels,):
        got = "a scalar" if array.ndim == 0 else f"shape {array.shape}"
        raise ValueError(f"{name} must have shape ({channels},), one value per feature on the normalized axis; "
                         f"got {got}")
    return array


def check_variance(value, name, channels):
    """``value`` as a float array of shape (channels,) with every entry >= 0 (a variance)."""
    array = check_channel_vector(value, name, channels)
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0 everywhere (it is a variance)")
    return array


def check_eps(eps, name="eps"):
    """``eps`` as a float: a finite number >= 0."""
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool):
        raise TypeError(f"{name} must be a number, got {type(eps).__name__}")
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {eps}")
    return float(eps)


def check_momentum(momentum, name="momentum"):
    """``momentum`` as a float in [0, 1]: the share of the old moving value kept (Keras meaning)."""
    if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool):
        raise TypeError(f"{name} must be a number, got {type(momentum).__name__}")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{name} must be in [0, 1] (the share of the old moving value kept), got {momentum}")
    return float(momentum)


def check_int(value, name, low=1):
    """``value`` as an int >= ``low`` (a count such as groups, a depth or a step; with ``low=None`` any int,
    e.g. an axis before the input's rank is known); not a bool or a float."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)
