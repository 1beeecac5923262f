"""Dwell time per zone: how long each track stays inside, from entry to exit.

A track is inside only once its anchor is more than ``margin`` times its box extent across the nearest
border inside the polygon, and outside only once it is that far outside: the hysteresis of counting lines
(tracking/line_zone.py), so jitter at the border does not split a visit or make one of a passer-by. The
visit's duration, however, runs from the first frame the anchor was inside the polygon to the last, so the
band delays the decision, not the measurement. A track unseen for more than ``lost_s`` seconds ends its
visit at the last time it was seen inside (it left the picture, or the detector lost it); a new track id
next to one that just vanished takes over its visit, as it takes over its side of a line (an id switch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from count_people.geometry import ZoneSpec, anchor_point, nearest_edge, point_in_polygon
from count_people.tracking.line_zone import hand_over
from count_people.tracking.tracker import TIME_SLACK_S, Track


@dataclass(frozen=True)
class DwellConfig:
    #: Seconds a track may go unseen before its visit ends (the tracker's ``lost_s``).
    lost_s: float = 1.2


@dataclass
class _Visit:
    label: str
    anchor: tuple[float, float]  # latest anchor (pixels)
    height: float
    seen: float  # timestamp (s) of the frame it was last seen in
    inside: bool | None = None  # clearly inside / outside; None until first seen clearly on one side
    first_inside: float | None = None  # first time the anchor was in the polygon since last clearly outside
    last_inside: float | None = None


class ZoneDwell:
    """Visits of one zone; feed it every frame's tracks with ``update``."""

    def __init__(self, spec: ZoneSpec, config: DwellConfig) -> None:
        self.spec, self.config = spec, config
        self._visits: dict[int, _Visit] = {}

    def update(self, tracks: Sequence[Track], frame_size: tuple[int, int], now: float) -> list[float]:
        """Advance one frame at ``now`` (seconds); returns the durations of the visits completed in it."""
        width, height = frame_size
        polygon = [(x * width, y * height) for x, y in self.spec.polygon]
        completed = []
        present = {t.id for t in tracks}
        for track in tracks:
            point = anchor_point(track.box, self.spec.anchor)
            raw = point_in_polygon(point, polygon)
            distance, (nx, ny) = nearest_edge(point, polygon)
            x0, y0, x1, y1 = track.box
            band = self.spec.margin * (abs(nx) * (x1 - x0) + abs(ny) * (y1 - y0))  # as PixelLine.band
            clear = raw if distance > band else None
            visit = self._visits.get(track.id) or hand_over(self._visits, track, point, present, now)
            if visit is None:
                visit = self._visits[track.id] = _Visit(track.label, point, y1 - y0, now)
            visit.anchor, visit.height, visit.seen = point, y1 - y0, now
            if raw:
                visit.first_inside = now if visit.first_inside is None else visit.first_inside
                visit.last_inside = now
            if clear is True and visit.inside is not True:
                visit.inside = True
                visit.first_inside = now if visit.first_inside is None else visit.first_inside
            elif clear is False:
                if visit.inside:
                    completed.append(self._duration(visit))
                visit.inside, visit.first_inside, visit.last_inside = False, None, None
        for key in [k for k, v in self._visits.items() if now - v.seen > self.config.lost_s + TIME_SLACK_S]:
            visit = self._visits.pop(key)
            if visit.inside:
                completed.append(self._duration(visit))
        return completed

    @staticmethod
    def _duration(visit: _Visit) -> float:
        return max(0.0, (visit.last_inside or 0.0) - (visit.first_inside or 0.0))

    def current(self, now: float) -> list[float]:
        """Durations so far of the visits going on."""
        return [now - v.first_inside for v in self._visits.values() if v.inside and v.first_inside is not None]

    def flush(self) -> list[float]:
        """End every visit going on (the end of an evaluated sequence); returns their durations."""
        completed = [self._duration(v) for v in self._visits.values() if v.inside]
        self._visits.clear()
        return completed
