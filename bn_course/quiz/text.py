"""Quiz text: bank Markdown (with LaTeX in ``$...$``) as HTML for the widgets, as Unicode for option labels, and
the Markdown of a question or a bank (text fallback, export, widget bundle)."""

import html
import re

from bn_course.quiz.grading import LETTERS, correct_answer, format_number

_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_MATH = re.compile(r"(\$\$.+?\$\$|\$[^$\n]+?\$)", re.S)
_HOLE = re.compile(r"\x00(\d+)\x00")
_ITEM = re.compile(r"^\s*[-*] ")
_INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
           (re.compile(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])"), r"<em>\1</em>")]


def markdown_to_html(text):
    """HTML of paragraphs, bold, italic, code, ``-`` lists and fenced code; code and math are set aside first."""
    holes = []

    def hole(fragment):
        holes.append(fragment)
        return f"\x00{len(holes) - 1}\x00"

    text = _FENCE.sub(lambda m: hole(f"<pre><code>{html.escape(m[1].rstrip())}</code></pre>"), text)
    text = _CODE.sub(lambda m: hole(f"<code>{html.escape(m[1])}</code>"), text)
    text = html.escape(_MATH.sub(lambda m: hole(html.escape(m[0], quote=False)), text), quote=False)
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if all(_ITEM.match(line) for line in lines):
            blocks.append("<ul>" + "".join(f"<li>{_ITEM.sub('', line, count=1)}</li>" for line in lines) + "</ul>")
        elif _HOLE.fullmatch(block.strip()) and holes[int(block.strip()[1:-1])].startswith("<pre>"):
            blocks.append(block.strip())  # a fenced code block standing alone
        else:
            blocks.append("<p>" + " ".join(line.strip() for line in lines) + "</p>")
    text = "\n".join(blocks)
    while _HOLE.search(text):
        text = _HOLE.sub(lambda m: holes[int(m[1])], text)
    return text


_LETTER_SYMBOLS = dict(zip(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta kappa lambda mu nu xi pi rho sigma tau phi varphi "
    "chi psi omega Gamma Delta Theta Lambda Sigma Pi Phi Psi Omega partial nabla ell".split(),
    "αβγδεεζηθκλμνξπρστφφχψωΓΔΘΛΣΠΦΨΩ∂∇ℓ"))
_SYMBOLS = {**_LETTER_SYMBOLS, **dict(zip(
    "cdot times div pm mp le leq ge geq ne neq approx sim equiv to rightarrow leftarrow mapsto infty sum prod in "
    "ldots dots cdots lvert rvert lVert rVert langle rangle quad".split(), "·×÷±∓≤≤≥≥≠≠≈∼≡→→←↦∞ΣΠ∈……⋯||‖‖⟨⟩ ")),
    "qquad": "  ", **dict.fromkeys("left right big Big displaystyle mathbb".split(), ""),
    **{name: name for name in "log ln exp min max".split()}}
_ESCAPES = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "|": "‖", **{c: c for c in "{}%_$#&"}}
_SUPERSCRIPTS = dict(zip("0123456789+-=()niT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀ"))
_SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307"}


def _script(mark, body):
    """``^{body}`` or ``_{body}``: Unicode super- or subscripts if every character has one."""
    table, body = _SUPERSCRIPTS if mark == "^" else _SUBSCRIPTS, body.strip()
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    return f"{mark}{body}" if re.fullmatch(r"\w+|\(.*\)", body) else f"{mark}({body})"


def _wrap(body):
    """A fraction's numerator or denominator, parenthesized unless it is one term."""
    return body if re.fullmatch(r"[\w.∂]+|√?\([^()]*\)|√[\w.]+", body) else f"({body})"


_ARG = r"\{([^{}]*)\}"
_RULES = [  # applied until none matches: innermost braces first
    (re.compile(r"\\frac" + _ARG + _ARG), lambda m: f"{_wrap(m[1])}/{_wrap(m[2])}"),
    (re.compile(r"\\sqrt" + _ARG), lambda m: f"√{_wrap(m[1])}"),
    (re.compile(r"\\(hat|bar|tilde|vec|dot)" + _ARG),
     lambda m: m[2] + _ACCENTS[m[1]] if len(m[2]) == 1 else f"{m[1]}({m[2]})"),
    (re.compile(r"\\(?:text|mathrm|mathbf|mathit|mathbb|mathcal|operatorname|textrm|texttt)" + _ARG),
     lambda m: m[1]),
    (re.compile(r"([\^_])" + _ARG), lambda m: _script(m[1], m[2])),
]


def _latex_to_text(math):
    """Best-effort Unicode for a formula: ``\\gamma = \\sqrt{\\sigma_B^2}`` -> ``γ = √σ_B²``."""
    # Letters first (a space after one only ends the command), so \frac{\gamma}{2} has a one-letter numerator.
    text = math.strip("$").strip()
    text = re.sub(r"\\([A-Za-z]+)(?: (?=[\w\\]))?", lambda m: _LETTER_SYMBOLS.get(m[1], m[0]), text)
    text = re.sub(r"([\^_])(\w)", lambda m: _script(m[1], m[2]), text)
    while any(pattern.search(text) for pattern, _ in _RULES):
        for pattern, replace in _RULES:
            text = pattern.sub(replace, text)
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _SYMBOLS.get(m[1], m[0]), text).replace("Σ", " Σ").replace("Π", " Π")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text).replace("{", "").replace("}", "")


def plain_label(text):
    """One line of plain text for a radio button or checkbox label: Markdown stripped, LaTeX in Unicode."""
    parts = _MATH.split(text)
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = _latex_to_text(part)
        else:
            for pattern in (_CODE, *(pattern for pattern, _ in _INLINE)):
                part = pattern.sub(r"\1", part)
            parts[i] = part
    return " ".join("".join(parts).split())


def plural(count, word):
    return f"{count} {word}{'s' if count != 1 else ''}"


def markdown_table(head, align, rows):
    """Lines of a Markdown table; ``align`` is ``"l"`` or ``"r"`` per column."""
    return ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
            *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def kind_hint(spec):
    if spec["kind"] == "numeric":
        return f"Type a number (answers within ±{format_number(spec['tolerance'])} count)."
    return "Choose one." if spec["kind"] == "single" else "Choose all that apply."


def answer_markdown(spec):
    """The right answer and the explanation (classroom mode, answer key)."""
    right = correct_answer(spec)
    shown = {"numeric": lambda: f"{format_number(right)} (±{format_number(spec['tolerance'])})",
             "single": lambda: f"({LETTERS[right]}) {spec['options'][right]['text']}",
             "multiple": lambda: ", ".join(f"({LETTERS[i]})" for i in right)}[spec["kind"]]()
    return f"**Answer:** {shown}\n\n**Explanation.** {spec['explanation']}"


def answer_hint(name):
    """How to answer bank ``name`` without widgets."""
    return (f"Answer in a code cell with `quiz.answer({name!r}, \"<question id>\", answer)`: a letter such as `\"b\"` "
            "(choose one), letters such as `\"a, c\"` (choose all that apply), or a number.")


def question_markdown(number, question, *, answers=False, show_keys=False, options=True):
    """Number, prompt, what to give and (``options``) the options; ``answers`` marks them (✔, or ✘ and why)."""
    spec = question.spec
    key = f"`{question.key}` · " if show_keys else ""
    origin = f" *(from {question.origin})*" if question.key != spec["id"] else ""
    lines = [f"**{number}.** {key}{spec['prompt']}{origin}", "", f"*{kind_hint(spec)}*"]
    if options and "options" in spec:
        lines.append("")
        for i, option in enumerate(spec["options"]):
            mark = ("✔ " if option["correct"] else "✘ ") if answers else ""
            why = f" — {option['feedback']}" if answers and not option["correct"] else ""
            lines.append(f"- {mark}({LETTERS[i]}) {option['text']}{why}")
    if answers:
        lines += ["", answer_markdown(spec) if "options" not in spec else f"**Explanation.** {spec['explanation']}"]
    return "\n".join(lines)


def bank_markdown(bank, *, answers=False, show_keys=False, heading="##", footer=""):
    """``heading`` and title (none if ``heading`` is empty), intro, every question, ``footer``."""
    parts = [f"{heading} {bank.title}"] if heading else []
    parts += [bank.intro] if bank.intro else []
    parts += [question_markdown(n, q, answers=answers, show_keys=show_keys) for n, q in enumerate(bank.questions, 1)]
    return "\n\n".join(parts + ([footer] if footer else [])) + "\n"
