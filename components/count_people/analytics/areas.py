"""Occupancy of rooms counted at their doors: ``sum(in) - sum(out)`` over the door lines, never below 0.

The doors may be lines of several cameras of this counter (a room with two doors seen by two cameras), so
the ``Areas`` object is shared by every camera's hook. A camera reports each frame's line deltas; an exit
that would take an area below zero means an entry was missed: the occupancy stays at 0 and the exit is
counted in ``clamped`` (exposed in messages and /metrics), not lost silently.

Occupancy is persisted like line totals (``<state_file stem>.areas.json``, written atomically in the
background) and restored at start unless the area's ``reset`` token changed; a scheduled reset zeroes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from count_people.geometry import AreaSpec, Door
from count_people.tracking.state import StateWriter, check_writable, counts_problem, read_state

log = logging.getLogger("count_people.analytics")


@dataclass(frozen=True)
class AreasConfig:
    areas: tuple[AreaSpec, ...]
    #: Where occupancy persists ("" = not saved).
    state_file: str = ""


def areas_state_file(line_state_file: str) -> str:
    """Beside the line totals: ``line-counts.json`` -> ``line-counts.areas.json``; "" stays "" (not saved)."""
    if not line_state_file:
        return ""
    path = Path(line_state_file)
    return str(path.with_name(f"{path.stem}.areas{path.suffix or '.json'}"))


def _area_problem(data: Any) -> str | None:
    """What makes ``data`` not a saved areas state, or None."""
    areas = data.get("areas", {})
    if not isinstance(areas, dict):
        return "areas must be an object"
    for name, area in areas.items():
        if not isinstance(area, dict) or not isinstance(area.get("reset", ""), str):
            return f"area {name!r} is not an object with a reset token"
        problem = counts_problem(area, ("occupancy", "clamped"), f"area {name!r}")
        if problem:
            return problem
    return None


class AreaCounter:
    """One area's occupancy and clamped exits per class."""

    def __init__(self, spec: AreaSpec, since: float) -> None:
        self.spec = spec
        self.occupancy: Counter[str] = Counter()
        self.clamped: Counter[str] = Counter()
        self.since = since

    def door(self, camera: str, line: str) -> Door | None:
        return next((d for d in self.spec.doors if d.line == line and d.camera in (None, camera)), None)

    def add(self, label: str, entered: int, left: int) -> None:
        """Entries first, then exits, as one frame's crossings; below zero is clamped and counted."""
        value = self.occupancy[label] + entered - left
        if value < 0:
            self.clamped[label] += -value
            value = 0
        self.occupancy[label] = value

    def reset(self, since: float) -> None:
        self.occupancy, self.clamped, self.since = Counter(), Counter(), since

    def total(self) -> int:
        return sum(self.occupancy.values())


class Areas:
    """Every area of the counter, shared by the cameras' hooks (thread-safe)."""

    def __init__(self, config: AreasConfig, now: float | None = None) -> None:
        self.lock = threading.Lock()
        self.config = config
        now = time.time() if now is None else now
        saved: Mapping[str, Any] = {}
        if config.areas and config.state_file:
            check_writable(config.state_file)
            saved = read_state(config.state_file, _area_problem).get("areas", {})
        self.counters: dict[str, AreaCounter] = {}
        for spec in config.areas:
            counter = self.counters[spec.name] = AreaCounter(spec, now)
            old = saved.get(spec.name)
            if old and old.get("reset", "") == spec.reset:
                counter.occupancy, counter.clamped = Counter(old["occupancy"]), Counter(old["clamped"])
                counter.since = old["since"]
        self._writer = StateWriter(config.state_file) if config.areas and config.state_file else None
        self._save()

    def of_camera(self, camera: str, lines: Sequence[str]) -> list[AreaCounter]:
        """The areas with a door among ``lines`` of ``camera``."""
        return [c for c in self.counters.values() if any(c.door(camera, line) for line in lines)]

    def add_crossings(self, camera: str, lines: Mapping[str, Any]) -> bool:
        """Apply one frame's line deltas (message ``lines``) of ``camera``; True when an occupancy changed."""
        changed = False
        with self.lock:
            for counter in self.counters.values():
                for name, line in lines.items():
                    door = counter.door(camera, name)
                    if door is None:
                        continue
                    entered, left = line["in_delta"], line["out_delta"]
                    if door.reverse:
                        entered, left = left, entered
                    for label in {*entered, *left}:
                        if entered.get(label, 0) or left.get(label, 0):
                            counter.add(label, entered.get(label, 0), left.get(label, 0))
                            changed = True
            if changed:
                self._save()
        return changed

    def reset_before(self, instant: float) -> list[str]:
        """Zero every area last reset before ``instant`` (a scheduled reset); returns their names."""
        with self.lock:
            names = [name for name, c in self.counters.items() if c.since < instant]
            for name in names:
                self.counters[name].reset(instant)
            if names:
                self._save()
        return names

    def snapshot(self) -> dict[str, Any]:
        return {"areas": {name: {"reset": c.spec.reset, "since": c.since, "occupancy": dict(c.occupancy),
                                 "clamped": dict(c.clamped)} for name, c in self.counters.items()}}

    def _save(self) -> None:
        if self._writer is not None:
            self._writer.save(self.snapshot())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
