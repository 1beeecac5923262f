"""Plane geometry in normalised frame coordinates: points, boxes, segments, polygons, IoU.

x and y in 0..1, (0, 0) the top-left corner, y down, so one configuration fits every
resolution of the same camera. The base of the package: imports nothing of the counter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]
Box = tuple[float, float, float, float]


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


def nearest_edge(point: Point, polygon: Sequence[Point]) -> tuple[float, Point]:
    """Distance from ``point`` to the polygon's border and the unit normal of the nearest edge (any sign).

    Works in any consistent units (pixels, so that a margin in box extents means the same as for a line).
    """
    best, normal = float("inf"), (0.0, 1.0)
    for (xa, ya), (xb, yb) in zip(polygon, [*polygon[1:], polygon[0]]):
        dx, dy = xb - xa, yb - ya
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else min(1.0, max(0.0, ((point[0] - xa) * dx + (point[1] - ya) * dy) / length2))
        distance = ((point[0] - xa - t * dx) ** 2 + (point[1] - ya - t * dy) ** 2) ** 0.5
        if distance < best and length2:
            length = length2**0.5
            best, normal = distance, (-dy / length, dx / length)
    return best, normal


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


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` with every box of ``b`` (x0, y0, x1, y1), shape (len(a), len(b))."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def count_matches(predicted: np.ndarray, truth: np.ndarray, iou_threshold: float = 0.5) -> int:
    """True positives of a greedy one-to-one matching, highest IoU first (as the PASCAL VOC/COCO tools)."""
    ious = iou_matrix(predicted, truth)
    pairs = np.argwhere(ious >= iou_threshold)
    if len(pairs) == 0:
        return 0
    order = np.argsort(-ious[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_pred, used_true = set(), set()
    for p, t in pairs[order]:
        if p not in used_pred and t not in used_true:
            used_pred.add(p)
            used_true.add(t)
    return len(used_pred)
