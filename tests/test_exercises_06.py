"""bn_course.exercises, notebook 06: the group-norm checker, right and wrong answers."""

import numpy as np
import pytest

from bn_course.exercises import check_group_norm


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
    (gn_no_beta, "beta is missing"),
    (gn_in_place, "in place"),
    (lambda x, gamma, beta, groups, eps=1e-3: None, "returned None"),
    (lambda x, gamma, beta, groups, eps=1e-3: gn_right(x, gamma, beta, groups, eps)[0], "shape"),
    (lambda x, gamma, beta, groups, eps=1e-3: gn_right(x, gamma, beta, groups, eps) * 1.01, "not group norm"),
])
def test_group_norm_wrong_answers_are_named(fn, words):
    result = check_group_norm(fn)
    assert result.status == "failed" and words in result.message, result


def test_group_norm_crash_and_untouched():
    assert check_group_norm(gn_todo).status == "not attempted"
    crashed = check_group_norm(lambda x, gamma, beta, groups, eps=1e-3: x.reshape(5, -1, 7))
    assert crashed.status == "failed" and "raised ValueError" in crashed.message
