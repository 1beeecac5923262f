"""Keyframe-only decoding at low caps: parsing the probe, the decision, the pipeline, and a live camera."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from grabber_support import frame_id
from gst_grabber.config import load_config
from gst_grabber.keyframes import interval_of, keyframe_times, keyframes_only, keyframes_suffice, measure_interval
from gst_grabber.pipeline import launch_command, pipeline_elements
from support import wait_for

#: identity's verbose lines as GStreamer 1.22 prints them (cut after the flags).
KEY = ("/GstPipeline:pipeline0/GstIdentity:identity0: last-message = chain   ******* (identity0:sink) (52648 bytes, "
       "dts: none, pts: 0:00:0{t}, duration: 0:00:00.033333333, offset: 0, offset_end: -1, flags: 00000640 discont "
       "marker header , meta: none)")
DELTA = ("/GstPipeline:pipeline0/GstIdentity:identity0: last-message = chain   ******* (identity0:sink) (12878 bytes, "
         "dts: none, pts: 0:00:0{t}, duration: 0:00:00.033333333, offset: 87743, offset_end: -1, flags: 00002200 "
         "marker delta-unit , meta: none)")


def config(**env: str):
    return load_config([], {"GRABBER_RTSP_URL": "rtsp://127.0.0.1:1/x", **{f"GRABBER_{k.upper()}": v
                                                                           for k, v in env.items()}})


def test_keyframe_times_come_from_buffers_without_the_delta_flag():
    lines = [KEY.format(t="0.020000000"), DELTA.format(t="0.053333333"), "some other line",
             KEY.format(t="1.020000000"), DELTA.format(t="1.053333333"), KEY.format(t="2.520000000")]
    assert list(keyframe_times(lines)) == [0.02, 1.02, 2.52]
    assert interval_of(iter([0.02, 1.02, 2.52])) == pytest.approx(1.5)  # the longest gap decides
    assert interval_of(iter([0.02, 1.02])) is None  # too few keyframes seen


@pytest.mark.parametrize(("interval", "cap", "expected"), [
    (1.0, 1, True), (1.05, 1, True), (0.5, 1, True), (2.0, 1, False), (1.0, 2, False), (None, 1, False),
    (1.0, 0, False),
])
def test_keyframes_only_where_they_reach_the_cap(interval, cap, expected):
    assert keyframes_suffice(interval, cap) is expected


def test_keyframe_pipeline_drops_inter_frames_before_the_decoder():
    full = pipeline_elements(config(max_fps="1"))
    assert full[full.index("rtph264depay") + 2] == "avdec_h264" and "identity" not in full
    tokens = pipeline_elements(config(max_fps="1"), keyframes_only=True)
    order = [tokens.index(e) for e in ("rtph264depay", "h264parse", "drop-buffer-flags=delta-unit", "avdec_h264",
                                       "videorate")]
    assert order == sorted(order)
    assert "decodebin" in pipeline_elements(config(codec="auto"), keyframes_only=True)  # no parser to mark them


def test_high_caps_and_auto_codec_decode_every_frame_without_probing():
    assert not keyframes_only(config(max_fps="5"))
    assert not keyframes_only(config(max_fps="1", codec="auto"))


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="GStreamer not installed")
@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_keyframe_pipeline_parses_with_installed_plugins(codec, tmp_path):
    cfg = config(codec=codec, max_fps="1", output_dir=str(tmp_path))
    result = subprocess.run(launch_command(cfg, keyframes_only=True), capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "Could not open resource" in result.stdout + result.stderr
    assert "no element" not in result.stderr and "could not link" not in result.stderr.lower()


def test_live_camera_interval_is_measured_and_one_fps_decodes_keyframes_only(emulator_factory, grabber_factory):
    emulator = emulator_factory(fps=30)  # the emulator's encoder puts a keyframe every second (key-int-max=fps)
    assert measure_interval(config(rtsp_url=emulator.url()), timeout=10) == pytest.approx(1.0, abs=0.1)
    grabber = grabber_factory(emulator.url(), max_fps=1)
    wait_for(lambda: frame_id(grabber.frame), 20, what="first frame")
    wait_for(lambda: "decoding keyframes only at max 1 fps" in grabber.output.text, 2, what="the decision logged")
    seen, changes, deadline = frame_id(grabber.frame), 0, time.monotonic() + 5.0
    while time.monotonic() < deadline:
        current = frame_id(grabber.frame)
        changes += current != seen
        seen = current
        time.sleep(0.01)
    assert 4 <= changes <= 6  # one keyframe per second reaches the 1 fps cap
    cap2 = grabber_factory(emulator.url(), max_fps=2)
    wait_for(lambda: frame_id(cap2.frame), 20, what="first frame at 2 fps")
    wait_for(lambda: "decoding every frame at max 2 fps" in cap2.output.text, 2, what="the decision logged")
