"""Dwell-time accuracy: visits measured by the counter against those of ground-truth tracks, per zone.

Truth: a ground-truth track visits a zone from the first of its frames whose anchor lies in the polygon
to the last one before it is seen outside (no margin: annotations do not jitter). Counted: the visits the
counter's own dwell time (analytics/dwell.py) completes on the tracks of the tracking hook that runs on the
device, fed every evaluated frame; visits going on at the end of the footage end there, for both. Durations
are in seconds of footage (frame numbers over its frame rate), so the evaluation's speed does not matter.

Reported per zone: each side's count, mean, p50, p90 and histogram in ``dwell_buckets``, the error of the
mean (counted - truth, seconds) and of the histogram (total variation distance of the two normalised
histograms: 0 = same shape, 1 = no overlap).
"""

from __future__ import annotations

from typing import Any, Sequence

from count_people.analytics.dwell import ZoneDwell
from count_people.analytics.hook import analytics_config
from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.geometry import Box, ZoneSpec, anchor_point, point_in_polygon
from count_people.stats import distribution
from count_people.tracking.hook import LinesAndZones


def true_visits(tracks: dict[int, list[tuple[int, Box]]], spec: ZoneSpec, size: tuple[int, int],
                fps: float) -> list[float]:
    """Durations in seconds of the visits of ``spec`` by ground-truth ``tracks`` (pixels of ``size``)."""
    polygon = [(x * size[0], y * size[1]) for x, y in spec.polygon]
    visits = []
    for observations in tracks.values():
        first = last = None
        for frame, box in observations:
            if point_in_polygon(anchor_point(box, spec.anchor), polygon):
                first, last = (frame if first is None else first), frame
            elif first is not None:
                visits.append((last - first) / fps)
                first = last = None
        if first is not None:
            visits.append((last - first) / fps)
    return visits


def histogram_error(truth: Sequence[int], counted: Sequence[int]) -> float:
    """Total variation distance of two histograms as distributions (0..1); 0 when both are empty."""
    n_truth, n_counted = sum(truth), sum(counted)
    if not n_truth or not n_counted:
        return float(n_truth != n_counted)
    return round(sum(abs(t / n_truth - c / n_counted) for t, c in zip(truth, counted)) / 2, 4)


class DwellEvaluation:
    """Runs the counter's tracking and dwell time over evaluated frames and compares visits with the truth."""

    def __init__(self, settings: Settings, tracks: dict[int, list[tuple[int, Box]]], fps: float) -> None:
        self.settings = settings.updated({"state_file": ""})  # an evaluation never touches saved totals
        self.tracks, self.fps = tracks, fps
        self.tracking = LinesAndZones(self.settings)
        config = analytics_config(self.settings).dwell
        self.dwell = {spec.name: ZoneDwell(spec, config) for spec in self.settings.zones}
        self.visits: dict[str, list[float]] = {name: [] for name in self.dwell}

    def add(self, frame: Frame, detections: Sequence[Detection]) -> None:
        self.tracking.annotate(frame, detections, {})
        for name, dwell in self.dwell.items():
            self.visits[name] += dwell.update(self.tracking.tracks, self.tracking.frame_size, frame.index / self.fps)

    def result(self, truth_size: tuple[int, int]) -> dict[str, dict[str, Any]]:
        """{zone: {"truth": distribution, "counted": distribution, "mean_error_s": s, "histogram_error": tv}}."""
        self.tracking.close()
        buckets = self.settings.dwell_buckets
        results = {}
        for spec in self.settings.zones:
            truth = distribution(true_visits(self.tracks, spec, truth_size, self.fps), buckets)
            counted = distribution(self.visits[spec.name] + self.dwell[spec.name].flush(), buckets)
            results[spec.name] = {"truth": truth, "counted": counted, "buckets": list(buckets),
                                  "mean_error_s": round(counted["mean_s"] - truth["mean_s"], 3),
                                  "histogram_error": histogram_error(truth["histogram"], counted["histogram"])}
        return results


def format_dwell(results: dict[str, dict[str, Any]]) -> str:
    """One line per zone: visits, mean and histogram of truth and counted, and the two errors."""
    return "\n".join(
        f"zone {name}: visits truth {r['truth']['count']} counted {r['counted']['count']}, mean truth "
        f"{r['truth']['mean_s']:.2f} s counted {r['counted']['mean_s']:.2f} s (error {r['mean_error_s']:+.2f} s), "
        f"histogram at {r['buckets']} s truth {r['truth']['histogram']} counted {r['counted']['histogram']} "
        f"(error {r['histogram_error']:.3f})"
        for name, r in results.items()
    )
