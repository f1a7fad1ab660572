"""Notebook 03's exercise checker: a right `call` passes, each classic mistake gets its own hint."""

import pytest

from bn_course.checks import run_check
from bn_course.env import import_tensorflow
from bn_course.exercises import check_layer_call

tf = import_tensorflow()

from bn_course.layers import BatchNorm  # noqa: E402


def _layer(update="keras", variance="biased", use_training=True, use_trainable=True, none_is_training=False,
           swap_offset_scale=False, rebind=False):
    """A BatchNorm subclass whose call() makes the chosen mistake (defaults: a right answer)."""

    class Learner(BatchNorm):
        def call(self, inputs, training=None):
            if none_is_training and training is None:
                training = True
            training_mode = (training if use_training else True) and (self.trainable or not use_trainable)
            if training_mode:
                mean, var = tf.nn.moments(inputs, axes=self.reduction_axes)
                if variance == "unbiased":
                    n = tf.cast(tf.shape(inputs)[0], inputs.dtype)
                    var = var * n / (n - 1)
                m = self.momentum
                if update == "keras":
                    new_mean = self.moving_mean * m + mean * (1 - m)
                    new_var = self.moving_variance * m + var * (1 - m)
                elif update == "reversed":
                    new_mean = self.moving_mean * (1 - m) + mean * m
                    new_var = self.moving_variance * (1 - m) + var * m
                if update != "none":
                    if rebind:
                        self.moving_mean, self.moving_variance = new_mean, new_var
                    else:
                        self.moving_mean.assign(new_mean)
                        self.moving_variance.assign(new_var)
            else:
                mean, var = self.moving_mean, self.moving_variance
            offset, scale = (self.gamma, self.beta) if swap_offset_scale else (self.beta, self.gamma)
            return tf.nn.batch_normalization(inputs, mean, var, offset, scale, self.epsilon)

    return Learner


def test_a_right_call_passes():
    check_layer_call(_layer())
    assert run_check("call", lambda: check_layer_call(_layer())).passed


def test_the_reference_layer_passes():
    check_layer_call(BatchNorm)


@pytest.mark.parametrize("mistake, hint", [
    ({"update": "none"}, "did not change"),
    ({"update": "reversed"}, "momentum direction is reversed"),
    ({"use_training": False}, "naive layer"),
    ({"variance": "unbiased"}, "biased variance"),
    ({"none_is_training": True}, "None means inference"),
    ({"use_trainable": False}, "trainable=False"),
    ({"swap_offset_scale": True}, "swapped"),
    ({"rebind": True}, "assign"),
])
def test_each_mistake_gets_its_hint(mistake, hint):
    verdict = run_check("call", lambda: check_layer_call(_layer(**mistake)))
    assert verdict.status == "failed", verdict
    assert hint in verdict.message, verdict.message


def test_a_layer_that_ignores_training_in_its_output_is_named():
    class MovingOnly(BatchNorm):
        def call(self, inputs, training=None):
            return tf.nn.batch_normalization(inputs, self.moving_mean, self.moving_variance,
                                             self.beta, self.gamma, self.epsilon)

    verdict = run_check("call", lambda: check_layer_call(MovingOnly))
    assert verdict.status == "failed" and "is `training` ignored?" in verdict.message


def test_untouched_exercise_is_not_attempted():
    class Todo(BatchNorm):
        def call(self, inputs, training=None):
            raise NotImplementedError  # your code here

    assert run_check("call", lambda: check_layer_call(Todo)).status == "not attempted"


def test_a_layer_without_the_weights_is_told_to_subclass():
    import keras

    class Plain(keras.layers.Layer):
        def __init__(self, momentum, epsilon):
            super().__init__()

        def call(self, inputs, training=None):
            return inputs

    verdict = run_check("call", lambda: check_layer_call(Plain))
    assert verdict.status == "failed" and "subclass bn_course.layers.BatchNorm" in verdict.message
