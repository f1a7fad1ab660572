"""The first cell of every notebook: version checks, seeds, quiet TensorFlow, plot style.

``setup_notebook()`` is called once at the top of each notebook (introduced in notebook 00).
"""

import os
import random
import sys

import numpy as np

__all__ = ["setup_notebook", "import_tensorflow", "MINIMUM_VERSIONS"]

# Oldest releases the course was checked against; older ones miss APIs the notebooks use
# (Keras 3.14 restored renorm; TF 2.16 is the first release with Keras 3).
MINIMUM_VERSIONS = {
    "python": (3, 10),
    "numpy": (1, 26),
    "matplotlib": (3, 8),
    "ipywidgets": (8, 0),
    "tensorflow": (2, 16),
    "keras": (3, 14),
}


def _version_tuple(text):
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _require(name, version):
    minimum = MINIMUM_VERSIONS[name]
    if _version_tuple(version) < minimum:
        wanted = ".".join(map(str, minimum))
        raise RuntimeError(
            f"{name} {version} is too old for this course (needs >= {wanted}). "
            "Start JupyterLab with `make lab`, which uses the course's own .venv, "
            "or run `pip install -r requirements.txt` in your environment."
        )


def _quiet_tensorflow():
    """Silence TensorFlow's C++ start-up logging; must run before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def import_tensorflow():
    """Import and return ``tensorflow`` without its start-up noise on stderr.

    TF 2.21 writes its oneDNN and CUDA notices straight to file descriptor 2
    before its logging is configured, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide
    them and Jupyter would show them as red stderr in the notebook. Every
    module of this package that needs TensorFlow imports it through here.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    _quiet_tensorflow()
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


def setup_notebook(seed=0, tensorflow=False):
    """Prepare a notebook: check versions, fix every seed, set the plot style.

    Args:
        seed: seeds Python's ``random``, NumPy's global generator and, with
            ``tensorflow=True``, Keras/TensorFlow (``keras.utils.set_random_seed``)
            with deterministic TensorFlow ops, so reruns give the same numbers.
        tensorflow: import and check TensorFlow and Keras too (notebooks 01, 03-07).

    Raises RuntimeError naming the package when a version is too old.
    Prints one line saying what was set up.
    """
    _quiet_tensorflow()
    _require("python", ".".join(map(str, sys.version_info[:2])))
    _require("numpy", np.__version__)
    import ipywidgets
    import matplotlib

    _require("matplotlib", matplotlib.__version__)
    _require("ipywidgets", ipywidgets.__version__)

    random.seed(seed)
    np.random.seed(seed)
    _style_plots(matplotlib)

    loaded = "NumPy"
    if tensorflow:
        tf = import_tensorflow()
        import keras

        _require("tensorflow", tf.__version__)
        _require("keras", keras.__version__)
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                f"Keras is using the {keras.backend.backend()!r} backend; this course needs "
                "'tensorflow'. Unset KERAS_BACKEND or set it to tensorflow, then restart the kernel."
            )
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        tf.get_logger().setLevel("ERROR")
        loaded = "NumPy, TensorFlow and Keras"
    print(f"Setup done: {loaded} checked, seed {seed}.")


def _style_plots(matplotlib):
    """Large, legible plots that still keep notebooks small (projector friendly)."""
    matplotlib.rcParams.update(
        {
            "figure.figsize": (7.5, 3.6),
            "figure.dpi": 80,
            "savefig.dpi": 80,
            "font.size": 11,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.constrained_layout.use": True,
        }
    )
