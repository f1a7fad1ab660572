"""Quiz text. Banks are Markdown (paragraphs, ``**bold**``, ``*italic*``, `` `code` ``, links, ``-`` and ``1.``
lists, fenced code) with LaTeX in ``$...$``: turned into HTML for the widgets (MathJax typesets the math), into
plain Unicode for option labels, and assembled into the Markdown of a question or a bank (text fallback, export).
"""

import html
import re

from bn_course.quiz.grading import LETTERS, correct_answer, format_number

_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_MATH = re.compile(r"(\$\$.+?\$\$|\$[^$\n]+?\$)", re.S)
_HOLE = re.compile(r"\x00(\d+)\x00")
_LISTS = (("ul", re.compile(r"^\s*[-*] ")), ("ol", re.compile(r"^\s*\d+\. ")))
_INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
           (re.compile(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])"), r"<em>\1</em>"),
           (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r'<a href="\2">\1</a>')]


def markdown_to_html(text):
    """HTML of the Markdown above. Code and math are set aside first, so ``$x_i * y_i$`` stays intact."""
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
        tag, marker = next(((t, m) for t, m in _LISTS if all(m.match(line) for line in lines)), (None, None))
        if tag:
            items = "".join(f"<li>{marker.sub('', line, count=1)}</li>" for line in lines)
            blocks.append(f"<{tag}>{items}</{tag}>")
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
    if spec["kind"] == "numeric":
        shown = f"{format_number(right)} (±{format_number(spec['tolerance'])})"
    elif spec["kind"] == "single":
        shown = f"({LETTERS[right]}) {spec['options'][right]['text']}"
    else:
        shown = ", ".join(f"({LETTERS[i]})" for i in right)
    return f"**Answer:** {shown}\n\n**Explanation.** {spec['explanation']}"


def bank_markdown(bank, *, answers=False, show_keys=False, heading="##", footer=""):
    """A bank: ``heading`` and title (none if ``heading`` is empty), intro, then each question's number, prompt,
    what to give and options; ``answers`` marks the options (✔, or ✘ and why) and adds the explanations."""
    parts = [f"{heading} {bank.title}"] if heading else []
    parts += [bank.intro] if bank.intro else []
    for number, question in enumerate(bank.questions, 1):
        spec = question.spec
        key = f"`{question.key}` · " if show_keys else ""
        lines = [f"**{number}.** {key}{spec['prompt']}", "", f"*{kind_hint(spec)}*"]
        lines += [""] if "options" in spec else []
        for i, option in enumerate(spec.get("options", [])):
            mark = ("✔ " if option["correct"] else "✘ ") if answers else ""
            why = f" — {option['feedback']}" if answers and not option["correct"] else ""
            lines.append(f"- {mark}({LETTERS[i]}) {option['text']}{why}")
        if answers:
            lines += ["", answer_markdown(spec) if "options" not in spec else f"**Explanation.** {spec['explanation']}"]
        if question.key != spec["id"]:
            lines += ["", f"*(from {question.origin})*"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts + ([footer] if footer else [])) + "\n"
