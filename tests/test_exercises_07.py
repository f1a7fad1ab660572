"""bn_course.exercises, notebook 07: the PyTorch-to-Keras settings checker, right and wrong answers."""

import pytest

from bn_course.exercises import check_torch_to_keras


def correct(torch_momentum, torch_eps):
    return {"momentum": 1.0 - torch_momentum, "epsilon": torch_eps}


def kept_momentum(torch_momentum, torch_eps):
    return {"momentum": torch_momentum, "epsilon": torch_eps}


def keras_default_eps(torch_momentum, torch_eps):
    return {"momentum": 1.0 - torch_momentum, "epsilon": 1e-3}


def wrong_keys(torch_momentum, torch_eps):
    return {"decay": 1.0 - torch_momentum, "eps": torch_eps}


def a_tuple(torch_momentum, torch_eps):
    return (1.0 - torch_momentum, torch_eps)


def squared_eps(torch_momentum, torch_eps):
    return {"momentum": 1.0 - torch_momentum, "epsilon": torch_eps ** 2}


def todo(torch_momentum, torch_eps):
    raise NotImplementedError  # your code here


def test_the_right_answer_passes():
    result = check_torch_to_keras(correct)
    assert result.passed, result


def test_extra_keys_are_fine():
    assert check_torch_to_keras(lambda m, e: {**correct(m, e), "axis": -1}).passed


@pytest.mark.parametrize("wrong, hint", [
    (kept_momentum, "weights the NEW batch value"),
    (keras_default_eps, "Keras' default"),
    (wrong_keys, "'epsilon', 'momentum'"),
    (a_tuple, "return a dict"),
    (squared_eps, "epsilon should be"),
])
def test_each_slip_gets_its_hint(wrong, hint):
    result = check_torch_to_keras(wrong)
    assert result.status == "failed" and hint in result.message, result


def test_untouched():
    assert check_torch_to_keras(todo).status == "not attempted"
