"""Publishing modes: every frame, on change with a heartbeat, interval summaries (schema-valid)."""

from __future__ import annotations

import jsonschema
from count_people.cadence import EveryFrame, OnChange, Summary, create_cadence
from count_people.config import Settings
from support import message_schema


def frame_message(count: int, t: float, crossed_in: int = 0, total_in: int = 0, occupancy: int = 0) -> dict:
    return {
        "schema": 2, "camera_id": "cam-1", "thing_name": "thing-1", "capture_time": t, "publish_time": t,
        "label": "person", "count": count, "counts": {"person": count}, "boxes": [], "truncated": False,
        "frame_size": [640, 480], "fps": 5.0, "inference_ms": 10.0, "frame_age_ms": 5.0, "model": "m",
        "lines": {"door": {"points": [[0.5, 0], [0.5, 1]], "in": {"person": total_in}, "out": {"person": 0},
                           "in_delta": {"person": crossed_in}, "out_delta": {"person": 0}, "since": 1.0}},
        "zones": {"till": {"polygon": [[0, 0], [1, 0], [1, 1]], "occupancy": {"person": occupancy}}},
    }


def test_modes_by_settings():
    assert isinstance(create_cadence(Settings()), EveryFrame)
    assert isinstance(create_cadence(Settings().updated({"publish_mode": "on_change"})), OnChange)
    summary = create_cadence(Settings().updated({"publish_mode": "summary", "summary_interval": 30}))
    assert isinstance(summary, Summary) and summary.interval == 30


def test_every_frame_passes_everything():
    cadence = EveryFrame()
    assert [len(cadence.offer(frame_message(1, t), t)) for t in range(5)] == [1] * 5


def test_on_change_sends_changes_and_a_heartbeat():
    cadence = OnChange(heartbeat=10)
    sent = [t for t, count in enumerate([1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
            if cadence.offer(frame_message(count, t), float(t))]
    assert sent == [0, 2, 5, 15], "first frame, two changes, then the heartbeat 10 s after the last message"


def test_on_change_never_loses_a_crossing():
    cadence = OnChange(heartbeat=60)
    assert cadence.offer(frame_message(1, 0), 0.0)
    assert cadence.offer(frame_message(1, 1, crossed_in=1, total_in=1), 1.0), "a crossing changes the totals"
    assert not cadence.offer(frame_message(1, 2, total_in=1), 2.0)


def test_summary_aggregates_an_interval_and_validates():
    cadence = Summary(interval=10)
    out = []
    for t, (count, crossed, occupancy) in enumerate([(1, 0, 0), (3, 1, 2), (2, 0, 1), (0, 2, 0)] * 3):
        out += cadence.offer(frame_message(count, 100.0 + t, crossed, t, occupancy), float(t))
    (summary,) = out  # frames 0..10 (interval reached at t=10)
    jsonschema.validate(summary, message_schema("summary"))
    assert summary["frames"] == 11 and summary["start_time"] == 100.0 and summary["end_time"] == 110.0
    assert summary["counts"] == {"person": {"min": 0, "max": 3, "mean": round(18 / 11, 3)}}
    assert summary["lines"]["door"]["in_delta"] == {"person": 7} and summary["lines"]["door"]["in"] == {"person": 10}
    assert summary["zones"]["till"] == {"occupancy": {"person": 1}, "occupancy_max": {"person": 2}}
    (rest,) = cadence.flush(12.0)  # shutdown: the partial interval is not lost
    assert rest["frames"] == 1 and rest["lines"]["door"]["in_delta"] == {"person": 2}
    assert cadence.flush(13.0) == []


def test_summary_without_lines_or_zones_carries_drops():
    message = {k: v for k, v in frame_message(2, 5.0).items() if k not in ("lines", "zones")}
    cadence = Summary(interval=60)
    assert cadence.offer({**message, "dropped": 7}, 0.0) == []
    (summary,) = cadence.flush(2.0)
    jsonschema.validate(summary, message_schema("summary"))
    assert summary["dropped"] == 7 and "lines" not in summary and "zones" not in summary
