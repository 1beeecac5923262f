"""Time constants of tracking and counting are seconds; the frame forms of earlier releases still load."""

from __future__ import annotations

import logging

import pytest
from count_people.config import Settings, load_settings, settings
from count_people.config.loader import environment_settings
from count_people.errors import UserError


@pytest.fixture(autouse=True)
def _warn_again(monkeypatch):
    monkeypatch.setattr(settings, "_warned_frame_keys", set())


def test_frame_keys_convert_at_the_cameras_max_fps_else_at_25_fps():
    assert Settings().updated({"tracker_lost_frames": 10, "max_fps": 5}).tracker_lost_s == 2.0
    old = Settings().updated({"tracker_lost_frames": 30, "tracker_confirm_frames": 2, "count_hold_frames": 3})
    assert (old.tracker_lost_s, old.tracker_confirm_s, old.count_hold_s) == (1.2, 0.04, 0.12)
    assert Settings().updated({"tracker_confirm_frames": 1}).tracker_confirm_s == 0  # confirmed at first sight


def test_the_seconds_key_wins_and_each_frame_key_is_logged_once(caplog):
    caplog.set_level(logging.WARNING, "count_people.config")
    both = Settings().updated({"count_hold_frames": 10, "count_hold_s": 0.5})
    Settings().updated({"count_hold_frames": 2})
    assert both.count_hold_s == 0.5
    assert caplog.text.count("count_hold_frames is deprecated") == 1


def test_frame_keys_work_from_every_source_and_per_camera(tmp_path):
    assert "tracker_lost_frames" in environment_settings({"COUNT_PEOPLE_TRACKER_LOST_FRAMES": "50"})
    settings = load_settings({}, {"COUNT_PEOPLE_TRACKER_LOST_FRAMES": "50"})
    assert settings.tracker_lost_s == 2.0
    cameras = Settings().updated({"cameras": [{"id": "a", "max_fps": 2, "tracker_lost_frames": 1}]})
    assert cameras.camera_settings()[0].tracker_lost_s == 0.5


def test_frame_flags_still_parse_but_are_not_offered():
    from count_people.arguments import parse_with_settings
    from count_people.evaluation.cli import build_parser

    _, settings = parse_with_settings(build_parser(), ["--source", "v.mp4", "--tracker-confirm-frames", "1"])
    assert settings.tracker_confirm_s == 0
    assert "-frames" not in build_parser().format_help().replace("--calibration-frames", "")


def test_a_bad_frame_value_names_the_key():
    with pytest.raises(UserError, match="tracker_confirm_frames"):
        Settings().updated({"tracker_confirm_frames": 0})


def test_no_option_counts_in_frames():
    assert not [f.name for f in Settings.options() if f.name.endswith("_frames") and f.name != "calibration_frames"]


def test_a_frame_key_nested_in_its_section_is_read_too():
    assert Settings().updated({"tracking": {"tracker_lost_frames": 50}}).tracker_lost_s == 2.0
