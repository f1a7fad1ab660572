"""Notebook 05's checkers: ``ema`` (the moving average after k steps), ``custom-loop`` (find the bug: BN statistics
that never move) and ``fold-dense`` (fold inference BN into the Dense layer before it)."""

import functools

import numpy as np

from bn_course.env import import_keras, import_tensorflow
from bn_course.exercises.common import AsGiven, Exercise, call_learner, checker, expect, mismatch

TITLE_EMA = "Exercise 1: the moving average after k steps"
TITLE_LOOP = "Exercise 2: find the bug in a custom training loop"
TITLE_FOLD = "Exercise 3: fold BN into the Dense layer before it"
_EMA_CASES = [  # (label, init, batch value, momentum, k)
    ("init 0, batch mean 4, momentum 0.99, k = 100", 0.0, 4.0, 0.99, 100),
    ("init 1, batch variance 9, momentum 0.9, k = 10", 1.0, 9.0, 0.9, 10),
    ("k = 0 (no step yet)", 1.0, 9.0, 0.99, 0),
    ("per-channel arrays, momentum 0.5, k = 3", np.array([0.0, 1.0, -2.0]), np.array([2.0, 3.0, 5.0]), 0.5, 3),
]
tf = None       # TensorFlow and the given code's loss_fn, bound by _given_namespace on first use:
loss_fn = None  # the custom-loop solution uses them, as the notebook's cell does


@checker(TITLE_EMA)
def check_ema_steps(fn):
    """Check ``fn(init, batch_value, momentum, k) -> momentum**k * init + (1 - momentum**k) * batch_value``."""
    for label, init, target, m, k in _EMA_CASES:
        right = _solution_ema(init, target, m, k)
        expect(label, call_learner(fn, label, init, target, m, k), right, [
            ("the momentum direction is reversed: Keras keeps `momentum` of the OLD value; weighting the new "
             "batch value by momentum is PyTorch's convention.", _solution_ema(init, target, 1 - m, k)),
            ("the initial value is missing: after k steps a share of `init` is still in the average.",
             _solution_ema(0.0, target, m, k)),
            ("one update too many: k = 0 must return `init` unchanged.", _solution_ema(init, target, m, k + 1)),
            ("the average moves from `init` towards the batch value: are they swapped?",
             _solution_ema(target, init, m, k)),
        ], name="the result", rtol=1e-9, atol=1e-9)


def _solution_ema(init, batch_value, momentum, k):
    # Each step multiplies the gap moving - batch_value by momentum: after k steps, by momentum**k.
    init, batch_value = np.asarray(init, dtype=float), np.asarray(batch_value, dtype=float)
    return momentum**k * init + (1 - momentum**k) * batch_value


# The notebook's exercise cell, exactly (tests/test_exercises_05.py checks it). Bug: `model(xb)` is inference.
GIVEN_CODE = '''\
class Classifier(keras.Model):
    """Notebook 04's Dense -> BN -> ReLU network, written as a subclassed model."""

    def __init__(self, hidden=(64, 64)):
        super().__init__()
        self.blocks = [(keras.layers.Dense(units, use_bias=False), keras.layers.BatchNormalization())
                       for units in hidden]
        self.classify = keras.layers.Dense(10, activation="softmax")

    def call(self, x, training=None):
        for dense, bn in self.blocks:
            x = keras.activations.relu(bn(dense(x)))
        return self.classify(x)


loss_fn = keras.losses.SparseCategoricalCrossentropy()


def train_step(model, optimizer, xb, yb):
    with tf.GradientTape() as tape:
        loss = loss_fn(yb, model(xb))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss
'''


@functools.cache
def _given_namespace():
    """GIVEN_CODE run once: its ``Classifier``, ``loss_fn``, (buggy) ``train_step``; binds ``tf`` and ``loss_fn``."""
    global tf, loss_fn
    tf = import_tensorflow()
    namespace = {"tf": tf, "keras": import_keras()}
    exec(compile(GIVEN_CODE, "<exercise 2 as given>", "exec"), namespace)
    loss_fn = namespace["loss_fn"]
    return namespace


def _compiled(function):
    """What ``function`` compiles to, comments and layout aside (None for what is not a Python function)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return code.co_code, code.co_consts, code.co_names, function.__defaults__


def _statistics(model):
    """All BN moving means and variances of ``model`` (the weights Keras names so), concatenated (empty without BN)."""
    values = [weight.numpy().ravel() for weight in model.weights if weight.name in ("moving_mean", "moving_variance")]
    return np.concatenate([np.zeros(0), *values])


@checker(TITLE_LOOP)
def check_custom_loop(train_step, model_class=None):
    """Check the fixed ``train_step(model, optimizer, xb, yb)`` and ``Classifier``: one training-mode BN pass per
    step, ``model(x)`` stays inference, weights train, ``fit`` updates BN."""
    given = _given_namespace()  # also binds tf
    keras = import_keras()
    sgd = keras.optimizers.SGD
    classifier = model_class or given["Classifier"]
    as_given = [_compiled(given["train_step"]), _compiled(given["Classifier"].call)]
    if [_compiled(train_step), _compiled(classifier.call)] == as_given:
        raise AsGiven("This is the code as given. Find the bug from the symptoms above, fix it in the "
                      "exercise cell, run it and the symptoms cell, then this one.")
    rng = np.random.default_rng(0)
    batches, labels = rng.normal(0.5, 1.0, size=(3, 16, 64)).astype("float32"), rng.integers(0, 10, size=(3, 16))

    def new_model():
        keras.utils.set_random_seed(0)
        model = call_learner(classifier, "building your Classifier")
        call_learner(model, "a first call of your model", batches[0])      # builds the weights (inference mode)
        return model

    model, reference, twice = new_model(), new_model(), new_model()
    initial = _statistics(model)
    assert initial.size, "your Classifier has no BatchNormalization layer left: the fix is not to remove BN."
    for i, xb in enumerate(batches):   # learning rate 0: each step must be one training-mode pass for BN
        call_learner(train_step, "a training step", model, sgd(0.0), tf.constant(xb), tf.constant(labels[i]))
        for other in (reference, twice, twice):
            other(xb, training=True)
    after = _statistics(model)
    hint = mismatch("three training steps", after, _statistics(reference), [
        ("After three train_step calls the moving statistics are still 0 and 1: BN never ran in training mode. "
         "Which `training` value does the forward pass inside the tape get (section 1)?", initial),
        ("Each train_step moves the moving statistics twice: one training-mode pass is enough.", _statistics(twice)),
    ], "The moving statistics moved, but not as one `model(xb, training=True)` per step.", rtol=1e-5, atol=1e-5)
    assert hint is None, hint
    alone = call_learner(model, "an inference call", batches[1][:1]).numpy()   # inference must stay inference
    in_batch = call_learner(model, "an inference call", batches[1]).numpy()[:1]
    assert np.allclose(alone, in_batch, atol=1e-5) and np.array_equal(_statistics(model), after), (
        "Now `model(x)` uses batch statistics at inference too. Is `training=True` hard-coded inside "
        "Classifier.call, or made the default of its `training` parameter? Leave `training` to the caller.")
    trained = new_model()
    before = [w.numpy().copy() for w in trained.trainable_weights]
    call_learner(train_step, "a training step", trained, sgd(0.1), tf.constant(batches[0]), tf.constant(labels[0]))
    assert not all(np.array_equal(b, w.numpy()) for b, w in zip(before, trained.trainable_weights)), (
        "train_step no longer changes the trainable weights: keep tape.gradient and optimizer.apply_gradients.")
    trained.compile(optimizer=sgd(0.0), loss="sparse_categorical_crossentropy")
    start = _statistics(trained)
    trained.fit(batches[1], labels[1], batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(_statistics(trained), start), (
        "`fit` no longer updates your BN statistics: `fit` passes training=True only to a model whose `call` "
        "declares a `training` parameter (section 1). Keep `training=None` in the signature.")


def _solution_train_step(model, optimizer, xb, yb):
    with tf.GradientTape() as tape:
        loss = loss_fn(yb, model(xb, training=True))   # the fix: training=True, so BN uses and updates batch statistics
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


@checker(TITLE_FOLD)
def check_fold_dense(fn):
    """Check ``fn(kernel, bias, gamma, beta, moving_mean, moving_var, eps) -> (kernel * s, (bias - mean) * s
    + beta)``, ``s = gamma / sqrt(var + eps)``, for a 5 -> 3 Dense layer and two eps."""
    for seed, eps in enumerate((1e-3, 0.5)):
        label, rng = f"a 5 -> 3 Dense layer, eps {eps:g}", np.random.default_rng(seed)
        kernel, bias, gamma = rng.normal(size=(5, 3)), rng.normal(size=3), rng.uniform(0.5, 2, 3)
        beta, mean, var = rng.normal(size=3), rng.normal(2, 1, 3), rng.uniform(0.5, 3, 3)
        result = call_learner(fn, label, kernel, bias, gamma, beta, mean, var, eps)
        assert isinstance(result, tuple) and len(result) == 2, "return a pair: `return new_kernel, new_bias`."
        scale, by_variance = gamma / np.sqrt(var + eps), gamma / (var + eps)
        expect(label, result[0], kernel * scale, [
            ("epsilon goes under the square root, with the variance.", kernel * gamma / (np.sqrt(var) + eps)),
            ("you divided by the variance, not the standard deviation.", kernel * by_variance),
            ("gamma is missing: BN multiplies the normalized value by gamma.", kernel / np.sqrt(var + eps)),
        ], "column c must be scaled by what BN multiplies channel c by.", name="the kernel", rtol=1e-7, atol=1e-7)
        expect(label, result[1], (bias - mean) * scale + beta, [
            ("beta is missing: BN adds beta after scaling.", (bias - mean) * scale),
            ("the moving mean was not subtracted from the old bias before scaling.", bias * scale + beta),
            ("the old bias must be scaled together with the mean.", bias - mean * scale + beta),
            ("the old bias was dropped (0 only for a Dense layer with use_bias=False).", -mean * scale + beta),
            ("you divided by the variance, not the standard deviation.", (bias - mean) * by_variance + beta),
        ], "it is what the Dense + BN pair outputs for x = 0.", name="the bias", rtol=1e-7, atol=1e-7)


def _solution_fold_dense(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)       # what inference-mode BN multiplies channel c by
    new_kernel = kernel * scale                      # broadcasting scales column c (output channel c)
    new_bias = (bias - moving_mean) * scale + beta   # the Dense+BN output for x = 0
    return new_kernel, new_bias


EXERCISES = [Exercise(notebook="05_training_vs_inference", key=key, title=title, check=check, solution=solution,
                      explanation=explanation) for key, title, check, solution, explanation in [
    ("ema", TITLE_EMA, check_ema_steps, _solution_ema,
     "`moving = m * moving + (1 - m) * b` is `moving - b = m * (moving - b)`: after k steps the gap is "
     "`m**k * (init - b)`, so `moving_k = m**k * init + (1 - m**k) * b`."),
    ("custom-loop", TITLE_LOOP, check_custom_loop, _solution_train_step,
     "**The bug:** `model(xb)` inside the tape runs in inference mode, so the moving statistics never moved. "
     "**The fix:** `model(xb, training=True)`. Hard-coding `training=True` in `Classifier.call` instead is a bug: "
     "inference would use batch statistics too."),
    ("fold-dense", TITLE_FOLD, check_fold_dense, _solution_fold_dense,
     "Inference BN maps channel c by `z -> s_c * (z - mu_c) + beta_c`, `s_c = gamma_c / sqrt(var_c + eps)`, so "
     "the kernel becomes `kernel * scale` and the bias `(bias - mean) * scale + beta` (the output for x = 0)."),
]]
