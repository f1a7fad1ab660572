"""Quiz text: Markdown to HTML for the widgets, plain option labels, and the
Markdown/plain-text renderings used by the text fallback and the export.

Bank texts are Markdown with LaTeX between ``$...$`` (or ``$$...$$``). The
supported Markdown is what questions need: paragraphs, ``**bold**``, ``*italic*``,
`` `code` ``, links, ``- `` and ``1. `` lists and fenced code blocks. Math and code
are protected before any Markdown rule runs, so ``$x_i * y_i$`` stays intact.
"""

import html
import re

from bn_course.quiz.grading import correct_answer, letter

__all__ = ["markdown_to_html", "plain_label", "format_number", "kind_hint", "answer_markdown",
           "question_markdown", "bank_markdown"]

_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
_HOLE = re.compile(r"\x00(\d+)\x00")
_BULLET = re.compile(r"^\s*[-*] ")
_NUMBER = re.compile(r"^\s*\d+\. ")


def markdown_to_html(text):
    """Convert the Markdown subset above to HTML, leaving ``$...$`` for MathJax to typeset."""
    holes = []

    def hole(fragment):
        holes.append(fragment)
        return f"\x00{len(holes) - 1}\x00"

    text = _FENCE.sub(lambda m: hole(f"<pre><code>{html.escape(m[1].rstrip())}</code></pre>"), text)
    text = _CODE.sub(lambda m: hole(f"<code>{html.escape(m[1])}</code>"), text)
    text = _MATH.sub(lambda m: hole(html.escape(m[0], quote=False)), text)
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])", r"<em>\1</em>", text)
    text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', text)
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        for tag, marker in (("ul", _BULLET), ("ol", _NUMBER)):
            if all(marker.match(line) for line in lines):
                items = "".join("<li>" + marker.sub("", line, count=1) + "</li>" for line in lines)
                blocks.append(f"<{tag}>{items}</{tag}>")
                break
        else:
            blocks.append(_paragraph(block, lines, holes))
    text = "\n".join(blocks)
    while _HOLE.search(text):
        text = _HOLE.sub(lambda m: holes[int(m[1])], text)
    return text


def _paragraph(block, lines, holes):
    """A paragraph, or a fenced code block standing alone."""
    if re.fullmatch(r"\x00\d+\x00", block.strip()) and holes[int(block.strip()[1:-1])].startswith("<pre>"):
        return block.strip()
    return "<p>" + " ".join(line.strip() for line in lines) + "</p>"


_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Sigma": "Σ", "Pi": "Π", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "le": "≤", "leq": "≤",
    "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "∼", "equiv": "≡",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "mapsto": "↦", "infty": "∞",
    "partial": "∂", "nabla": "∇", "sum": "Σ", "prod": "Π", "in": "∈", "ell": "ℓ",
    "ldots": "…", "dots": "…", "cdots": "⋯", "quad": " ", "qquad": "  ", "lvert": "|",
    "rvert": "|", "lVert": "‖", "rVert": "‖", "langle": "⟨", "rangle": "⟩",
    "left": "", "right": "", "big": "", "Big": "", "displaystyle": "",
    "log": "log", "ln": "ln", "exp": "exp", "min": "min", "max": "max", "mathbb": "",
}
_LETTERS = {name: symbol for name, symbol in _SYMBOLS.items()
            if len(symbol) == 1 and (symbol.isalpha() or symbol in "∂∇ℓ") and name not in ("sum", "prod")}
_ESCAPES = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "{": "{", "}": "}", "%": "%",
            "_": "_", "$": "$", "#": "#", "&": "&", "|": "‖"}
_SUPERSCRIPTS = dict(zip("0123456789+-=()niT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀ"))
_SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307"}


def _script(body, table, mark):
    body = body.strip()
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    return f"{mark}{body}" if re.fullmatch(r"\w+|\(.*\)", body) else f"{mark}({body})"


def _wrap(body):
    """Parenthesize a fraction's numerator or denominator unless it is one term."""
    return body if re.fullmatch(r"[\w.∂]+|√?\([^()]*\)|√[\w.]+", body) else f"({body})"


def _latex_to_text(math):
    """Best-effort Unicode for a LaTeX formula (the symbols this course uses)."""
    text = math.strip("$").strip()
    # Letters first (a following space only separates the command in LaTeX), so that
    # \frac{\gamma}{2} sees a one-letter numerator.
    text = re.sub(r"\\([A-Za-z]+)(?: (?=[\w\\]))?", lambda m: _LETTERS.get(m[1], m[0]), text)
    text = re.sub(r"\^(\w)", lambda m: _script(m[1], _SUPERSCRIPTS, "^"), text)
    text = re.sub(r"_(\w)", lambda m: _script(m[1], _SUBSCRIPTS, "_"), text)
    one = r"\{([^{}]*)\}"
    rules = [
        (re.compile(r"\\frac" + one + one), lambda m: f"{_wrap(m[1])}/{_wrap(m[2])}"),
        (re.compile(r"\\sqrt" + one), lambda m: f"√{_wrap(m[1])}"),
        (re.compile(r"\\(hat|bar|tilde|vec|dot)" + one),
         lambda m: m[2] + _ACCENTS[m[1]] if len(m[2]) == 1 else f"{m[1]}({m[2]})"),
        (re.compile(r"\\(?:text|mathrm|mathbf|mathit|mathbb|mathcal|operatorname|textrm|texttt)" + one),
         lambda m: m[1]),
        (re.compile(r"\^" + one), lambda m: _script(m[1], _SUPERSCRIPTS, "^")),
        (re.compile(r"_" + one), lambda m: _script(m[1], _SUBSCRIPTS, "_")),
    ]
    changed = True
    while changed:
        changed = False
        for pattern, replace in rules:
            text, count = pattern.subn(replace, text)
            changed = changed or count > 0
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _SYMBOLS.get(m[1], m[0]), text)
    text = text.replace("Σ", " Σ").replace("Π", " Π")
    text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text)
    return text.replace("{", "").replace("}", "")


def plain_label(text):
    """One-line plain text for an option label: Markdown stripped, LaTeX turned into Unicode.

    Radio buttons and checkboxes show plain text, so ``$\\gamma = \\sqrt{\\sigma^2}$``
    becomes ``γ = √σ²``. The tests check that no bank's option keeps a backslash or ``$``.
    """
    pieces = []
    for i, part in enumerate(re.split(r"(\$\$.+?\$\$|\$[^$\n]+?\$)", text, flags=re.S)):
        if i % 2:
            pieces.append(_latex_to_text(part))
        else:
            part = _CODE.sub(r"\1", part)
            part = re.sub(r"\*\*(.+?)\*\*", r"\1", part)
            part = re.sub(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])", r"\1", part)
            pieces.append(re.sub(r"\[([^\]]+)\]\([^)\s]+\)", r"\1", part))
    return " ".join("".join(pieces).split())


def format_number(value):
    """A number as a reader would write it: ``0.25``, ``12``, ``0.001``, ``1e-05``."""
    return f"{float(value):.6g}"


def kind_hint(spec):
    """What kind of answer the question wants, in a few words."""
    if spec["kind"] == "single":
        return "Choose one."
    if spec["kind"] == "multiple":
        return "Choose all that apply."
    return f"Type a number (answers within ±{format_number(spec['tolerance'])} count)."


def answer_markdown(spec):
    """The right answer and the explanation, as Markdown (classroom mode, answer key)."""
    right = correct_answer(spec)
    if spec["kind"] == "numeric":
        shown = f"{format_number(right)} (±{format_number(spec['tolerance'])})"
    elif spec["kind"] == "single":
        shown = f"({letter(right)}) {spec['options'][right]['text']}"
    else:
        shown = ", ".join(f"({letter(i)})" for i in right)
    return f"**Answer:** {shown}\n\n**Explanation.** {spec['explanation']}"


def question_markdown(number, question, *, answers=False, show_key=False):
    """One question as Markdown: number, prompt, what to give, options; with ``answers``,
    the options are marked (✔ right, otherwise why wrong) and the explanation follows."""
    spec = question.spec
    head = f"**{number}.** "
    if show_key:
        head += f"`{question.key}` · "
    lines = [f"{head}{spec['prompt']}", "", f"*{kind_hint(spec)}*"]
    if spec["kind"] != "numeric":
        lines.append("")
        for i, option in enumerate(spec["options"]):
            line = f"- ({letter(i)}) {option['text']}"
            if answers:
                line = f"- ✔ ({letter(i)}) {option['text']}" if option["correct"] else \
                    f"- ✘ ({letter(i)}) {option['text']} — {option['feedback']}"
            lines.append(line)
    if answers and spec["kind"] == "numeric":
        lines += ["", answer_markdown(spec)]
    elif answers:  # the options are marked already
        lines += ["", f"**Explanation.** {spec['explanation']}"]
    if question.origin and question.key != spec["id"]:
        lines += ["", f"*(from {question.origin})*"]
    return "\n".join(lines)


def bank_markdown(bank, *, answers=False, show_keys=False, heading="##", footer=""):
    """A whole bank as Markdown: a heading with its title (none if ``heading`` is empty), its intro,
    then each question; ``answers`` marks the options and adds the explanations (the answer key)."""
    parts = [f"{heading} {bank.title}"] if heading else []
    if bank.intro:
        parts.append(bank.intro)
    for number, question in enumerate(bank.questions, 1):
        parts.append(question_markdown(number, question, answers=answers, show_key=show_keys))
    if footer:
        parts.append(footer)
    return "\n\n".join(parts) + "\n"
