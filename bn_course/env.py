"""Notebook set-up (version checks, seeds, quiet TensorFlow, plot style) and process-wide settings.

``setup_notebook()`` is the first cell of every notebook (introduced in notebook 00).
"""

import functools
import os
import random
import re
import sys

import numpy as np

__all__ = ["setup_notebook", "import_tensorflow", "import_keras", "one_blas_thread", "MINIMUM_VERSIONS"]

# Oldest releases the course was checked against (Keras 3.14 restored renorm; TF 2.16 is the first with Keras 3).
MINIMUM_VERSIONS = {"python": (3, 10), "numpy": (1, 26), "matplotlib": (3, 8), "ipywidgets": (8, 0),
                    "tensorflow": (2, 16), "keras": (3, 14)}
# Silence TensorFlow's C++ start-up logging: this must happen before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _require(name, version):
    minimum = MINIMUM_VERSIONS[name]
    if tuple(int(part) for part in re.findall(r"\d+", version)[:2]) < minimum:
        raise RuntimeError(
            f"{name} {version} is too old for this course (needs >= {'.'.join(map(str, minimum))}). "
            "Start JupyterLab with `make lab`, which uses the course's own .venv, "
            "or run `pip install -r requirements.txt` in your environment."
        )


def import_tensorflow():
    """Import and return ``tensorflow`` without the oneDNN and CUDA notices TF 2.21 writes straight to
    file descriptor 2 before its logging is configured (Jupyter would show them as red stderr)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


def import_keras():
    """Import and return ``keras``, TensorFlow first and quietly (see :func:`import_tensorflow`)."""
    import_tensorflow()
    import keras

    return keras


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController  # ships with scikit-learn, which the data set needs

    return ThreadpoolController()


def one_blas_thread():
    """A context manager running NumPy's BLAS on one thread: ``with one_blas_thread(): ...``. For small
    products (hundreds x 64) beside TensorFlow or on a busy machine, more threads only make them 3-10x slower."""
    return _blas_controller().limit(limits=1, user_api="blas")


def setup_notebook(seed=0, tensorflow=False):
    """Check versions (a too old package raises RuntimeError), fix every seed, set the plot style, and
    print one line saying so. ``seed`` seeds ``random``, NumPy and, with ``tensorflow=True`` (which also
    imports and checks TensorFlow and Keras), Keras/TensorFlow with deterministic ops."""
    import ipywidgets
    import matplotlib

    _require("python", ".".join(map(str, sys.version_info[:2])))
    for name, module in (("numpy", np), ("matplotlib", matplotlib), ("ipywidgets", ipywidgets)):
        _require(name, module.__version__)
    random.seed(seed)
    np.random.seed(seed)
    matplotlib.rcParams.update({  # large, legible plots that keep notebooks small (projector friendly)
        "figure.figsize": (7.5, 3.6), "figure.dpi": 80, "savefig.dpi": 80, "font.size": 11,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "figure.constrained_layout.use": True,
    })
    loaded = "NumPy"
    if tensorflow:
        tf = import_tensorflow()
        keras = import_keras()
        _require("tensorflow", tf.__version__)
        _require("keras", keras.__version__)
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(f"Keras is using the {keras.backend.backend()!r} backend; this course needs "
                               "'tensorflow'. Unset KERAS_BACKEND or set it to tensorflow, then restart the kernel.")
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        tf.get_logger().setLevel("ERROR")
        loaded = "NumPy, TensorFlow and Keras"
    print(f"Setup done: {loaded} checked, seed {seed}.")
