"""Notebook 03's exercise checker: a right `call` passes, each classic mistake gets its own hint,
an untouched exercise is "not attempted", and the checker never raises."""

import pytest

from bn_course.env import import_tensorflow
from bn_course.exercises import check_layer_call, find_exercise
from bn_course.exercises.tf_custom_layer import CASES

tf = import_tensorflow()

from bn_course.layers import BatchNorm  # noqa: E402


def _layer(update="keras", variance="biased", use_training=True, use_trainable=True, none_is_training=False,
           swap_offset_scale=False, rebind=False, line_up=True, inference="moving", update_at_inference=False):
    """A BatchNorm subclass whose call() makes the chosen mistake (defaults: a right answer)."""

    class Learner(BatchNorm):
        def call(self, inputs, training=None):
            if none_is_training and training is None:
                training = True
            training_mode = (training if use_training else True) and (self.trainable or not use_trainable)
            if training_mode or update_at_inference:
                mean, var = tf.nn.moments(inputs, axes=self.reduction_axes)
                if variance == "unbiased":
                    n = tf.cast(tf.size(inputs) // self.moving_mean.shape[0], inputs.dtype)
                    var = var * n / (n - 1)
                m = self.momentum
                new_mean, new_var = {
                    "keras": (self.moving_mean * m + mean * (1 - m), self.moving_variance * m + var * (1 - m)),
                    "reversed": (self.moving_mean * (1 - m) + mean * m, self.moving_variance * (1 - m) + var * m),
                    "replace": (mean, var),
                    "none": (None, None),
                }[update]
                if new_mean is not None and rebind:
                    self.moving_mean, self.moving_variance = new_mean, new_var
                elif new_mean is not None:
                    self.moving_mean.assign(new_mean)
                    self.moving_variance.assign(new_var)
            if not training_mode:
                if inference == "moving":
                    mean, var = self.moving_mean, self.moving_variance
                else:  # the naive layer's way: the batch's own statistics
                    mean, var = tf.nn.moments(inputs, axes=self.reduction_axes)
            offset, scale = (self.gamma, self.beta) if swap_offset_scale else (self.beta, self.gamma)
            shape = self.stats_shape if line_up else [-1]
            return tf.nn.batch_normalization(inputs, tf.reshape(mean, shape), tf.reshape(var, shape),
                                             tf.reshape(offset, shape), tf.reshape(scale, shape), self.epsilon)

    return Learner


def _wrong_axes(which):
    """Normalizes with statistics over the batch axis only, or over every axis (moving update right)."""

    class Learner(BatchNorm):
        def call(self, inputs, training=None):
            s = self.stats_shape
            if not (training and self.trainable):
                return tf.nn.batch_normalization(inputs, tf.reshape(self.moving_mean, s),
                                                 tf.reshape(self.moving_variance, s), tf.reshape(self.beta, s),
                                                 tf.reshape(self.gamma, s), self.epsilon)
            right_mean, right_var = tf.nn.moments(inputs, axes=self.reduction_axes)
            self.moving_mean.assign(self.moving_mean * self.momentum + right_mean * (1 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + right_var * (1 - self.momentum))
            axes = [0] if which == "batch" else list(range(len(inputs.shape)))
            mean, var = tf.nn.moments(inputs, axes=axes, keepdims=True)
            return tf.nn.batch_normalization(inputs, mean, var, tf.reshape(self.beta, s),
                                             tf.reshape(self.gamma, s), self.epsilon)

    return Learner


class HardCodedAxisZero(BatchNorm):
    """The naive layer's habit: tf.nn.moments(x, axes=[0]) whatever the layout."""

    def call(self, inputs, training=None):
        s = self.stats_shape
        if training and self.trainable:
            mean, var = tf.nn.moments(inputs, axes=[0])
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + var * (1 - self.momentum))
        else:
            mean, var = self.moving_mean, self.moving_variance
        return tf.nn.batch_normalization(inputs, tf.reshape(mean, s), tf.reshape(var, s), tf.reshape(self.beta, s),
                                         tf.reshape(self.gamma, s), self.epsilon)


def test_a_right_call_passes():
    verdict = check_layer_call(_layer())
    assert verdict.passed, verdict


def test_the_reference_layer_and_the_registered_solution_pass():
    assert check_layer_call(BatchNorm).passed
    exercise = find_exercise("03_tf_custom_layer", "call")
    verdict = exercise.check(exercise.solution)
    assert verdict.passed, verdict


def test_the_cases_cover_every_promised_layout():
    assert {(len(shape), axis) for _, shape, axis in CASES} == {(2, -1), (4, 1), (4, -1)}


@pytest.mark.parametrize("mistake, hint", [
    ({"update": "none"}, "did not change"),
    ({"update": "reversed"}, "momentum direction is reversed"),
    ({"update": "replace"}, "replaced by the batch statistic"),
    ({"use_training": False}, "naive layer"),
    ({"inference": "batch"}, "naive layer"),
    ({"variance": "unbiased"}, "unbiased variance"),
    ({"none_is_training": True}, "None means inference"),
    ({"use_trainable": False}, "trainable=False"),
    ({"swap_offset_scale": True}, "swapped"),
    ({"rebind": True}, "assign"),
    ({"line_up": False}, "self.stats_shape"),
    ({"update_at_inference": True}, "only training mode may update"),
])
def test_each_mistake_gets_its_hint(mistake, hint):
    verdict = check_layer_call(_layer(**mistake))
    assert verdict.status == "failed", verdict
    assert hint in verdict.message, verdict.message


@pytest.mark.parametrize("which, hint", [("batch", "batch axis only"), ("all", "whole batch at once")])
def test_statistics_over_the_wrong_axes_are_named(which, hint):
    verdict = check_layer_call(_wrong_axes(which))
    assert verdict.status == "failed" and hint in verdict.message, verdict.message


def test_axis_zero_passes_on_rank_2_but_fails_on_images_with_a_shape_hint():
    """Axis 0 only is right for (N, D): the mistake must be caught on a rank-4 case, and say why."""
    verdict = check_layer_call(HardCodedAxisZero)
    assert verdict.status == "failed", verdict
    assert "rank-4" in verdict.message and "self.reduction_axes" in verdict.message, verdict.message


def test_a_layer_that_ignores_training_in_its_output_is_named():
    class MovingOnly(BatchNorm):
        def call(self, inputs, training=None):
            s = self.stats_shape
            return tf.nn.batch_normalization(inputs, tf.reshape(self.moving_mean, s),
                                             tf.reshape(self.moving_variance, s), tf.reshape(self.beta, s),
                                             tf.reshape(self.gamma, s), self.epsilon)

    verdict = check_layer_call(MovingOnly)
    assert verdict.status == "failed" and "Is `training` ignored" in verdict.message, verdict.message


def test_untouched_exercise_is_not_attempted():
    class Todo(BatchNorm):
        def call(self, inputs, training=None):
            raise NotImplementedError  # your code here

    assert check_layer_call(Todo).status == "not attempted"


def test_a_call_returning_none_or_raising_is_reported_not_raised():
    class ReturnsNothing(BatchNorm):
        def call(self, inputs, training=None):
            tf.nn.moments(inputs, axes=self.reduction_axes)

    class Crashes(BatchNorm):
        def call(self, inputs, training=None):
            return inputs * undefined_name  # noqa: F821

    class UsesNumpy(BatchNorm):  # works eagerly, breaks inside tf.function (as in fit)
        def call(self, inputs, training=None):
            return BatchNorm.call(self, inputs.numpy(), training)

    none_verdict = check_layer_call(ReturnsNothing)
    assert none_verdict.status == "failed" and "returned None" in none_verdict.message
    crash_verdict = check_layer_call(Crashes)
    assert crash_verdict.status == "failed" and "NameError" in crash_verdict.message
    numpy_verdict = check_layer_call(UsesNumpy)
    assert numpy_verdict.status == "failed" and "Use TensorFlow ops only" in numpy_verdict.message


def test_a_layer_without_the_weights_is_told_to_subclass():
    import keras

    class Plain(keras.layers.Layer):
        def __init__(self, axis, momentum, epsilon):
            super().__init__()

        def call(self, inputs, training=None):
            return inputs

    verdict = check_layer_call(Plain)
    assert verdict.status == "failed" and "subclass bn_course.layers.BatchNorm" in verdict.message
