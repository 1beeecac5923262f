"""The grabber's cameras list: parsing, defaults, the counter's keys, one-line errors; CPU meter; emulator mounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gst_grabber.cameras import load_cameras, parse_cameras
from gst_grabber.config import ConfigError, GrabberConfig, load_config
from gst_grabber.cpu import CpuMeter, tree_cpu_seconds
from gst_grabber.emulator import EmulatorError, named_sources

pytestmark = pytest.mark.clean_install

BASE = GrabberConfig(url="", output_dir=Path("/run/frames"))
URL = "rtsp://admin:S3cr3tPw@10.0.0.5:554/stream1"


def _parse(cameras, **top):
    return parse_cameras({"cameras": cameras, **top}, BASE, "test.yaml")


def test_each_camera_gets_its_frame_and_status_file_and_top_level_defaults():
    cameras = _parse([{"id": "entrance", "rtsp_url": URL}, {"id": "platform.2", "rtsp_url": URL, "max_fps": 2}],
                     max_fps=7, transport="udp", thing_name="ignored-counter-key", detector="opencv")
    entrance, platform = cameras
    assert entrance.config.frame_path == Path("/run/frames/entrance.jpg")
    assert entrance.config.status_path == Path("/run/frames/entrance.status.json")
    assert (entrance.config.max_fps, entrance.config.transport) == (7, "udp")
    assert (platform.id, platform.config.max_fps, platform.config.transport) == ("platform.2", 2, "udp")
    assert entrance.masked == "rtsp://admin:***@10.0.0.5:554/stream1"


def test_the_counters_keys_are_accepted_and_not_read():
    counter = {"lines": {"door": [[0.5, 0], [0.5, 1]]}, "zones": {}, "threshold": 0.6, "classes": "person",
               "max_boxes": 50, "publish_mode": "on_change", "topic": "t/{camera}", "source": "/x.jpg",
               "state_file": "/s.json", "health_timeout": 5, "grabber_status": "/x.status.json",
               "counts_reset": "daily", "tracker_lost_s": 0.5}
    (camera,) = _parse([{"id": "door", "rtsp_url": URL, **counter}])
    assert camera.config.frame_path.name == "door.jpg"


@pytest.mark.parametrize(
    ("cameras", "message"),
    [
        ([{"id": "a", "rtsp_url": URL}, {"id": "b", "rtsp_url": "http://x/y"}],
         "cameras[1].rtsp_url: 'http://x/y' is invalid"),
        ([{"id": "a", "rtsp_url": URL, "max_fps": "fast"}], "cameras[0].max_fps: 'fast' is invalid"),
        ([{"id": "a", "rtsp_url": URL, "codec": ["h264"]}], "cameras[0].codec: expected a number or string"),
        ([{"id": "a", "rtsp_url": URL}, {"id": "a", "rtsp_url": URL}],
         "cameras[1].id: 'a' is already the id of cameras[0]"),
        ([{"id": "a", "rtsp_url": URL, "rtsp_secret_arn": "arn:x"}],
         "cameras[0].rtsp_secret_arn: a camera of a list takes no secret (camera 'a')"),
        ([{"id": "a/b", "rtsp_url": URL}], "cameras[0].id: 'a/b' is invalid"),
        ([{"id": "a#", "rtsp_url": URL}], "cameras[0].id: 'a#' is invalid"),
        ([{"rtsp_url": URL}], "cameras[0].id: None is invalid"),
        ([{"id": "a"}], "cameras[0].rtsp_url: missing (camera 'a')"),
        ([{"id": "a", "rtsp_url": URL, "fps": 5}], "cameras[0].fps: unknown key (camera 'a')"),
        ([{"id": "a", "rtsp_url": URL, "watchdog_s": 9}], "cameras[0].watchdog_s: unknown key (camera 'a')"),
        (["rtsp://x/y"], "cameras[0]: expected a mapping"),
        ([], "expected a non-empty list 'cameras'"),
    ],
)
def test_bad_lists_are_one_line_errors_naming_camera_and_key(cameras, message):
    with pytest.raises(ConfigError) as err:
        _parse(cameras)
    assert message in str(err.value) and "\n" not in str(err.value) and "S3cr3t" not in str(err.value)


def test_bad_top_level_default_is_named():
    with pytest.raises(ConfigError, match=r"cameras \(top level\)\.jpeg_quality: '0' is invalid"):
        _parse([{"id": "a", "rtsp_url": URL}], jpeg_quality=0)
    with pytest.raises(ConfigError, match=r"cameras \(top level\)\.backoff_max_s: must be >="):
        _parse([{"id": "a", "rtsp_url": URL}], backoff_initial_s=9)


def test_sources_of_the_list_and_the_single_camera_form(tmp_path):
    single = load_config([], {"GRABBER_RTSP_URL": URL})
    (camera,) = load_cameras(single, None, "")
    assert camera.id == "" and camera.config.frame_path.name == "frame.jpg"  # today's names, unchanged
    assert load_cameras(single, None, "[]") == [camera]  # the recipe's empty default is no list
    base = load_config([], {"GRABBER_MAX_FPS": "3"}, require_url=False)
    from_env = load_cameras(base, None, json.dumps([{"id": "a", "rtsp_url": URL}]))
    assert [(c.id, c.config.max_fps) for c in from_env] == [("a", 3)]
    yaml_file = tmp_path / "cameras.yaml"
    yaml_file.write_text(f"max_fps: 4\ncameras:\n  - id: b\n    rtsp_url: {URL}\n")
    assert [(c.id, c.config.max_fps) for c in load_cameras(base, yaml_file, "")] == [("b", 4)]
    with pytest.raises(ConfigError, match="both a camera URL"):
        load_cameras(single, yaml_file, "")
    with pytest.raises(ConfigError, match="no camera: set GRABBER_RTSP_URL"):
        load_cameras(base, None, "")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras: [\n")
    with pytest.raises(ConfigError, match="not valid YAML/JSON at line"):
        load_cameras(base, bad, "")
    with pytest.raises(ConfigError, match="GRABBER_CAMERAS: not valid YAML/JSON"):
        load_cameras(base, None, "[{")


def test_command_line_errors_are_one_line_and_masked(tmp_path):
    cameras = tmp_path / "c.json"
    cameras.write_text(json.dumps({"cameras": [{"id": "a", "rtsp_url": URL}, {"id": "a", "rtsp_url": URL}]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRABBER_")}
    result = subprocess.run([sys.executable, "-m", "gst_grabber.supervisor", "--cameras", str(cameras)], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == ("gst-grabber: error: cameras[1].id: 'a' is already the id of cameras[0]; "
                                     "ids must be unique (each camera writes <id>.jpg)")


def _percent_of(code: str) -> float:
    child = subprocess.Popen([sys.executable, "-c", f"import time\ntime.sleep(0.3)\n{code}"])
    meter = CpuMeter()
    time.sleep(0.3)  # past the interpreter's start-up
    meter.percent(child.pid)
    time.sleep(1.0)
    percent = meter.percent(child.pid)
    child.kill()
    child.wait(10)
    assert percent is not None
    return percent


def test_cpu_meter_tells_a_busy_child_from_an_idle_one():
    busy = _percent_of("while True: pass")
    idle = _percent_of("time.sleep(30)")
    assert 10 <= busy <= 110 and idle < 3, (busy, idle)  # 2 cores shared with other tests: busy is not 100
    assert CpuMeter().percent(None) is None
    assert tree_cpu_seconds(os.getpid()) > 0


def test_emulator_mount_names():
    assert named_sources(["a.mp4", "test"], ["door=b.mp4"]) == [("cam1", "a.mp4"), ("cam2", "test"),
                                                                  ("door", "b.mp4")]
    assert named_sources([], []) == [("cam1", "test")]
    with pytest.raises(EmulatorError, match="mount /cam1 is given twice"):
        named_sources(["test"], ["cam1=test"])
    with pytest.raises(EmulatorError, match="expected NAME=SOURCE"):
        named_sources([], ["a/b=test"])


def test_a_deep_or_endless_cameras_list_is_one_line(tmp_path):
    """The grabber's ways in take the counter's guards (frame_handoff.keys): depth, size, regular files only."""
    base = load_config([], {}, require_url=False)
    with pytest.raises(ConfigError, match=r"^GRABBER_CAMERAS: nested deeper than 12 levels"):
        load_cameras(base, None, "[" * 5000 + "]" * 5000)
    fifo = tmp_path / "cameras.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"^cameras file .*: not a regular file"):
        load_cameras(base, fifo, "")
