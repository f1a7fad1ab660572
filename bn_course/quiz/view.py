"""The quiz as ipywidgets: one box per question, a Check button, feedback and a score.

No JavaScript of our own: radio buttons (choose one), checkboxes (choose all that
apply) or a text box (a number), a ``Check`` button, and ``HTMLMath`` areas that
JupyterLab typesets offline with its bundled MathJax. Everything works from the
keyboard: Tab to an option, Space to choose it, Tab to Check, Enter. (Arrow keys
do not move between radio buttons in JupyterLab: in command mode it takes them to
move between cells.)

CSS classes, for browser tests and custom styles: ``bn-quiz`` (the bank),
``bn-quiz-question`` (each question), ``bn-quiz-prompt``, ``bn-quiz-option`` (each
option widget; for a number, the text box), ``bn-quiz-check`` (the button),
``bn-quiz-feedback``, ``bn-quiz-reveal`` (classroom mode), ``bn-quiz-score``,
``bn-quiz-notice`` (messages about the progress file). A problem saving an answer is
shown in that question's feedback, never as a traceback.
"""

import html
import warnings

import ipywidgets as widgets

from bn_course.quiz import store
from bn_course.quiz.bank import AnswerError
from bn_course.quiz.grading import grade, letter, parse_answer
from bn_course.quiz.text import (answer_markdown, bank_markdown, format_number, kind_hint, markdown_to_html,
                                 plain_label)

__all__ = ["QuizView", "QuestionView"]

# Long option labels must wrap (ipywidgets gives radio and checkbox labels one fixed-height line).
# A <style> element only: CSS, no script.
_STYLE = """<style>
.bn-quiz .widget-radio-box label, .bn-quiz .widget-checkbox .widget-label-basic {
  height: auto; line-height: 1.35; white-space: normal; position: relative;
  padding: 3px 0 3px 24px; overflow: visible; }
.bn-quiz .widget-radio-box label input, .bn-quiz .widget-checkbox .widget-label-basic input {
  position: absolute; left: 2px; top: 3px; margin: 0; height: 1.35em; float: none; }
.bn-quiz .widget-checkbox { height: auto; }
.bn-quiz .bn-quiz-feedback, .bn-quiz .bn-quiz-reveal { max-width: 900px; }
</style>"""
_COLOURS = {True: "#2e7d32", False: "#c62828", None: "#ef6c00"}


class _Parts:
    """Makes the quiz's widgets, letting widgets of a kind share one layout and one style model.

    A quiz has about a hundred widgets; with a layout and a style model each, a saved
    notebook would carry some 150 KB of identical widget state per quiz.
    """

    def __init__(self):
        self._layouts, self._styles = {}, {}

    def __call__(self, kind, *args, layout=None, **kwargs):
        key = tuple(sorted((layout or {}).items()))
        if key not in self._layouts:
            self._layouts[key] = widgets.Layout(**dict(key))
        traits = kind.class_traits()
        if "style" in traits:
            style_class = traits["style"].klass
            if style_class not in self._styles:
                self._styles[style_class] = style_class()
            kwargs["style"] = self._styles[style_class]
        return kind(*args, layout=self._layouts[key], **kwargs)


def _panel(markdown, colour):
    """Feedback as an HTML block with a coloured left rule (inline style, no CSS file needed)."""
    return (f'<div style="border-left: 4px solid {colour}; padding: 2px 10px; margin: 4px 0">'
            f"{markdown_to_html(markdown)}</div>")


class QuestionView:
    """The widgets of one question.

    ``answer_widget`` is the ``RadioButtons`` (single, value = option index or None),
    the ``VBox`` of ``option_widgets`` checkboxes (multiple) or the ``Text`` box
    (numeric); ``check_button.click()`` grades what the widgets hold, saves it and
    fills ``feedback``. ``state`` is None (not checked), True or False.
    """

    def __init__(self, number, question, quiz):
        self.question, self.quiz, self.state = question, quiz, None
        spec, make = question.spec, quiz.make
        origin = f" *(from {question.origin})*" if question.origin != quiz.bank.name else ""
        self.prompt = make(widgets.HTMLMath, markdown_to_html(f"**{number}.** {spec['prompt']}{origin}\n\n*{kind_hint(spec)}*"))
        self.prompt.add_class("bn-quiz-prompt")
        if spec["kind"] == "single":
            labels = [(f"({letter(i)}) {plain_label(o['text'])}", i) for i, o in enumerate(spec["options"])]
            self.answer_widget = make(widgets.RadioButtons, options=labels, value=None, layout={"width": "auto"})
            self.option_widgets = [self.answer_widget]
        elif spec["kind"] == "multiple":
            self.option_widgets = [
                make(widgets.Checkbox, value=False, description=f"({letter(i)}) {plain_label(o['text'])}",
                     indent=False, layout={"width": "auto"})
                for i, o in enumerate(spec["options"])
            ]
            self.answer_widget = make(widgets.VBox, self.option_widgets)
        else:
            self.answer_widget = make(widgets.Text, placeholder="a number, e.g. 0.25", description="Answer:",
                                      layout={"width": "320px"})
            self.option_widgets = [self.answer_widget]
        for option in self.option_widgets:
            option.add_class("bn-quiz-option")
        self.check_button = make(widgets.Button, description="Check", tooltip="Check this answer and save it",
                                 button_style="primary")
        self.check_button.add_class("bn-quiz-check")
        self.check_button.on_click(self.check)
        self.feedback = make(widgets.HTMLMath, "")
        self.feedback.add_class("bn-quiz-feedback")
        children = [self.prompt, self.answer_widget, self.check_button, self.feedback]
        if quiz.classroom:
            self.reveal = make(widgets.HTMLMath, _panel(answer_markdown(spec), "#1565c0"))
            self.reveal.add_class("bn-quiz-reveal")
            children.append(self.reveal)
        self.box = make(widgets.VBox, children, layout={"margin": "0 0 18px 0"})
        self.box.add_class("bn-quiz-question")

    def value(self):
        """What the widgets hold now, in the form :func:`~bn_course.quiz.grading.grade` takes."""
        kind = self.question.kind
        if kind == "single":
            return self.answer_widget.value
        if kind == "multiple":
            return [i for i, box in enumerate(self.option_widgets) if box.value]
        return self.answer_widget.value

    def set_value(self, answer):
        """Put a normalized answer (index, indices or number) into the widgets."""
        kind = self.question.kind
        if kind == "single":
            self.answer_widget.value = answer
        elif kind == "multiple":
            for i, box in enumerate(self.option_widgets):
                box.value = i in answer
        else:
            self.answer_widget.value = format_number(answer)

    def check(self, _button=None):
        """Grade, save and show feedback; every problem ends up in the feedback area."""
        try:
            result = grade(self.question.spec, self.value())
        except AnswerError as error:
            self.feedback.value = _panel(f"⚠ {error}", _COLOURS[None])
            return
        except Exception as error:  # a bug must not reach the learner as a traceback
            self.feedback.value = _panel(f"⚠ Could not check this answer ({type(error).__name__}: {error}).",
                                         _COLOURS[None])
            return
        try:
            notes = self.quiz.save(self.question.key, result.answer, result.correct)
        except Exception as error:  # a bug must not hide the feedback
            notes = [f"Your answer could not be saved ({type(error).__name__}: {error})."]
        message = result.markdown() + "".join(f"\n\n⚠ {note}" for note in notes)
        self.state = result.correct
        self.feedback.value = _panel(message, _COLOURS[result.correct])
        self.quiz.update_score()

    def restore(self, record):
        """Show a saved answer again, graded against the current question."""
        try:
            answer = parse_answer(self.question.spec, record.get("answer"))
            result = grade(self.question.spec, answer)
        except AnswerError:
            return  # the question changed since; start it afresh
        self.set_value(answer)
        self.state = result.correct
        attempts = record.get("attempts", 1)
        note = f"*Your saved answer ({attempts} check{'s' if attempts != 1 else ''} so far).*"
        self.feedback.value = _panel(f"{note}\n\n{result.markdown()}", _COLOURS[result.correct])


class QuizView:
    """A whole bank as widgets: ``widget`` (the box), ``questions`` (:class:`QuestionView`),
    ``score`` (an HTML widget) and ``notice`` (messages about the progress file)."""

    def __init__(self, bank, classroom=False):
        self.bank, self.classroom = bank, classroom
        intro = (bank.intro + "\n\n" if bank.intro else "") + (
            "*Keyboard: Tab moves between options and buttons, Space chooses an option, Enter presses Check.*")
        if classroom:
            intro += "\n\n**Classroom mode:** the answers are shown under each question."
        self.make = make = _Parts()
        self.header = make(widgets.HTMLMath, f"{_STYLE}<h3>Quiz: {html.escape(bank.title)}</h3>{markdown_to_html(intro)}")
        self.notice = make(widgets.HTML, "")
        self.notice.add_class("bn-quiz-notice")
        self.questions = [QuestionView(n, q, self) for n, q in enumerate(bank.questions, 1)]
        self.score = make(widgets.HTML, "")
        self.score.add_class("bn-quiz-score")
        self.widget = make(widgets.VBox, [self.header, self.notice, *(q.box for q in self.questions), self.score])
        self.widget.add_class("bn-quiz")
        saved, notes = self._quietly(store.load)
        if notes:
            self.notice.value = _panel("\n\n".join(f"⚠ {note}" for note in notes), _COLOURS[None])
        for view in self.questions:
            record = saved.get(bank.name, {}).get(view.question.key)
            if record:
                view.restore(record)
        self.update_score()
        self._displayed_at = None

    @staticmethod
    def _quietly(action, *args):
        """Run a progress-store action; returns its result and the texts of the warnings it gave
        (file moved aside, answer not saved), which the widgets show instead of a stderr message."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", store.ProgressFileWarning)
            result = action(*args)
        notes = []
        for warning in caught:
            if issubclass(warning.category, store.ProgressFileWarning):
                notes.append(str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return result, notes

    def save(self, key, answer, correct):
        """Record one graded answer in the progress file; returns what the learner must be told about it."""
        return self._quietly(store.record, self.bank.name, key, answer, correct)[1]

    def update_score(self):
        """Recount the checked questions into ``score`` (and ``correct``, ``answered``, ``total``)."""
        answered = sum(q.state is not None for q in self.questions)
        correct = sum(q.state is True for q in self.questions)
        total = len(self.questions)
        self.score.value = (f"<b>Score: {correct} / {total} correct</b> &nbsp;·&nbsp; {answered} of {total} answered"
                            f" &nbsp;·&nbsp; saved in your progress file (<code>quiz.progress()</code>)")
        self.correct, self.answered, self.total = correct, answered, total

    def __repr__(self):
        return f"<quiz {self.bank.name}: {self.correct}/{self.total} correct, {self.answered} answered>"

    def _ipython_display_(self):
        """Display the widgets, with a Markdown and plain-text copy for viewers without widgets.

        ``quiz.show`` displays the quiz itself and returns this object; if that return
        value is also the cell's result, it is not displayed a second time.
        """
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        count = getattr(shell, "execution_count", None)
        if count is not None and count == self._displayed_at:
            return
        self._displayed_at = count
        bundle = self.widget._repr_mimebundle_()
        bundle["text/markdown"] = bank_markdown(self.bank, show_keys=True, footer=_TEXT_HINT.format(name=self.bank.name))
        bundle["text/plain"] = f"Quiz {self.bank.name} ({self.total} questions): the widgets need JupyterLab; " \
                               f"in a console use quiz.text({self.bank.name!r}) and quiz.answer(...)."
        display(bundle, raw=True)


_TEXT_HINT = ("*Widgets not showing?* Answer in a code cell: `quiz.answer(\"{name}\", \"<question id>\", answer)` "
              "with a letter such as `\"b\"`, letters such as `\"a, c\"`, or a number.")
