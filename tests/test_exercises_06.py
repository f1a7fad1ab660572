"""bn_course.exercises, notebook 06: the group-norm checker, right and wrong answers."""

import numpy as np
import pytest

from bn_course.exercises import check_group_norm, find_exercise, solution_markdown


def gn_right(x, gamma, beta, groups, eps=1e-3):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    var = grouped.var(axis=(1, 2, 4), keepdims=True)
    x_hat = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return gamma * x_hat + beta


def gn_loop(x, gamma, beta, groups, eps=1e-3):
    y = np.empty_like(x)
    size = x.shape[-1] // groups
    for n in range(x.shape[0]):
        for g in range(groups):
            block = x[n, ..., g * size:(g + 1) * size]
            y[n, ..., g * size:(g + 1) * size] = (block - block.mean()) / np.sqrt(block.var() + eps)
    return gamma * y + beta


def gn_over_batch(x, gamma, beta, groups, eps=1e-3):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)
    mean = grouped.mean(axis=(0, 1, 2, 4), keepdims=True)
    var = grouped.var(axis=(0, 1, 2, 4), keepdims=True)
    return gamma * ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape) + beta


def gn_instance(x, gamma, beta, groups, eps=1e-3):
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def gn_interleaved(x, gamma, beta, groups, eps=1e-3):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, c // groups, groups)
    mean = grouped.mean(axis=(1, 2, 3), keepdims=True)
    var = grouped.var(axis=(1, 2, 3), keepdims=True)
    return gamma * ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape) + beta


def gn_eps_outside(x, gamma, beta, groups, eps=1e-3):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    std = grouped.std(axis=(1, 2, 4), keepdims=True)
    return gamma * ((grouped - mean) / (std + eps)).reshape(x.shape) + beta


def gn_unbiased(x, gamma, beta, groups, eps=1e-3):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    var = grouped.var(axis=(1, 2, 4), keepdims=True, ddof=1)
    return gamma * ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape) + beta


def gn_layer(x, gamma, beta, groups, eps=1e-3):
    mean, var = x.mean(axis=(1, 2, 3), keepdims=True), x.var(axis=(1, 2, 3), keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def gn_whole_batch(x, gamma, beta, groups, eps=1e-3):
    return gamma * (x - x.mean()) / np.sqrt(x.var() + eps) + beta


def gn_no_gamma_beta(x, gamma, beta, groups, eps=1e-3):
    return (gn_right(x, gamma, beta, groups, eps) - beta) / gamma


def gn_scaled_by_group_size(x, gamma, beta, groups, eps=1e-3):
    # an unrecognised mistake that still centres every group: its spread is wrong
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    var = grouped.var(axis=(1, 2, 4), keepdims=True)
    return gamma * ((grouped - mean) / np.sqrt(var + eps) * 1.1).reshape(x.shape) + beta


def gn_no_beta(x, gamma, beta, groups, eps=1e-3):
    return gn_right(x, gamma, beta, groups, eps) - beta


def gn_in_place(x, gamma, beta, groups, eps=1e-3):
    y = gn_right(x, gamma, beta, groups, eps)
    x -= x.mean()
    return y


def gn_todo(x, gamma, beta, groups, eps=1e-3):
    raise NotImplementedError  # your code here


@pytest.mark.parametrize("fn", [gn_right, gn_loop])
def test_group_norm_right_answers_pass(fn):
    result = check_group_norm(fn)
    assert result.passed, result


@pytest.mark.parametrize("fn, words", [
    (gn_over_batch, "batch axis"),
    (gn_instance, "groups are not used"),
    (gn_interleaved, "consecutive"),
    (gn_eps_outside, "under the square root"),
    (gn_unbiased, "unbiased"),
    (gn_layer, "layer norm"),
    (gn_whole_batch, "whole batch"),
    (gn_no_gamma_beta, "gamma and beta are missing"),
    (gn_no_beta, "beta is missing"),
    (gn_scaled_by_group_size, "spread is off"),
    (gn_in_place, "in place"),
    (lambda x, gamma, beta, groups, eps=1e-3: None, "returned None"),
    (lambda x, gamma, beta, groups, eps=1e-3: gn_right(x, gamma, beta, groups, eps)[0], "shape"),
    (lambda x, gamma, beta, groups, eps=1e-3: gn_right(x, gamma, beta, groups, eps) * 1.01, "average to 0"),
])
def test_group_norm_wrong_answers_are_named(fn, words):
    result = check_group_norm(fn)
    assert result.status == "failed" and words in result.message, result


def test_group_norm_crash_and_untouched():
    assert check_group_norm(gn_todo).status == "not attempted"
    crashed = check_group_norm(lambda x, gamma, beta, groups, eps=1e-3: x.reshape(5, -1, 7))
    assert crashed.status == "failed" and "raised ValueError" in crashed.message


def test_registered_solution_passes_and_hints_do_not_give_the_code_away():
    exercise = find_exercise("06_beyond_batchnorm", "group_norm")
    assert exercise.check(exercise.solution).passed
    assert "reshape" in solution_markdown(exercise)
    # the messages a learner sees on a wrong answer describe the mistake, not the code that fixes it
    for fn in (gn_over_batch, gn_instance, gn_interleaved, gn_scaled_by_group_size):
        message = check_group_norm(fn).message
        assert "(1, 2, 4)" not in message and "reshape(n" not in message.lower(), message
