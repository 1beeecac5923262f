"""Counting tracked objects that cross a line, in each direction and per class.

Direction: walking from the line's first point to its second, ``in`` is a crossing towards the
side reached by turning 90 degrees clockwise on screen. A line drawn left to right counts
objects moving down the image as ``in``; a line drawn bottom to top counts left-to-right
movement as ``in``.

Three rules keep the count honest where trackers are not:

* **Hysteresis.** An object is on a side only once its anchor (feet or box centre) is more than
  ``margin`` times its own box extent across the line away from it; in between it keeps the
  side it had. Jitter on the line, or touching it and turning back, changes nothing; a crossing
  counts once, when the object is first seen clearly on the other side.
* **Segment.** The path from the last point clearly on the old side to the first point clearly on
  the new side must pass through the drawn segment, not the infinite line through it.
* **Id hand-over.** A new track id inherits the side of a track of the same class that vanished
  nearby recently (within ``lost_s`` seconds and one box height), so an id switch next to the
  line neither counts twice nor loses the crossing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from count_people.geometry import Box, LineSpec, Point, anchor_point
from count_people.tracking.tracker import TIME_SLACK_S, Track

#: Hand-over radius in box heights of the vanished track.
HANDOVER_DISTANCE = 1.0


@dataclass
class _Side:
    """What a line remembers about one track."""

    label: str
    side: int  # -1, +1, or 0 until the object was first seen clearly on one side
    point: Point  # last anchor clearly on ``side`` (pixels)
    anchor: Point  # latest anchor (pixels)
    height: float
    seen: float  # timestamp (s) of the frame it was last seen in


@dataclass(frozen=True)
class PixelLine:
    """A line spec in the pixels of one frame size, with a unit normal towards ``in``."""

    a: Point
    d: Point  # second point minus first
    normal: Point

    @classmethod
    def of(cls, spec: LineSpec, frame_size: tuple[int, int]) -> PixelLine:
        width, height = frame_size
        (ax, ay), (bx, by) = ((x * width, y * height) for x, y in spec.points)
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        return cls((ax, ay), (dx, dy), (-dy / length, dx / length))

    def distance(self, p: Point) -> float:
        """Signed distance of ``p`` from the line in pixels, > 0 on the ``in`` side."""
        return (p[0] - self.a[0]) * self.normal[0] + (p[1] - self.a[1]) * self.normal[1]

    def band(self, box: Box, margin: float) -> float:
        """``margin`` times the box's extent across the line, in pixels."""
        return margin * (abs(self.normal[0]) * (box[2] - box[0]) + abs(self.normal[1]) * (box[3] - box[1]))

    def through_segment(self, q: Point, p: Point) -> bool:
        """Whether the straight path q -> p (on opposite sides) meets the drawn segment."""
        (ax, ay), (dx, dy) = self.a, self.d
        ex, ey = p[0] - q[0], p[1] - q[1]
        denominator = dx * ey - dy * ex
        if denominator == 0:
            return False
        t = ((q[0] - ax) * ey - (q[1] - ay) * ex) / denominator
        return 0.0 <= t <= 1.0


class Vanishing(Protocol):
    """What ``hand_over`` needs of a per-track state: its class, latest anchor, box height, when last seen (s)."""

    label: str
    anchor: Point
    height: float
    seen: float


StateT = TypeVar("StateT", bound=Vanishing)


def hand_over(states: dict[int, StateT], track: Track, p: Point, present: set[int], now: float) -> StateT | None:
    """Move the state of the nearest same-class track that vanished before ``now`` to ``track`` (an id switch),
    if any."""
    best, best_distance = None, math.inf
    for key, state in states.items():
        if key in present or state.label != track.label or state.seen >= now:
            continue
        distance = math.dist(state.anchor, p)
        if distance <= HANDOVER_DISTANCE * state.height and distance < best_distance:
            best, best_distance = key, distance
    if best is None:
        return None
    state = states[track.id] = states.pop(best)
    return state


class LineCounter:
    """In/out totals of one line; feed it the tracks of every frame with ``update``."""

    def __init__(self, spec: LineSpec, lost_s: float = 1.2) -> None:
        self.spec = spec
        self.lost_s = lost_s
        self.totals: dict[str, Counter[str]] = {"in": Counter(), "out": Counter()}
        self._states: dict[int, _Side] = {}

    def update(self, tracks: Sequence[Track], frame_size: tuple[int, int], now: float) -> dict[str, Counter[str]]:
        """Advance to the frame taken at ``now`` (s); returns its crossings {"in": {label: n}, "out": ...}."""
        line = PixelLine.of(self.spec, frame_size)
        crossed: dict[str, Counter[str]] = {"in": Counter(), "out": Counter()}
        present = {t.id for t in tracks}
        for track in tracks:
            p = anchor_point(track.box, self.spec.anchor)
            distance, band = line.distance(p), line.band(track.box, self.spec.margin)
            side = 1 if distance > band else -1 if distance < -band else 0
            height = track.box[3] - track.box[1]
            state = self._states.get(track.id) or hand_over(self._states, track, p, present, now)
            if state is None:
                state = self._states[track.id] = _Side(track.label, side, p, p, height, now)
            if side:
                if state.side and side != state.side and line.through_segment(state.point, p):
                    crossed["in" if side > 0 else "out"][track.label] += 1
                state.side, state.point = side, p
            state.anchor, state.height, state.seen = p, height, now
        for key in [k for k, s in self._states.items() if now - s.seen > self.lost_s + TIME_SLACK_S]:
            del self._states[key]
        for direction, counts in crossed.items():
            self.totals[direction].update(counts)
        return crossed
