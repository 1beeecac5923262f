"""Base layer: plane geometry and the line/zone specifications built on it."""

from count_people.geometry.plane import (
    Box,
    Point,
    anchor_point,
    count_matches,
    cross,
    iou_matrix,
    nearest_edge,
    point_in_polygon,
    segments_intersect,
    self_intersects,
)
from count_people.geometry.specs import (
    ANCHORS,
    AreaSpec,
    Door,
    LineSpec,
    ZoneSpec,
    parse_areas,
    parse_lines,
    parse_zones,
)

__all__ = [
    "ANCHORS", "AreaSpec", "Box", "Door", "LineSpec", "Point", "ZoneSpec", "anchor_point", "count_matches", "cross",
    "iou_matrix", "nearest_edge", "parse_areas", "parse_lines",
    "parse_zones", "point_in_polygon", "segments_intersect", "self_intersects",
]
