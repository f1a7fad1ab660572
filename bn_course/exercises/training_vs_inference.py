"""Exercise checkers for notebook 05 (training_vs_inference). Each ``check_*`` returns a CheckResult.

Three exercises, registered in ``EXERCISES`` with worked solutions:

* ``ema`` -- the Keras moving average after k steps towards a constant batch statistic.
* ``custom-loop`` -- find the bug: a colleague's ``GradientTape`` loop trains, but its BN layers
  never update their moving statistics (the forward pass runs in inference mode).
* ``fold-dense`` -- fold an inference-mode BN into the Dense layer before it.
"""

import inspect
import io
import textwrap
import tokenize

import numpy as np

from bn_course.exercises.common import CheckResult, Exercise, call_learner, first_matching_mistake, run_check


# --------------------------------------------------------------------- exercise 1: the moving average

# (label, init, batch value, momentum, k): scalars, k = 0, per-channel arrays.
_EMA_CASES = [
    ("init 0, batch mean 4, momentum 0.99, k = 100", 0.0, 4.0, 0.99, 100),
    ("init 1, batch variance 9, momentum 0.9, k = 10", 1.0, 9.0, 0.9, 10),
    ("k = 0 (no step yet)", 1.0, 9.0, 0.99, 0),
    ("per-channel arrays, momentum 0.5, k = 3", np.array([0.0, 1.0, -2.0]), np.array([2.0, 3.0, 5.0]), 0.5, 3),
]


def _ema_mistakes(init, target, momentum, k):
    """(hint, what that mistake returns) for the usual wrong answers."""
    init, target = np.asarray(init, np.float64), np.asarray(target, np.float64)

    def closed(m, steps):
        return m**steps * init + (1 - m**steps) * target

    return [
        ("the momentum direction is reversed: Keras keeps `momentum` of the OLD value and gives the new "
         "batch value the weight 1 - momentum; weighting the new value by momentum is PyTorch's convention.",
         closed(1 - momentum, k)),
        ("the initial value is missing: after k steps part of `init` is still in the average "
         "(the share that has not been replaced yet).", (1 - momentum**k) * target),
        ("you applied one update too many: k = 0 must return `init` unchanged, k = 1 one update.",
         closed(momentum, k + 1)),
        ("the average should move from `init` towards the batch value, not from the batch value "
         "towards `init`: are the two swapped?", momentum**k * target + (1 - momentum**k) * init),
    ]


def _check_ema_steps(fn):
    for label, init, target, momentum, k in _EMA_CASES:
        init_arg = init.copy() if isinstance(init, np.ndarray) else init
        target_arg = target.copy() if isinstance(target, np.ndarray) else target
        got = call_learner(fn, label, init_arg, target_arg, momentum, k)
        assert got is not None, "your function returned None: finish with `return moving`."
        got = np.asarray(got, dtype=np.float64)
        decay = momentum**k
        expected = decay * np.asarray(init) + (1 - decay) * np.asarray(target)
        assert got.shape == expected.shape, f"On {label} the result has shape {got.shape}, expected {expected.shape}."
        if np.allclose(got, expected, rtol=1e-9, atol=1e-9):
            continue
        hint = first_matching_mistake(got, _ema_mistakes(init, target, momentum, k), rtol=1e-9, atol=1e-9)
        if hint:
            raise AssertionError(f"On {label}: {hint}")
        raise AssertionError(f"On {label} you returned {np.round(got, 6)}, expected {np.round(expected, 6)}. "
                             "Apply one Keras update per step, k times, starting from init.")


def check_ema_steps(fn):
    """Check a learner's ``fn(init, batch_value, momentum, k)``; returns a :class:`CheckResult`.

    The function must return the Keras moving statistic after ``k`` training steps
    that all see the same batch statistic ``batch_value``, starting from ``init``:
    ``momentum**k * init + (1 - momentum**k) * batch_value`` (a loop is fine too).
    Cases: scalars, k = 0, per-channel arrays. A failure names the first mistake it
    recognises: the PyTorch momentum direction, the initial value dropped, one step
    too many, init and target swapped.
    """
    return run_check("Exercise 1: the moving average after k steps", lambda: _check_ema_steps(fn))


def _solution_ema(init, batch_value, momentum, k):
    # Each step replaces a share (1 - momentum) of the gap to the batch value, so the gap
    # moving - batch_value is multiplied by momentum at every step: after k steps, momentum**k.
    init, batch_value = np.asarray(init, dtype=float), np.asarray(batch_value, dtype=float)
    return momentum**k * init + (1 - momentum**k) * batch_value


# --------------------------------------------------------------------- exercise 2: find the bug

# The code the notebook gives the learner, exactly (the notebook's exercise cell is this text;
# tests/test_exercises_05.py checks that). The bug: ``model(xb)`` runs BN in inference mode.
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

_TITLE_LOOP = "Exercise 2: find the bug in a custom training loop"
_given = {}


def _tf_keras():
    from bn_course.env import import_tensorflow

    tf = import_tensorflow()
    import keras

    return tf, keras


def _given_namespace():
    """The given code executed once: its ``Classifier``, ``loss_fn`` and (buggy) ``train_step``."""
    if not _given:
        tf, keras = _tf_keras()
        namespace = {"tf": tf, "keras": keras}
        exec(compile(GIVEN_CODE, "<exercise 2 as given>", "exec"), namespace)
        _given.update(namespace)
        globals().setdefault("loss_fn", namespace["loss_fn"])   # the solution below uses it, as the notebook does
        globals().setdefault("tf", tf)
    return _given


def _tokens(source):
    """The code's tokens without comments, blank lines or indentation details."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    return [token.string for token in tokenize.generate_tokens(io.StringIO(source).readline) if token.type not in skip]


def _given_tokens(name):
    """Tokens of one top-level definition (``train_step``) or method (``call``) of GIVEN_CODE."""
    lines = GIVEN_CODE.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"def {name}("))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return _tokens("".join(line[indent:] for line in lines[start:end]))


def _unchanged(function, name):
    try:
        return _tokens(textwrap.dedent(inspect.getsource(function))) == _given_tokens(name)
    except (OSError, TypeError, tokenize.TokenError, IndentationError):
        return False   # source not available: treat it as edited


def _bn_layers(model, keras):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def _statistics(layers):
    return [np.concatenate([layer.moving_mean.numpy(), layer.moving_variance.numpy()]) for layer in layers]


def _same(a, b, tol=1e-5):
    return all(np.allclose(x, y, rtol=tol, atol=tol) for x, y in zip(a, b))


def _check_custom_loop(train_step, model_class):
    tf, keras = _tf_keras()
    rng = np.random.default_rng(0)
    batches = rng.normal(0.5, 1.0, size=(3, 16, 64)).astype("float32")
    labels = rng.integers(0, 10, size=(3, 16))

    def new_model():
        keras.utils.set_random_seed(0)
        model = call_learner(model_class, "building your Classifier")
        call_learner(model, "a first call of your model", batches[0])      # builds the weights (inference mode)
        return model

    model, reference, twice = new_model(), new_model(), new_model()
    layers = _bn_layers(model, keras)
    assert layers, "your Classifier has no BatchNormalization layer left: the fix is not to remove BN."
    initial = _statistics(layers)

    # 1. With the weights held still (learning rate 0), each step must be one training-mode pass for BN.
    still = keras.optimizers.SGD(learning_rate=0.0)
    for xb, yb in zip(batches, labels):
        call_learner(train_step, "a training step", model, still, tf.constant(xb), tf.constant(yb))
        reference(xb, training=True)
        twice(xb, training=True)
        twice(xb, training=True)
    after = _statistics(layers)
    if _same(after, initial, tol=0.0):
        raise AssertionError(
            "After three calls of train_step the moving statistics are still exactly 0 and 1: the BN layers "
            "never ran in training mode during your step. Which `training` value does the forward pass "
            "inside the tape receive (section 1: a top-level call without it is inference)?")
    if _same(after, _statistics(_bn_layers(twice, keras))):
        raise AssertionError("Each train_step moves the moving statistics twice: the model is called twice in "
                             "training mode per step. One forward pass, inside the tape, is enough.")
    if not _same(after, _statistics(_bn_layers(reference, keras))):
        raise AssertionError("The moving statistics moved, but not as one training-mode forward pass per step "
                             "would move them. Call the model once per step, on the batch, with training=True.")

    # 2. Inference stays inference: batch-independent outputs, nothing updated.
    alone = call_learner(model, "an inference call", batches[1][:1]).numpy()
    in_batch = call_learner(model, "an inference call", batches[1]).numpy()[:1]
    if not np.allclose(alone, in_batch, atol=1e-5) or not _same(_statistics(layers), after, tol=0.0):
        raise AssertionError(
            "Now the model uses batch statistics at inference too: `model(x)` gives an image a different "
            "output depending on the rest of its batch and updates the moving statistics. Is `training=True` "
            "hard-coded inside Classifier.call, or made the default of its `training` parameter? Leave `training` "
            "to the caller: a BN layer called without it "
            "inherits the value of the outer call.")

    # 3. The step still trains: a gradient step changes the trainable weights.
    trained = new_model()
    before = [w.numpy().copy() for w in trained.trainable_weights]
    call_learner(train_step, "a training step", trained, keras.optimizers.SGD(learning_rate=0.1),
                 tf.constant(batches[0]), tf.constant(labels[0]))
    if all(np.array_equal(b, w.numpy()) for b, w in zip(before, trained.trainable_weights)):
        raise AssertionError("train_step no longer changes the trainable weights: keep the gradient step "
                             "(tape.gradient and optimizer.apply_gradients).")

    # 4. The same model must also train its BN layers under fit (its call needs a `training` parameter).
    fitted = new_model()
    fitted.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    start = _statistics(_bn_layers(fitted, keras))
    fitted.fit(batches[0], labels[0], batch_size=16, epochs=1, verbose=0)
    if _same(_statistics(_bn_layers(fitted, keras)), start, tol=0.0):
        raise AssertionError("Your train_step works, but `fit` no longer updates the BN statistics of your "
                             "Classifier: `fit` passes training=True only to a model whose `call` declares a "
                             "`training` parameter (section 1). Keep `training=None` in the signature.")


def check_custom_loop(train_step, model_class=None):
    """Check the learner's fix of exercise 2: ``train_step(model, optimizer, xb, yb)`` and ``Classifier``.

    ``model_class`` defaults to the ``Classifier`` of :data:`GIVEN_CODE`. Untouched code
    (the same tokens as given) is "not attempted". Otherwise, on three random batches of
    (16, 64): with learning rate 0, each step must move the BN moving statistics exactly as
    one ``model(xb, training=True)`` does; inference (``model(x)``) must stay batch-independent
    and update nothing; a step with learning rate 0.1 must change the trainable weights;
    ``fit`` must update the BN statistics too. A failure names the mistake: forward pass in
    inference mode, two training-mode passes per step, ``training=True`` hard-coded inside
    ``call``, no gradient step, ``training`` dropped from ``call``'s signature.
    """
    given = _given_namespace()
    if model_class is None:
        model_class = given["Classifier"]
    call_method = getattr(model_class, "call", None)
    if _unchanged(train_step, "train_step") and (call_method is None or _unchanged(call_method, "call")):
        return CheckResult(_TITLE_LOOP, "not attempted",
                           "This is the code as given. Find the bug from the symptoms above, fix it in the "
                           "exercise cell, run that cell and the symptoms cell again, then this one.")
    return run_check(_TITLE_LOOP, lambda: _check_custom_loop(train_step, model_class))


def _solution_train_step(model, optimizer, xb, yb):
    with tf.GradientTape() as tape:
        loss = loss_fn(yb, model(xb, training=True))   # the fix: training=True, so BN uses and updates batch statistics
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


# --------------------------------------------------------------------- exercise 3: folding

def _fold_case(seed, d_in=5, channels=3):
    rng = np.random.default_rng(seed)
    return {
        "kernel": rng.normal(size=(d_in, channels)),
        "bias": rng.normal(size=channels),
        "gamma": rng.uniform(0.5, 2.0, size=channels),
        "beta": rng.normal(size=channels),
        "moving_mean": rng.normal(2.0, 1.0, size=channels),
        "moving_var": rng.uniform(0.5, 3.0, size=channels),
    }


def _check_fold_dense(fn):
    from bn_course.numpy_bn import batch_norm_inference

    for seed, (label, eps) in enumerate([("a 5 -> 3 Dense layer, eps 1e-3", 1e-3),
                                         ("a 5 -> 3 Dense layer, eps 0.5", 0.5)]):
        case = _fold_case(seed)
        originals = {name: value.copy() for name, value in case.items()}
        result = call_learner(fn, label, case["kernel"], case["bias"], case["gamma"], case["beta"],
                              case["moving_mean"], case["moving_var"], eps)
        assert isinstance(result, tuple) and len(result) == 2, \
            "return a pair: `return new_kernel, new_bias`."
        for name, value in case.items():
            assert np.array_equal(value, originals[name]), (
                f"your function changed its argument `{name}` in place; build new arrays instead.")
        new_kernel, new_bias = (np.asarray(v, dtype=np.float64) for v in result)
        assert new_kernel.shape == case["kernel"].shape, (
            f"the folded kernel has shape {new_kernel.shape}; it must keep the kernel's shape "
            f"{case['kernel'].shape}, one column per output channel.")
        assert new_bias.shape == case["bias"].shape, (
            f"the folded bias has shape {new_bias.shape}; it must have one value per output channel "
            f"{case['bias'].shape}.")
        x = np.random.default_rng(100 + seed).normal(size=(16, case["kernel"].shape[0]))
        expected = batch_norm_inference(x @ case["kernel"] + case["bias"], case["gamma"], case["beta"],
                                        case["moving_mean"], case["moving_var"], eps=eps)
        if np.allclose(x @ new_kernel + new_bias, expected, rtol=1e-7, atol=1e-7):
            continue
        kernel, bias, gamma, beta = case["kernel"], case["bias"], case["gamma"], case["beta"]
        mean, var = case["moving_mean"], case["moving_var"]
        scale = gamma / np.sqrt(var + eps)
        if not np.allclose(new_kernel, kernel * scale, rtol=1e-7, atol=1e-7):
            hint = first_matching_mistake(new_kernel, [
                ("epsilon goes under the square root, with the variance.", kernel * gamma / (np.sqrt(var) + eps)),
                ("you divided by the variance; BN divides by the standard deviation.", kernel * gamma / (var + eps)),
                ("gamma is missing: BN multiplies the normalized value by gamma.", kernel / np.sqrt(var + eps)),
            ], rtol=1e-7, atol=1e-7)
            raise AssertionError(f"On {label}, the kernel: {hint}" if hint else
                                 f"On {label} the folded kernel is wrong: each output channel's column must be "
                                 "multiplied by the factor BN applies to that channel.")
        hint = first_matching_mistake(new_bias, [
            ("beta is missing: BN adds beta after scaling.", (bias - mean) * scale),
            ("the moving mean was not subtracted from the old bias before scaling.", bias * scale + beta),
            ("the old bias must be scaled together with the mean: both pass through BN's multiplication.",
             bias - mean * scale + beta),
            ("the old bias was dropped (use 0 only when the Dense layer has use_bias=False).", -mean * scale + beta),
            ("you divided by the variance; BN divides by the standard deviation.", (bias - mean) * gamma / (var + eps) + beta),
        ], rtol=1e-7, atol=1e-7)
        raise AssertionError(f"On {label}, the bias: {hint}" if hint else
                             f"On {label} the folded bias is wrong: it is what the Dense+BN pair outputs for x = 0.")


def check_fold_dense(fn):
    """Check a learner's ``fn(kernel, bias, gamma, beta, moving_mean, moving_var, eps)``.

    It must return ``(new_kernel, new_bias)`` such that ``x @ new_kernel + new_bias``
    equals inference-mode BN applied to ``x @ kernel + bias`` (within 1e-7, float64,
    for two eps values): ``new_kernel = kernel * s``, ``new_bias = (bias - mean) * s + beta``,
    ``s = gamma / sqrt(var + eps)``. Returns a :class:`CheckResult`; a failure names
    the first mistake it recognises (eps outside the root, variance instead of std,
    gamma or beta missing, mean not subtracted, old bias unscaled or dropped,
    arguments modified in place; a shape that does not broadcast is explained).
    """
    return run_check("Exercise 3: fold BN into the Dense layer before it", lambda: _check_fold_dense(fn))


def _solution_fold_dense(kernel, bias, gamma, beta, moving_mean, moving_var, eps):
    scale = gamma / np.sqrt(moving_var + eps)       # what inference-mode BN multiplies channel c by
    new_kernel = kernel * scale                      # broadcasting scales column c (output channel c)
    new_bias = (bias - moving_mean) * scale + beta   # the Dense+BN output for x = 0
    return new_kernel, new_bias


# Registered for show_solution() and `python -m bn_course.exercises solutions` (see common.Exercise).
EXERCISES = [
    Exercise(
        "05_training_vs_inference", "ema", "Exercise 1: the moving average after k steps",
        check_ema_steps, _solution_ema,
        "Follow the **gap** between the moving value and the batch value. One Keras step, "
        "`moving = m * moving + (1 - m) * b`, rearranges to `moving - b = m * (moving_before - b)`: every "
        "step multiplies the gap by the momentum m. After k steps the gap is `m**k * (init - b)`, so "
        "`moving_k = m**k * init + (1 - m**k) * b`; for k = 0 that is `init`. A loop of k updates gives the "
        "same numbers. The common slips: PyTorch's direction (weighting the *new* value by the momentum) "
        "and forgetting the share `m**k` of the initial value that is still there."),
    Exercise(
        "05_training_vs_inference", "custom-loop", _TITLE_LOOP,
        check_custom_loop, _solution_train_step,
        "**The bug: `model(xb)` inside the tape.** A top-level call without `training` runs the model in "
        "inference mode, so every BN layer normalized with its moving statistics, which are only updated "
        "in training mode and therefore stayed at 0 and 1. The network trained as if BN were a fixed "
        "rescaling by 1/sqrt(1 + eps): gamma and beta learned, the loss fell (more slowly than with `fit`), "
        "and nothing warned. **The symptoms** that give it away: moving means exactly 0 and moving "
        "variances exactly 1 after hundreds of steps. **The fix** is one argument, "
        "`model(xb, training=True)`. `Classifier.call` not forwarding `training` to its BN layers is *not* "
        "a bug: a nested layer called without `training` inherits the outer call's value. Hard-coding "
        "`training=True` there would be one: inference would use batch statistics too."),
    Exercise(
        "05_training_vs_inference", "fold-dense", "Exercise 3: fold BN into the Dense layer before it",
        check_fold_dense, _solution_fold_dense,
        "At inference BN applies to channel c the fixed affine map `z -> s_c * (z - mu_c) + beta_c` with "
        "`s_c = gamma_c / sqrt(var_c + eps)`. Substituting the Dense output `z = x @ W[:, c] + b_c` gives "
        "`x @ (s_c * W[:, c]) + s_c * (b_c - mu_c) + beta_c`: the new kernel is the old one with column c "
        "multiplied by s_c (`kernel * scale` broadcasts over the last axis), and the new bias is "
        "`(bias - mean) * scale + beta`, what the pair outputs for x = 0."),
]
