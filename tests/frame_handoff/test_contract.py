"""Pins the grabber -> counter hand-off: both components find the same frame and status file, and the
counter knows every state the grabber writes."""

from __future__ import annotations

import ast
from pathlib import Path

import frame_handoff
from count_people.config import Settings
from count_people.observability.grabber import GRABBER_STATES, status_path
from gst_grabber.config import GrabberConfig, load_config

RUNNER = Path(__file__).resolve().parents[2] / "components" / "gst_grabber" / "runner.py"


def test_the_values_users_rely_on():
    assert frame_handoff.DEFAULT_FRAME_PATH == "/tmp/data/frame.jpg"
    assert frame_handoff.status_path("/tmp/data/frame.jpg") == Path("/tmp/data/frame.status.json")
    assert frame_handoff.GRABBER_STATES == ("starting", "running", "backoff", "stopped")


def test_both_sides_default_to_the_same_frame_and_status_file():
    grabber = load_config(["--url", "rtsp://camera.local/stream"], environ={})
    counter = Settings()
    assert str(grabber.frame_path) == counter.source
    assert grabber.status_path == status_path(counter.source)


def test_a_renamed_frame_moves_its_status_file_on_both_sides(tmp_path):
    grabber = GrabberConfig(url="rtsp://camera.local/stream", output_dir=tmp_path, output_name="door.jpg")
    assert grabber.status_path == status_path(str(tmp_path / "door.jpg")) == tmp_path / "door.status.json"


def test_every_state_the_grabber_writes_is_known_to_the_counter():
    """The runner assigns ``self.status.state = NAME``; each NAME must be one of the shared states."""
    tree = ast.parse(RUNNER.read_text())
    written = {
        node.value.id for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name)
        and any(isinstance(t, ast.Attribute) and t.attr == "state" for t in node.targets)
    }
    assert written, "the runner sets its state from the shared names"
    assert {getattr(frame_handoff, name) for name in written} <= set(GRABBER_STATES)
