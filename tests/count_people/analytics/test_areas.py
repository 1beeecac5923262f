"""Areas counted at their doors: a room with two doors on two cameras, the clamp at 0, persistence, its reset."""

from __future__ import annotations

import json

import jsonschema
import pytest
from count_people.analytics.hook import Analytics
from count_people.config import Settings, load_settings
from count_people.errors import UserError
from scripted_analytics import Camera, Clock, analytics_settings
from support import message_schema

FRONT = {"front": [[0.5, 1.0], [0.5, 0.0]]}  # on cam-1: left to right is "in", into the room
BACK = {"back": [[0.5, 1.0], [0.5, 0.0]]}  # on cam-2: left to right is "in" of the line, OUT of the room ("-")
ENTER, LEAVE = list(range(200, 460, 20)), list(range(460, 200, -20))


def room(tmp_path, reset: str = "") -> tuple[Settings, list[Settings]]:
    settings = analytics_settings(tmp_path, lines={}, cameras=[{"id": "cam-1", "lines": FRONT},
                                                               {"id": "cam-2", "lines": BACK}],
                                  areas={"room": {"doors": ["cam-1/front", "-cam-2/back"], "reset": reset}})
    return settings, settings.camera_settings()


def test_a_room_with_two_doors_on_two_cameras(tmp_path):
    settings, (one, two) = room(tmp_path)
    analytics = Analytics(settings, Clock())
    cam1, cam2 = Camera(analytics, one), Camera(analytics, two)
    for _ in range(3):  # three people in through the front door (cam-1), one after the other
        entered = cam1.walk(ENTER)
    assert entered[-1]["areas"]["room"]["occupancy"] == {"person": 3}
    left = cam2.walk(ENTER)  # one out through the back door (cam-2, reversed)
    assert left[-1]["areas"]["room"] == {"occupancy": {"person": 2}, "clamped": {"person": 0},
                                         "since": left[-1]["areas"]["room"]["since"]}
    assert cam1.frame([])["areas"]["room"]["occupancy"] == {"person": 2}, "one area, seen from both cameras"
    assert cam2.walk(LEAVE)[-1]["areas"]["room"]["occupancy"] == {"person": 3}, "in by the back door: '-' swaps"
    cam1.close(), cam2.close()
    analytics.close()


def test_occupancy_never_goes_below_zero_and_the_clamp_is_counted(tmp_path):
    settings, (one, _) = room(tmp_path)
    analytics = Analytics(settings, Clock())
    cam1 = Camera(analytics, one)
    message = cam1.walk(LEAVE)[-1]  # someone leaves whose entry was missed
    assert message["areas"]["room"]["occupancy"] == {"person": 0}
    assert message["areas"]["room"]["clamped"] == {"person": 1}
    base = {"schema": 3, "camera_id": "c", "thing_name": "t", "capture_time": 1.0, "publish_time": 1.0,
            "label": "person", "count": 0, "counts": {"person": 0}, "boxes": [], "truncated": False,
            "frame_size": [640, 480], "fps": 1.0, "inference_ms": 1.0, "frame_age_ms": 1.0, "model": "m"}
    jsonschema.validate({**message, **base}, message_schema())
    cam1.close()
    analytics.close()


def test_occupancy_is_persisted_and_has_its_own_reset(tmp_path):
    settings, (one, _) = room(tmp_path)
    analytics = Analytics(settings, Clock())
    cam1 = Camera(analytics, one)
    cam1.walk(ENTER)
    cam1.close()
    analytics.close()
    saved = json.loads((tmp_path / "counts.areas.json").read_text())
    assert saved["areas"]["room"]["occupancy"] == {"person": 1}

    analytics = Analytics(settings, Clock())  # restarted: restored
    cam1 = Camera(analytics, one)
    assert cam1.frame([])["areas"]["room"]["occupancy"] == {"person": 1}
    cam1.close()
    analytics.close()

    settings, (one, _) = room(tmp_path, reset="2026-12-04")  # a new token zeroes the area, not the lines
    analytics = Analytics(settings, Clock())
    cam1 = Camera(analytics, one)
    message = cam1.frame([])
    assert message["areas"]["room"]["occupancy"] == {"person": 0}
    assert message["lines"]["front"]["in"] == {"person": 1}
    cam1.close()
    analytics.close()


def test_a_corrupt_areas_file_is_kept_aside(tmp_path, caplog):
    settings, _ = room(tmp_path)
    (tmp_path / "counts.areas.json").write_text('{"version": 1, "areas": {"room": {"occupancy": {"person": -2}}}}')
    analytics = Analytics(settings, Clock())
    assert analytics.areas.counters["room"].total() == 0
    assert (tmp_path / "counts.areas.json.corrupt").exists() and "unreadable" in caplog.text
    analytics.close()


@pytest.mark.parametrize(("areas", "expected"), [
    ({"room": {"doors": []}}, "doors must list at least one counting line"),
    ({"room": {"doors": ["a/b/c"]}}, "a door is"),
    ({"room": {"doors": ["front"], "max_occupancy": 0}}, "max_occupancy must be a whole number above 0"),
    ({"room": {"doors": ["front"], "size": 3}}, "unknown key 'size'"),
])
def test_bad_areas_are_one_line_errors(areas, expected):
    with pytest.raises(UserError, match=expected):
        Settings().updated({"areas": areas})


def test_a_door_that_is_no_line_is_refused_at_start(tmp_path):
    cameras = json.dumps([{"id": "cam-1", "lines": FRONT}, {"id": "cam-2", "lines": BACK}])
    for door, where in (("cam-2/front", "camera 'cam-2'"), ("side", "any camera")):
        with pytest.raises(UserError, match=f"door '{door}' of area 'room' is no counting line of {where}"):
            load_settings({"cameras": cameras, "areas": json.dumps({"room": {"doors": ["front", door]}})}, environ={})
    assert load_settings({"cameras": cameras, "areas": json.dumps({"room": {"doors": ["front", "-back"]}})},
                         environ={}).areas


def test_areas_follow_a_live_configuration_update(tmp_path):
    settings, (one, _) = room(tmp_path)
    analytics = Analytics(settings, Clock())
    cam1 = Camera(analytics, one)
    cam1.walk(ENTER)
    bigger = settings.updated({"areas": {"room": {"doors": ["cam-1/front", "-cam-2/back"]},
                                         "hall": {"doors": ["front"], "max_occupancy": 2}}})
    analytics.reconfigure(bigger)
    message = cam1.frame([])
    assert message["areas"]["room"]["occupancy"] == {"person": 1}, "kept across the update"
    assert message["areas"]["hall"]["occupancy"] == {"person": 0}, "a new area starts at 0"
    assert set(analytics.area_thresholds) == {"hall"}
    cam1.close()
    analytics.close()
