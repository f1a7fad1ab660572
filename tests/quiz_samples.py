"""Small sample banks for testing the quiz engine without depending on the course's banks,
which change as the course is edited. ``install(folder)`` writes them (with the real schema)."""

import json
import shutil

from bn_course.quiz.bank import quiz_dir

SCHEMA = quiz_dir() / "schema.json"  # the course's schema, found before any test points quiz_dir elsewhere


def _wrong(text, feedback):
    return {"text": text, "correct": False, "feedback": feedback}


def _right(text):
    return {"text": text, "correct": True}


ALPHA = {"notebook": "01_alpha", "title": "Alpha quiz", "intro": "Warm-up questions.", "questions": [
    {"id": "pick-one", "kind": "single", "prompt": "Which axis does `axis=1` keep for NCHW input?",
     "explanation": "Keras's `axis` is the axis that is kept.",
     "options": [_wrong("`axis=-1`", "With channels first, the last axis is the width."),
                 _right("`axis=1`"),
                 _wrong("`axis=0`", "Axis 0 is the batch."),
                 _wrong("`axis=(0, 2, 3)`", "Those are the axes the statistics are taken over.")]},
    {"id": "pick-many", "kind": "multiple", "prompt": "Which are learned by gradient descent?",
     "explanation": "Only $\\gamma$ and $\\beta$ are trained; the moving statistics are averages.",
     "options": [_right("γ (gamma)"), _wrong("the moving mean", "It is an average, not trained."), _right("β (beta)")]},
    {"id": "a-number", "kind": "numeric", "prompt": "What is 1/4?", "answer": 0.25, "tolerance": 0.01,
     "explanation": "One quarter.", "feedback": "Divide 1 by 4.",
     "mistakes": [{"value": 0.5, "feedback": "That is 1/2: you halved instead of quartering."}]},
]}

BETA = {"notebook": "02_beta", "title": "Beta quiz", "questions": [
    {"id": "batch-mean", "kind": "numeric", "prompt": "The mean of 1, 2, ..., 8?", "answer": 4.5, "tolerance": 0.001,
     "explanation": "36 / 8 = 4.5.", "feedback": "Add them up and divide by 8.",
     "mistakes": [{"value": 4.25, "feedback": "Take the mean of all eight numbers."}]},
    {"id": "biased", "kind": "single", "prompt": "Which variance does Keras use in training?",
     "explanation": "The biased one: divide by m.",
     "options": [_wrong("the unbiased one", "That divides by m - 1."),
                 _wrong("the population one", "There is none in training."),
                 _right("the biased one"),
                 _wrong("none", "Batch normalization divides by a standard deviation.")]},
]}

REVIEW = {"notebook": "07_review", "title": "Review quiz",
          "questions": [{"ref": "02_beta/batch-mean"}, {"ref": "01_alpha/pick-one"}]}

BANKS = [ALPHA, BETA, REVIEW]


def install(folder):
    """Write the real schema and the sample banks into ``folder`` (created); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCHEMA, folder)
    for bank in BANKS:
        (folder / f"{bank['notebook']}.json").write_text(json.dumps(bank), encoding="utf-8")
    return folder
