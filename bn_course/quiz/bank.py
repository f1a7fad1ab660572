"""Quiz banks, loaded by every notebook's quiz cell: ``quizzes/<notebook>.json``, valid against the schema in
``quizzes/``. A question is ``single``, ``multiple``, ``numeric`` or ``{"ref": "<bank>/<id>"}`` (another bank's)."""

import functools
import json
import os
import re
import sys
from collections import namedtuple
from pathlib import Path

from bn_course.paths import course_path


class QuizError(ValueError):
    """An unknown bank or question, or an answer that does not fit: shown by Jupyter without a traceback."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


class BankError(QuizError):
    """A bank that is not valid JSON, breaks the schema, or has a dangling reference."""


class Question(namedtuple("Question", "key origin spec")):
    """``key``: its id (``"<bank>/<id>"`` for a reference); ``origin``: the bank whose file holds ``spec``."""

    @property
    def kind(self):
        return self.spec["kind"]


Bank = namedtuple("Bank", "name title intro questions")


def quiz_dir():
    return Path(os.environ.get("BN_COURSE_QUIZZES") or course_path("quizzes"))


def bank_names():
    return sorted(p.stem for p in quiz_dir().glob("*.json") if p.name != "schema.json")


def _read(name):
    if not isinstance(name, str) or not re.fullmatch(r"\d\d_[a-z0-9_]+", name):
        raise QuizError(f"{name!r} is not a bank name; banks are: {', '.join(bank_names())}")
    path = quiz_dir() / f"{name}.json"
    try:
        return _validated(path, path.stat().st_mtime_ns, path.stat().st_size)
    except FileNotFoundError:
        raise QuizError(f"no quiz bank named {name!r} in {quiz_dir()}; "
                        f"banks are: {', '.join(bank_names()) or 'none'}") from None


@functools.lru_cache(maxsize=64)
def _validated(path, mtime, size):
    """The validated JSON, read once per version of the file."""
    try:
        data = json.loads(path.read_bytes())
    except ValueError as error:  # not JSON, or not UTF-8
        raise BankError(f"{path.name} is not valid JSON: {error}") from None
    _validate(data, path.name)
    return data


def _jsonschema():
    """jsonschema, without its optional ``rfc3987_syntax`` (seconds to import, for a format we do not use)."""
    hidden = "rfc3987_syntax" not in sys.modules
    sys.modules.setdefault("rfc3987_syntax", None)  # None: its import fails, just this once
    import jsonschema
    if hidden:
        del sys.modules["rfc3987_syntax"]
    return jsonschema


def _validate(data, filename):
    """Raise :class:`BankError` naming the first schema violation and where; a question is checked against its
    own ``kind`` ("not valid under any of the given schemas" helps nobody)."""
    jsonschema = _jsonschema()
    schema = json.loads((quiz_dir() / "schema.json").read_text(encoding="utf-8"))
    defs = schema["$defs"]

    def first_error(instance, rules):
        return jsonschema.exceptions.best_match(jsonschema.Draft202012Validator({**rules, "$defs": defs})
                                                .iter_errors(instance))

    error = first_error(data, schema)
    if error is None:
        return
    path = list(error.absolute_path)
    item = data["questions"][path[1]] if len(path) > 1 and path[0] == "questions" else None
    branches = {branch["properties"]["kind"]["const"]: branch for branch in defs["question"]["oneOf"]}
    if isinstance(item, dict) and item.get("kind") in branches:
        deeper = first_error(item, defs["common"]) or first_error(item, branches[item["kind"]])
        if deeper is not None:
            error, path = deeper, path[:2] + list(deeper.absolute_path)
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top level)"
    label = (item.get("id") or item.get("ref")) if isinstance(item, dict) else None
    raise BankError(f"{filename}: {where}{f' (question {label!r})' if label else ''}: {error.message}")


def load_bank(name):
    """Bank ``name``, validated (schema, unique ids, references that resolve), references resolved."""
    data = _read(name)
    questions = [_resolve(name, item["ref"]) if "ref" in item else Question(item["id"], name, item)
                 for item in data["questions"]]
    keys = [item.get("ref") or item["id"] for item in data["questions"]]
    problems = [f"{key!r} appears twice" for i, key in enumerate(keys) if key in keys[:i]]
    problems += [q for q in questions if isinstance(q, str)]
    if problems:
        raise BankError(f"{name}.json: " + "; ".join(problems))
    return Bank(name, data["title"], data.get("intro", ""), tuple(questions))


def _resolve(name, ref):
    bank, _, qid = ref.partition("/")
    if bank == name:
        return f"reference {ref!r} points into its own bank; write the question there instead"
    try:
        target = _read(bank)
    except BankError as error:
        return f"reference {ref!r}: its bank is invalid ({error})"
    except QuizError:
        return f"reference {ref!r}: there is no bank {bank!r}"
    return next((Question(ref, bank, item) for item in target["questions"] if item.get("id") == qid),
                f"reference {ref!r}: bank {bank!r} has no question {qid!r}")
