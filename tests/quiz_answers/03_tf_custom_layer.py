"""Recomputes every numeric answer of quizzes/03_tf_custom_layer.json by running bn_course's layer."""

import numpy as np

from bn_course.numpy_bn import update_moving


def moving_mean_warmup():
    """Two Keras-style updates from 0 with momentum 0.9 and a constant batch mean of 2."""
    moving = np.zeros(1)
    for _ in range(2):
        moving = update_moving(moving, np.array([2.0]), momentum=0.9)
    # The recognised mistakes must stay apart at the question's tolerance (0.005):
    # PyTorch's convention (1.98), b itself (2.0), the missing part b * 0.9**2 (1.62), one step (0.2).
    pytorch = 0.0
    for _ in range(2):
        pytorch = 0.1 * pytorch + 0.9 * 2.0
    mistakes = [pytorch, 2.0, 2.0 * 0.9**2, float(update_moving(np.zeros(1), np.array([2.0]), 0.9)[0])]
    assert np.allclose(mistakes, [1.98, 2.0, 1.62, 0.2])
    values = sorted([float(moving[0])] + mistakes)
    assert min(np.diff(values)) > 2 * 0.005
    return float(moving[0])


def _bn_params(input_shape):
    from bn_course.env import import_tensorflow

    import_tensorflow()
    from bn_course.layers import BatchNorm

    layer = BatchNorm()
    layer.build(input_shape)
    trainable = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)
    assert trainable + non_trainable == layer.count_params()
    return trainable, non_trainable


def param_count_total():
    """BatchNorm after Dense(128): output shape (None, 128)."""
    return sum(_bn_params((None, 128)))


def param_count_conv_nontrainable():
    """BatchNorm after a 'same' Conv2D(32, 3) on 16x16 maps: input shape (None, 16, 16, 32)."""
    return _bn_params((None, 16, 16, 32))[1]


def pytorch_momentum():
    """Keras momentum whose update equals PyTorch's running = (1 - 0.1) * running + 0.1 * batch."""
    pytorch = 0.1
    running, batch = np.array([3.0]), np.array([7.0])
    keras_momentum = 1.0 - pytorch
    expected = (1 - pytorch) * running + pytorch * batch
    assert np.allclose(update_moving(running, batch, momentum=keras_momentum), expected)
    return keras_momentum


ANSWERS = {
    "moving-mean-warmup": moving_mean_warmup,
    "param-count-total": param_count_total,
    "param-count-conv-nontrainable": param_count_conv_nontrainable,
    "pytorch-momentum": pytorch_momentum,
}
