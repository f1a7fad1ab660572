"""bn_course.numpy_bn: hand-computed cases, Keras conformance, gradients, bad input."""

import numpy as np
import pytest

from bn_course import numpy_bn as nb
from bn_course.gradcheck import numerical_gradient, rel_error


def test_hand_computed_two_by_two():
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    # Feature 0: mean 2, biased var 1. Feature 1: mean 20, biased var 100.
    y = nb.batch_norm(x, gamma=[1.0, 2.0], beta=[0.0, 5.0], eps=0.0)
    np.testing.assert_allclose(y, [[-1.0, 3.0], [1.0, 7.0]])


def test_eps_enters_under_the_square_root():
    x = np.array([[0.0], [2.0]])  # mean 1, biased var 1
    y = nb.batch_norm(x, [1.0], [0.0], eps=3.0)
    np.testing.assert_allclose(y, [[-0.5], [0.5]])


@pytest.mark.parametrize(
    "shape, axis",
    [((8, 5), -1), ((8, 5), 1), ((4, 3, 2, 2), 1), ((4, 2, 2, 3), -1), ((4, 2, 2, 3), 3), ((6, 3, 4), 0)],
)
def test_statistics_are_over_every_axis_but_the_kept_one(shape, axis):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=shape)
    channels = shape[axis]
    y, cache = nb.batch_norm_forward(x, np.ones(channels), np.zeros(channels), axis=axis)
    others = tuple(a for a in range(len(shape)) if a != axis % len(shape))
    np.testing.assert_allclose(cache["mean"], x.mean(axis=others))
    np.testing.assert_allclose(cache["var"], x.var(axis=others))  # biased (ddof=0)
    np.testing.assert_allclose(y.mean(axis=others), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=others), cache["var"] / (cache["var"] + 1e-3))


def test_worked_4x3x2x2_example_channel_statistics():
    x = np.arange(48, dtype=np.float64).reshape(4, 3, 2, 2)
    _, cache = nb.batch_norm_forward(x, np.ones(3), np.zeros(3), axis=1)
    # x[n, c, h, w] = 12n + 4c + 2h + w: channel c has mean 12*1.5 + 4c + 1.5 = 19.5 + 4c.
    expected_var = np.var(np.concatenate([np.arange(4) + 12 * n for n in range(4)]))
    np.testing.assert_allclose(cache["mean"], [19.5, 23.5, 27.5])
    np.testing.assert_allclose(cache["var"], [expected_var] * 3)


def test_identity_is_recovered_with_gamma_std_and_beta_mean():
    rng = np.random.default_rng(1)
    x = rng.normal(-2.0, 4.0, size=(32, 3))
    eps = 1e-3
    gamma = np.sqrt(x.var(axis=0) + eps)
    beta = x.mean(axis=0)
    np.testing.assert_allclose(nb.batch_norm(x, gamma, beta, eps=eps), x, atol=1e-12)


@pytest.mark.parametrize("shape, axis", [((5, 4), -1), ((3, 2, 2, 3), 1), ((2, 3, 3, 2), -1)])
def test_backward_matches_numerical_gradient(shape, axis):
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape)
    c = shape[axis]
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    dy = rng.normal(size=shape)
    _, cache = nb.batch_norm_forward(x, gamma, beta, axis=axis)
    dx, dgamma, dbeta = nb.batch_norm_backward(dy, cache)
    assert rel_error(dx, numerical_gradient(lambda v: nb.batch_norm(v, gamma, beta, axis=axis), x, dy)) < 1e-6
    assert rel_error(dgamma, numerical_gradient(lambda g: nb.batch_norm(x, g, beta, axis=axis), gamma, dy)) < 1e-6
    assert rel_error(dbeta, numerical_gradient(lambda b: nb.batch_norm(x, gamma, b, axis=axis), beta, dy)) < 1e-6


def test_inference_uses_the_stored_statistics():
    x = np.array([[2.0, 0.0], [4.0, 1.0]])
    y = nb.batch_norm_inference(x, [1.0, 1.0], [0.0, 1.0], moving_mean=[1.0, 0.0], moving_var=[4.0, 1.0], eps=0.0)
    np.testing.assert_allclose(y, [[0.5, 1.0], [1.5, 2.0]])


def test_update_moving_keeps_momentum_of_the_old_value():
    new = nb.update_moving(np.array([1.0, 2.0]), np.array([3.0, 4.0]), momentum=0.9)
    np.testing.assert_allclose(new, [1.2, 2.2])
    np.testing.assert_allclose(nb.update_moving([5.0], [7.0], momentum=1.0), [5.0])
    np.testing.assert_allclose(nb.update_moving([5.0], [7.0], momentum=0.0), [7.0])


def test_inputs_are_never_modified():
    rng = np.random.default_rng(3)
    x, gamma, beta = rng.normal(size=(6, 3)), np.ones(3), np.zeros(3)
    copies = [a.copy() for a in (x, gamma, beta)]
    y, cache = nb.batch_norm_forward(x, gamma, beta)
    dy = rng.normal(size=x.shape)
    dy_copy = dy.copy()
    nb.batch_norm_backward(dy, cache)
    nb.batch_norm_inference(x, gamma, beta, np.zeros(3), np.ones(3))
    moving = np.zeros(3)
    nb.update_moving(moving, np.ones(3))
    for original, copy in zip((x, gamma, beta, dy, moving), copies + [dy_copy, np.zeros(3)]):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(2), np.zeros(3)), ValueError, "gamma"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(3), np.zeros(4)), ValueError, "beta"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(3), np.zeros(3), axis=2), ValueError, "axis"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(3), np.zeros(3), axis=-3), ValueError, "axis"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(3), np.zeros(3), axis=1.0), TypeError, "axis"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(3), np.zeros(3), eps=-1e-3), ValueError, "eps"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(3), np.zeros(3), eps=float("nan")), ValueError, "eps"),
        (lambda: nb.batch_norm(np.ones(4), np.ones(1), np.zeros(1)), ValueError, "rank"),
        (lambda: nb.batch_norm("abc", np.ones(3), np.zeros(3)), TypeError, "x"),
        (lambda: nb.batch_norm(np.ones((4, 3)), 1.0, np.zeros(3)), ValueError, "gamma"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones((3, 1)), np.zeros(3)), ValueError, r"gamma must have shape"),
        (lambda: nb.batch_norm(np.ones((4, 3)), np.ones(3), np.zeros((1, 3))), ValueError, r"beta must have shape"),
        (lambda: nb.update_moving(np.zeros(3), np.ones(3), momentum="0.9"), TypeError, "momentum"),
        (lambda: nb.update_moving(np.zeros(3), np.ones(3), momentum=1.5), ValueError, "momentum"),
        (lambda: nb.update_moving(np.zeros(3), np.ones(3), momentum=-0.1), ValueError, "momentum"),
        (lambda: nb.update_moving(np.zeros(3), np.ones(2)), ValueError, "shape"),
        (
            lambda: nb.batch_norm_inference(np.ones((4, 3)), np.ones(3), np.zeros(3), np.zeros(3), -np.ones(3)),
            ValueError,
            "moving_var",
        ),
        (
            lambda: nb.batch_norm_inference(np.ones((4, 3)), np.ones(3), np.zeros(3), np.zeros(2), np.ones(3)),
            ValueError,
            "moving_mean",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_naming_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_backward_rejects_a_gradient_of_the_wrong_shape():
    _, cache = nb.batch_norm_forward(np.ones((4, 3)) + np.arange(3), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="dy"):
        nb.batch_norm_backward(np.ones((4, 2)), cache)


@pytest.mark.parametrize("shape, axis", [((16, 5), -1), ((8, 4, 4, 3), -1), ((8, 3, 4, 4), 1)])
def test_matches_keras_in_training_and_inference_over_several_steps(shape, axis):
    import keras  # a broken Keras/TensorFlow install fails here, it does not skip
    rng = np.random.default_rng(4)
    c = shape[axis]
    layer = keras.layers.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-3)
    layer.build(shape)
    gamma, beta = rng.normal(size=c).astype("float32"), rng.normal(size=c).astype("float32")
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    moving_mean, moving_var = np.zeros(c), np.ones(c)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=shape).astype("float32")
        expected = np.asarray(layer(x, training=True))
        y, cache = nb.batch_norm_forward(x.astype(np.float64), gamma, beta, eps=1e-3, axis=axis)
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
        moving_mean = nb.update_moving(moving_mean, cache["mean"], momentum=0.9)
        moving_var = nb.update_moving(moving_var, cache["var"], momentum=0.9)
        np.testing.assert_allclose(moving_mean, np.asarray(layer.moving_mean), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(moving_var, np.asarray(layer.moving_variance), rtol=1e-5, atol=1e-5)
    x = rng.normal(size=shape).astype("float32")
    np.testing.assert_allclose(
        nb.batch_norm_inference(x, gamma, beta, moving_mean, moving_var, eps=1e-3, axis=axis),
        np.asarray(layer(x, training=False)),
        rtol=1e-4,
        atol=1e-4,
    )
