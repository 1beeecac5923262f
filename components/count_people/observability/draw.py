"""Annotations drawn on a copy of a frame from its published message (only when a viewer asks).

Lines and zones of the tracking feature are drawn when present (shapes in ``observability.regions``);
entries of another shape are skipped, so a different shape degrades to no drawing.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from count_people.observability import regions

BOX = (40, 220, 40)  # BGR
LINE = (0, 200, 255)
ZONE = (255, 120, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _pixels(points: Any, width: int, height: int) -> np.ndarray | None:
    try:
        array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return None
    return np.round(array * (width, height)).astype(np.int32) if len(array) >= 2 else None


def _label(image: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int], scale: float) -> None:
    """Text on a filled background so it stays readable on any scene."""
    thickness = max(1, round(scale * 2))
    (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
    x = int(min(max(origin[0], 0), max(image.shape[1] - w, 0)))
    y = int(min(max(origin[1], h + base), image.shape[0]))
    cv2.rectangle(image, (x, y - h - base), (x + w, y), color, -1)
    cv2.putText(image, text, (x, y - base), FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)


def annotate(image: np.ndarray, message: dict[str, Any]) -> np.ndarray:
    """A copy of ``image`` with the message's boxes, lines, zones and count drawn on it."""
    out = image.copy()
    height, width = out.shape[:2]
    scale = max(0.4, width / 1280)
    thickness = max(1, round(width / 400))
    zones = [(name, data, _pixels(data.get("polygon"), width, height)) for name, data in regions.zones(message)]
    zones = [(name, data, polygon) for name, data, polygon in zones if polygon is not None]
    if zones:
        overlay = out.copy()
        for _, _, polygon in zones:
            cv2.fillPoly(overlay, [polygon], ZONE)
        cv2.addWeighted(overlay, 0.25, out, 0.75, 0, dst=out)
        for name, data, polygon in zones:
            cv2.polylines(out, [polygon], True, ZONE, thickness, cv2.LINE_AA)
            _label(out, f"{name}: {regions.total(data.get('occupancy')):g}", tuple(polygon.min(axis=0)), ZONE, scale)
    for box in message.get("boxes", []):
        x0, y0, x1, y1 = (round(v * s) for v, s in zip(box["box"], (width, height, width, height)))
        cv2.rectangle(out, (x0, y0), (x1, y1), BOX, thickness, cv2.LINE_AA)
        _label(out, f"{box['label']} {box['score']:.2f}", (x0, y0), BOX, scale * 0.8)
    for name, data in regions.lines(message):
        points = _pixels(data.get("points"), width, height)
        if points is not None:
            cv2.line(out, tuple(points[0]), tuple(points[1]), LINE, thickness + 1, cv2.LINE_AA)
            text = f"{name}: in {regions.total(data.get('in')):g} out {regions.total(data.get('out')):g}"
            _label(out, text, tuple(points[0]), LINE, scale)
    _label(out, f"{message.get('label', '')}: {message.get('count', 0)}", (0, height), (255, 255, 255), scale * 1.2)
    return out
