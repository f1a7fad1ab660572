"""Quiz banks and the quiz engine: schema, references, recomputed answers, grading,
every question answered right and wrong through the real widgets, text fallback,
classroom mode, export and bad input. Progress-file tests are in test_quiz_progress.py,
reports and the class summary in test_quiz_report.py.

The course's banks are tested as they are (valid, answerable through the widgets, numeric
answers recomputed, exportable); the engine's behaviour is tested on the small sample banks
of quiz_samples.py, so editing a course bank never breaks an engine test."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import ipywidgets
import jsonschema
import numpy as np
import pytest

from bn_course import quiz
from bn_course.env import import_tensorflow
from bn_course.quiz import __main__ as cli
from bn_course.quiz import view as quiz_view
from bn_course.quiz.bank import quiz_dir
from bn_course.quiz.grading import correct_answer, grade, parse_answer
from bn_course.quiz.text import plain_label
from bn_course.quiz.view import markdown_to_html
from quiz_samples import install

REPO = Path(__file__).resolve().parent.parent
ANSWER_DIR = REPO / "tests" / "quiz_answers"
BANKS = quiz.bank_names()


@pytest.fixture(autouse=True)
def own_progress_file(tmp_path, monkeypatch):
    """Each test gets its own progress file and starts outside classroom mode."""
    monkeypatch.setenv("BN_COURSE_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.delenv("BN_COURSE_CLASSROOM", raising=False)
    monkeypatch.setattr(quiz, "_classroom", None)


@pytest.fixture
def samples(tmp_path, monkeypatch):
    """Point the quiz engine at the sample banks (01_alpha, 02_beta, 07_review)."""
    folder = install(tmp_path / "quizzes")
    monkeypatch.setenv("BN_COURSE_QUIZZES", str(folder))
    return folder


def _raw(name):
    return json.loads((quiz_dir() / f"{name}.json").read_text(encoding="utf-8"))


def _answers_module(name):
    path = ANSWER_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"quiz_answers_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- the banks


def test_every_notebook_has_a_bank():
    notebooks = {path.stem for path in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert notebooks and set(BANKS) == notebooks
    assert all(len(quiz.load_bank(name).questions) >= 3 for name in BANKS)


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads((quiz_dir() / "schema.json").read_text()))


@pytest.mark.parametrize("name", BANKS)
def test_bank_is_valid(name):
    """Schema, unique ids, references that resolve (load_bank checks them), and what the schema cannot say:
    the file name, distinct option texts, listed mistakes that are not within the tolerance of the answer."""
    schema = json.loads((quiz_dir() / "schema.json").read_text(encoding="utf-8"))
    raw = _raw(name)
    jsonschema.Draft202012Validator(schema).validate(raw)
    assert raw["notebook"] == name
    bank = quiz.load_bank(name)
    keys = [q.key for q in bank.questions]
    assert len(keys) == len(set(keys))
    for item in raw["questions"]:
        texts = [option["text"] for option in item.get("options", [])]
        assert len(texts) == len(set(texts)), f"{item.get('id')}: two options with the same text"
        for mistake in item.get("mistakes", []):
            assert abs(mistake["value"] - item["answer"]) > item["tolerance"], (item.get("id"), mistake["value"])


@pytest.mark.parametrize("name", BANKS)
def test_numeric_answers_are_recomputed(name):
    """Every numeric answer typed in a bank equals what tests/quiz_answers/<bank>.py computes."""
    numeric = {q["id"]: q for q in _raw(name)["questions"] if q.get("kind") == "numeric"}
    if not numeric:
        return
    assert (ANSWER_DIR / f"{name}.py").exists(), f"tests/quiz_answers/{name}.py is missing"
    answers = _answers_module(name).ANSWERS
    missing = sorted(set(numeric) - set(answers))
    assert not missing, f"no recomputation for {missing} in tests/quiz_answers/{name}.py"
    unknown = sorted(set(answers) - set(numeric))
    assert not unknown, f"tests/quiz_answers/{name}.py recomputes questions that are not numeric ones: {unknown}"
    for qid, question in numeric.items():
        computed = float(answers[qid]())
        assert abs(computed - question["answer"]) <= question["tolerance"], (
            f"{name}/{qid}: the bank says {question['answer']}, the code computes {computed}"
        )


# --------------------------------------------------------------------------- references


@pytest.fixture
def scratch_banks(samples):
    """The sample banks, where a test (re)writes a review bank."""

    def write(name, questions):
        bank = {"notebook": name, "title": "Review", "questions": questions}
        (samples / f"{name}.json").write_text(json.dumps(bank), encoding="utf-8")

    return write


def test_references_resolve_and_keep_their_own_progress(scratch_banks):
    scratch_banks("07_review", [{"ref": "02_beta/batch-mean"}, {"ref": "02_beta/biased"}])
    bank = quiz.load_bank("07_review")
    assert [q.key for q in bank.questions] == ["02_beta/batch-mean", "02_beta/biased"]
    assert bank.questions[0].origin == "02_beta" and bank.questions[0].kind == "numeric"
    result = quiz.answer("07_review", "02_beta/batch-mean", 4.5)
    assert result.correct
    saved = quiz.store.load()
    assert saved == {"07_review": {"02_beta/batch-mean": result.record}}
    rows = {row[0]: row for row in quiz.progress().rows}
    assert rows["07_review"][2:] == (1, 1, 2) and rows["02_beta"][2] == 0


@pytest.mark.parametrize("ref, message", [
    ("02_beta/no-such-question", "bank '02_beta' has no question 'no-such-question'"),
    ("05_missing_bank/batch-mean", "there is no bank '05_missing_bank'"),
    ("07_review/batch-mean", "points into its own bank"),
])
def test_broken_references_are_named(scratch_banks, ref, message):
    scratch_banks("07_review", [{"ref": ref}])
    with pytest.raises(quiz.BankError, match=message):
        quiz.load_bank("07_review")


def test_duplicate_ids_and_schema_errors_are_named(scratch_banks):
    scratch_banks("07_review", [{"ref": "02_beta/batch-mean"}, {"ref": "02_beta/batch-mean"}])
    with pytest.raises(quiz.BankError, match="appears twice"):
        quiz.load_bank("07_review")
    scratch_banks("07_review", [{"id": "q", "kind": "single", "prompt": "Which?", "explanation": "Because.",
                                 "options": [{"text": "yes", "correct": True}, {"text": "no", "correct": False}]}])
    with pytest.raises(quiz.BankError, match=r"07_review.json: questions\[0\].options\[1\]\S* \(question 'q'\)"):
        quiz.load_bank("07_review")


# --------------------------------------------------------------------------- grading (pure)


SINGLE = {"kind": "single", "prompt": "p", "explanation": "why", "options": [
    {"text": "right", "correct": True, "feedback": "yes indeed"},
    {"text": "wrong", "correct": False, "feedback": "not this"},
    {"text": "also wrong", "correct": False, "feedback": "nor this"},
]}
MULTIPLE = {"kind": "multiple", "prompt": "p", "explanation": "why", "options": [
    {"text": "one", "correct": True}, {"text": "two", "correct": False, "feedback": "two is wrong"},
    {"text": "three", "correct": True},
]}
NUMERIC = {"kind": "numeric", "prompt": "p", "explanation": "why", "answer": 0.25, "tolerance": 0.01,
           "feedback": "general hint", "mistakes": [{"value": 0.5, "feedback": "you doubled it"},
                                                    {"value": 0.52, "feedback": "near miss"}]}


def test_parse_answer_accepts_letters_indices_and_numbers():
    assert parse_answer(SINGLE, "b") == parse_answer(SINGLE, " (B) ") == parse_answer(SINGLE, 1) == 1
    assert parse_answer(MULTIPLE, "a, c") == parse_answer(MULTIPLE, "ca") == parse_answer(MULTIPLE, [2, "a"]) == (0, 2)
    assert parse_answer(NUMERIC, "1/4") == parse_answer(NUMERIC, " 2.5e-1 ") == parse_answer(NUMERIC, 0.25) == 0.25
    assert parse_answer(NUMERIC, "−0.5") == -0.5  # a typographic minus, as copied from a page


def test_numbers_computed_with_numpy_or_tensorflow_are_answers(samples):
    """A learner may answer with the value their code computed, whatever its str() looks like."""
    tf = import_tensorflow()
    assert parse_answer(NUMERIC, np.float32(0.25)) == parse_answer(NUMERIC, np.array(0.25)) == 0.25
    assert parse_answer(NUMERIC, tf.constant(0.25)) == 0.25
    assert quiz.answer("02_beta", "batch-mean", tf.reduce_mean(tf.range(1.0, 9.0))).correct


@pytest.mark.parametrize("spec, value, message", [
    (SINGLE, 3, "option index 3 is out of range: this question has options a–c (indices 0–2)"),
    (SINGLE, -1, "option index -1 is out of range"),
    (SINGLE, "d", "there is no option 'd'"),
    (SINGLE, "maybe", "'maybe' is not an option"),
    (SINGLE, True, "is not an option"),
    (SINGLE, ["a", "b"], "exactly one option"),
    (SINGLE, None, "no option chosen"),
    (MULTIPLE, [], "no option chosen"),
    (MULTIPLE, "a, z", "there is no option 'z'"),
    (NUMERIC, "abc", "'abc' is not a number"),
    (NUMERIC, "", "the answer box is empty"),
    (NUMERIC, "nan", "not a finite number"),
    (NUMERIC, "1/0", "is not a number"),
    (NUMERIC, True, "True is not a number"),
    (NUMERIC, [0.25], "[0.25] is not a number"),
])
def test_bad_answers_get_a_one_line_message(spec, value, message):
    with pytest.raises(quiz.QuizError) as caught:
        parse_answer(spec, value)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_grade_single():
    assert grade(SINGLE, "a").correct and grade(SINGLE, "a").feedback == "yes indeed"
    wrong = grade(SINGLE, "c")
    assert not wrong.correct and wrong.feedback == "nor this" and wrong.explanation == "why"
    assert "Not quite" in wrong.markdown() and "**Explanation.** why" in wrong.markdown()


def test_grade_multiple_names_wrong_and_missed_options():
    assert grade(MULTIPLE, "a, c").correct
    wrong = grade(MULTIPLE, "a, b")
    assert not wrong.correct
    assert "**(b)** two is wrong" in wrong.feedback and "You left out (c)" in wrong.feedback


def test_grade_numeric_tolerance_and_mistakes():
    assert grade(NUMERIC, 0.259).correct and not grade(NUMERIC, 0.261).correct
    assert grade(NUMERIC, 0.505).feedback == "you doubled it"   # the closest listed mistake wins
    assert grade(NUMERIC, 0.515).feedback == "near miss"
    assert grade(NUMERIC, 7).feedback == "general hint"
    assert correct_answer(NUMERIC) == 0.25 and correct_answer(MULTIPLE) == (0, 2) and correct_answer(SINGLE) == 0


# --------------------------------------------------------------------------- the widgets


def _wrong_values(question):
    """Every way the tests answer a question wrongly, with the feedback each must show."""
    spec = question.spec
    if spec["kind"] == "single":
        return [(i, o["feedback"]) for i, o in enumerate(spec["options"]) if not o["correct"]]
    if spec["kind"] == "multiple":
        right = set(correct_answer(spec))
        cases = []
        for i, option in enumerate(spec["options"]):
            if not option["correct"]:
                cases.append((tuple(sorted(right | {i})), option["feedback"]))
        if len(right) > 1:
            cases.append((tuple(sorted(right - {min(right)})), "You left out"))
        return cases
    far = spec["answer"] + 1000 * spec["tolerance"] + 7.77
    return [(far, spec["feedback"])] + [(m["value"], m["feedback"]) for m in spec.get("mistakes", [])]


def _set(view, value):
    """Put ``value`` into the question's widgets the way a learner would."""
    kind = view.question.kind
    if kind == "single":
        view.answer_widget.value = value
    elif kind == "multiple":
        chosen = set(value or ())
        for i, box in enumerate(view.option_widgets):
            box.value = i in chosen
    else:
        view.answer_widget.value = repr(value)


@pytest.mark.parametrize("name", BANKS)
def test_every_question_right_and_wrong_through_the_widgets(name):
    shown = quiz.show(name, text=False)
    assert quiz.last_shown is shown
    assert "bn-quiz" in shown.widget._dom_classes and "bn-quiz-score" in shown.score._dom_classes
    total = len(shown.questions)
    for number, view in enumerate(shown.questions):
        assert "bn-quiz-question" in view.box._dom_classes
        assert "bn-quiz-check" in view.check_button._dom_classes
        assert "bn-quiz-feedback" in view.feedback._dom_classes
        assert all("bn-quiz-option" in w._dom_classes for w in view.option_widgets)
        explanation = markdown_to_html(view.question.spec["explanation"])
        for value, expected in _wrong_values(view.question):
            _set(view, value)
            view.check_button.click()
            assert "Not quite" in view.feedback.value, (view.question.key, value)
            if expected == "You left out":
                assert "You left out" in view.feedback.value
            else:
                assert markdown_to_html(expected)[3:-4] in view.feedback.value, (view.question.key, value)
            assert explanation[3:-4] in view.feedback.value
            assert view.state is False
        _set(view, correct_answer(view.question.spec))
        view.check_button.click()
        assert "Correct." in view.feedback.value and explanation[3:-4] in view.feedback.value
        assert view.state is True
        assert f"Score: {number + 1} / {total} correct" in shown.score.value
    saved = quiz.store.load()[name]
    assert len(saved) == total and all(record["correct"] for record in saved.values())
    assert shown.correct == shown.answered == total


def test_widget_shows_bad_input_in_the_feedback_area(samples):
    shown = quiz.show("01_alpha", text=False)
    numeric = next(v for v in shown.questions if v.question.kind == "numeric")
    numeric.answer_widget.value = "four and a half"
    numeric.check_button.click()  # must not raise
    assert "'four and a half' is not a number" in numeric.feedback.value
    single = next(v for v in shown.questions if v.question.kind == "single")
    single.check_button.click()
    assert "no option chosen" in single.feedback.value
    multiple = next(v for v in shown.questions if v.question.kind == "multiple")
    multiple.check_button.click()
    assert "no option chosen" in multiple.feedback.value
    assert quiz.store.load() == {} and "0 of" in shown.score.value


def test_widget_survives_a_bug_while_saving(samples, monkeypatch):
    """Even an unexpected error while saving leaves the learner's feedback in place."""
    shown = quiz.show("01_alpha", text=False)
    monkeypatch.setattr(quiz.store, "record", lambda *args, **kwargs: 1 / 0)
    view = shown.questions[0]
    view.answer_widget.value = correct_answer(view.question.spec)
    view.check_button.click()
    assert "Correct." in view.feedback.value and "could not be saved (ZeroDivisionError" in view.feedback.value


def test_widget_shows_any_error_while_grading(samples, monkeypatch):
    """An unexpected error while grading ends up in the feedback panel (JupyterLab hides the widget log)."""
    shown = quiz.show("01_alpha", text=False)
    monkeypatch.setattr(quiz_view, "grade", lambda spec, value: 1 / 0)
    view = shown.questions[0]
    view.answer_widget.value = 1
    view.check_button.click()
    assert "Could not check this answer (ZeroDivisionError: division by zero)" in view.feedback.value


def test_quizzes_show_after_every_widget_was_closed(samples):
    """``Widget.close_all()`` (e.g. by another notebook tool) must not break the next quiz."""
    quiz.show("01_alpha", text=False)
    ipywidgets.Widget.close_all()
    shown = quiz.show("01_alpha", text=False)
    assert shown.widget._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]["model_id"]
    view = shown.questions[0]
    view.answer_widget.value = 1
    view.check_button.click()
    assert "Correct." in view.feedback.value


def test_show_displays_once_with_a_text_copy(samples, monkeypatch):
    """In a kernel, show displays the widget with Markdown and plain-text copies; the
    returned view, echoed as the cell's value, is not displayed a second time."""
    import IPython
    import IPython.display

    shown = []

    class Shell:
        kernel = object()
        execution_count = 7

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    view = quiz.show("01_alpha")
    view._ipython_display_()  # what IPython's displayhook does with the cell's value
    assert len(shown) == 1
    bundle = shown[0]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "`pick-many`" in bundle["text/markdown"] and "quiz.answer(" in bundle["text/markdown"]
    assert "quiz.text('01_alpha')" in bundle["text/plain"]
    assert repr(view) == "<quiz 01_alpha: 0/3 correct, 0 answered>"


def test_classroom_mode_reveals_answers(samples, monkeypatch):
    assert not any(hasattr(v, "reveal") for v in quiz.show("02_beta", text=False).questions)
    assert "on" in quiz.classroom(True)
    shown = quiz.show("02_beta", text=False)
    assert all("bn-quiz-reveal" in v.reveal._dom_classes for v in shown.questions)
    mean = next(v for v in shown.questions if v.question.key == "batch-mean")
    assert "<strong>Answer:</strong> 4.5" in mean.reveal.value and "Explanation." in mean.reveal.value
    assert "Classroom mode" in shown.header.value
    quiz.classroom(False)
    monkeypatch.setenv("BN_COURSE_CLASSROOM", "1")
    assert not any(hasattr(v, "reveal") for v in quiz.show("02_beta", text=False).questions)
    monkeypatch.setattr(quiz, "_classroom", None)
    assert all(hasattr(v, "reveal") for v in quiz.show("02_beta", text=False).questions)


# --------------------------------------------------------------------------- text fallback


def test_text_fallback_lists_ids_and_grades_answers(samples, capsys):
    quiz.text("02_beta")
    out = capsys.readouterr().out
    assert "`batch-mean`" in out and "quiz.answer('02_beta'" in out and "✔" not in out
    result = quiz.answer("02_beta", "batch-mean", "4.25")
    assert not result.correct and "mean of all eight numbers" in repr(result)
    assert quiz.answer("02_beta", "biased", "c").correct
    quiz.show("02_beta")  # outside a kernel, show prints the text version
    out = capsys.readouterr().out
    assert "batch-mean: wrong so far" in out and "biased: right so far" in out


def test_bad_calls_name_the_problem(samples):
    with pytest.raises(quiz.QuizError, match="no quiz bank named '99_nope'.*02_beta"):
        quiz.show("99_nope")
    with pytest.raises(quiz.QuizError, match="no quiz bank named '99_nope'"):
        quiz.answer("99_nope", "x", "a")
    with pytest.raises(quiz.QuizError, match="has no question 'batch-men'; its questions are: .*batch-mean"):
        quiz.answer("02_beta", "batch-men", 4.5)
    with pytest.raises(quiz.QuizError, match="'four' is not a number"):
        quiz.answer("02_beta", "batch-mean", "four")
    with pytest.raises(quiz.QuizError, match="out of range"):
        quiz.answer("02_beta", "biased", 9)
    with pytest.raises(quiz.QuizError, match="is not a bank name"):
        quiz.load_bank("../quizzes/02_beta")
    assert quiz.store.load() == {}


def test_errors_show_in_jupyter_as_one_line(samples):
    try:
        quiz.answer("02_beta", "batch-mean", "four")
    except quiz.QuizError as error:
        lines = error._render_traceback_()
    assert lines == ["QuizError: 'four' is not a number: type a number such as 0.25, 1e-3 or 1/4"]


# --------------------------------------------------------------------------- export


def test_export_one_bank_sheet_and_key(samples, capsys):
    bank = quiz.load_bank("01_alpha")
    assert cli.main(["export", "01_alpha"]) == 0
    sheet = capsys.readouterr().out
    assert sheet.startswith("# Alpha quiz: quiz sheet") and "Warm-up questions." in sheet
    assert f"**{len(bank.questions)}.**" in sheet and "Explanation" not in sheet and "✔" not in sheet
    for question in bank.questions:
        assert question.spec["prompt"] in sheet
    assert "- (b) `axis=1`" in sheet  # the letters the widget, quiz.text and quiz.answer use
    assert cli.main(["export", "01_alpha", "--answers"]) == 0
    key = capsys.readouterr().out
    assert key.startswith("# Alpha quiz: answer key")
    assert key.count("**Explanation.**") == len(bank.questions)
    assert "**Answer:** 0.25 (±0.01)" in key and "- ✔ (b) `axis=1`" in key
    assert "- ✘ (a) `axis=-1` — With channels first" in key and "- ✔ (c) β (beta)" in key


def test_export_all_banks(capsys):
    assert cli.main(["export"]) == 0
    sheet = capsys.readouterr().out
    assert sheet.startswith("# Batch normalization in TensorFlow: quiz sheet")
    for name in BANKS:
        assert f"## {name[:2]} · {quiz.load_bank(name).title}" in sheet
    assert cli.main(["export", "--answers"]) == 0
    key = capsys.readouterr().out
    assert key.count("**Explanation.**") == sum(len(quiz.load_bank(n).questions) for n in BANKS)


@pytest.mark.parametrize("name", BANKS)
def test_the_answer_key_marks_the_letters_the_widgets_grade(name):
    """Letters are the JSON order everywhere: the key's ✔ marks are what grading calls right."""
    key = cli.export([name], answers=True)
    for question in quiz.load_bank(name).questions:
        if question.kind == "numeric":
            continue
        right = correct_answer(question.spec)
        right = {right} if question.kind == "single" else set(right)
        for i, option in enumerate(question.spec["options"]):
            mark = "✔" if i in right else "✘"
            assert f"- {mark} ({chr(97 + i)}) {option['text']}" in key, (question.key, i)
            if question.kind == "single":
                assert grade(question.spec, chr(97 + i)).correct == (i in right), (question.key, i)


def test_export_command_line_and_unknown_bank():
    run = [sys.executable, "-m", "bn_course.quiz", "export"]
    ok = subprocess.run(run + ["00_start_here", "--answers"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stderr == "" and "answer key" in ok.stdout
    bad = subprocess.run(run + ["99_nope"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: no quiz bank named '99_nope'") and bad.stderr.count("\n") == 1


# --------------------------------------------------------------------------- Markdown and labels


def test_markdown_leaves_math_to_mathjax():
    html = markdown_to_html("Use $x_i * y_i$, $a<b$ and `a*b<c`, **bold** and *it*.\n\n- one\n- two\n\n1. first")
    assert "$x_i * y_i$" in html and "$a&lt;b$" in html and "<code>a*b&lt;c</code>" in html
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert re.search(r"<ul>\s*<li>one</li>\s*<li>two</li>\s*</ul>\s*<ol>\s*<li>first</li>", html)
    assert markdown_to_html("$$\\sum_i x_i < 1$$") == "$$\\sum_i x_i &lt; 1$$"


def test_plain_labels_only_strip_code_bold_and_italic():
    assert plain_label("`axis=1`, **not** *this*:\n  γ = √(σ_B² + ε)") == "axis=1, not this: γ = √(σ_B² + ε)"
    assert plain_label("**`x`** 2 * 3 * 4, a*b*c") == "x 2 * 3 * 4, a*b*c"  # no emphasis in arithmetic
    assert plain_label(r"$\gamma$ stays") == r"$\gamma$ stays"  # banks write math in Unicode


def test_importing_the_quiz_engine_is_light():
    """The text fallback and the export work without TensorFlow and without widgets loaded."""
    code = ("import sys, bn_course.quiz, bn_course.quiz.__main__; "
            "heavy = {'tensorflow', 'keras', 'ipywidgets'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
