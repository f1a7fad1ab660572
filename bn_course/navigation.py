"""The course map: the notebooks in learning order (notebook 00 shows it; the tests walk it).

``python -m tools.add_navigation`` writes every notebook's prev/contents/next links from it.
"""

from bn_course.paths import course_root

__all__ = ["NOTEBOOKS", "NOTEBOOK_DIR"]

NOTEBOOK_DIR = course_root() / "notebooks" if course_root() else None  # None outside the course folder

NOTEBOOKS = [
    ("00_start_here", "Start here"),
    ("01_why_batchnorm", "Why batch normalization?"),
    ("02_numpy_formula", "The formula in NumPy, forward and backward"),
    ("03_tf_custom_layer", "A correct BN layer in TensorFlow"),
    ("04_keras_integration", "Batch normalization in Keras models"),
    ("05_training_vs_inference", "Training vs inference"),
    ("06_beyond_batchnorm", "Beyond batch normalization"),
    ("07_review", "Review"),
]
