"""Capacity and dwell events: once raised, once cleared under flicker; on their own topic at QoS 1 in every mode."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from count_people.analytics.events import EventConfig, Threshold
from count_people.analytics.hook import Analytics
from count_people.config import load_settings
from count_people.errors import UserError
from count_people.frames.base import Frame
from count_people.loop import CountingLoop
from count_people.observability.hub import Observability
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from scripted_analytics import IMAGE, Clock, Recorder, analytics_settings, person
from support import schema_validator


def test_an_event_fires_once_and_clears_once_under_flicker():
    threshold = Threshold("zone", "queue", "max_occupancy", 3, EventConfig(min_duration=5.0, hysteresis=0.1))
    timeline = [
        *[4, 3] * 6,  # flicker over the threshold, never 5 s on end: nothing
        *[4] * 6,  # over for 5 s: raised once
        *[3, 4, 2, 4] * 4,  # flicker below the threshold but not under 2.7 for 5 s: still raised
        *[2] * 6,  # 5 s at most 90 % of it: cleared once
        *[3, 2] * 4,  # flicker at the threshold after clearing: nothing
    ]
    events = [(t, event["state"]) for t, value in enumerate(timeline)
              if (event := threshold.update(value, float(t)))]
    assert [state for _, state in events] == ["raised", "cleared"]
    assert events[0][0] == 12 + 5 and events[1][0] == 12 + 6 + 16 + 5


class ScriptedDetector:
    """The detections of each frame in turn: one person walking in from the right and staying ``stay`` frames."""

    name, load_seconds = "scripted", 0.0

    def __init__(self, path: list[float]) -> None:
        self.path = iter(path)

    def detect(self, image) -> list:
        x = next(self.path, None)
        return [] if x is None else [person(x)]


def test_events_go_out_on_their_topic_at_qos_1_in_summary_mode_and_are_counted(tmp_path):
    settings = analytics_settings(tmp_path, areas={"left side": {"doors": ["-door"]}}, publish_mode="summary",
                                  summary_interval=3600,
                                  topic="people/{thing}/{camera}", thing_name="t1", camera_id="c1", qos=0,
                                  zones={"left": {"polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "max_dwell_s": 3}},
                                  event_min_duration=1)
    clock = Clock(1000.0)
    analytics, hub, publisher = Analytics(settings, clock), Observability(settings), Recorder()
    path = [380, 360, 340, 320, 300, 280, *[260] * 8, 280, 300, 320, 340, 360, 380]  # stays ~12 s
    source = SimpleNamespace(skipped=0, close=lambda: None)
    loop = CountingLoop(settings, source=source, detector=ScriptedDetector(path), publisher=publisher)
    loop.hooks.extend([*analytics.create_hooks(loop), *hub.create_hooks(loop)])
    messages = []
    for second in range(len(path) + 5):
        clock.now = 1000.0 + second
        messages.append(loop.process(Frame(IMAGE, clock.now, 0.0, second)))
    events = [(topic, json.loads(payload), qos) for topic, payload, qos in publisher.sent]
    assert [(topic, event["state"], qos) for topic, event, qos in events] == [
        ("people/t1/c1/events", "raised", 1), ("people/t1/c1/events", "cleared", 1)], "nothing else: summary mode"
    for _, event, _ in events:
        schema_validator("event").validate(event)
        assert event["rule"] == "max_dwell_s" and event["region"] == "zone" and event["name"] == "left"
    with_events = [m for m in messages if "events" in m]
    assert len(with_events) == 2
    for message in with_events:
        schema_validator("message").validate(message)
    samples = [(s.name, s.labels, s.value)
               for family in text_string_to_metric_families(generate_latest(hub.registry).decode())
               for s in family.samples]
    assert {labels["state"]: value for name, labels, value in samples if name == "people_counter_events_total"} == {
        "raised": 1.0, "cleared": 1.0}
    assert ("people_counter_dwell_seconds_count", {"camera": "c1", "zone": "left"}, 1.0) in samples
    assert ("people_counter_zone_longest_visit_seconds", {"camera": "c1", "zone": "left"}, 0.0) in samples
    area = {"camera": "c1", "area": "left side", "class": "person"}
    assert ("people_counter_area_occupancy", area, 0.0) in samples, "in and out again through the door"
    assert ("people_counter_area_clamped_total", area, 0.0) in samples
    assert max(m["areas"]["left side"]["occupancy"]["person"] for m in messages) == 1
    loop.close()
    summary = json.loads(publisher.sent[-1][1])
    assert summary["kind"] == "summary" and summary["zones"]["left"]["dwell"]["count"] == 1
    schema_validator("summary").validate(summary)
    analytics.close()
    hub.close()


def test_the_events_topic_is_checked_against_iot_core_limits_only_with_thresholds(tmp_path):
    topic = {"publish": "ipc", "topic": "a/b/c/d/e/{thing}/{camera}", "thing_name": "t", "camera_id": "c"}
    assert load_settings(topic, environ={}).topic  # 6 '/': fits, and no events go out
    with pytest.raises(UserError, match=r"gives the events topic \(thresholds are set\) 'a/b/c/d/e/f/t/c/events'"):
        load_settings({**topic, "topic": "a/b/c/d/e/f/{thing}/{camera}",
                       "zones": json.dumps({"z": {"polygon": [[0, 0], [1, 0], [1, 1]], "max_occupancy": 5}})},
                      environ={})
