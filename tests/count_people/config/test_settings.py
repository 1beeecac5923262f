"""The schema's own invariants: each key declared once with everything the generated files need, and what a
change rebuilds decided by the declaration (the running counter asks ``changed_parts``, never a key list)."""

from __future__ import annotations

from count_people.config import FIELDS, SECTIONS, Part, Settings, keys_rebuilding, part_of
from frame_handoff.cameras import COUNTER_KEYS
from frame_handoff.keys import keys


def test_every_key_is_declared_once_with_help_kind_and_part():
    declared = [f.name for section in SECTIONS for f in keys(section)]
    assert sorted(declared) == sorted(FIELDS), "each key in exactly one section"
    assert not {section.NAME for section in SECTIONS} & set(FIELDS), "a section's name is no key's name"
    assert set(COUNTER_KEYS) <= set(FIELDS), "the cameras contract names only counter keys"
    for name, field in FIELDS.items():
        assert field.metadata["help"] and field.metadata["kind"].type and isinstance(part_of(name), Part), name


def test_the_declaration_decides_what_a_change_rebuilds():
    assert keys_rebuilding(Part.CADENCE) == {"publish_mode", "heartbeat_interval", "summary_interval",
                                             "dwell_buckets"}
    assert keys_rebuilding(Part.ANALYTICS) == {"areas", "reset_at", "timezone", "event_min_duration",
                                               "event_hysteresis"}
    assert keys_rebuilding(Part.SOURCE) == {"source", "poll_interval", "max_frame_pixels"}
    assert keys_rebuilding(Part.PUBLISHER) == {"publish", "qos", "queue_size", "local_pubsub"}
    assert keys_rebuilding(Part.RESTART) == {"log_level", "log_format"}
    old = Settings()
    new = old.updated({"threshold": 0.7, "summary_interval": 30, "influx_db": "x", "model": "yolo.onnx"})
    assert old.changed_parts(new) == {Part.LIVE, Part.CADENCE, Part.INFLUX, Part.MODEL}
