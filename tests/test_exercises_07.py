"""bn_course.exercises.review, notebook 07: the PyTorch -> Keras BatchNorm2d converter (find the bugs).

The right answer passes; the converter the notebook gives (three bugs) and each single slip get
the hint that names it; an untouched exercise is "not attempted"; the worked solution is registered.
"""

import numpy as np
import pytest
import tensorflow  # noqa: F401  (the checker builds a real Keras layer: a broken TensorFlow must fail here)

from bn_course.exercises import review
from bn_course.exercises.review import check_convert_bn, torch_eval


def correct(state, torch_momentum=0.1, torch_eps=1e-5):
    config = {"axis": 1, "momentum": 1 - torch_momentum, "epsilon": torch_eps}
    return config, [state["weight"], state["bias"], state["running_mean"], state["running_var"]]


def given_in_the_notebook(state, torch_momentum=0.1, torch_eps=1e-5):
    """The converter of notebook 07, bugs included."""
    n = 16
    config = {"axis": 1, "momentum": torch_momentum}
    weights = [state["weight"], state["bias"], state["running_mean"], state["running_var"] * (n - 1) / n]
    return config, weights


def changed(**edits):
    """The correct converter with one slip: config keys replaced (None removes) or a weight transformed."""
    def convert(state, torch_momentum=0.1, torch_eps=1e-5):
        config, weights = correct(state, torch_momentum, torch_eps)
        for key, value in edits.items():
            if key.startswith("w"):
                weights = value(weights)
            elif value is None:
                config.pop(key)
            else:
                config[key] = value(torch_momentum, torch_eps) if callable(value) else value
        return config, weights
    return convert


def todo(state, torch_momentum=0.1, torch_eps=1e-5):
    raise NotImplementedError  # your code here


def test_the_right_answer_passes():
    result = check_convert_bn(correct)
    assert result.passed, result


def test_float32_weights_and_extra_config_keys_pass():
    def float32(state, torch_momentum=0.1, torch_eps=1e-5):
        config, weights = correct(state, torch_momentum, torch_eps)
        return {**config, "center": True, "scale": True}, [np.float32(w) for w in weights]
    assert check_convert_bn(float32).passed


def test_the_registered_solution_passes():
    (exercise,) = review.EXERCISES
    assert exercise.notebook == "07_review" and exercise.key == "convert-bn"
    assert exercise.check(exercise.solution).passed


def test_the_package_exports_the_checker_under_its_own_name():
    import bn_course.exercises as exercises
    assert exercises.check_convert_bn is check_convert_bn and not hasattr(review, "check_torch_to_keras")


def test_the_given_converter_fails_on_its_first_bug():
    result = check_convert_bn(given_in_the_notebook)
    assert result.status == "failed" and "you kept PyTorch's momentum 0.1" in result.message, result


@pytest.mark.parametrize("slip, hint", [
    (changed(momentum=lambda m, e: m), "weight of the NEW batch"),
    (changed(momentum=None), "Keras's default 0.99"),
    (changed(momentum=0.5), "which share of the old value"),
    (changed(epsilon=None), "Keras's default, used when you leave it out"),
    (changed(epsilon=lambda m, e: 10 * e), "it is the same number"),
    (changed(axis=None), "channels are axis 1"),
    (changed(axis=-1), "channels are axis 1"),
    (changed(decay=0.9), "use the argument names"),
    (changed(scale=False), "center/scale are off"),
    (changed(w=lambda w: [w[0], w[1], w[2], w[3] * 15 / 16]), "you multiplied running_var by 0.9375"),
    (changed(w=lambda w: [w[0], w[1], w[2], w[3] * 32 / 31]), "you multiplied running_var by 1.0323"),
    (changed(w=lambda w: [w[1], w[0], w[2], w[3]]), "gamma and beta are swapped"),
    (changed(w=lambda w: [w[0], w[1], w[2], np.sqrt(w[3])]), "standard deviation"),
    (changed(w=lambda w: [w[0], w[1], w[2], w[3] + 1e-5]), "epsilon is already in the stored variance"),
    (changed(w=lambda w: [w[0], w[1], -w[2], w[3]]), "moving_mean should be PyTorch's running_mean"),
    (changed(w=lambda w: [2 * w[0], w[1], w[2], w[3]]), "gamma should be PyTorch's weight"),
    (changed(w=lambda w: [w[0], w[1], w[2], w[3] + np.arange(len(w[3]))]), "moving_variance should be PyTorch's"),
    (changed(w=lambda w: [w[0], w[1], w[2], w[3][:, None]]), "four arrays of shape"),
    (changed(epsilon=lambda m, e: 1e-3), "Keras's default, used when you leave it out"),
    (changed(w=lambda w: w[:3]), "four arrays"),
    (lambda s, m=0.1, e=1e-5: correct(s, m, e)[1], "return a pair (config, weights)"),
    (lambda s, m=0.1, e=1e-5: (list(correct(s, m, e)[0].items()), correct(s, m, e)[1]), "config a dict"),
])
def test_each_slip_gets_its_hint(slip, hint):
    result = check_convert_bn(slip)
    assert result.status == "failed" and hint in result.message, result


def test_changing_the_state_in_place_is_named():
    def in_place(state, torch_momentum=0.1, torch_eps=1e-5):
        state["running_var"] *= 1.0
        state["weight"] += 0.0
        state["bias"][0] = 7.0
        return correct(state, torch_momentum, torch_eps)
    result = check_convert_bn(in_place)
    assert result.status == "failed" and "changed the dict it was given" in result.message, result


@pytest.mark.parametrize("edit", [lambda state: state.pop("num_batches_tracked"),
                                  lambda state: state.update(eps=1e-5)], ids=["pops-a-key", "adds-a-key"])
def test_a_key_popped_from_or_added_to_the_state_is_named(edit):
    def converter(state, torch_momentum=0.1, torch_eps=1e-5):
        edit(state)
        return correct(state, torch_momentum, torch_eps)
    result = check_convert_bn(converter)
    assert result.status == "failed" and "don't assign into the dict" in result.message, result
    assert "x -= mu" not in result.message


def test_a_crash_is_reported_not_raised():
    result = check_convert_bn(lambda state, m=0.1, e=1e-5: state["gamma"])
    assert result.status == "failed" and "KeyError" in result.message, result


def test_untouched():
    assert check_convert_bn(todo).status == "not attempted"


def test_torch_eval_is_pytorchs_eval_formula():
    state = {"weight": np.array([2.0]), "bias": np.array([1.0]), "running_mean": np.array([3.0]),
             "running_var": np.array([4.0])}
    x = np.full((1, 1, 1, 1), 7.0)
    assert torch_eval(x, state, eps=0.0).item() == pytest.approx(2.0 * (7 - 3) / 2 + 1)
