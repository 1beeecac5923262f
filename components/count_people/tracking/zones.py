"""Current occupancy of a polygon zone: confirmed tracks whose anchor lies inside, per class.

Tracks rather than raw detections, so a one-frame false positive does not flicker the count.
"""

from __future__ import annotations

from collections.abc import Sequence

from count_people.geometry import ZoneSpec, anchor_point, point_in_polygon
from count_people.tracking.tracker import Track


class ZoneCounter:
    def __init__(self, spec: ZoneSpec) -> None:
        self.spec = spec

    def occupancy(self, tracks: Sequence[Track], frame_size: tuple[int, int], classes: Sequence[str]) -> dict[str, int]:
        """Objects inside per class; every class in ``classes`` is present, zero included."""
        width, height = frame_size
        counts = dict.fromkeys(classes, 0)
        for track in tracks:
            x, y = anchor_point(track.box, self.spec.anchor)
            if point_in_polygon((x / width, y / height), self.spec.polygon):
                counts[track.label] = counts.get(track.label, 0) + 1
        return counts
