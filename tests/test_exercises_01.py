"""bn_course.exercises, notebook 01: the saturated-share checker, right and wrong answers."""

import numpy as np
import pytest

from bn_course.exercises import check_saturated_share


def correct(h, activation):
    h = np.asarray(h)
    if activation == "tanh":
        return float(np.mean(np.abs(h) > 0.99))
    return float(np.mean((h < 0.01) | (h > 0.99)))


def one_tail(h, activation):
    return float(np.mean(np.asarray(h) > 0.99))


def inclusive(h, activation):
    h = np.asarray(h)
    if activation == "tanh":
        return float(np.mean(np.abs(h) >= 0.99))
    return float(np.mean((h <= 0.01) | (h >= 0.99)))


def tanh_rule_everywhere(h, activation):
    return float(np.mean(np.abs(h) > 0.99))


def percent(h, activation):
    return 100 * correct(h, activation)


def count(h, activation):
    return correct(h, activation) * np.size(h)


def per_unit(h, activation):
    return np.mean(np.abs(h) > 0.99, axis=0)


def in_place(h, activation):
    value = correct(h, activation)
    h[...] = 0.0
    return value


def todo(h, activation):
    raise NotImplementedError  # your code here


def crashes(h, activation):
    return h["no such key"]


def test_the_right_answer_passes():
    result = check_saturated_share(correct)
    assert result.passed, result


@pytest.mark.parametrize("wrong, hint", [
    (one_tail, "BOTH sides"),
    (inclusive, "strict"),
    (tanh_rule_everywhere, "near 0 as well as near 1"),
    (percent, "percentage"),
    (count, "count"),
    (per_unit, "one number"),
    (in_place, "in place"),
])
def test_each_slip_gets_its_hint(wrong, hint):
    result = check_saturated_share(wrong)
    assert result.status == "failed" and hint in result.message, result


def test_untouched_and_crashing_answers():
    assert check_saturated_share(todo).status == "not attempted"
    crashed = check_saturated_share(crashes)
    assert crashed.status == "failed" and "raised" in crashed.message
