"""Quiz banks: finding, loading, validating and resolving references.

A bank is ``quizzes/<notebook>.json``, valid against ``quizzes/schema.json``.
Each entry of its ``questions`` list is either a question (kinds ``single``,
``multiple``, ``numeric``) or a reference ``{"ref": "<bank>/<question-id>"}`` to a
question of another bank (the review notebook reuses earlier questions that way).
:func:`load_bank` returns the bank with references replaced by the questions
they name; progress for a referenced question is kept under the bank that
references it, keyed by the reference text, so it can never clash with a local id.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bn_course.paths import course_path

__all__ = [
    "QuizError", "UnknownBankError", "UnknownQuestionError", "AnswerError", "BankError",
    "Question", "Bank", "quiz_dir", "bank_names", "load_bank",
]


class QuizError(ValueError):
    """A problem with a quiz call, explained in one line.

    In Jupyter the message is shown without a traceback (``_render_traceback_``),
    so a learner who mistypes a bank name or an answer sees only what to fix.
    """

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


class UnknownBankError(QuizError):
    """No bank with that name in the quizzes folder."""


class UnknownQuestionError(QuizError):
    """No question with that id in the bank."""


class AnswerError(QuizError):
    """An answer the question cannot take (not a number, an option that does not exist, ...)."""


class BankError(QuizError):
    """A bank file that is not valid JSON, breaks the schema, or has a dangling reference."""


@dataclass(frozen=True)
class Question:
    """One question as shown in a bank.

    ``key`` identifies it in that bank's progress (its id, or ``"<bank>/<id>"`` for a
    reference); ``origin`` is the bank whose file holds its text; ``spec`` is the
    question exactly as written there (``kind``, ``prompt``, ``options`` or
    ``answer``/``tolerance``, ``feedback``, ``explanation``, ...).
    """

    key: str
    origin: str
    spec: dict

    @property
    def kind(self):
        return self.spec["kind"]


@dataclass(frozen=True)
class Bank:
    """A validated bank: ``name`` (the notebook stem), ``title``, optional ``intro`` and its questions."""

    name: str
    title: str
    intro: str
    questions: tuple

    def question(self, key):
        """The question with this key (its id, or ``"<bank>/<id>"`` for a reference)."""
        for question in self.questions:
            if question.key == key:
                return question
        keys = ", ".join(q.key for q in self.questions)
        raise UnknownQuestionError(f"bank {self.name!r} has no question {key!r}; its questions are: {keys}")


def quiz_dir():
    """The folder holding the banks: ``$BN_COURSE_QUIZZES`` if set, else the course folder's ``quizzes/``
    (:func:`bn_course.paths.course_path`: a FileNotFoundError saying how to fix it if there is none)."""
    configured = os.environ.get("BN_COURSE_QUIZZES")
    return Path(configured) if configured else course_path("quizzes")


def bank_names():
    """Names of every bank in :func:`quiz_dir`, in notebook order."""
    return sorted(p.stem for p in quiz_dir().glob("*.json") if p.name != "schema.json")


_cache = {}


def _read(name):
    """The raw JSON of bank ``name`` after schema validation (cached while the file is unchanged)."""
    if not isinstance(name, str) or not name or name == "schema" or "/" in name or "\\" in name:
        raise UnknownBankError(f"{name!r} is not a bank name; banks are: {', '.join(bank_names())}")
    path = quiz_dir() / f"{name}.json"
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except FileNotFoundError:
        raise UnknownBankError(
            f"no quiz bank named {name!r} in {quiz_dir()}; banks are: {', '.join(bank_names()) or 'none'}"
        ) from None
    cached = _cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BankError(f"{path.name} is not valid JSON: {error}") from None
    _validate_schema(data, path.name)
    if data["notebook"] != name:
        raise BankError(f"{path.name} says \"notebook\": {data['notebook']!r}; it must match its file name {name!r}")
    _cache[path] = (stamp, data)
    return data


def _import_jsonschema():
    """Import jsonschema without its optional ``rfc3987_syntax`` (about 4 s to import).

    jsonschema only uses that package to check the "iri" string format, which
    the bank schema does not use; hiding it while jsonschema is first imported
    keeps a quiz cell fast. Later imports of ``rfc3987_syntax`` work as usual.
    """
    import sys

    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import jsonschema

        return jsonschema
    sys.modules["rfc3987_syntax"] = None  # makes `import rfc3987_syntax` raise ImportError
    try:
        import jsonschema
    finally:
        del sys.modules["rfc3987_syntax"]
    return jsonschema


def _validate_schema(data, filename):
    """Raise :class:`BankError` naming the first schema violation and where it is.

    A plain "is not valid under any of the given schemas" helps nobody, so a
    failing question is re-checked against the branch of its own kind, and a
    failing option against the right- or wrong-option rules it claims to follow.
    """
    jsonschema = _import_jsonschema()
    schema = json.loads((quiz_dir() / "schema.json").read_text(encoding="utf-8"))
    defs = schema["$defs"]

    def first_error(instance, sub_schema):
        validator = jsonschema.Draft202012Validator({**sub_schema, "$defs": defs})
        return jsonschema.exceptions.best_match(validator.iter_errors(instance))

    error = first_error(data, schema)
    if error is None:
        return
    path = list(error.absolute_path)
    item = None
    if len(path) >= 2 and path[0] == "questions":
        item = data["questions"][path[1]]
        kinds = {"single": 0, "multiple": 1, "numeric": 2}
        if isinstance(item, dict) and "ref" not in item:
            if item.get("kind") not in kinds:
                label = item.get("id")
                raise BankError(f"{filename}: questions[{path[1]}]{f' (question {label!r})' if label else ''}: "
                                f"kind must be one of single, multiple, numeric (or use a \"ref\"), got {item.get('kind')!r}")
            sub = first_error(item, defs["common"]) or first_error(item, defs["question"]["oneOf"][kinds[item["kind"]]])
            if sub is not None:
                error, path = sub, ["questions", path[1], *sub.absolute_path]
            if len(path) >= 4 and path[2] == "options" and isinstance(path[3], int) \
                    and isinstance(item["options"][path[3]], dict):
                option = item["options"][path[3]]
                rules = defs["right_option" if option.get("correct") is True else "wrong_option"]
                deeper = first_error(option, rules)
                if deeper is not None:
                    error, path = deeper, path[:4] + list(deeper.absolute_path)
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top level)"
    label = item.get("id") or item.get("ref") if isinstance(item, dict) else None
    raise BankError(f"{filename}: {where}{f' (question {label!r})' if label else ''}: {error.message}")


def load_bank(name):
    """Load, validate and resolve bank ``name``; returns a :class:`Bank`.

    Raises :class:`UnknownBankError` if there is no such file, :class:`BankError`
    if it breaks the schema or the rules the schema cannot express (unique ids,
    references that resolve to a question of another bank).
    """
    data = _read(name)
    problems = _local_problems(data)
    questions = []
    for item in data["questions"]:
        if "ref" in item:
            questions.append(_resolve(name, item["ref"], problems))
        else:
            questions.append(Question(key=item["id"], origin=name, spec=item))
    if problems:
        raise BankError(f"{name}.json: " + "; ".join(problems))
    return Bank(name=name, title=data["title"], intro=data.get("intro", ""), questions=tuple(questions))


def _resolve(name, ref, problems):
    target_bank, _, target_id = ref.partition("/")
    if target_bank == name:
        problems.append(f"reference {ref!r} points into its own bank; write the question there instead")
        return None
    try:
        target = _read(target_bank)
    except UnknownBankError:
        problems.append(f"reference {ref!r}: there is no bank {target_bank!r}")
        return None
    except BankError as error:
        problems.append(f"reference {ref!r}: its bank is invalid ({error})")
        return None
    for item in target["questions"]:
        if item.get("id") == target_id:
            return Question(key=ref, origin=target_bank, spec=item)
    problems.append(f"reference {ref!r}: bank {target_bank!r} has no question {target_id!r}")
    return None


def _local_problems(data):
    """Rules the schema cannot express: unique ids and references, sane numeric mistakes."""
    problems, seen = [], set()
    for item in data["questions"]:
        key = item.get("ref") or item.get("id")
        if key in seen:
            problems.append(f"{key!r} appears twice")
        seen.add(key)
        if item.get("kind") in ("single", "multiple"):
            texts = [option["text"] for option in item["options"]]
            if len(set(texts)) != len(texts):
                problems.append(f"question {key!r} has two options with the same text")
        if item.get("kind") == "numeric":
            for mistake in item.get("mistakes", []):
                if abs(mistake["value"] - item["answer"]) <= item["tolerance"]:
                    problems.append(
                        f"question {key!r}: mistake value {mistake['value']} is within the tolerance of the answer"
                    )
    return problems

