"""Line and zone definitions from configuration, validated once, and the plane geometry they need.

Coordinates are normalised to the frame: x and y in 0..1, (0, 0) the top-left corner, y down,
so one configuration fits every resolution of the same camera. Parsers raise ``ValueError``
with a one-line reason; ``Settings`` turns it into a ``UserError`` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import yaml

Point = tuple[float, float]
Box = tuple[float, float, float, float]

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
    """A named area whose current occupancy is reported."""

    name: str
    polygon: tuple[Point, ...]
    anchor: str = "bottom_center"


def anchor_point(box: Box, anchor: str) -> Point:
    x0, y0, x1, y1 = box
    return ((x0 + x1) / 2.0, y1 if anchor == "bottom_center" else (y0 + y1) / 2.0)


def cross(o: Point, a: Point, b: Point) -> float:
    """z of (a - o) x (b - o): > 0 when b is clockwise of a seen from o on screen (y down)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True when the closed segments share a point (touching and collinear overlap included)."""
    d1, d2 = cross(q1, q2, p1), cross(q1, q2, p2)
    d3, d4 = cross(p1, p2, q1), cross(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return (
        (d1 == 0 and _on_segment(p1, q1, q2))
        or (d2 == 0 and _on_segment(p2, q1, q2))
        or (d3 == 0 and _on_segment(q1, p1, p2))
        or (d4 == 0 and _on_segment(q2, p1, p2))
    )


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd rule; points exactly on an edge may fall either way."""
    x, y = point
    inside = False
    for (xa, ya), (xb, yb) in zip(polygon, [*polygon[1:], polygon[0]]):
        if (ya > y) != (yb > y) and x < xa + (y - ya) * (xb - xa) / (yb - ya):
            inside = not inside
    return inside


def self_intersects(polygon: Sequence[Point]) -> bool:
    """True when two edges other than neighbours meet, or neighbours fold back onto each other.

    This also rejects every polygon without area (all its edges then overlap).
    """
    n = len(polygon)
    edges = [(polygon[i], polygon[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                a, b = edges[i], edges[j]
                shared, far_a, far_b = (a[1], a[0], b[1]) if j == i + 1 else (a[0], a[1], b[0])
                # Neighbours share a vertex; they intersect only if they fold back collinearly.
                if cross(shared, far_a, far_b) == 0 and (
                    _on_segment(far_a, shared, far_b) or _on_segment(far_b, shared, far_a)
                ):
                    return True
            elif segments_intersect(*edges[i], *edges[j]):
                return True
    return False


def _load(value: Any) -> Any:
    """Structured values come as-is from a config file; a flag or variable holds JSON (or YAML)."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"not valid JSON: {str(exc).splitlines()[0]}") from None
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


def parse_lines(value: Any) -> tuple[LineSpec, ...]:
    """``{name: [[x1, y1], [x2, y2]]}`` or ``{name: {points: ..., anchor: ..., margin: ...}}``."""
    lines = []
    for name, spec in _entries(value, "line", "points", {"anchor": "bottom_center", "margin": 0.25}):
        points = _points(spec["points"], f"line {name!r}")
        if len(points) != 2:
            raise ValueError(f"line {name!r}: expected exactly 2 points, got {len(points)}")
        if points[0] == points[1]:
            raise ValueError(f"line {name!r}: its two points are identical; a line needs two distinct points")
        margin = spec.get("margin", 0.25)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 5:
            raise ValueError(f"line {name!r}: margin must be a number 0..5 (box extents), got {margin!r}")
        lines.append(LineSpec(name, (points[0], points[1]), spec["anchor"], float(margin)))
    return tuple(lines)


def parse_zones(value: Any) -> tuple[ZoneSpec, ...]:
    """``{name: [[x, y], ...]}`` or ``{name: {polygon: [[x, y], ...], anchor: ...}}``."""
    zones = []
    for name, spec in _entries(value, "zone", "polygon", {"anchor": "bottom_center"}):
        polygon = _points(spec["polygon"], f"zone {name!r}")
        if len(polygon) < 3:
            raise ValueError(f"zone {name!r}: a polygon needs at least 3 points, got {len(polygon)}")
        if self_intersects(polygon):
            raise ValueError(f"zone {name!r}: the polygon intersects itself; list its corners in order around it")
        zones.append(ZoneSpec(name, polygon, spec["anchor"]))
    return tuple(zones)
