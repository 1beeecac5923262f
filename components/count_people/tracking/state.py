"""Line totals persisted on the device so that they survive a restart of the counter.

The file is small JSON rewritten atomically (temporary file, fsync, rename) so a power cut
leaves the old or the new totals, never half of them. Writes happen on a background thread:
the counting loop must not wait on flash storage.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from count_people.errors import UserError

log = logging.getLogger("count_people.tracking")

STATE_VERSION = 1


def check_writable(path: str) -> None:
    """Fail at start-up, not at the first crossing, when the state file cannot be written."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise UserError(f"state_file {path!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise UserError(f"state_file {path!r} is not writable by this user")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _totals(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(label, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 0
        for label, n in value.items())


def counts_problem(entry: dict[str, Any], keys: Sequence[str], what: str) -> str | None:
    """What is wrong with a saved entry's ``since`` and per-class ``keys`` (counts >= 0), or None."""
    if not _finite(entry.get("since")):
        return f"{what}: since must be a number"
    for key in keys:
        if not _totals(entry.get(key)):
            return f"{what}: {key!r} must map labels to counts >= 0"
    return None


def _line_problem(name: str, line: Any) -> str | None:
    if not isinstance(line, dict):
        return f"line {name!r} is not an object"
    points = line.get("points")
    if not (isinstance(points, list) and len(points) == 2
            and all(isinstance(p, list) and len(p) == 2 and all(map(_finite, p)) for p in points)):
        return f"line {name!r}: points must be two [x, y] pairs"
    return counts_problem(line, ("in", "out"), f"line {name!r}")


def state_problem(data: Any) -> str | None:
    """What makes ``data`` not a saved state (the hook would crash on it), or None when it is one."""
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return f"not a version {STATE_VERSION} state"
    if not isinstance(data.get("counts_reset", ""), str):
        return "counts_reset must be a string"
    lines = data.get("lines", {})
    if not isinstance(lines, dict):
        return "lines must be an object"
    for name, line in lines.items():
        problem = _line_problem(name, line)
        if problem:
            return problem
    return None


def read_state(path: str, problem_of: Callable[[Any], str | None] | None = None) -> dict[str, Any]:
    """The saved state, or {} when there is none; an unreadable or wrong-shaped file is kept aside, not fatal.

    ``problem_of``: a further check of a version-1 state's own fields (the areas of ``analytics``).
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        problem = state_problem(data) or (problem_of(data) if problem_of else None)
        if problem:
            raise ValueError(problem)
        return data
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: also bad JSON and non-UTF-8 bytes
        aside = f"{path}.corrupt"
        log.warning("saved counts in %s are unreadable (%s); starting from zero, old file kept as %s",
                    path, exc, aside)
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        return {}


def write_atomically(path: str, data: dict[str, Any]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".state-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({**data, "version": STATE_VERSION}, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class StateWriter:
    """Writes the latest snapshot handed to ``save`` in the background; ``close`` flushes it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pending: dict[str, Any] | None = None
        self._wake = threading.Condition()
        self._closed = False
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="line-state-writer", daemon=True)
        self._thread.start()

    def save(self, data: dict[str, Any]) -> None:
        with self._wake:
            self._pending = data
            self._wake.notify()

    def close(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                data, self._pending = self._pending, None
                if data is None:
                    return
            try:
                write_atomically(self.path, data)
                self._failed = False
            except OSError as exc:
                if not self._failed:  # once per outage, not once per crossing
                    log.error("cannot save line totals to %s: %s", self.path, exc)
                self._failed = True
