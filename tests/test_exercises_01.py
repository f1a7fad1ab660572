"""bn_course.exercises, notebook 01: the find-the-bug batch norm checker, right and wrong answers."""

import numpy as np
import pytest

from bn_course.exercises import why_batchnorm
from bn_course.exercises.why_batchnorm import check_batch_norm_fix


def correct(z, gamma=1.0, beta=0.0, eps=1e-3):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta


def colleague(z, gamma=1.0, beta=0.0, eps=1e-3):
    """The notebook's buggy version: statistics over each sample's units."""
    centred = z - z.mean(axis=-1, keepdims=True)
    scale = np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + eps)
    return gamma * centred / scale + beta


def whole_array(z, gamma=1.0, beta=0.0, eps=1e-3):
    return gamma * (z - z.mean()) / np.sqrt(z.var() + eps) + beta


def no_centring(z, gamma=1.0, beta=0.0, eps=1e-3):
    return gamma * z / np.sqrt(z.var(axis=0) + eps) + beta


def by_variance(z, gamma=1.0, beta=0.0, eps=1e-3):
    return gamma * (z - z.mean(axis=0)) / (z.var(axis=0) + eps) + beta


def eps_outside(z, gamma=1.0, beta=0.0, eps=1e-3):
    return gamma * (z - z.mean(axis=0)) / (z.std(axis=0) + eps) + beta


def unbiased(z, gamma=1.0, beta=0.0, eps=1e-3):
    return gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0, ddof=1) + eps) + beta


def swapped(z, gamma=1.0, beta=0.0, eps=1e-3):
    return correct(z, beta, gamma, eps)


def no_affine(z, gamma=1.0, beta=0.0, eps=1e-3):
    return correct(z, 1.0, 0.0, eps)


def in_place(z, gamma=1.0, beta=0.0, eps=1e-3):
    z -= z.mean(axis=0)
    z /= np.sqrt(z.var(axis=0) + eps)
    return gamma * z + beta


def one_value_per_unit(z, gamma=1.0, beta=0.0, eps=1e-3):
    return correct(z, gamma, beta, eps).mean(axis=0)


def float32(z, gamma=1.0, beta=0.0, eps=1e-3):
    return correct(z.astype(np.float32), np.float32(gamma), np.float32(beta), np.float32(eps))


def todo(z, gamma=1.0, beta=0.0, eps=1e-3):
    raise NotImplementedError  # your code here


def crashes(z, gamma=1.0, beta=0.0, eps=1e-3):
    return z["no such key"]


@pytest.mark.parametrize("answer", [correct, float32, why_batchnorm._solution_batch_norm])
def test_right_answers_pass(answer):
    result = check_batch_norm_fix(answer)
    assert result.passed, result


@pytest.mark.parametrize("wrong, hint", [
    (colleague, "still the colleague's version"),
    (whole_array, "whole array"),
    (no_centring, "only divide"),
    (by_variance, "not by the variance"),
    (eps_outside, "under the square root"),
    (unbiased, "biased variance"),
    (swapped, "gamma scales and beta shifts"),
    (no_affine, "not applied"),
    (in_place, "in place"),
    (one_value_per_unit, "has shape (64,), not (256, 64)"),
])
def test_each_mistake_is_named(wrong, hint):
    result = check_batch_norm_fix(wrong)
    assert result.status == "failed" and hint in result.message, result


def test_untouched_and_crashing_answers():
    assert check_batch_norm_fix(todo).status == "not attempted"
    crashed = check_batch_norm_fix(crashes)
    assert crashed.status == "failed" and "raised" in crashed.message


def test_the_notebooks_buggy_version_really_fails_only_where_the_notebook_says():
    """The colleague's version rescues the badly scaled tanh batch (it looks fine) but not the collapsed one."""
    rng = np.random.default_rng(0)
    too_large = 8.0 * rng.normal(size=(256, 64))
    assert np.mean(np.abs(np.tanh(colleague(too_large))) > 0.99) < 0.02
    collapsed = rng.normal(0.0, 0.5, size=64) + 0.01 * rng.normal(size=(256, 64))
    assert colleague(collapsed).std(axis=0).mean() < 0.1 < correct(collapsed).std(axis=0).mean()


def test_the_exercise_is_registered_with_a_passing_solution():
    (exercise,) = why_batchnorm.EXERCISES
    assert (exercise.notebook, exercise.key) == ("01_why_batchnorm", "batch-norm-bug")
    assert exercise.check(exercise.solution).passed
    assert "axis" in exercise.explanation


def test_a_ragged_return_is_the_learners_mistake_not_a_crash():
    def ragged(z, gamma=1.0, beta=0.0, eps=1e-3):
        return [row[:1 + i % 2] for i, row in enumerate(correct(z, gamma, beta, eps))]

    result = check_batch_norm_fix(ragged)
    assert result.status == "failed" and "return one array of shape (256, 64)" in result.message, result
