"""bn_course.normalizers: layer, group and instance norm against Keras, and their invariants."""

import numpy as np
import pytest

from bn_course.normalizers import (NORMALIZERS, group_norm, instance_norm, layer_norm, plot_statistic_groups,
                                  statistic_labels)


@pytest.fixture(scope="module")
def keras():
    from bn_course.env import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def _images(shape=(3, 4, 5, 6), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(1.0, 2.0, size=shape) + rng.uniform(-3, 3, size=shape[-1])).astype(np.float32)


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm_matches_keras(keras, groups):
    x = _images()
    rng = np.random.default_rng(1)
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    layer = keras.layers.GroupNormalization(groups=groups)
    layer.build(x.shape)
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(np.asarray(layer(x)), group_norm(x, gamma, beta, groups), atol=2e-5)


def test_instance_norm_is_keras_groups_minus_one(keras):
    x = _images()
    layer = keras.layers.GroupNormalization(groups=-1)
    np.testing.assert_allclose(np.asarray(layer(x)), instance_norm(x), atol=2e-5)


@pytest.mark.parametrize("axis", [-1, (1, 2, 3), (2, 3)])
def test_layer_norm_matches_keras(keras, axis):
    x = _images()
    layer = keras.layers.LayerNormalization(axis=list(np.atleast_1d(axis)))
    layer.build(x.shape)
    shapes = [tuple(w.shape) for w in layer.weights]
    rng = np.random.default_rng(2)
    gamma, beta = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(np.asarray(layer(x)), layer_norm(x, gamma, beta, axis=axis), atol=2e-5)


def test_special_cases_and_invariants():
    x = _images().astype(np.float64)
    np.testing.assert_allclose(group_norm(x, groups=1), layer_norm(x, axis=(1, 2, 3)))
    np.testing.assert_allclose(group_norm(x, groups=6), instance_norm(x))
    y = group_norm(x, groups=2)
    grouped = y.reshape(3, 4, 5, 2, 3)
    np.testing.assert_allclose(grouped.mean(axis=(1, 2, 4)), 0.0, atol=1e-12)
    # a sample's output does not depend on the rest of the batch
    np.testing.assert_allclose(group_norm(x[:1], groups=2), y[:1])
    before = x.copy()
    group_norm(x, np.ones(6), np.zeros(6), groups=3)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("call, error, words", [
    (lambda x: group_norm(x, groups=4), ValueError, "groups=4 must divide"),
    (lambda x: group_norm(x, groups=0), ValueError, "groups must be >= 1, got 0"),
    (lambda x: group_norm(x, groups=2.0), TypeError, "groups must be an int, got float"),
    (lambda x: group_norm(x, np.ones(5), groups=2), ValueError, "gamma"),
    (lambda x: layer_norm(x, beta=np.zeros(30), axis=(2, 3)), ValueError, r"beta must have shape \(5, 6\)"),
    (lambda x: layer_norm(x, axis=(0, 1)), ValueError, "batch axis"),
    (lambda x: layer_norm(x, axis=5), ValueError, r"axis=5 is out of range for an input of rank 4"),
    (lambda x: layer_norm(x, axis=(1, -5)), ValueError, "axis=-5 is out of range"),
    (lambda x: layer_norm(x, axis=True), TypeError, "axis must be an int, got bool"),
    (lambda x: layer_norm(x, axis=(1.0, 2)), TypeError, "axis must be an int, got float"),
    (lambda x: layer_norm(x, eps=-1.0), ValueError, "eps"),
    (lambda x: statistic_labels("group", 4, 6, groups=0), ValueError, "groups must be >= 1, got 0"),
    (lambda x: statistic_labels("group", 4, 6, groups=2.0), TypeError, "groups must be an int, got float"),
    (lambda x: statistic_labels("group", 4, 6), TypeError, "groups must be an int, got NoneType"),
    (lambda x: statistic_labels("group", 4, 6, groups=4), ValueError, "groups=4 must divide"),
    (lambda x: statistic_labels("weight", 4, 6), ValueError, "kind must be one of"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call(_images())


def test_statistic_labels_count_the_means():
    n, c, g = 4, 6, 3
    counts = {kind: len(np.unique(statistic_labels(kind, n, c, groups=g))) for kind in NORMALIZERS}
    assert counts == {"batch": c, "layer": n, "group": n * g, "instance": n * c}
    np.testing.assert_array_equal(statistic_labels("group", 1, 6, groups=3), [[0, 0, 1, 1, 2, 2]])


def test_plot_statistic_groups_titles_count_the_means():
    from bn_course.explore.widgets import new_figure

    _, axes = new_figure(ncols=4)
    plot_statistic_groups(axes, batch_size=4, channels=6, groups=2)
    titles = [ax.get_title() for ax in axes]
    assert [t.splitlines()[1] for t in titles] == [f"{n} means per batch" for n in (6, 4, 8, 24)]
    assert titles[2].startswith("Group norm, G = 2")
    np.testing.assert_array_equal(axes[1].images[0].get_array(), statistic_labels("layer", 4, 6))
