"""Frame-rate over a sliding window, the periodic stats log line, and summaries of durations."""

from __future__ import annotations

import bisect
import collections
import math
import time
from typing import Any, Sequence


class FpsWindow:
    """Frames per second over the last ``seconds``; cheap enough to update every frame."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds = seconds
        self._times: collections.deque[float] = collections.deque()

    def tick(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._times.append(now)
        while self._times[0] < now - self.seconds:
            self._times.popleft()
        return self.rate(now)

    def rate(self, now: float | None = None) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class StatsLine:
    """Averages since the last line, in the spirit of ``2.656 FPS -- 1.0 Persons``."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._reset(time.monotonic())

    def _reset(self, now: float) -> None:
        self._since, self._frames, self._count, self._inference, self._age = now, 0, 0, 0.0, 0.0

    def add(self, count: int, inference_ms: float, age_ms: float) -> None:
        self._frames += 1
        self._count += count
        self._inference += inference_ms
        self._age += age_ms

    def due(self, now: float) -> bool:
        return self.interval > 0 and now - self._since >= self.interval

    def render(self, now: float, label: str, extra: str) -> str:
        frames = max(self._frames, 1)
        line = (
            f"{self._frames / (now - self._since):.3f} FPS -- {self._count / frames:.1f} {label.capitalize()}s"
            f" (inference {self._inference / frames:.0f} ms, frame age {self._age / frames:.0f} ms{extra})"
        )
        self._reset(now)
        return line


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending, non-empty sequence (a value that occurred)."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def histogram(values: Sequence[float], bounds: Sequence[float]) -> list[int]:
    """Counts per bucket: ``< bounds[0]``, ``bounds[0]..bounds[1]``, ..., ``>= bounds[-1]`` (len(bounds) + 1)."""
    counts = [0] * (len(bounds) + 1)
    for value in values:
        counts[bisect.bisect_right(bounds, value)] += 1
    return counts


def distribution(values: Sequence[float], bounds: Sequence[float]) -> dict[str, Any]:
    """Count, mean, p50, p90 and histogram of durations in seconds (a dwell-time summary; zeros when empty)."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "mean_s": 0.0, "p50_s": 0.0, "p90_s": 0.0, "histogram": histogram((), bounds)}
    return {"count": len(ordered), "mean_s": round(sum(ordered) / len(ordered), 3),
            "p50_s": round(percentile(ordered, 0.5), 3), "p90_s": round(percentile(ordered, 0.9), 3),
            "histogram": histogram(ordered, bounds)}
