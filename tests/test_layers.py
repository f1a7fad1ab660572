"""bn_course.layers.BatchNorm against keras.layers.BatchNormalization, plus its errors.

Every comparison gives both layers the same (non-trivial) weights and the same
batches, then checks the outputs *and* the moving statistics after each step.
"""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from bn_course.env import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

from bn_course.layers import BatchNorm  # noqa: E402

ATOL = 1e-5

# Keras 3.15's own saving code calls np.array() on its variables, which NumPy 2.4 flags
# with a DeprecationWarning; it is harmless and not ours, so it is ignored where we save.
KERAS_SAVE_WARNING = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _pair(shape, seed=0, **kwargs):
    """A BatchNorm and a Keras BatchNormalization, built for ``shape``, with equal random weights."""
    ours, ref = BatchNorm(**kwargs), keras.layers.BatchNormalization(**kwargs)
    ours.build(shape)
    ref.build(shape)
    rng = np.random.default_rng(seed)
    weights = []
    for w in ref.weights:  # gamma, beta, moving_mean, moving_variance (those that exist)
        low = 0.5 if "variance" in w.name or "gamma" in w.name else -1.0
        weights.append(rng.uniform(low, 2.0, size=w.shape).astype(w.dtype))
    ref.set_weights(weights)
    ours.set_weights(weights)
    return ours, ref


def _batches(shape, steps, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(loc=step - 1.0, scale=1.0 + step, size=shape).astype("float32") for step in range(steps)]


def _assert_same_state(ours, ref):
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    for a, b in zip(ours.weights, ref.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=ATOL, err_msg=a.name)


CASES = [
    ((16, 5), -1),
    ((16, 5), 1),
    ((6, 4, 5), 1),
    ((6, 4, 5), -1),
    ((4, 3, 3, 2), -1),
    ((4, 2, 3, 3), 1),
    ((4, 3, 3, 2), 2),
    ((3, 2, 3, 2, 4), 2),
    ((3, 2, 3, 2, 4), -1),
]


@pytest.mark.parametrize("shape, axis", CASES)
def test_training_steps_and_inference_match_keras(shape, axis):
    ours, ref = _pair(shape, axis=axis, momentum=0.8)
    for x in _batches(shape, steps=4):
        np.testing.assert_allclose(ours(x, training=True), ref(x, training=True), atol=ATOL)
        _assert_same_state(ours, ref)
    for training in (False, None):
        np.testing.assert_allclose(ours(x, training=training), ref(x, training=training), atol=ATOL)
    np.testing.assert_allclose(ours(x), ref(x), atol=ATOL)
    _assert_same_state(ours, ref)


@pytest.mark.parametrize("momentum, epsilon", [(0.0, 1e-3), (0.5, 1e-5), (0.99, 1e-3), (1.0, 0.1), (0.9, 0.0)])
def test_momentum_and_epsilon_values_match_keras(momentum, epsilon):
    shape = (12, 3)
    ours, ref = _pair(shape, momentum=momentum, epsilon=epsilon)
    for x in _batches(shape, steps=3):
        np.testing.assert_allclose(ours(x, training=True), ref(x, training=True), atol=ATOL)
        _assert_same_state(ours, ref)
    np.testing.assert_allclose(ours(x), ref(x), atol=ATOL)


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_center_and_scale_off(center, scale):
    shape = (10, 2, 2, 3)
    ours, ref = _pair(shape, center=center, scale=scale, momentum=0.7)
    names = [w.name for w in ours.weights]
    assert ("gamma" in names) == scale and ("beta" in names) == center
    assert len(ours.trainable_weights) == int(center) + int(scale)
    for x in _batches(shape, steps=3):
        np.testing.assert_allclose(ours(x, training=True), ref(x, training=True), atol=ATOL)
        _assert_same_state(ours, ref)
    np.testing.assert_allclose(ours(x, training=False), ref(x, training=False), atol=ATOL)


def test_moving_update_formula_and_direction():
    layer = BatchNorm(momentum=0.9)
    x = np.array([[1.0, 10.0], [3.0, 30.0]], dtype="float32")  # batch mean (2, 20), biased var (1, 100)
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_mean.numpy(), [0.2, 2.0], rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), [0.9 + 0.1, 0.9 + 10.0], rtol=1e-6)
    for _ in range(9):
        layer(x, training=True)
    # After k steps from 0 with a constant batch mean b: b * (1 - momentum**k).
    np.testing.assert_allclose(layer.moving_mean.numpy(), np.array([2.0, 20.0]) * (1 - 0.9**10), rtol=1e-5)


def test_training_none_and_false_do_not_update():
    layer = BatchNorm(momentum=0.5)
    x = _batches((8, 3), steps=1)[0]
    layer(x)
    layer(x, training=False)
    layer(x, training=None)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.moving_variance.numpy(), np.ones(3))
    # Inference with the initial statistics: y = x / sqrt(1 + eps).
    np.testing.assert_allclose(layer(x), x / np.sqrt(1 + 1e-3), rtol=1e-6)


def test_predict_and_evaluate_do_not_update_and_fit_does():
    """predict/evaluate pass training=False; fit passes True, which a nested layer inherits."""
    x = _batches((32, 3), steps=1)[0]
    model = keras.Sequential([keras.Input(shape=(3,)), BatchNorm(momentum=0.5)])
    model.compile(optimizer="sgd", loss="mse")
    bn = model.layers[0]
    model.predict(x, verbose=0)
    model.evaluate(x, x, verbose=0)
    model(x)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3))
    model.fit(x, x, batch_size=32, epochs=1, verbose=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * x.mean(axis=0), rtol=1e-5)


def test_a_nested_call_without_training_inherits_the_outer_value():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.bn = BatchNorm(momentum=0.5)

        def call(self, inputs):  # no training argument passed to self.bn
            return self.bn(inputs)

    net = Net()
    x = _batches((16, 3), steps=1)[0]
    net(x)
    np.testing.assert_array_equal(net.bn.moving_mean.numpy(), np.zeros(3))
    net(x, training=True)
    np.testing.assert_allclose(net.bn.moving_mean.numpy(), 0.5 * x.mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize("shape, axis, reduction, stats_shape", [
    ((None, 5), -1, [0], [1, 5]),
    ((None, 3, 4, 5), 1, [0, 2, 3], [1, 3, 1, 1]),
    ((None, 4, 5, 3), -1, [0, 1, 2], [1, 1, 1, 3]),
])
def test_build_gives_the_shapes_the_exercise_uses(shape, axis, reduction, stats_shape):
    layer = BatchNorm(axis=axis)
    layer.build(shape)
    assert layer.reduction_axes == reduction and layer.stats_shape == stats_shape


def test_trainable_false_forces_inference_like_keras():
    shape = (8, 4)
    ours, ref = _pair(shape, momentum=0.5)
    ours.trainable = False
    ref.trainable = False
    before = [w.numpy().copy() for w in ours.weights]
    x = _batches(shape, steps=1)[0]
    y = ours(x, training=True)
    np.testing.assert_allclose(y, ref(x, training=True), atol=ATOL)
    np.testing.assert_allclose(y, ours(x, training=False), atol=0)
    for a, b in zip(before, ours.weights):
        np.testing.assert_array_equal(a, b.numpy())
    assert ours.trainable_weights == [] and len(ours.non_trainable_weights) == 4
    ours.trainable = True
    ours(x, training=True)
    assert not np.allclose(before[2], ours.moving_mean.numpy())


def test_inside_tf_function_matches_keras():
    shape = (8, 3, 3, 2)
    ours, ref = _pair(shape, momentum=0.6)

    @tf.function
    def step(layer, x, training):
        return layer(x, training=training)

    for x in _batches(shape, steps=3):
        np.testing.assert_allclose(step(ours, x, True), step(ref, x, True), atol=ATOL)
        _assert_same_state(ours, ref)
    np.testing.assert_allclose(step(ours, x, False), step(ref, x, False), atol=ATOL)
    _assert_same_state(ours, ref)


def test_gradients_match_keras():
    shape = (8, 3)
    ours, ref = _pair(shape)
    x = tf.constant(_batches(shape, steps=1)[0])
    dy = tf.constant(np.random.default_rng(5).normal(size=shape).astype("float32"))
    grads = []
    for layer in (ours, ref):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * dy)
        grads.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=ATOL)


def _mlp(layer_class, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(16, use_bias=False),
        layer_class(momentum=0.9),
        keras.layers.Activation("relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def test_fit_gives_the_same_weights_as_keras():
    from bn_course.data import load_digits

    digits = load_digits()
    x, y = digits.x_train_flat[:384], digits.y_train[:384]
    models = [_mlp(BatchNorm), _mlp(keras.layers.BatchNormalization)]
    models[0].set_weights(models[1].get_weights())
    for model in models:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    ours, ref = models[0].layers[1], models[1].layers[1]
    assert not np.allclose(ours.moving_mean.numpy(), 0.0)  # the update ran inside fit
    _assert_same_state(ours, ref)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(models[0].predict(x, verbose=0), models[1].predict(x, verbose=0), atol=1e-4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_inputs_are_normalized_in_float32(dtype):
    shape = (16, 3)
    ours, ref = _pair(shape)
    x = tf.cast(_batches(shape, steps=1)[0] * 100 + 300, dtype)  # large values, few significant digits
    y, y_ref = ours(x, training=True), ref(x, training=True)
    assert y.dtype == y_ref.dtype == tf.float32  # the layer's compute dtype, as in Keras
    assert np.all(np.isfinite(y.numpy()))
    np.testing.assert_allclose(y, y_ref, atol=ATOL)
    _assert_same_state(ours, ref)
    float16_layer = BatchNorm(dtype="float16")
    z = float16_layer(x, training=True)
    assert z.dtype == keras.layers.BatchNormalization(dtype="float16")(x).dtype == tf.float16
    assert np.all(np.isfinite(np.float32(z)))


def test_mixed_float16_policy_matches_keras_dtypes():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        ours, ref = BatchNorm(momentum=0.5), keras.layers.BatchNormalization(momentum=0.5)
        x = _batches((16, 3), steps=1)[0]
        a, b = ours(x, training=True), ref(x, training=True)
    finally:
        keras.config.set_dtype_policy("float32")
    assert a.dtype == b.dtype == tf.float16
    assert ours.moving_mean.dtype == ref.moving_mean.dtype == "float32"
    np.testing.assert_allclose(np.float32(a), np.float32(b), atol=1e-3)
    _assert_same_state(ours, ref)


def test_get_config_round_trip():
    layer = BatchNorm(axis=1, momentum=0.9, epsilon=1e-4, center=False, scale=True, name="bn7")
    config = layer.get_config()
    assert {k: config[k] for k in ("axis", "momentum", "epsilon", "center", "scale", "name")} == {
        "axis": 1, "momentum": 0.9, "epsilon": 1e-4, "center": False, "scale": True, "name": "bn7"}
    clone = BatchNorm.from_config(config)
    assert clone.get_config() == config
    rebuilt = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(rebuilt) is BatchNorm and rebuilt.get_config() == config
    assert keras.saving.get_registered_name(BatchNorm) == "bn_course>BatchNorm"


def _trained_model(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4, 4, 2)), keras.layers.Conv2D(3, 3, use_bias=False),
                              BatchNorm(momentum=0.5), keras.layers.Flatten(), keras.layers.Dense(2)])
    x = np.random.default_rng(3).normal(size=(8, 4, 4, 2)).astype("float32")
    for _ in range(2):
        model(x, training=True)  # moves the moving statistics away from 0 / 1
    path = tmp_path / "model.keras"
    model.save(path)
    return model, x, path


@KERAS_SAVE_WARNING
def test_save_and_load_keras_file_without_custom_objects(tmp_path):
    model, x, path = _trained_model(tmp_path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    (layer_config,) = [c for c in config["config"]["layers"] if c["class_name"] == "BatchNorm"]
    assert layer_config["registered_name"] == "bn_course>BatchNorm"
    assert layer_config["module"] == "bn_course.layers"
    restored = keras.saving.load_model(path)
    assert type(restored.layers[1]) is BatchNorm
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(restored.layers[1].moving_mean.numpy(), model.layers[1].moving_mean.numpy())


@KERAS_SAVE_WARNING
def test_a_fresh_process_needs_the_import_and_nothing_else(tmp_path):
    """Keras 3.15 imports a saved object's module itself only for Keras's own packages."""
    model, x, path = _trained_model(tmp_path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", model.predict(x, verbose=0))
    script = textwrap.dedent(f"""
        import numpy as np
        from bn_course.env import import_tensorflow
        import_tensorflow()
        import keras
        try:
            keras.saving.load_model({str(path)!r})
        except TypeError as error:
            assert "Could not locate class 'BatchNorm'" in str(error), error
        else:
            raise SystemExit("loaded without importing bn_course.layers")
        import bn_course.layers  # registers "bn_course>BatchNorm"
        model = keras.saving.load_model({str(path)!r})
        y = model.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0)
        np.testing.assert_allclose(y, np.load({str(tmp_path / 'y.npy')!r}), atol=1e-6)
        print("ok")
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("momentum", [-0.01, 1.01, float("nan"), float("inf")])
def test_bad_momentum(momentum):
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(momentum=momentum)


@pytest.mark.parametrize("epsilon", [-1e-3, float("nan"), float("inf")])
def test_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        BatchNorm(epsilon=epsilon)


@pytest.mark.parametrize("kwargs, name", [
    ({"momentum": "0.9"}, "momentum"), ({"momentum": True}, "momentum"), ({"momentum": None}, "momentum"),
    ({"epsilon": "1e-3"}, "epsilon"), ({"epsilon": None}, "epsilon"),
    ({"axis": 1.0}, "axis"), ({"axis": "1"}, "axis"), ({"axis": [1]}, "axis"),
    ({"axis": None}, "axis"), ({"axis": True}, "axis"),
    ({"center": "yes"}, "center"), ({"scale": 1}, "scale"),
])
def test_bad_argument_types(kwargs, name):
    with pytest.raises(TypeError, match=name):
        BatchNorm(**kwargs)


def test_numpy_integer_axis_and_edge_values_are_accepted():
    layer = BatchNorm(axis=np.int64(1), momentum=1, epsilon=0)
    assert layer.axis == 1 and isinstance(layer.axis, int)
    assert layer.momentum == 1.0 and layer.epsilon == 0.0


@pytest.mark.parametrize("axis", [2, -3])
def test_axis_not_in_the_input(axis):
    with pytest.raises(ValueError, match=rf"axis={axis}.*\(2, 3\)"):
        BatchNorm(axis=axis)(np.zeros((2, 3), dtype="float32"))


def test_unknown_feature_dimension():
    with pytest.raises(ValueError, match=r"axis=-1.*None"):
        BatchNorm().build((None, None))
    with pytest.raises(ValueError, match="None"):
        BatchNorm()(keras.Input(shape=(None,)))


def test_later_call_with_other_feature_count_is_rejected():
    layer = BatchNorm()
    layer(np.zeros((2, 3), dtype="float32"))
    with pytest.raises(ValueError, match="axis"):
        layer(np.zeros((2, 4), dtype="float32"))


def test_inputs_are_not_modified():
    x = _batches((8, 3), steps=1)[0]
    copy = x.copy()
    BatchNorm()(x, training=True)
    np.testing.assert_array_equal(x, copy)
