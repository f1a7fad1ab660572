"""Quiz progress on disk: one small JSON file, locked, written atomically.

Where: ``$BN_COURSE_PROGRESS`` if set, else ``~/.bn_course/progress.json`` (never
inside the repository, so ``git clean`` or a fresh clone keeps your answers).

Layout::

    {"format": 1, "banks": {"02_numpy_formula": {"<question key>":
        {"answer": 1, "correct": true, "attempts": 2, "time": "2025-01-31T10:00:00+00:00"}}}}

Every change is a read-merge-write under an exclusive lock on ``progress.json.lock``
(``fcntl`` on POSIX, ``msvcrt`` on Windows), so two notebooks saving at the same
time keep each other's answers. The new content goes to a temporary file in the
same folder that then replaces the old one (``os.replace``), so a crash never
leaves a half-written file. A file that cannot be read as progress anyway (edited
by hand, truncated by a full disk) is renamed ``progress.json.corrupt-<time>``,
a :class:`ProgressFileWarning` says so, and a fresh file is started.
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

__all__ = ["ENV_VAR", "ProgressFileWarning", "progress_path", "load", "record", "clear"]

ENV_VAR = "BN_COURSE_PROGRESS"
FORMAT = 1


class ProgressFileWarning(UserWarning):
    """The progress file was unreadable and has been moved aside."""


# Each time a file is moved aside is news to the learner: never deduplicate these warnings.
warnings.filterwarnings("always", category=ProgressFileWarning)


def progress_path():
    """Where progress is kept: ``$BN_COURSE_PROGRESS``, else ``~/.bn_course/progress.json``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".bn_course" / "progress.json"


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


def _parse(text):
    """The ``banks`` dict of a progress file's text, or None if it is not a progress file."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("banks"), dict):
        return None
    banks = data["banks"]
    if not all(isinstance(records, dict) for records in banks.values()):
        return None
    # Keep only well-formed records; anything else is ignored rather than trusted.
    return {
        bank: {key: rec for key, rec in records.items() if isinstance(rec, dict) and isinstance(rec.get("correct"), bool)}
        for bank, records in banks.items()
    }


def _read_unlocked(path):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        text = None
    banks = _parse(text) if text is not None else None
    if banks is not None:
        return banks
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, aside)
    warnings.warn(
        f"Your quiz progress file {path} could not be read (damaged or partly written), "
        f"so it was moved to {aside.name} in the same folder and a new one was started. "
        "Answers you give from now on are saved as usual.",
        ProgressFileWarning,
        stacklevel=4,
    )
    return {}


def _write_unlocked(path, banks):
    text = json.dumps({"format": FORMAT, "banks": banks}, indent=1, sort_keys=True)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=path.name + ".", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def load(path=None):
    """All saved answers: ``{bank: {question_key: record}}`` (empty if there is no file yet)."""
    path = Path(path) if path else progress_path()
    if not path.exists():
        return {}
    with _locked(path):
        return _read_unlocked(path)


def record(bank, key, answer, correct, path=None):
    """Save one graded answer and return its record (``attempts`` counts every check)."""
    path = Path(path) if path else progress_path()
    with _locked(path):
        banks = _read_unlocked(path)
        previous = banks.get(bank, {}).get(key, {})
        attempts = previous.get("attempts", 0)
        entry = {
            "answer": list(answer) if isinstance(answer, tuple) else answer,
            "correct": bool(correct),
            "attempts": (attempts if isinstance(attempts, int) else 0) + 1,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        banks.setdefault(bank, {})[key] = entry
        _write_unlocked(path, banks)
    return entry


def clear(bank=None, path=None):
    """Delete the saved answers of one bank (or of all banks); returns how many were deleted."""
    path = Path(path) if path else progress_path()
    if not path.exists():
        return 0
    with _locked(path):
        banks = _read_unlocked(path)
        if bank is None:
            removed, banks = sum(map(len, banks.values())), {}
        else:
            removed = len(banks.pop(bank, {}))
        _write_unlocked(path, banks)
    return removed
