"""bn_course.exercises, notebook 05: each checker with the right answer, each named mistake, the untouched case."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from bn_course.exercises import check_ema_steps, check_fold_dense, find_exercise
from bn_course.exercises.training_vs_inference import GIVEN_CODE, check_custom_loop

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05_training_vs_inference.ipynb"


# --------------------------------------------------------------------- exercise 1: the moving average

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


def ema_swapped(init, batch_value, momentum, k):
    return ema_right(batch_value, init, momentum, k)


def ema_todo(init, batch_value, momentum, k):
    raise NotImplementedError  # your code here


@pytest.mark.parametrize("fn", [ema_right, ema_closed])
def test_ema_right_answers_pass(fn):
    assert check_ema_steps(fn).passed


@pytest.mark.parametrize("fn, words", [
    (ema_pytorch_direction, "PyTorch"),
    (ema_no_init, "initial value is missing"),
    (ema_one_too_many, "one update too many"),
    (ema_swapped, "swapped"),
    (lambda *a: None, "returned None"),
])
def test_ema_wrong_answers_are_named(fn, words):
    result = check_ema_steps(fn)
    assert result.status == "failed" and words in result.message, result


def test_ema_untouched_is_not_attempted():
    assert check_ema_steps(ema_todo).status == "not attempted"


# --------------------------------------------------------------------- exercise 2: the custom loop

def _given():
    """The given code, defined the way a notebook cell defines it (its source findable by inspect)."""
    import linecache

    import keras
    import tensorflow as tf

    filename = "<notebook 05, exercise 2 cell>"
    linecache.cache[filename] = (len(GIVEN_CODE), None, GIVEN_CODE.splitlines(keepends=True), filename)
    namespace = {"keras": keras, "tf": tf}
    exec(compile(GIVEN_CODE, filename, "exec"), namespace)
    return namespace


GIVEN = _given()
loss_fn = GIVEN["loss_fn"]
tf = GIVEN["tf"]
keras = GIVEN["keras"]


def _step_with(training):
    """The notebook's train step, with the model called as ``model(xb, training=training)``."""
    def step(model, optimizer, xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=training))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss
    return step


step_fixed = _step_with(True)
step_training_false = _step_with(False)


def step_twice(model, optimizer, xb, yb):
    model(xb, training=True)                       # e.g. an extra pass "to log the accuracy"
    return step_fixed(model, optimizer, xb, yb)


def step_no_update(model, optimizer, xb, yb):
    with tf.GradientTape():
        loss = loss_fn(yb, model(xb, training=True))
    return loss


class HardCoded(GIVEN["Classifier"]):
    def call(self, x, training=None):
        for dense, bn in self.blocks:
            x = keras.activations.relu(bn(dense(x), training=True))
        return self.classify(x)


class DefaultTrue(GIVEN["Classifier"]):
    def call(self, x, training=True):           # `model(xb)` now trains BN, but so does every inference call
        for dense, bn in self.blocks:
            x = keras.activations.relu(bn(dense(x)))
        return self.classify(x)


class NoTrainingParameter(GIVEN["Classifier"]):
    def call(self, x):
        for dense, bn in self.blocks:
            x = keras.activations.relu(bn(dense(x)))
        return self.classify(x)


class Forwarding(GIVEN["Classifier"]):
    def call(self, x, training=None):
        for dense, bn in self.blocks:
            x = keras.activations.relu(bn(dense(x), training=training))
        return self.classify(x)


def test_custom_loop_right_answers_pass():
    assert check_custom_loop(step_fixed).passed
    assert check_custom_loop(step_fixed, Forwarding).passed        # forwarding `training` explicitly is fine too


def test_custom_loop_untouched_is_not_attempted():
    result = check_custom_loop(GIVEN["train_step"], GIVEN["Classifier"])
    assert result.status == "not attempted", result


@pytest.mark.parametrize("step, model_class, words", [
    (GIVEN["train_step"], Forwarding, "never ran in training mode"),        # the class "fixed" instead of the loop
    (step_training_false, None, "never ran in training mode"),
    (step_twice, None, "twice"),
    (step_fixed, HardCoded, "hard-coded"),
    (GIVEN["train_step"], HardCoded, "hard-coded"),
    (GIVEN["train_step"], DefaultTrue, "the default of its `training` parameter"),
    (step_no_update, None, "no longer changes the trainable weights"),
    (step_fixed, NoTrainingParameter, "`fit` passes training=True only"),
])
def test_custom_loop_mistakes_are_named(step, model_class, words):
    result = check_custom_loop(step, model_class)
    assert result.status == "failed" and words in result.message, result


def test_the_notebook_gives_exactly_the_registered_code():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    given = [c for c in cells if c["cell_type"] == "code" and "def train_step(" in "".join(c["source"])]
    assert len(given) == 1, "the notebook should have one exercise cell defining train_step"
    assert ast.dump(ast.parse("".join(given[0]["source"]))) == ast.dump(ast.parse(GIVEN_CODE))


def test_the_registered_solution_is_the_one_argument_fix():
    solution = find_exercise("05_training_vs_inference", "custom-loop").solution
    assert solution.__code__.co_names == step_fixed.__code__.co_names


# --------------------------------------------------------------------- exercise 3: folding

def fold_right(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, (bias - moving_mean) * scale + beta


def fold_no_beta(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, (bias - moving_mean) * scale


def fold_eps_outside(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / (np.sqrt(moving_var) + eps)
    return kernel * scale, (bias - moving_mean) * scale + beta


def fold_variance(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / (moving_var + eps)
    return kernel * scale, (bias - moving_mean) * scale + beta


def fold_no_gamma(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = 1 / np.sqrt(moving_var + eps)
    return kernel * scale, (bias - moving_mean) * gamma * scale + beta


def fold_mean_not_subtracted(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, bias * scale + beta


def fold_bias_unscaled(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, bias - moving_mean * scale + beta


def fold_bias_dropped(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale, -moving_mean * scale + beta


def fold_in_place(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    kernel *= scale
    return kernel, (bias - moving_mean) * scale + beta


def fold_rows(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    return kernel * scale[:, None], (bias - moving_mean) * scale + beta


def fold_todo(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    raise NotImplementedError  # your code here


def test_fold_right_answer_passes():
    assert check_fold_dense(fold_right).passed


@pytest.mark.parametrize("fn, words", [
    (fold_no_beta, "beta is missing"),
    (fold_eps_outside, "under the square root"),
    (fold_variance, "standard deviation"),
    (fold_no_gamma, "gamma is missing"),
    (fold_mean_not_subtracted, "moving mean was not subtracted"),
    (fold_bias_unscaled, "must be scaled"),
    (fold_bias_dropped, "old bias was dropped"),
    (fold_in_place, "in place"),
    (fold_rows, "broadcast"),
    (lambda *a: np.zeros(3), "return a pair"),
])
def test_fold_wrong_answers_are_named(fn, words):
    result = check_fold_dense(fn)
    assert result.status == "failed" and words in result.message, result


def test_fold_untouched_is_not_attempted():
    assert check_fold_dense(fold_todo).status == "not attempted"


def test_an_unnamed_ema_mistake_says_how_far_off_without_the_answer():
    result = check_ema_steps(lambda init, b, m, k: ema_right(init, b, m, k) + 0.01)
    right = ema_right(0.0, 4.0, 0.99, 100)
    assert result.status == "failed" and "too high by about 0.39%" in result.message, result
    assert f"{right:.4f}" not in result.message and "expected" not in result.message, result


def test_a_nan_ema_is_not_blamed_on_eps():
    result = check_ema_steps(lambda init, b, m, k: np.full(np.shape(init), np.nan))
    assert result.status == "failed" and "NaN" in result.message and "eps" not in result.message, result
