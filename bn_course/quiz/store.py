"""Quiz progress, saved by every notebook's quiz cell: ``$BN_COURSE_PROGRESS`` (default ``~/.bn_course/progress.json``)
holds ``{"format": 1, "banks": {bank: {question_key: {"answer", "correct", "attempts", "wrong", "time"}}}}``. Each
change is a locked read-merge-write to a temporary file that replaces the old one. A problem never costs the feedback,
only one :class:`ProgressFileWarning`: a damaged file is moved aside, a newer format left untouched, an unusable path
means graded but not saved."""

import json
import os
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the course's progress lock is POSIX-only; there saving works without a lock
    fcntl = None

ENV_VAR = "BN_COURSE_PROGRESS"
FORMAT = 1
_MAX_WRONG = 10  # distinct wrong answers kept per question, for the class summary


class ProgressFileWarning(UserWarning):
    """The progress file was moved aside, is newer, or could not be used."""


warnings.filterwarnings("always", category=ProgressFileWarning)  # each one is news


class ProgressUnavailable(Exception):
    """Why the progress file cannot be used; ``fix``: what to do."""
    fix = (f"To fix it, point {ENV_VAR} at a file in a folder you can write: run "
           f"`import os; os.environ[\"{ENV_VAR}\"] = os.path.expanduser(\"~/bn_progress.json\")` in a cell "
           "(or set it before starting JupyterLab)")


def progress_path():
    return Path(os.environ.get(ENV_VAR) or "~/.bn_course/progress.json").expanduser()


def _unavailable(error, path):
    if isinstance(error, ProgressUnavailable):
        return error
    if path.is_dir():
        return ProgressUnavailable(f"{path} is a folder, not a file")
    if blocker := next((p for p in path.parents if p.exists() and not p.is_dir()), None):
        return ProgressUnavailable(f"{blocker} is a file, so the folder {path.parent} cannot be created")
    if isinstance(error, PermissionError):
        return ProgressUnavailable(f"you have no permission to write {error.filename or path}")
    return ProgressUnavailable(f"{path} cannot be used ({type(error).__name__}: {error})")


@contextmanager
def _locked(path):
    """An exclusive lock on ``<path>.lock`` (none without fcntl; saves are still atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file is closed
        yield


def _usable(record):
    if not isinstance(record, dict) or not isinstance(record.get("correct"), bool):
        return False
    return isinstance(record.get("attempts", 0), int) and isinstance(record.get("wrong", []), list)


def _read(path):
    """Every record, usable or not (a write keeps them all); a damaged file is moved aside."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except ValueError:  # not JSON, not UTF-8
        data = None
    version, banks = (data.get("format", 1), data.get("banks")) if isinstance(data, dict) else (None, None)
    if type(version) is not int or not isinstance(banks, dict) or not all(isinstance(b, dict) for b in banks.values()):
        aside = path.with_name(f"{path.name}.corrupt-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}")
        os.replace(path, aside)
        warnings.warn(f"Your quiz progress file {path} could not be read (damaged or partly written), so it was "
                      f"moved to {aside.name} in the same folder and a new one was started. Answers you give "
                      "from now on are saved as usual.", ProgressFileWarning, stacklevel=4)
        return {}
    if version > FORMAT:
        error = ProgressUnavailable(f"{path} was written by a newer version of this course (progress format "
                                    f"{version}; this version reads format {FORMAT}), so it is left untouched")
        error.fix = (f"Update the course (e.g. `git pull`) to use it, or point {ENV_VAR} at another file to keep "
                     "a separate record")
        raise error
    return banks


def _change(path, change):
    try:
        with _locked(path):
            banks = _read(path)
            result = change(banks)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # one writer at a time: the lock
            try:
                with open(temporary, "w", encoding="utf-8") as handle:
                    json.dump({"format": FORMAT, "banks": banks}, handle, indent=1, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)
            finally:
                temporary.unlink(missing_ok=True)  # left only if the write failed
        return result
    except (OSError, ProgressUnavailable) as error:
        raise _unavailable(error, path) from None


def load(path=None):
    """``{bank: {question_key: record}}``; on a file problem, one warning and ``{}``."""
    path = Path(path) if path else progress_path()
    if not path.exists():
        return {}
    try:
        try:
            with _locked(path):
                banks = _read(path)
        except PermissionError:  # a folder we may read but not write (another learner's): read it unlocked
            banks = _read(path)
    except (OSError, ProgressUnavailable) as error:
        error = _unavailable(error, path)
        warnings.warn(f"Your saved quiz answers could not be read: {error}. {error.fix}.",
                      ProgressFileWarning, stacklevel=3)
        return {}
    return {bank: {key: rec for key, rec in records.items() if _usable(rec)} for bank, records in banks.items()}


def record(bank, key, answer, correct):
    """Save one graded answer; returns its record, or None (and one warning saying how to fix it)."""
    answer = list(answer) if isinstance(answer, tuple) else answer

    def add(banks):
        previous = banks.get(bank, {}).get(key)
        previous = previous if _usable(previous) else {}
        wrong = [w for w in previous.get("wrong", []) if w != answer] + ([] if correct else [answer])
        entry = {"answer": answer, "correct": bool(correct), "attempts": previous.get("attempts", 0) + 1,
                 "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if wrong:
            entry["wrong"] = wrong[-_MAX_WRONG:]
        banks.setdefault(bank, {})[key] = entry
        return entry

    try:
        return _change(progress_path(), add)
    except ProgressUnavailable as error:
        warnings.warn(f"Your answer was graded but not saved: {error}. {error.fix}; then check the answer again.",
                      ProgressFileWarning, stacklevel=3)


def clear(bank=None):
    """Delete the saved answers of ``bank`` (all with None); returns how many."""
    def remove(banks):
        if bank is not None:
            return len(banks.pop(bank, {}))
        count = sum(len(records) for records in banks.values())
        banks.clear()
        return count

    return _change(progress_path(), remove) if progress_path().exists() else 0  # no file: nothing to create
