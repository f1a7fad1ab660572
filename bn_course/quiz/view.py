"""The quiz as ipywidgets, shown by every notebook's quiz cell. CSS classes (browser tests rely on them): ``bn-quiz``,
``bn-quiz-question``, ``bn-quiz-prompt``, ``bn-quiz-option``, ``bn-quiz-check``, ``bn-quiz-feedback``,
``bn-quiz-reveal`` (classroom mode), ``bn-quiz-score``, ``bn-quiz-notice`` (about the progress file)."""

import html
import warnings

import IPython.display
import ipywidgets as widgets
import mistune

from bn_course.quiz import store
from bn_course.quiz.bank import QuizError
from bn_course.quiz.grading import LETTERS, format_number, grade
from bn_course.quiz.text import answer_markdown, bank_markdown, plain_label, plural, question_markdown

# Long option labels must wrap (ipywidgets gives radio and checkbox labels one fixed-height line).
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
_SHARED = {}  # (model class, its traits) -> the one model of that value, see _shared
_MARKDOWN = mistune.create_markdown(escape=True, plugins=["math"])
# Math stays as written (HTML-escaped) for MathJax to typeset.
_MARKDOWN.renderer.register("inline_math", lambda _, math: f"${html.escape(math, quote=False)}$")
_MARKDOWN.renderer.register("block_math", lambda _, math: f"$${html.escape(math, quote=False)}$$")


def markdown_to_html(text):
    return _MARKDOWN(text).strip()


def _quietly(action, *args):
    """``action(*args)`` and its warnings as "⚠ ..." lines (shown in the widgets, not on stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", store.ProgressFileWarning)
        return action(*args), [f"⚠ {w.message}" for w in caught]


def _panel(markdown, colour):
    """Markdown as HTML with a coloured rule on the left."""
    return (f'<div style="border-left: 4px solid {colour}; padding: 2px 10px; margin: 4px 0">'
            f"{markdown_to_html(markdown)}</div>")


def _shared(model, items=()):
    """One Layout or style model per value for every quiz widget (~150 KB less per saved quiz); remade once closed."""
    if (model, items) not in _SHARED or _SHARED[model, items].comm is None:
        _SHARED[model, items] = model(**dict(items))
    return _SHARED[model, items]


def _widget(kind, *args, css=None, layout=None, **kwargs):
    if style := kind.class_traits().get("style"):
        kwargs["style"] = _shared(style.klass)
    widget = kind(*args, layout=_shared(widgets.Layout, tuple(sorted((layout or {}).items()))), **kwargs)
    if css:
        widget.add_class(css)
    return widget


class QuestionView:
    """One question's widgets; ``state``: None (not checked), True or False."""

    def __init__(self, number, question, quiz):
        self.question, self.quiz, self.state = question, quiz, None
        labels = [f"({LETTERS[i]}) {plain_label(option['text'])}"
                  for i, option in enumerate(question.spec.get("options", []))]
        option_style = {"layout": {"width": "auto"}, "css": "bn-quiz-option"}
        if question.kind == "multiple":
            self.answer_widget = _widget(widgets.VBox, [_widget(widgets.Checkbox, value=False, description=label,
                                                                indent=False, **option_style) for label in labels])
        elif question.kind == "single":
            self.answer_widget = _widget(widgets.RadioButtons, options=[(label, i) for i, label in enumerate(labels)],
                                         value=None, **option_style)
        else:
            self.answer_widget = _widget(widgets.Text, placeholder="a number, e.g. 0.25", description="Answer:",
                                         layout={"width": "320px"}, css="bn-quiz-option")
        self.option_widgets = self.answer_widget.children if question.kind == "multiple" else (self.answer_widget,)
        self.check_button = _widget(widgets.Button, description="Check", tooltip="Check this answer and save it",
                                    button_style="primary", css="bn-quiz-check")
        self.check_button.on_click(self.check)
        self.feedback = _widget(widgets.HTMLMath, "", css="bn-quiz-feedback")
        children = [_widget(widgets.HTMLMath, markdown_to_html(question_markdown(number, question, options=False)),
                            css="bn-quiz-prompt"), self.answer_widget, self.check_button, self.feedback]
        if quiz.classroom:
            self.reveal = _widget(widgets.HTMLMath, _panel(answer_markdown(question.spec), "#1565c0"),
                                  css="bn-quiz-reveal")
            children.append(self.reveal)
        self.box = _widget(widgets.VBox, children, layout={"margin": "0 0 18px 0"}, css="bn-quiz-question")

    def check(self, _button=None):
        """Grade, save and show the feedback; every problem ends up there, never as a traceback."""
        multiple = self.question.kind == "multiple"
        value = [i for i, box in enumerate(self.option_widgets) if box.value] if multiple else self.answer_widget.value
        try:
            result = grade(self.question.spec, value)
        except Exception as error:  # a bug too: JupyterLab does not show the widget log
            message = str(error)
            if not isinstance(error, QuizError):
                message = f"Could not check this answer ({type(error).__name__}: {error})."
            self.feedback.value = _panel(f"⚠ {message}", _COLOURS[None])
            return
        try:
            notes = _quietly(store.record, self.quiz.bank.name, self.question.key, result.answer, result.correct)[1]
        except Exception as error:  # a bug must not hide the feedback
            notes = [f"⚠ Your answer could not be saved ({type(error).__name__}: {error})."]
        self.show(result, after="".join(f"\n\n{note}" for note in notes))
        self.quiz.update_score()

    def show(self, result, before="", after=""):
        self.state = result.correct
        self.feedback.value = _panel(before + result.markdown() + after, _COLOURS[result.correct])

    def restore(self, record):
        """Show a saved answer again, graded against the question as it is now."""
        try:
            result = grade(self.question.spec, record.get("answer"))
        except QuizError:
            return  # the question changed since: start afresh
        if self.question.kind == "multiple":
            for i, box in enumerate(self.option_widgets):
                box.value = i in result.answer
        else:
            self.answer_widget.value = result.answer if self.question.kind == "single" else format_number(result.answer)
        self.show(result, before=f"*Your saved answer ({plural(record.get('attempts', 1), 'check')} so far).*\n\n")


class QuizView:

    def __init__(self, bank, classroom=False):
        self.bank, self.classroom, self._displayed_at = bank, classroom, None
        keys = "*Keyboard: Tab moves between options and buttons, Space chooses an option, Enter presses Check.*"
        reveal = "**Classroom mode:** the answers are shown under each question." if classroom else ""
        intro = "\n\n".join(filter(None, [f"### Quiz: {bank.title}", bank.intro, keys, reveal]))
        self.header = _widget(widgets.HTMLMath, _STYLE + markdown_to_html(intro))
        saved, notes = _quietly(store.load)
        self.notice = _widget(widgets.HTML, _panel("\n\n".join(notes), _COLOURS[None]) if notes else "",
                              css="bn-quiz-notice")
        self.questions = [QuestionView(n, q, self) for n, q in enumerate(bank.questions, 1)]
        self.score = _widget(widgets.HTML, "", css="bn-quiz-score")
        self.widget = _widget(widgets.VBox, [self.header, self.notice, *(q.box for q in self.questions), self.score],
                              css="bn-quiz")
        for view in self.questions:
            if record := saved.get(bank.name, {}).get(view.question.key):
                view.restore(record)
        self.update_score()

    def update_score(self):
        self.answered = sum(q.state is not None for q in self.questions)
        self.correct = sum(q.state is True for q in self.questions)
        self.total = len(self.questions)
        self.score.value = (f"<b>Score: {self.correct} / {self.total} correct</b> &nbsp;·&nbsp; {self.answered} of "
                            f"{self.total} answered &nbsp;·&nbsp; saved in your progress file "
                            "(<code>quiz.progress()</code>)")

    def __repr__(self):
        return f"<quiz {self.bank.name}: {self.correct}/{self.total} correct, {self.answered} answered>"

    def _ipython_display_(self):
        """The widgets, plus Markdown and plain text for viewers without widgets; once per cell."""
        count = getattr(IPython.get_ipython(), "execution_count", None)
        if count is not None and count == self._displayed_at:
            return
        self._displayed_at = count
        bundle = self.widget._repr_mimebundle_()
        bundle["text/markdown"] = bank_markdown(self.bank, show_keys=True)
        bundle["text/plain"] = (f"Quiz {self.bank.name} ({self.total} questions): the widgets need JupyterLab; "
                                f"in a console use quiz.text({self.bank.name!r}) and quiz.answer(...).")
        IPython.display.display(bundle, raw=True)
