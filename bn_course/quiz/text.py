"""Quiz text for every notebook's quiz cell and the instructors' export: option labels, and the Markdown of a
question or a bank (text fallback, export, the widgets' Markdown copy)."""

import re

from bn_course.quiz.grading import LETTERS, correct_answer, format_number

_HOW = {"single": "Choose one.", "multiple": "Choose all that apply.",  # .6g: as format_number
        "numeric": "Type a number (answers within ±{tolerance:.6g} count)."}


def plain_label(text):
    """One line of plain text for a radio button or checkbox label: Markdown `code`, **bold**, *italic* stripped."""
    for pattern in (r"`([^`\n]+)`", r"\*\*(.+?)\*\*", r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])"):
        text = re.sub(pattern, r"\1", text)
    return " ".join(text.split())


def plural(count, word):
    return f"{count} {word}{'s' if count != 1 else ''}"


def markdown_table(head, align, rows):
    """Lines of a Markdown table; ``align`` is ``"l"`` or ``"r"`` per column."""
    return ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
            *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def answer_markdown(spec):
    """The right answer and the explanation (classroom mode, answer key)."""
    right = correct_answer(spec)
    if spec["kind"] == "numeric":
        shown = f"{format_number(right)} (±{format_number(spec['tolerance'])})"
    elif spec["kind"] == "single":
        shown = f"({LETTERS[right]}) {spec['options'][right]['text']}"
    else:
        shown = ", ".join(f"({LETTERS[i]})" for i in right)
    return f"**Answer:** {shown}\n\n**Explanation.** {spec['explanation']}"


def question_markdown(number, question, *, answers=False, show_keys=False, options=True):
    """Number, prompt, what to give and (``options``) the options; ``answers`` marks them (✔, or ✘ and why)."""
    spec = question.spec
    key = f"`{question.key}` · " if show_keys else ""
    origin = f" *(from {question.origin})*" if question.key != spec["id"] else ""
    lines = [f"**{number}.** {key}{spec['prompt']}{origin}", "", f"*{_HOW[spec['kind']].format_map(spec)}*"]
    if options and "options" in spec:
        lines.append("")
        for i, option in enumerate(spec["options"]):
            mark = ("✔ " if option["correct"] else "✘ ") if answers else ""
            why = f" — {option['feedback']}" if answers and not option["correct"] else ""
            lines.append(f"- {mark}({LETTERS[i]}) {option['text']}{why}")
    if answers:
        lines += ["", answer_markdown(spec) if "options" not in spec else f"**Explanation.** {spec['explanation']}"]
    return "\n".join(lines)


def bank_markdown(bank, *, answers=False, show_keys=False, heading="##"):
    """``heading`` and title (none if ``heading`` is empty), intro, every question; with ``show_keys``, how to answer
    them with ``quiz.answer``."""
    questions = [question_markdown(n, q, answers=answers, show_keys=show_keys) for n, q in enumerate(bank.questions, 1)]
    parts = [f"{heading} {bank.title}" if heading else "", bank.intro, *questions]
    if show_keys:
        parts.append(f"Answer in a code cell with `quiz.answer({bank.name!r}, \"<question id>\", answer)`: a letter "
                     "such as `\"b\"` (choose one), letters such as `\"a, c\"` (choose all that apply), or a number.")
    return "\n\n".join(filter(None, parts)) + "\n"  # no heading or intro: no empty paragraph
