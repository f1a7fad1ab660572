"""The package's import-time promises and the notebook setup helper."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from bn_course import env, validation


def test_import_does_not_load_tensorflow():
    code = "import bn_course, bn_course.numpy_bn, bn_course.gradcheck, bn_course.explore.widgets, sys; " \
           "assert 'tensorflow' not in sys.modules, 'bn_course imported TensorFlow'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_setup_names_a_package_that_is_too_old(monkeypatch):
    monkeypatch.setitem(env.MINIMUM_VERSIONS, "numpy", (99, 0))
    with pytest.raises(RuntimeError, match="numpy .* too old"):
        env.setup_notebook()


def test_setup_seeds_numpy(capsys):
    env.setup_notebook(seed=7)
    first = np.random.rand()
    env.setup_notebook(seed=7)
    assert np.random.rand() == first
    assert "seed 7" in capsys.readouterr().out


def test_course_files_are_found_from_inside_the_course_folder_without_an_editable_install(tmp_path):
    """A plain (non-editable) install finds notebooks/ and quizzes/ from the current folder or
    BN_COURSE_ROOT, and outside the course says how to fix it."""
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    site, source = tmp_path / "site", tmp_path / "source"
    # Build from a copy: setuptools writes build/ next to the sources it installs.
    shutil.copytree(repo / "bn_course", source / "bn_course", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(repo / "pyproject.toml", source)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(source)], check=True)
    modules = {root: {path.relative_to(root).as_posix() for path in (root / "bn_course").rglob("*.py")}
               for root in (site, source)}
    assert modules[site] == modules[source], "a bn_course subpackage is missing from pyproject's package list"
    code = "import bn_course.paths as p; print(p.course_path('quizzes'))"
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    inside = subprocess.run([sys.executable, "-c", code], cwd=repo / "notebooks", env=env,
                            capture_output=True, text=True, check=True)
    assert inside.stdout.strip() == str(repo / "quizzes")
    named = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**env, "BN_COURSE_ROOT": str(repo)},
                           capture_output=True, text=True, check=True)
    assert named.stdout.strip() == str(repo / "quizzes")
    outside = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert outside.returncode != 0 and "BN_COURSE_ROOT" in outside.stderr


def test_one_blas_thread_limits_blas_inside_and_restores_it_after():
    from threadpoolctl import threadpool_info

    blas = lambda: [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]  # noqa: E731
    before = blas()
    with env.one_blas_thread():
        assert set(blas()) <= {1}
    assert blas() == before


def test_check_int_takes_ints_only_and_an_optional_lower_bound():
    assert validation.check_int(np.int64(3), "groups") == 3 and validation.check_int(-2, "axis", low=None) == -2
    for value, error in ((True, TypeError), (2.0, TypeError), ("2", TypeError), (0, ValueError)):
        with pytest.raises(error, match="groups"):
            validation.check_int(value, "groups")


def test_standardize_uses_the_reference_statistics_and_leaves_constant_columns_centred():
    from bn_course.data import standardize

    reference = np.array([[0.0, 1.0, 5.0], [4.0, 3.0, 5.0]])          # means 2, 2, 5; stds 2, 1, 0
    np.testing.assert_allclose(standardize(reference), [[-1, -1, 0], [1, 1, 0]])
    np.testing.assert_allclose(standardize([[6.0, 2.0, 7.0]], reference), [[2, 0, 2]])
    np.testing.assert_allclose(standardize([[6.0, 2.0, 7.0]], reference, scale=False), [[4, 0, 2]])
