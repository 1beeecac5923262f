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


def analytics_message(t: float, completed: list[float], longest: float = 0.0, area: int = 0) -> dict:
    message = frame_message(1, t)
    message["zones"]["till"]["dwell"] = {"inside": 1, "longest_current_s": longest, "completed_s": completed}
    message["areas"] = {"shop": {"occupancy": {"person": area}, "clamped": {"person": 0}, "since": 1.0}}
    return message


def test_on_change_never_loses_a_completed_visit_or_an_area_change():
    cadence = OnChange(heartbeat=60)
    assert cadence.offer(analytics_message(0, []), 0.0)
    assert not cadence.offer(analytics_message(1, [], longest=1.0), 1.0), "a longer current visit is no change"
    assert cadence.offer(analytics_message(2, [12.5]), 2.0), "a visit ended"
    assert cadence.offer(analytics_message(3, []), 3.0)
    assert cadence.offer(analytics_message(4, [], area=1), 4.0), "the area's occupancy changed"


def test_summary_reports_the_visits_of_the_interval_in_buckets():
    cadence = Summary(interval=60, buckets=(30.0, 120.0, 600.0))
    visits = [[10.0], [], [40.0, 50.0], [700.0], [], [5.0, 100.0, 200.0, 20.0, 90.0]]
    for t, completed in enumerate(visits):
        cadence.offer(analytics_message(100.0 + t, completed, longest=33.0, area=t), float(t))
    (summary,) = cadence.flush(10.0)
    jsonschema.validate(summary, message_schema("summary"))
    durations = sorted(d for frame in visits for d in frame)  # 5 10 20 40 50 90 100 200 700
    assert summary["zones"]["till"]["dwell"] == {
        "count": 9, "mean_s": round(sum(durations) / 9, 3), "p50_s": 50.0, "p90_s": 700.0,
        "histogram": [3, 4, 1, 1], "buckets": [30.0, 120.0, 600.0], "longest_current_s": 33.0}
    assert summary["areas"]["shop"]["occupancy"] == {"person": 5}
    assert summary["areas"]["shop"]["occupancy_max"] == {"person": 5}
