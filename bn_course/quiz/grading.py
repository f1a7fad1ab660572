"""Grading: pure functions from (question, answer) to a verdict with feedback.

Nothing here touches widgets or files, so every rule is tested directly.
A question is the dict written in a bank (``spec``). Answers may be given as

* ``single``: an option letter (``"b"``) or a 0-based index (``1``);
* ``multiple``: letters or indices, as a list (``["a", "c"]``, ``[0, 2]``) or a
  string (``"a, c"`` or ``"ac"``);
* ``numeric``: a number or a string holding one (``"0.25"``, ``"1e-3"``, ``"-1/3"``).
"""

import math
import numbers
import re
from dataclasses import dataclass
from fractions import Fraction

from bn_course.quiz.bank import AnswerError

__all__ = ["Grade", "letter", "parse_answer", "grade", "correct_answer"]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def letter(index):
    """The option letter for a 0-based index: 0 -> ``"a"``."""
    return _LETTERS[index]


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer.

    ``answer`` is the normalized answer (an index, a sorted tuple of indices, or a
    float); ``feedback`` says why it is wrong (or adds a remark when it is right),
    as Markdown; ``explanation`` is the question's explanation.
    """

    correct: bool
    answer: object
    feedback: str
    explanation: str

    def markdown(self):
        """Verdict, feedback and explanation as one Markdown text."""
        verdict = "✔ **Correct.**" if self.correct else "✘ **Not quite.**"
        glue = "\n\n" if self.feedback.startswith("- ") else " "
        return f"{verdict}{glue}{self.feedback}".rstrip() + f"\n\n**Explanation.** {self.explanation}"


def _option_index(value, count):
    if isinstance(value, bool):
        raise AnswerError(f"{value!r} is not an option; give a letter such as 'a'")
    if isinstance(value, numbers.Integral):
        value = int(value)
        if not 0 <= value < count:
            raise AnswerError(
                f"option index {value} is out of range: this question has options "
                f"a–{letter(count - 1)} (indices 0–{count - 1})"
            )
        return value
    if isinstance(value, str):
        text = value.strip().strip("()").lower()
        if len(text) == 1 and text in _LETTERS:
            index = _LETTERS.index(text)
            if index >= count:
                raise AnswerError(f"there is no option {text!r}: this question has options a–{letter(count - 1)}")
            return index
    raise AnswerError(f"{value!r} is not an option: give a letter a–{letter(count - 1)}")


def _parse_number(value):
    if isinstance(value, bool):
        raise AnswerError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace("−", "-").replace(" ", "")
        if not text:
            raise AnswerError("the answer box is empty: type a number, e.g. 0.25")
        try:
            number = float(Fraction(text)) if re.fullmatch(r"[-+]?\d+/\d+", text) else float(text)
        except (ValueError, ZeroDivisionError):
            raise AnswerError(f"{value.strip()!r} is not a number: type a number such as 0.25, 1e-3 or 1/4") from None
    else:
        try:
            number = float(value)  # NumPy scalars and the like
        except (TypeError, ValueError):
            raise AnswerError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise AnswerError(f"{value!r} is not a finite number")
    return number


def parse_answer(spec, value):
    """Normalize ``value`` for question ``spec``, or raise :class:`AnswerError` saying what is wrong.

    Returns an int (single), a sorted tuple of ints (multiple) or a float (numeric).
    """
    kind = spec["kind"]
    if kind == "numeric":
        if value is None:
            raise AnswerError("the answer box is empty: type a number, e.g. 0.25")
        return _parse_number(value)
    count = len(spec["options"])
    if value is None or (isinstance(value, (str, list, tuple, set, frozenset)) and not value):
        raise AnswerError("no option chosen: choose one first" if kind == "single" else
                          "no option chosen: tick every option you think is right")
    if kind == "single":
        if isinstance(value, (list, tuple, set, frozenset)):
            raise AnswerError("this question takes exactly one option, e.g. 'b'")
        return _option_index(value, count)
    if isinstance(value, str):
        tokens = [t for t in re.split(r"[\s,;]+", value.strip()) if t]
        if len(tokens) == 1 and tokens[0].isalpha():
            tokens = list(tokens[0])
        value = tokens
    if not isinstance(value, (list, tuple, set, frozenset)):
        value = [value]
    return tuple(sorted({_option_index(item, count) for item in value}))


def correct_answer(spec):
    """The right answer in normalized form: index, tuple of indices or number."""
    if spec["kind"] == "numeric":
        return float(spec["answer"])
    right = tuple(i for i, option in enumerate(spec["options"]) if option["correct"])
    return right[0] if spec["kind"] == "single" else right


def grade(spec, value):
    """Grade ``value`` against question ``spec``; returns a :class:`Grade`.

    single: right iff the chosen option is the correct one; the feedback is the
    chosen wrong option's own feedback. multiple: right iff exactly the correct
    options are ticked; the feedback covers each wrongly ticked option and names
    each missed one. numeric: right iff ``|value - answer| <= tolerance``; a wrong
    value close to a listed ``mistake`` gets that mistake's targeted feedback,
    otherwise the question's general ``feedback``.
    Raises :class:`AnswerError` for an answer the question cannot take.
    """
    answer = parse_answer(spec, value)
    explanation = spec["explanation"]
    kind = spec["kind"]
    if kind == "single":
        option = spec["options"][answer]
        feedback = option.get("feedback", "")
        return Grade(option["correct"], answer, feedback, explanation)
    if kind == "multiple":
        right = set(correct_answer(spec))
        lines = [f"- **({letter(i)})** {spec['options'][i]['feedback']}" for i in answer if i not in right]
        missed = [i for i in sorted(right) if i not in answer]
        if missed:
            names = ", ".join(f"({letter(i)})" for i in missed)
            lines.append(f"- You left out {names}: {'it is' if len(missed) == 1 else 'they are'} also right.")
        return Grade(not lines, answer, "\n".join(lines), explanation)
    target, tolerance = float(spec["answer"]), float(spec["tolerance"])
    if abs(answer - target) <= tolerance:
        return Grade(True, answer, "", explanation)
    near = [m for m in spec.get("mistakes", []) if abs(answer - m["value"]) <= tolerance]
    if near:
        closest = min(near, key=lambda m: abs(answer - m["value"]))
        return Grade(False, answer, closest["feedback"], explanation)
    return Grade(False, answer, spec["feedback"], explanation)
