"""The lines-and-zones hook end to end: message fields, schema, persistence, reset, validation."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import count_people
import jsonschema
import numpy as np
import pytest
from count_people.config import Settings, load_settings
from count_people.detectors.base import Detection
from count_people.errors import UserError
from count_people.frames.base import Frame
from count_people.tracking.hook import LinesAndZones, create_tracking_hooks

SCHEMA = json.loads((Path(count_people.__file__).parent / "schema" / "message.schema.json").read_text())
IMAGE = np.zeros((480, 640, 3), np.uint8)
DOOR = {"door": [[0.5, 1.0], [0.5, 0.0]]}  # "in" = left to right
#: Left and right halves of the frame.
ZONES = {"left": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "right": {"polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}}


def settings(tmp_path: Path, **changes) -> Settings:
    base = {"lines": DOOR, "state_file": str(tmp_path / "counts.json"), "classes": "person,car",
            "tracker_confirm_s": 0}
    return Settings().updated({**base, **changes})


def person(x: float, label: str = "person") -> Detection:
    return Detection(label, 0.9, (x - 20.0, 200.0, x + 20.0, 300.0))


def feed(hook: LinesAndZones, xs_per_frame: list[list[float]], label: str = "person") -> list[dict]:
    messages = []
    for index, xs in enumerate(xs_per_frame):
        message = {"schema": 2}
        hook.annotate(Frame(IMAGE, index / 25, 0.0, index), [person(x, label) for x in xs], message)
        messages.append(message)
    return messages


def walk(start: float, stop: float, step: float = 20.0) -> list[list[float]]:
    return [[x] for x in np.arange(start, stop, step if stop > start else -step)]


def saved(tmp_path: Path) -> dict:
    hook_file = tmp_path / "counts.json"
    return json.loads(hook_file.read_text())


def test_messages_carry_totals_deltas_and_occupancy_in_the_schema(tmp_path):
    hook = LinesAndZones(settings(tmp_path, zones=ZONES))
    messages = feed(hook, walk(200, 460))
    hook.close()
    door = [m["lines"]["door"] for m in messages]
    assert door[-1]["in"] == {"person": 1, "car": 0} and door[-1]["out"] == {"person": 0, "car": 0}
    assert [d["in_delta"]["person"] for d in door].count(1) == 1
    assert sum(d["in_delta"]["person"] for d in door) == 1 and all(d["out_delta"]["person"] == 0 for d in door)
    assert door[0]["points"] == [[0.5, 1.0], [0.5, 0.0]]
    assert messages[0]["zones"]["left"]["occupancy"] == {"person": 1, "car": 0}
    assert messages[-1]["zones"]["left"]["occupancy"]["person"] == 0
    assert messages[-1]["zones"]["right"] == {
        "polygon": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]], "occupancy": {"person": 1, "car": 0}}
    base = json.loads(json.dumps({  # a real message from the builder's fields, plus ours
        "schema": 2, "camera_id": "c", "thing_name": "t", "capture_time": 1.0, "publish_time": 1.0,
        "label": "person", "count": 1, "counts": {"person": 1, "car": 0}, "boxes": [], "truncated": False,
        "frame_size": [640, 480], "fps": 1.0, "inference_ms": 1.0, "frame_age_ms": 1.0, "model": "m"}))
    jsonschema.validate({**base, **messages[-1]}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**base, "lines": {"door": {**door[-1], "in": {"person": -1}}}}, SCHEMA)


def test_nothing_configured_adds_nothing_and_writes_nothing(tmp_path):
    loop = SimpleNamespace(settings=Settings().updated({"state_file": str(tmp_path / "counts.json")}))
    (hook,) = create_tracking_hooks(loop)
    assert feed(hook, walk(200, 460)) == [{"schema": 2}] * 13
    hook.close()
    assert not (tmp_path / "counts.json").exists()


def test_totals_survive_a_restart_and_reset_once_on_a_new_counts_reset(tmp_path):
    first = LinesAndZones(settings(tmp_path))
    feed(first, walk(200, 460) + walk(460, 200))
    first.close()
    assert saved(tmp_path)["lines"]["door"]["in"] == {"person": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["counts.json"]  # no temporary files left

    second = LinesAndZones(settings(tmp_path))
    door = feed(second, [[100.0]])[0]["lines"]["door"]
    assert (door["in"]["person"], door["out"]["person"], door["in_delta"]["person"]) == (1, 1, 0)
    second.close()

    third = LinesAndZones(settings(tmp_path, counts_reset="2024-06-01"))
    assert feed(third, [[100.0]])[0]["lines"]["door"]["in"]["person"] == 0
    feed(third, walk(200, 460))
    third.close()
    fourth = LinesAndZones(settings(tmp_path, counts_reset="2024-06-01"))  # same token: no second reset
    assert feed(fourth, [[100.0]])[0]["lines"]["door"]["in"]["person"] == 1
    fourth.close()


def test_a_live_update_resets_or_keeps_each_line(tmp_path):
    two_lines = {**DOOR, "aisle": [[0.0, 0.5], [1.0, 0.5]]}
    hook = LinesAndZones(settings(tmp_path, lines=two_lines))
    feed(hook, walk(200, 460))
    moved = settings(tmp_path, lines={**DOOR, "aisle": [[0.0, 0.6], [1.0, 0.6]]})
    hook.reconfigure(moved)
    lines = feed(hook, [[500.0]])[0]["lines"]
    assert lines["door"]["in"]["person"] == 1 and lines["aisle"]["in"]["person"] == 0
    hook.reconfigure(moved.updated({"counts_reset": "now"}))
    assert feed(hook, [[500.0]])[0]["lines"]["door"]["in"]["person"] == 0
    hook.close()
    assert saved(tmp_path)["counts_reset"] == "now"


def test_a_corrupt_state_file_is_set_aside_not_fatal(tmp_path):
    (tmp_path / "counts.json").write_text("{not json")
    hook = LinesAndZones(settings(tmp_path))
    assert feed(hook, [[100.0]])[0]["lines"]["door"]["in"]["person"] == 0
    hook.close()
    assert (tmp_path / "counts.json.corrupt").read_text() == "{not json"


def test_an_unwritable_state_file_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError, match=r"state_file .*missing.* does not exist"):
        LinesAndZones(settings(tmp_path, state_file=str(tmp_path / "missing" / "counts.json")))
    hook = LinesAndZones(settings(tmp_path))
    with pytest.raises(UserError, match="does not exist"):
        hook.reconfigure(settings(tmp_path, state_file=str(tmp_path / "missing" / "counts.json")))
    hook.close()


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("lines", {"door": [[0.5, 0.2], [0.5, 0.2]]}, "line 'door': its two points are identical"),
        ("lines", {"door": [[0.5, 0.2], [1.2, 0.2]]}, r"line 'door': point \[1.2, 0.2\] is outside the frame"),
        ("lines", {"door": [[0.5, 0.2]]}, "line 'door': expected exactly 2 points"),
        ("lines", {"door": {"points": [[0, 0], [1, 1]], "margin": -1}}, "line 'door': margin must be a number 0..5"),
        ("zones", {"bow": [[0, 0], [1, 1], [1, 0], [0, 1]]}, "zone 'bow': the polygon intersects itself"),
        ("zones", {"back": [[0, 0], [1, 0], [0.5, 0], [0.5, 1]]}, "zone 'back': the polygon intersects itself"),
        ("zones", {"flat": [[0, 0], [0.5, 0.5], [1, 1]]}, "zone 'flat': the polygon intersects itself"),
        ("zones", {"far": [[0, 0], [1, 0], [1, -0.1]]}, "zone 'far': point .* is outside the frame"),
        ("zones", {"z": {"polygon": [[0, 0], [1, 0], [1, 1]], "anchor": "head"}}, "zone 'z': anchor must be one of"),
    ],
)
def test_bad_geometry_is_a_one_line_error_naming_the_key(key, value, error):
    with pytest.raises(UserError, match=f"^config file x.yaml: bad value for {key}: {error}") as caught:
        Settings().updated({key: value}, origin="config file x.yaml")
    assert "\n" not in str(caught.value)


def test_lines_and_zones_come_as_json_from_flags_and_environment(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("lines:\n  door:\n    points: [[0.5, 1], [0.5, 0]]\n    margin: 0.5\n")
    env = {"COUNT_PEOPLE_ZONES": json.dumps(ZONES)}
    loaded = load_settings({}, env, str(config))
    assert loaded.lines[0].margin == 0.5 and [z.name for z in loaded.zones] == ["left", "right"]
    flags = load_settings({"lines": '{"a": [[0, 0], [1, 1]]}', "zones": ""}, env, str(config))
    assert [line.name for line in flags.lines] == ["a"] and flags.zones == ()
