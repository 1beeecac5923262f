"""CPU time of processes from /proc (Linux): what each camera's pipeline costs, without psutil.

The grabber reports it per camera (status file and a periodic log line); the local stack and
scripts/measure_grabber_cpu.py use the same reading for a process and its children.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields after "pid (comm) ": the name may hold spaces


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants (e.g. a runner and its gst-launch children)."""
    return sum(cpu_seconds(pid) for pid in descendants(root))


class CpuMeter:
    """Percent of one core a process used between two calls of :meth:`percent`; follows a restarted child
    (a new pid counts from its start, so a restart inside the window costs at most the old child's tail)."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._cpu = 0.0
        self._at = time.monotonic()

    def percent(self, pid: int | None) -> float | None:
        now = time.monotonic()
        cpu = cpu_seconds(pid) if pid is not None else 0.0
        start = self._cpu if pid == self._pid else 0.0
        elapsed = now - self._at
        self._pid, self._cpu, self._at = pid, cpu, now
        if pid is None or elapsed <= 0:
            return None
        return round(100.0 * max(0.0, cpu - start) / elapsed, 1)
