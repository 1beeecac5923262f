"""Preflight: a missing GStreamer plugin stops the grabber and the emulator at start-up with one line naming
the element and its Debian package (plugins hidden by tests/gst_plugins_support.py; no package is removed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from grabber_support import BIN, require_gstreamer
from gst_grabber.config import CODECS, GrabberConfig
from gst_grabber.pipeline import required_elements
from gst_grabber.preflight import ELEMENT_PACKAGES, describe_missing, element_names, launch_elements
from gst_plugins_support import env_without, plugin_file

pytestmark = pytest.mark.clean_install


def test_element_names_skip_caps_properties_and_brackets():
    text = ('( videotestsrc is-live=true ! timeoverlay ! video/x-raw,width=320 ! queue leaky=downstream '
            '! x264enc ! rtph264pay name=pay0 )')
    assert launch_elements(text) == ["videotestsrc", "timeoverlay", "queue", "x264enc", "rtph264pay"]
    assert launch_elements('filesrc location="/a b/c=d.mp4" ! decodebin') == ["filesrc", "decodebin"]
    assert required_elements(GrabberConfig(url="rtsp://cam/x", codec="h265", max_width=320)) == [
        "rtspsrc", "rtph265depay", "avdec_h265", "videorate", "videoscale", "videoconvert", "jpegenc", "multifilesink"]
    assert element_names(["a", "!", "b", "c=d", "!", "x/y"]) == ["a", "b"]


def test_message_names_every_missing_element_and_one_install_command():
    assert describe_missing(["timeoverlay"]) == (
        "missing GStreamer element 'timeoverlay' (Debian package gstreamer1.0-x): apt-get install gstreamer1.0-x")
    both = describe_missing(["x264enc", "avdec_h264", "made_up"])
    assert "'made_up' (Debian package unknown)" in both
    assert both.endswith("apt-get install gstreamer1.0-libav gstreamer1.0-plugins-ugly")


def test_package_table_matches_the_installed_plugin_files():
    require_gstreamer()
    if shutil.which("dpkg") is None:
        pytest.skip("dpkg not available: the table names Debian packages")
    every_grabber_element = {e for codec in CODECS for e in required_elements(GrabberConfig("rtsp://c/x", codec=codec))}
    assert every_grabber_element <= set(ELEMENT_PACKAGES)
    for element, package in ELEMENT_PACKAGES.items():
        owner = subprocess.run(["dpkg", "-S", str(plugin_file(element))], capture_output=True, text=True)
        assert owner.stdout.split(":")[0] == package, (element, owner.stdout, owner.stderr)


def test_emulator_without_timeoverlay_names_it_and_never_serves(tmp_path):
    require_gstreamer()
    env = env_without(tmp_path, "timeoverlay")
    result = subprocess.run([str(BIN / "rtsp-emulator"), "test", "--port", "1"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "serving" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'timeoverlay'" in lines[0] and "gstreamer1.0-x" in lines[0], result.stderr


def test_grabber_without_jpegenc_stops_at_once_with_one_line(tmp_path):
    require_gstreamer()
    env = {**env_without(tmp_path, "jpegenc"), "GRABBER_RTSP_URL": "rtsp://admin:secret@127.0.0.1:1/cam1",
           "GRABBER_OUTPUT_DIR": str(tmp_path / "out")}
    result = subprocess.run([str(BIN / "gst-grabber")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == ("gst-grabber: error: missing GStreamer element 'jpegenc' "
                                     "(Debian package gstreamer1.0-plugins-good): apt-get install "
                                     "gstreamer1.0-plugins-good")
    assert not (tmp_path / "out").exists()  # stopped before any attempt


def test_grabber_without_gst_launch_names_the_tools_package(tmp_path):
    env = {**os.environ, "GRABBER_RTSP_URL": "rtsp://127.0.0.1:1/cam1", "GRABBER_OUTPUT_DIR": str(tmp_path),
           "GRABBER_GST_LAUNCH": str(tmp_path / "gst-launch-1.0")}
    result = subprocess.run([str(BIN / "gst-grabber")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("not found (Debian package gstreamer1.0-tools): apt-get install "
                                          "gstreamer1.0-tools")
