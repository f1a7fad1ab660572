"""Quiz keys that cannot be guessed: position, length and size of the keys across every bank.

COURSE_DESIGN.md, "Quizzes": keys spread over the positions, the right option neither habitually the
longest nor habitually the shortest, distractors written as carefully as the key. Letters are fixed by the JSON
order, so the widget, `quiz.text`, `quiz.answer` and the exported sheet all show the same ones. Option texts are
plain-text labels, so their math is Unicode.
"""

import re
from collections import Counter

import pytest

from bn_course import quiz
from bn_course.quiz.text import plain_label

BANKS = quiz.bank_names()
INTERNAL_NAMES = re.compile(r"\bseeds?\s+0\d\d\b|\bthe seeds'", re.I)
LATEX = re.compile(r"\$|\\[A-Za-z,;:!{}]")  # a dollar sign or a backslash command


def _own_questions(name):
    """The questions a bank defines itself (not references into other banks)."""
    return [q for q in quiz.load_bank(name).questions if q.origin == name]


def _all(kind):
    return [q for name in BANKS for q in _own_questions(name) if q.kind == kind]


def _correct_positions(question):
    return [i for i, option in enumerate(question.spec["options"]) if option.get("correct")]


def _length(option):
    return len(plain_label(option["text"]))


def test_no_letter_holds_more_than_35_percent_of_single_choice_keys():
    keys = Counter(_correct_positions(q)[0] for q in _all("single"))
    total = sum(keys.values())
    for position, count in keys.items():
        assert count <= 0.35 * total, f"({'abcdefgh'[position]}) is the key in {count} of {total} questions"


@pytest.mark.parametrize("name", BANKS)
def test_each_bank_spreads_its_keys(name):
    singles = [q for q in _own_questions(name) if q.kind == "single"]
    if len(singles) >= 3:
        positions = {_correct_positions(q)[0] for q in singles}
        assert len(positions) >= 3, f"{name}: single-choice keys only at {sorted('abcdefgh'[p] for p in positions)}"


def _keys_that_are(extreme):
    """Ids of the single-choice questions whose key is the ``max`` or ``min`` option by label length (ties count),
    and how many single-choice questions there are."""
    singles = _all("single")
    lengths = {q.key: [_length(option) for option in q.spec["options"]] for q in singles}
    return [q.key for q in singles if lengths[q.key][_correct_positions(q)[0]] == extreme(lengths[q.key])], len(singles)


def test_the_key_is_rarely_the_longest_option():
    longest, total = _keys_that_are(max)
    assert len(longest) <= total / 3, f"the key is the longest option in {len(longest)} of {total}: {longest}"


def test_the_key_is_sometimes_the_longest_option():
    """Keys that are never the longest are a tell in reverse: a learner picks the shortest-but-not-tiny."""
    longest, total = _keys_that_are(max)
    assert len(longest) >= total / 10, (
        f"the key is the longest option in only {len(longest)} of {total} ({longest}): lengthen some keys with a "
        "qualifier that matters, or tighten a distractor")


def test_the_key_is_rarely_the_shortest_option():
    shortest, total = _keys_that_are(min)
    assert len(shortest) <= total / 3, f"the key is the shortest option in {len(shortest)} of {total}: {shortest}"


def test_option_texts_are_plain_unicode():
    """Radio-button and checkbox labels are plain text: LaTeX in an option would show as raw ``$\\gamma$``."""
    latex = [f"{q.key} ({'abcdefgh'[i]})" for name in BANKS for q in _own_questions(name)
             for i, option in enumerate(q.spec.get("options", [])) if LATEX.search(option["text"])]
    assert not latex, (
        f"LaTeX in option texts: {latex}. Options are shown as plain-text widget labels, where MathJax does not "
        "run: write their math in Unicode (γ, σ_B², √(σ² + ε), ∂L/∂x, 10⁻³). Prompts, explanations and feedback "
        "keep $...$.")


def test_single_choice_questions_offer_four_or_more_options():
    short = [q.key for q in _all("single") if len(q.spec["options"]) < 4]
    assert not short, f"fewer than four options (a throwaway is likely): {short}"


def test_all_that_apply_keys_vary_in_size_and_position():
    multiples = _all("multiple")
    sizes = Counter(len(_correct_positions(q)) for q in multiples)
    first = Counter(_correct_positions(q)[0] for q in multiples)
    assert 1 in sizes, "no 'all that apply' question has exactly one right option"
    assert any(len(_correct_positions(q)) == len(q.spec["options"]) - 1 for q in multiples), (
        "no 'all that apply' question has all options but one right")
    assert len(first) >= 2, "every 'all that apply' key starts at the same option"


@pytest.mark.parametrize("name", BANKS)
def test_no_internal_source_names(name):
    for question in _own_questions(name):
        found = INTERNAL_NAMES.search(str(question.spec))
        assert not found, f"{question.key} says {found.group(0)!r}"
