"""bn_course.experiments: the small models, the lock-step SGD trainer and notebook 04's experiments.

Everything runs on a few hundred digits with tiny networks so the file stays fast.
"""

import numpy as np
import pytest

from bn_course import experiments as ex
from bn_course.data import load_digits
from bn_course.env import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

DIGITS = load_digits()
X, Y = DIGITS.x_train_flat[:240], DIGITS.y_train[:240]
XT, YT = DIGITS.x_test_flat[:100], DIGITS.y_test[:100]


def _numpy(variables):
    return [v.numpy() for v in variables]


def _weights(model):
    return _numpy(model.weights)


def test_builders_place_bn_and_bias_as_documented():
    before = ex.build_mlp(hidden=(8,), bn="before", momentum=0.9)
    kinds = [type(layer).__name__ for layer in before.layers]
    assert kinds == ["Dense", "BatchNormalization", "Activation", "Dense"]
    assert not before.layers[0].use_bias and before.layers[1].momentum == 0.9
    after = ex.build_mlp(hidden=(8,), bn="after")
    assert [type(layer).__name__ for layer in after.layers][:3] == ["Dense", "Activation", "BatchNormalization"]
    assert after.layers[0].use_bias
    with pytest.raises(ValueError, match="bn must be"):
        ex.build_mlp(bn="middle")
    cnn = ex.build_cnn(momentum=0.8)
    assert all(layer.momentum == 0.8 for layer in cnn.layers if isinstance(layer, keras.layers.BatchNormalization))


def test_parameter_counts_match_the_architecture():
    model = ex.build_mlp(input_dim=64, hidden=(16,), bn="before")
    trainable, frozen = ex.parameter_counts(model)
    assert trainable == 64 * 16 + 2 * 16 + 16 * 10 + 10
    assert frozen == 2 * 16
    assert trainable + frozen == model.count_params()


def test_one_lockstep_step_is_plain_sgd():
    model = ex.build_mlp(hidden=(8,), bn="before", seed=3)
    start = _weights(model)
    batch = ex._batch_indices(len(X), 32, 1, seed=5)[0]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(Y[batch], model(X[batch], training=True))
    grads = _numpy(tape.gradient(loss, model.trainable_variables))
    fresh = ex.build_mlp(hidden=(8,), bn="before", seed=3)
    ex.train_lockstep([fresh], X, Y, steps=1, learning_rates=0.3, batch_size=32, seeds=5)
    expected = [w - 0.3 * g for w, g in zip(_numpy(model.trainable_variables), grads)]
    for got, want in zip(_numpy(fresh.trainable_variables), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    moving, reference = _numpy([fresh.layers[1].moving_mean, model.layers[1].moving_mean])
    assert not np.allclose(moving, 0.0), "moving statistics were not updated"
    np.testing.assert_allclose(moving, reference, rtol=1e-5, atol=1e-6)
    assert start  # the reference model was used only for its gradient


def test_models_trained_together_match_models_trained_alone():
    alone = ex.build_mlp(hidden=(8,), bn="before", seed=1)
    ex.train_lockstep([alone], X, Y, steps=15, learning_rates=0.2, batch_size=20, seeds=7)
    group = [ex.build_mlp(hidden=(8,), bn=None, seed=0), ex.build_mlp(hidden=(8,), bn="before", seed=1),
             ex.build_mlp(hidden=(8,), bn="after", seed=2)]
    ex.train_lockstep(group, X, Y, steps=15, learning_rates=[1.0, 0.2, 0.05], batch_size=20, seeds=[0, 7, 9])
    for got, want in zip(_weights(group[1]), _weights(alone)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_checkpoints_accuracy_and_divergence():
    models = [ex.build_mlp(hidden=(8,), bn=None, seed=0), ex.build_mlp(hidden=(8,), bn="before", seed=0)]
    calls = []
    result = ex.train_lockstep(models, X, Y, steps=25, learning_rates=[1e30, 0.1], batch_size=24, seeds=0,
                               x_test=XT, y_test=YT, eval_every=10, probe=lambda ms: calls.append(len(ms)) or 1)
    np.testing.assert_array_equal(result.steps, [0, 10, 20, 25])
    assert result.test_accuracy.shape == (4, 2) and result.loss.shape == (4, 2)
    assert result.step_loss.shape == (25, 2)
    np.testing.assert_allclose(result.loss[1, 1], result.step_loss[:10, 1].mean())
    assert np.isnan(result.loss[0]).all() and calls == [2, 2, 2, 2] and result.probes == [1, 1, 1, 1]
    assert result.diverged.tolist() == [True, False]
    assert np.isinf(result.loss[-1, 0]) and np.isfinite(result.loss[-1, 1])
    assert ((0 <= result.test_accuracy) & (result.test_accuracy <= 1)).all()


def test_batches_are_fresh_permutations_each_epoch():
    order = ex._batch_indices(100, 30, 7, seed=0)  # 3 batches per epoch, 10 samples dropped
    assert order.shape == (7, 30)
    first_epoch = order[:3].ravel()
    assert len(set(first_epoch)) == 90
    assert not np.array_equal(order[:3], order[3:6])


def test_lockstep_rejects_bad_arguments():
    model = ex.build_mlp(hidden=(4,))
    with pytest.raises(ValueError, match="learning_rates needs one value per model"):
        ex.train_lockstep([model], X, Y, steps=1, learning_rates=[0.1, 0.2])
    with pytest.raises(ValueError, match="different lengths"):
        ex.train_lockstep([model], X, Y[:-1], steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        ex.train_lockstep([model], X, Y, steps=1, batch_size=0)
    with pytest.raises(ValueError, match="models is empty"):
        ex.train_lockstep([], X, Y, steps=1)


def test_placement_and_learning_rate_sweeps():
    sweep = ex.placement_experiment(X, Y, XT, YT, seeds=(0, 1), hidden=(8,), epochs=1, batch_size=40)
    assert sweep.labels == ("no BN", "BN before relu", "BN after relu") and sweep.seeds == (0, 1)
    assert sweep.test_accuracy.shape == (3, 2) and sweep.diverged.shape == (3, 2)
    np.testing.assert_allclose(sweep.mean(), sweep.test_accuracy.mean(axis=1))
    np.testing.assert_allclose(sweep.std(), sweep.test_accuracy.std(axis=1, ddof=1))
    assert "BN after relu" in sweep.table() and sweep.settings["learning_rate"] == 0.1
    np.testing.assert_array_equal(sweep.row("no BN"), sweep.test_accuracy[0])
    rates = ex.learning_rate_sweep(X, Y, XT, YT, learning_rates=(0.1, 1e30), placements=(None,), seeds=(0,),
                                   hidden=(8,), epochs=1, batch_size=40)
    assert rates.labels == (("no BN", 0.1), ("no BN", 1e30))
    assert rates.diverged[:, 0].tolist() == [False, True]


def test_figure1_experiment_shapes_and_probe():
    result = ex.figure1_experiment(DIGITS.x_train[:240], Y, DIGITS.x_test[:100], YT, steps=20, hidden=(6, 6, 6),
                                   eval_every=10, unit=2, batch_size=30)
    np.testing.assert_array_equal(result.steps, [0, 10, 20])
    for name in ("without BN", "with BN"):
        assert result.percentiles[name].shape == (3, 3, 6) and result.test_accuracy[name].shape == (3,)
        p15, p50, p85 = np.moveaxis(result.percentiles[name], 1, 0)
        assert (p15 <= p50).all() and (p50 <= p85).all()
        assert result.unit_percentiles(name).shape == (3, 3) and result.median_drift(name).shape == (6,)
    assert result.settings["batch_size"] == 30 and result.unit == 2
    with pytest.raises(ValueError, match="unit"):
        ex.figure1_experiment(X, Y, XT, YT, steps=1, hidden=(6, 6, 6), unit=6)


def test_sigmoid_inputs_are_what_the_sigmoid_sees_in_training_mode():
    x = XT[:50]
    plain = ex.build_mlp(hidden=(5, 6), activation="sigmoid", bn=None, seed=0)
    z = ex._sigmoid_inputs(plain, x)
    hidden_out = keras.Model(plain.inputs[0], plain.layers[1].output)(x, training=False)
    np.testing.assert_allclose(1 / (1 + np.exp(-z)), hidden_out.numpy(), rtol=1e-5, atol=1e-6)
    normed = ex.build_mlp(hidden=(5, 6), activation="sigmoid", bn="before", seed=0)
    normed.layers[4].gamma.assign(np.linspace(0.5, 2.0, 6))
    normed.layers[4].beta.assign(np.linspace(-1.0, 1.0, 6))
    z = ex._sigmoid_inputs(normed, x)
    for layer in (normed.layers[1], normed.layers[4]):  # computing it never touches the moving statistics
        np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
    sigmoid_out = keras.Model(normed.inputs[0], normed.layers[5].output)(x, training=True)
    np.testing.assert_allclose(1 / (1 + np.exp(-z)), sigmoid_out.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bn", [None, "before", "after"])
def test_numpy_forward_matches_keras_in_both_modes(bn):
    model = ex.build_mlp(hidden=(12, 7), bn=bn, seed=2, momentum=0.5)
    ex.train_lockstep([model], X, Y, steps=6, learning_rates=0.5, batch_size=40)   # non-trivial moving stats
    inference = ex.mlp_forward_numpy(model, XT)
    np.testing.assert_allclose(inference[-1], model(XT, training=False).numpy(), rtol=1e-4, atol=1e-6)
    assert len(inference) == len(model.layers)
    if bn is not None:
        training = ex.mlp_forward_numpy(model, XT, training=True)        # computed first: Keras updates the stats
        np.testing.assert_allclose(training[-1], model(XT, training=True).numpy(), rtol=1e-4, atol=1e-6)


def test_chunks_and_xla_give_the_same_training():
    def run(**kwargs):
        model = ex.build_mlp(hidden=(8,), bn="before", seed=4)
        result = ex.train_lockstep([model], X, Y, steps=12, learning_rates=0.3, batch_size=30, seeds=2, **kwargs)
        return _weights(model), result.step_loss

    reference, losses = run()
    for kwargs in ({"eval_every": 1}, {"eval_every": 5}, {"jit_compile": True}):
        weights, step_loss = run(**kwargs)
        np.testing.assert_allclose(step_loss, losses, rtol=1e-4, atol=1e-6)
        for got, want in zip(weights, reference):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_unsupported_models_are_refused_clearly():
    with pytest.raises(ValueError, match="flat"):
        ex.train_lockstep([ex.build_cnn()], DIGITS.x_train, DIGITS.y_train, steps=1)
    dropout = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dropout(0.5),
                                keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ValueError, match="not Dropout"):
        ex.train_lockstep([dropout], X, Y, steps=1)
    no_softmax = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="softmax"):
        ex.train_lockstep([no_softmax], X, Y, steps=1)


def test_figure1_result_helpers():
    steps = np.array([0, 10, 20])
    median = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 1.5]])
    percentiles = np.stack([median - 1, median, median + 1], axis=1)
    result = ex.Figure1Result(steps, {"a": np.array([0.1, 0.5, 0.9])}, {"a": percentiles}, 1, {})
    np.testing.assert_allclose(result.median_drift("a"), [2.0, 0.5])
    assert result.steps_to("a", 0.5) == 10 and result.steps_to("a", 0.95) is None
    np.testing.assert_allclose(result.unit_percentiles("a")[:, 1], median[:, 1])


def test_layer_table_lists_each_layer_and_the_totals():
    table = ex.layer_table(ex.build_mlp(input_dim=64, hidden=(16,), bn="before"))
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["layer", "output", "shape"]
    assert any(line.startswith("BatchNormalization") and line.split()[-2:] == ["32", "32"] for line in lines)
    assert lines[-1].split() == ["total", f"{64 * 16 + 32 + 170:,}", "32"]


def test_train_together_trains_any_architecture_and_updates_moving_statistics():
    import keras

    from bn_course.experiments import build_cnn, train_together

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 40)
    models = [build_cnn(filters=(4,), dense=8, seed=s) for s in (0, 1)]
    bn = next(layer for layer in models[0].layers if isinstance(layer, keras.layers.BatchNormalization))
    losses = train_together(models, x, y, steps=30, learning_rate=0.1, batch_size=8, seed=0)
    assert losses.shape == (30, 2) and np.isfinite(losses).all()
    assert losses[-5:].mean() < losses[:5].mean()
    assert not np.allclose(bn.moving_mean.numpy(), 0.0)
    with pytest.raises(ValueError, match="batch_size"):
        train_together(models, x, y, steps=1, batch_size=0)
