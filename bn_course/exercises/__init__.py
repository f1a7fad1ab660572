"""Exercise checkers, one module per notebook, sharing :mod:`bn_course.exercises.common`; notebooks import them all
from here. Each module registers its exercises with a worked solution in ``EXERCISES``, shown by :func:`show_solution`
or, for instructors, ``python -m bn_course.exercises solutions [notebook]``."""

from bn_course.exercises import (beyond_batchnorm, keras_integration, numpy_formula, review, tf_custom_layer,
                                 training_vs_inference, why_batchnorm)
from bn_course.exercises.beyond_batchnorm import check_group_norm
from bn_course.exercises.common import Exercise, solution_markdown
from bn_course.exercises.keras_integration import check_fixed_cnn, check_redundant_biases
from bn_course.exercises.numpy_formula import check_backward, check_find_the_bug, check_forward
from bn_course.exercises.review import check_convert_bn
from bn_course.exercises.tf_custom_layer import check_layer_call
from bn_course.exercises.training_vs_inference import check_custom_loop, check_ema_steps, check_fold_dense
from bn_course.exercises.why_batchnorm import check_batch_norm_fix

__all__ = ["check_batch_norm_fix", "check_forward", "check_find_the_bug", "check_backward", "check_layer_call",
           "check_redundant_biases", "check_fixed_cnn", "check_ema_steps", "check_custom_loop", "check_fold_dense",
           "check_group_norm", "check_convert_bn", "Exercise", "EXERCISES", "find_exercise", "show_solution"]

EXERCISES = [exercise for module in (why_batchnorm, numpy_formula, tf_custom_layer, keras_integration,
                                     training_vs_inference, beyond_batchnorm, review)  # in course order
             for exercise in module.EXERCISES]


def find_exercise(notebook, key):
    """The registered exercise ``key`` of ``notebook`` (a stem such as "02_numpy_formula")."""
    for exercise in EXERCISES:
        if exercise.notebook == notebook and exercise.key == key:
            return exercise
    known = ", ".join(f"{e.notebook}/{e.key}" for e in EXERCISES)
    raise ValueError(f"no exercise {key!r} in notebook {notebook!r}; known: {known}")


def show_solution(notebook, key):
    """Display the worked solution of one exercise as Markdown (call it only when you want to see it)."""
    from IPython.display import Markdown, display

    display(Markdown(solution_markdown(find_exercise(notebook, key))))
