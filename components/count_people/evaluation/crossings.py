"""Line-crossing accuracy: crossings counted by the counter against those of ground-truth tracks.

Truth: a ground-truth track crosses a line when its anchor (the line's, feet by default) is on
one side in one of its frames and on the other side in its next frame, and the step between
them passes through the drawn segment. No margin applies to the truth: annotations do not
jitter the way detections do. Counted: the totals the counter itself publishes, from the
same tracking hook that runs on the device, fed every evaluated frame.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.geometry import Box, LineSpec, anchor_point
from count_people.tracking.hook import LinesAndZones
from count_people.tracking.line_zone import PixelLine

DIRECTIONS = ("in", "out")


def true_crossings(tracks: dict[int, list[tuple[int, Box]]], spec: LineSpec, size: tuple[int, int]) -> Counter[str]:
    """Crossings of ``spec`` by ground-truth ``tracks`` (id -> [(frame, box)], frame order), in pixels of ``size``."""
    line = PixelLine.of(spec, size)
    crossed: Counter[str] = Counter()
    for observations in tracks.values():
        previous = None
        for _, box in observations:
            point = anchor_point(box, spec.anchor)
            distance = line.distance(point)
            if distance == 0:
                continue
            side = 1 if distance > 0 else -1
            if previous and previous[0] != side and line.through_segment(previous[1], point):
                crossed["in" if side > 0 else "out"] += 1
            previous = (side, point)
    return crossed


class CrossingEvaluation:
    """Runs the counter's tracking hook over evaluated frames and compares its totals with the truth."""

    def __init__(self, settings: Settings, tracks: dict[int, list[tuple[int, Box]]]) -> None:
        self.settings = settings.updated({"state_file": ""})  # an evaluation never touches saved totals
        self.tracks = tracks
        self.hook = LinesAndZones(self.settings)
        self.last: dict[str, Any] = {}

    def add(self, frame: Frame, detections: Sequence[Detection]) -> None:
        message: dict[str, Any] = {}
        self.hook.annotate(frame, detections, message)
        self.last = message.get("lines", {})

    def result(self, truth_size: tuple[int, int], label: str) -> dict[str, dict[str, dict[str, int]]]:
        """{line: {direction: {"truth": n, "counted": n}}} for ``label``."""
        self.hook.close()
        results = {}
        for spec in self.settings.lines:
            truth = true_crossings(self.tracks, spec, truth_size)
            counted = self.last.get(spec.name, {})
            results[spec.name] = {
                d: {"truth": truth[d], "counted": counted.get(d, {}).get(label, 0)} for d in DIRECTIONS
            }
        return results


def format_crossings(results: dict[str, dict[str, dict[str, int]]]) -> str:
    """One line per counting line: truth and counted per direction."""
    return "\n".join(
        f"line {name}: " + ", ".join(f"{d} truth {r[d]['truth']} counted {r[d]['counted']}" for d in DIRECTIONS)
        for name, r in results.items()
    )
