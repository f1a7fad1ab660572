"""The package's import-time promises and the notebook setup helper."""

import subprocess
import sys

import pytest

from bn_course import env


def test_import_does_not_load_tensorflow():
    code = "import bn_course, bn_course.numpy_bn, bn_course.gradcheck, bn_course.widgets, sys; " \
           "assert 'tensorflow' not in sys.modules, 'bn_course imported TensorFlow'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_setup_names_a_package_that_is_too_old(monkeypatch):
    monkeypatch.setitem(env.MINIMUM_VERSIONS, "numpy", (99, 0))
    with pytest.raises(RuntimeError, match="numpy .* too old"):
        env.setup_notebook()


def test_setup_seeds_numpy(capsys):
    import numpy as np

    env.setup_notebook(seed=7)
    first = np.random.rand()
    env.setup_notebook(seed=7)
    assert np.random.rand() == first
    assert "seed 7" in capsys.readouterr().out
