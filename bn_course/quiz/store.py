"""Quiz progress on disk: one small JSON file, locked, written atomically, never lost.

Where: ``$BN_COURSE_PROGRESS`` if set, else ``~/.bn_course/progress.json`` (never
inside the repository, so ``git clean`` or a fresh clone keeps your answers).

Layout::

    {"format": 1, "banks": {"02_numpy_formula": {"<question key>":
        {"answer": 1, "correct": true, "attempts": 2, "wrong": [0], "time": "2025-01-31T10:00:00+00:00"}}}}

``wrong`` lists the distinct wrong answers given (for an instructor's class summary).
Every change is a read-merge-write under an exclusive lock on ``progress.json.lock``
(``fcntl`` on POSIX, ``msvcrt`` on Windows), so two notebooks saving at the same time
keep each other's answers; the new content goes to a temporary file that then replaces
the old one (``os.replace``), so a crash never leaves a half-written file.

Nothing here lets a learner lose feedback or answers. Each problem gives one
:class:`ProgressFileWarning` and the quiz goes on:

- a file that is not progress at all (damaged, truncated) is renamed
  ``progress.json.corrupt-<time>`` and a fresh one is started;
- a single record that does not parse is kept in the file as it is (and ignored);
- a file written by a newer course version (higher ``format``) is left untouched;
- a path that cannot be used (a folder, a folder that cannot be created, no permission):
  the answer is graded but not saved, and the warning says where and how to fix it.
"""

import json
import os
import tempfile
import time
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None

__all__ = ["ENV_VAR", "FORMAT", "ProgressFileWarning", "ProgressUnavailable", "progress_path", "load", "record",
           "clear", "well_formed"]

ENV_VAR = "BN_COURSE_PROGRESS"
FORMAT = 1
_MAX_WRONG = 10  # distinct wrong answers kept per question
_FIX = (f"To fix it, point {ENV_VAR} at a file in a folder you can write: run "
        f"`import os; os.environ[\"{ENV_VAR}\"] = os.path.expanduser(\"~/bn_progress.json\")` in a cell "
        "(or set it before starting JupyterLab)")


class ProgressFileWarning(UserWarning):
    """Something about the progress file the learner should know: moved aside, newer, or not saved."""


class ProgressUnavailable(Exception):
    """The progress file cannot be read or written: the message says why, ``fix`` what to do."""

    fix = _FIX


# Each of these is news to the learner: never deduplicate them.
warnings.filterwarnings("always", category=ProgressFileWarning)


def progress_path():
    """Where progress is kept: ``$BN_COURSE_PROGRESS``, else ``~/.bn_course/progress.json``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".bn_course" / "progress.json"


def _unavailable(error, path):
    """``error`` as a :class:`ProgressUnavailable` saying, in one sentence, why ``path`` cannot be used."""
    return error if isinstance(error, ProgressUnavailable) else ProgressUnavailable(_describe(error, path))


def _describe(error, path):
    if isinstance(error, IsADirectoryError) or path.is_dir():
        return f"{path} is a folder, not a file"
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        return f"{blocker} is a file, so the folder {path.parent} cannot be created"
    if isinstance(error, PermissionError):
        return f"you have no permission to write {error.filename or path}"
    return f"{path} cannot be used ({type(error).__name__}: {error})"


@contextmanager
def _locked(path):
    """Hold an exclusive lock on ``<path>.lock`` (waits for other processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        elif msvcrt is not None:
            deadline = time.monotonic() + 30
            while True:
                handle.seek(0)
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"could not lock {handle.name} for 30 s") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:  # neither available: no locking, saves are still atomic
            yield


def well_formed(record):
    """True for a record the quiz can use: a dict with a boolean ``correct``."""
    return isinstance(record, dict) and isinstance(record.get("correct"), bool)


def _parse(data):
    """``(format, banks)`` of a progress file's text, or None if it is not a progress file."""
    try:
        data = json.loads(data.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(data, dict) or not isinstance(data.get("banks"), dict):
        return None
    version = data.get("format", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    if not all(isinstance(records, dict) for records in data["banks"].values()):
        return None
    return version, data["banks"]


def _read_unlocked(path):
    """Every record in the file, parseable or not (so a write keeps them all).

    Raises OSError if the file cannot be read, :class:`ProgressUnavailable` if it is newer.
    """
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return {}
    parsed = _parse(text)
    if parsed is None:
        aside = path.with_name(f"{path.name}.corrupt-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}")
        os.replace(path, aside)
        warnings.warn(f"Your quiz progress file {path} could not be read (damaged or partly written), so it was "
                      f"moved to {aside.name} in the same folder and a new one was started. Answers you give "
                      "from now on are saved as usual.", ProgressFileWarning, stacklevel=4)
        return {}
    version, banks = parsed
    if version > FORMAT:
        error = ProgressUnavailable(f"{path} was written by a newer version of this course (progress format "
                                    f"{version}; this version reads format {FORMAT}), so it is left untouched")
        error.fix = (f"Update the course (e.g. `git pull`) to use it, or point {ENV_VAR} at another file to keep "
                     "a separate record")
        raise error
    return banks


def _write_unlocked(path, banks):
    text = json.dumps({"format": FORMAT, "banks": banks}, indent=1, sort_keys=True)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.name + ".",
                                         suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _change(path, change):
    """Run ``change(banks)`` under the lock and write the result; OS problems become ProgressUnavailable."""
    try:
        with _locked(path):
            banks = _read_unlocked(path)
            result = change(banks)
            _write_unlocked(path, banks)
        return result
    except (OSError, ProgressUnavailable) as error:
        raise _unavailable(error, path) from None


def load(path=None):
    """Every usable saved answer: ``{bank: {question_key: record}}`` (empty if there is no file yet).

    Never raises for a file problem: it warns once (:class:`ProgressFileWarning`) and returns what it can.
    """
    path = Path(path) if path else progress_path()
    if not path.exists():
        return {}
    try:
        try:
            with _locked(path):
                banks = _read_unlocked(path)
        except PermissionError:  # a folder we may read but not write (e.g. another learner's): read it as it is
            parsed = _parse(path.read_bytes())
            if parsed is None or parsed[0] > FORMAT:
                raise
            banks = parsed[1]
    except (OSError, ProgressUnavailable) as error:
        error = _unavailable(error, path)
        warnings.warn(f"Your saved quiz answers could not be read: {error}. {error.fix}.",
                      ProgressFileWarning, stacklevel=3)
        return {}
    return {bank: {key: rec for key, rec in records.items() if well_formed(rec)} for bank, records in banks.items()}


def record(bank, key, answer, correct, path=None):
    """Save one graded answer and return its record (``attempts`` counts every check).

    If it cannot be saved, warns once (saying where and how to fix it) and returns None.
    """
    path = Path(path) if path else progress_path()
    answer = list(answer) if isinstance(answer, tuple) else answer

    def add(banks):
        previous = banks.get(bank, {}).get(key)
        previous = previous if well_formed(previous) else {}
        attempts = previous.get("attempts", 0)
        wrong = [w for w in previous.get("wrong", []) if w != answer] if isinstance(previous.get("wrong"), list) else []
        entry = {"answer": answer, "correct": bool(correct),
                 "attempts": (attempts if isinstance(attempts, int) else 0) + 1,
                 "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if wrong or not correct:
            entry["wrong"] = (wrong + ([] if correct else [answer]))[-_MAX_WRONG:]
        banks.setdefault(bank, {})[key] = entry
        return entry

    try:
        return _change(path, add)
    except ProgressUnavailable as error:
        warnings.warn(f"Your answer was graded but not saved: {error}. {error.fix}; then check the answer again.",
                      ProgressFileWarning, stacklevel=3)
        return None


def clear(bank=None, path=None):
    """Delete the saved answers of one bank (or of all banks); returns how many were deleted.

    Raises :class:`ProgressUnavailable` (saying why) if the file cannot be changed.
    """
    path = Path(path) if path else progress_path()
    if not path.exists():
        return 0

    def remove(banks):
        if bank is not None:
            return len(banks.pop(bank, {}))
        removed = sum(map(len, banks.values()))
        banks.clear()
        return removed

    return _change(path, remove)
