"""Base layer: plane geometry and the line/zone specifications built on it."""

from count_people.geometry.plane import (
    Box,
    Point,
    anchor_point,
    count_matches,
    cross,
    iou_matrix,
    point_in_polygon,
    segments_intersect,
    self_intersects,
)
from count_people.geometry.specs import ANCHORS, LineSpec, ZoneSpec, parse_lines, parse_zones

__all__ = [
    "ANCHORS", "Box", "LineSpec", "Point", "ZoneSpec", "anchor_point", "count_matches", "cross", "iou_matrix",
    "parse_lines", "parse_zones", "point_in_polygon", "segments_intersect", "self_intersects",
]
