"""Helpers for the Batch Normalization in TensorFlow course.

Importing this package loads NumPy only: TensorFlow is imported by the modules
that need it (``bn_course.layers``, ``bn_course.experiments``), so the NumPy
notebooks start fast.
"""

__version__ = "1.0.0"
