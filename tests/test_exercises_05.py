"""bn_course.exercises, notebook 05: the moving-average and folding checkers, right and wrong answers."""

import numpy as np
import pytest

from bn_course.exercises import check_ema_steps, check_fold_dense


def ema_right(init, batch_value, momentum, k):
    moving = np.asarray(init, dtype=float)
    for _ in range(k):
        moving = momentum * moving + (1 - momentum) * np.asarray(batch_value)
    return moving


def ema_closed(init, batch_value, momentum, k):
    return momentum**k * np.asarray(init) + (1 - momentum**k) * np.asarray(batch_value)


def ema_pytorch_direction(init, batch_value, momentum, k):
    return ema_right(init, batch_value, 1 - momentum, k)


def ema_no_init(init, batch_value, momentum, k):
    return (1 - momentum**k) * np.asarray(batch_value)


def ema_one_too_many(init, batch_value, momentum, k):
    return ema_right(init, batch_value, momentum, k + 1)


def ema_todo(init, batch_value, momentum, k):
    raise NotImplementedError  # your code here


@pytest.mark.parametrize("fn", [ema_right, ema_closed])
def test_ema_right_answers_pass(fn):
    assert check_ema_steps(fn).passed


@pytest.mark.parametrize("fn, words", [
    (ema_pytorch_direction, "PyTorch"),
    (ema_no_init, "initial value"),
    (ema_one_too_many, "one update too many"),
    (lambda *a: None, "returned None"),
])
def test_ema_wrong_answers_are_named(fn, words):
    result = check_ema_steps(fn)
    assert result.status == "failed" and words in result.message


def test_ema_untouched_is_not_attempted():
    assert check_ema_steps(ema_todo).status == "not attempted"


def fold_right(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, (bias - moving_mean) * scale + beta


def fold_no_beta(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, (bias - moving_mean) * scale


def fold_eps_outside(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / (np.sqrt(moving_var) + eps)
    return kernel * scale, (bias - moving_mean) * scale + beta


def fold_mean_not_subtracted(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, bias * scale + beta


def fold_in_place(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    kernel *= scale
    return kernel, (bias - moving_mean) * scale + beta


def fold_rows(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale[:, None], (bias - moving_mean) * scale + beta


def test_fold_right_answer_passes():
    assert check_fold_dense(fold_right).passed


@pytest.mark.parametrize("fn, words", [
    (fold_no_beta, "beta is missing"),
    (fold_eps_outside, "under the square root"),
    (fold_mean_not_subtracted, "moving mean must be subtracted"),
    (fold_in_place, "in place"),
    (lambda *a: np.zeros(3), "return a pair"),
])
def test_fold_wrong_answers_are_named(fn, words):
    result = check_fold_dense(fn)
    assert result.status == "failed" and words in result.message, result


def test_fold_rows_instead_of_columns_fails():
    assert not check_fold_dense(fold_rows).passed
