"""Grading for every notebook's quiz cell: (question spec, answer) -> :class:`Grade`. Answers: ``single``, a letter
(``"b"``) or an index; ``multiple``, letters or indices (``"a, c"``, ``"ac"``, ``[0, 2]``); ``numeric``, a number."""

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral

from bn_course.quiz.bank import QuizError

LETTERS = "abcdefghijklmnopqrstuvwxyz"  # option letters are the JSON order


@dataclass(frozen=True)
class Grade:
    """``answer``: normalized (see :func:`parse_answer`); ``key`` and saved ``record``: set by ``quiz.answer``."""

    correct: bool
    answer: object
    feedback: str
    explanation: str
    key: str = ""
    record: dict = None

    def markdown(self):
        verdict = "✔ **Correct.**" if self.correct else "✘ **Not quite.**"
        glue = "\n\n" if self.feedback.startswith("- ") else " "
        return f"{verdict}{glue}{self.feedback}".rstrip() + f"\n\n**Explanation.** {self.explanation}"

    def _repr_markdown_(self):
        return f"`{self.key}` · {self.markdown()}" if self.key else self.markdown()

    __repr__ = _repr_markdown_


def format_number(value):
    return f"{float(value):.6g}"


def answer_text(spec, value):
    """A saved answer as the quiz shows it (``"b"``, ``"a, c"``, ``"0.25"``); None if it no longer fits the question."""
    try:
        answer = parse_answer(spec, value)
    except QuizError:
        return None
    if spec["kind"] == "numeric":
        return format_number(answer)
    return LETTERS[answer] if spec["kind"] == "single" else ", ".join(LETTERS[i] for i in answer)


def _option(value, count):
    last = f"a–{LETTERS[count - 1]}"
    if isinstance(value, Integral) and not isinstance(value, bool):
        if not 0 <= value < count:
            raise QuizError(f"option index {value} is out of range: this question has options {last} "
                            f"(indices 0–{count - 1})")
        return int(value)
    text = value.strip().strip("()").lower() if isinstance(value, str) else None
    if text and len(text) == 1 and text in LETTERS:
        if LETTERS.index(text) >= count:
            raise QuizError(f"there is no option {text!r}: this question has options {last}")
        return LETTERS.index(text)
    raise QuizError(f"{value!r} is not an option: give a letter {last}")


def _number(value):
    """A string is parsed (``"1/4"``, ``"−0.5"``); anything else but a bool goes through float() (a scalar tensor)."""
    shown = value.strip() if isinstance(value, str) else value
    if shown is None or (isinstance(shown, str) and not shown):
        raise QuizError("the answer box is empty: type a number, e.g. 0.25")
    text = shown.replace("−", "-").replace(" ", "") if isinstance(shown, str) else shown
    try:
        number = float(Fraction(text)) if isinstance(text, str) and "/" in text else float(text)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        number = None
    if number is None or isinstance(shown, bool):
        raise QuizError(f"{shown!r} is not a number: type a number such as 0.25, 1e-3 or 1/4")
    if not math.isfinite(number):
        raise QuizError(f"{shown!r} is not a finite number")
    return number


def parse_answer(spec, value):
    """An int (single), a sorted tuple of ints (multiple) or a float (numeric); else a :class:`QuizError`."""
    if spec["kind"] == "numeric":
        return _number(value)
    collection = isinstance(value, (list, tuple, set, frozenset))
    if value is None or ((collection or isinstance(value, str)) and not value):
        raise QuizError("no option chosen: choose one first" if spec["kind"] == "single" else
                        "no option chosen: tick every option you think is right")
    count = len(spec["options"])
    if spec["kind"] == "single":
        if collection:
            raise QuizError("this question takes exactly one option, e.g. 'b'")
        return _option(value, count)
    if isinstance(value, str):
        tokens = re.findall(r"[^\s,;]+", value)
        value = list(tokens[0]) if len(tokens) == 1 and tokens[0].isalpha() else tokens
    elif not collection:
        value = [value]
    return tuple(sorted({_option(item, count) for item in value}))


def correct_answer(spec):
    if spec["kind"] == "numeric":
        return float(spec["answer"])
    right = tuple(i for i, option in enumerate(spec["options"]) if option["correct"])
    return right[0] if spec["kind"] == "single" else right


def grade(spec, value):
    """multiple: feedback per wrong option ticked, missed ones named; numeric: within ``tolerance`` is right,
    a wrong value gets the feedback of the nearest ``mistake`` within tolerance, else ``feedback``."""
    answer, explanation = parse_answer(spec, value), spec["explanation"]
    if spec["kind"] == "single":
        option = spec["options"][answer]
        return Grade(option["correct"], answer, option.get("feedback", ""), explanation)
    if spec["kind"] == "multiple":
        right = correct_answer(spec)
        lines = [f"- **({LETTERS[i]})** {spec['options'][i]['feedback']}" for i in answer if i not in right]
        missed = [f"({LETTERS[i]})" for i in right if i not in answer]
        if missed:
            also = "it is" if len(missed) == 1 else "they are"
            lines.append(f"- You left out {', '.join(missed)}: {also} also right.")
        return Grade(not lines, answer, "\n".join(lines), explanation)
    if abs(answer - spec["answer"]) <= spec["tolerance"]:
        return Grade(True, answer, "", explanation)
    near = [m for m in spec.get("mistakes", []) if abs(answer - m["value"]) <= spec["tolerance"]]
    feedback = min(near, key=lambda m: abs(answer - m["value"]))["feedback"] if near else spec["feedback"]
    return Grade(False, answer, feedback, explanation)
