"""Line and zone definitions from configuration, validated once.

Parsers raise ``ValueError`` with a one-line reason; ``Settings`` turns it into a
``UserError`` naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from frame_handoff.keys import load_text

from count_people.geometry.plane import Point, self_intersects

#: Which point of a box stands for the object: its feet on the floor, or its middle.
ANCHORS = ("bottom_center", "center")


@dataclass(frozen=True)
class LineSpec:
    """A named counting line; ``in`` is the crossing along ``normal`` (see ``line_zone.py``)."""

    name: str
    points: tuple[Point, Point]
    anchor: str = "bottom_center"
    #: How far past the line (in units of the object's own box extent across the line) the anchor
    #: must get before the object counts as being on that side; stops jitter from counting.
    margin: float = 0.25


@dataclass(frozen=True)
class ZoneSpec:
    """A named area whose current occupancy (and, in ``analytics``, dwell time) is reported."""

    name: str
    polygon: tuple[Point, ...]
    anchor: str = "bottom_center"
    #: Hysteresis of a visit, as a line's: the anchor must be this many box heights inside (outside) the
    #: border before a track enters (leaves), so jitter at the border does not split a visit.
    margin: float = 0.25
    #: Event thresholds (``analytics.events``): objects inside at most, seconds of one visit at most.
    max_occupancy: int | None = None
    max_dwell_s: float | None = None


@dataclass(frozen=True)
class Door:
    """A counting line that is a door of an area: its ``in`` enters the area (``out`` when ``reverse``)."""

    line: str
    camera: str | None = None  # None: a line of every camera that has one of that name
    reverse: bool = False


@dataclass(frozen=True)
class AreaSpec:
    """A room counted at its doors: occupancy = entries - exits over its doors, never below 0."""

    name: str
    doors: tuple[Door, ...]
    #: Change to any new value to zero this area's occupancy once (as ``counts_reset`` does for lines).
    reset: str = ""
    max_occupancy: int | None = None


def _load(value: Any) -> Any:
    """Structured values come as-is from a config file; a flag or variable holds JSON (or YAML)."""
    if isinstance(value, str):
        value = load_text(value)  # bounded size and depth, like every value from outside
    return {} if value is None else value


def _point(value: Any, where: str) -> Point:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{where}: expected a point [x, y], got {value!r}")
    x, y = float(value[0]), float(value[1])
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ValueError(f"{where}: point {[x, y]} is outside the frame; coordinates are fractions 0..1")
    return (x, y)


def _points(value: Any, where: str) -> tuple[Point, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: expected a list of points [[x, y], ...], got {value!r}")
    return tuple(_point(p, where) for p in value)


def _entries(value: Any, kind: str, main_key: str, options: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    data = _load(value)
    if not isinstance(data, dict):
        raise ValueError(f"expected a mapping of {kind} name to {main_key} (or to {{{main_key}: ..., ...}})")
    entries = []
    for name, spec in data.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{kind} names must be non-empty strings, got {name!r}")
        spec = dict(spec) if isinstance(spec, dict) else {main_key: spec}
        unknown = set(spec) - {main_key, *options}
        if unknown:
            raise ValueError(f"{kind} {name!r}: unknown key {sorted(unknown)[0]!r}; "
                             f"valid keys: {', '.join([main_key, *options])}")
        if main_key not in spec:
            raise ValueError(f"{kind} {name!r}: missing {main_key!r}")
        anchor = str(spec.get("anchor", options["anchor"]))
        if anchor not in ANCHORS:
            raise ValueError(f"{kind} {name!r}: anchor must be one of {', '.join(ANCHORS)}, got {anchor!r}")
        spec["anchor"] = anchor
        entries.append((name, spec))
    return entries


def _margin(spec: dict[str, Any], kind: str, name: str) -> float:
    margin = spec.get("margin", 0.25)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 5:
        raise ValueError(f"{kind} {name!r}: margin must be a number 0..5 (box extents), got {margin!r}")
    return float(margin)


def _limit(spec: dict[str, Any], key: str, kind: str, name: str, parse: type) -> Any:
    """An optional positive threshold (``max_occupancy``, ``max_dwell_s``)."""
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or parse(value) != value:
        raise ValueError(f"{kind} {name!r}: {key} must be a {'whole ' if parse is int else ''}number above 0, "
                         f"got {value!r}")
    return parse(value)


def parse_lines(value: Any) -> tuple[LineSpec, ...]:
    """``{name: [[x1, y1], [x2, y2]]}`` or ``{name: {points: ..., anchor: ..., margin: ...}}``."""
    lines = []
    for name, spec in _entries(value, "line", "points", {"anchor": "bottom_center", "margin": 0.25}):
        points = _points(spec["points"], f"line {name!r}")
        if len(points) != 2:
            raise ValueError(f"line {name!r}: expected exactly 2 points, got {len(points)}")
        if points[0] == points[1]:
            raise ValueError(f"line {name!r}: its two points are identical; a line needs two distinct points")
        lines.append(LineSpec(name, (points[0], points[1]), spec["anchor"], _margin(spec, "line", name)))
    return tuple(lines)


def parse_zones(value: Any) -> tuple[ZoneSpec, ...]:
    """``{name: [[x, y], ...]}`` or ``{name: {polygon: [[x, y], ...], anchor, margin, max_occupancy,
    max_dwell_s}}``."""
    zones = []
    options = {"anchor": "bottom_center", "margin": 0.25, "max_occupancy": None, "max_dwell_s": None}
    for name, spec in _entries(value, "zone", "polygon", options):
        polygon = _points(spec["polygon"], f"zone {name!r}")
        if len(polygon) < 3:
            raise ValueError(f"zone {name!r}: a polygon needs at least 3 points, got {len(polygon)}")
        if self_intersects(polygon):
            raise ValueError(f"zone {name!r}: the polygon intersects itself; list its corners in order around it")
        zones.append(ZoneSpec(name, polygon, spec["anchor"], _margin(spec, "zone", name),
                              _limit(spec, "max_occupancy", "zone", name, int),
                              _limit(spec, "max_dwell_s", "zone", name, float)))
    return tuple(zones)


DOOR = re.compile(r"(?P<reverse>-)?(?:(?P<camera>[A-Za-z0-9_.:-]{1,128})/)?(?P<line>[^/]+)")


def _door(value: Any, name: str) -> Door:
    match = DOOR.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or not match["line"].strip():
        raise ValueError(f"area {name!r}: a door is \"LINE\", \"CAMERA/LINE\" or either with a leading - (its "
                         f"out enters the area), got {value!r}")
    return Door(match["line"].strip(), match["camera"], bool(match["reverse"]))


def parse_areas(value: Any) -> tuple[AreaSpec, ...]:
    """``{name: {doors: ["entrance", "cam-2/back", "-exit"], reset: TOKEN, max_occupancy: N}}``."""
    data = _load(value)
    if not isinstance(data, dict):
        raise ValueError("expected a mapping of area name to {doors: [...], reset: ..., max_occupancy: ...}")
    areas = []
    for name, spec in data.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"area names must be non-empty strings, got {name!r}")
        spec = spec if isinstance(spec, dict) else {"doors": spec}
        unknown = set(spec) - {"doors", "reset", "max_occupancy"}
        if unknown:
            raise ValueError(f"area {name!r}: unknown key {sorted(unknown)[0]!r}; valid keys: doors, reset, "
                             "max_occupancy")
        doors = spec.get("doors")
        if isinstance(doors, str):
            doors = [doors]
        if not isinstance(doors, (list, tuple)) or not doors:
            raise ValueError(f"area {name!r}: doors must list at least one counting line")
        areas.append(AreaSpec(name, tuple(_door(door, name) for door in doors), str(spec.get("reset") or ""),
                              _limit(spec, "max_occupancy", "area", name, int)))
    return tuple(areas)
