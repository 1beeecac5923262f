"""Configuration, masking, pipeline description, status file and backoff, without a camera."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from gst_grabber.config import ConfigError, load_config
from gst_grabber.masking import Masker, MaskingFilter, mask_url, url_password
from gst_grabber.pipeline import launch_command, pipeline_elements
from gst_grabber.runner import _summarise, backoff_delay
from gst_grabber.status import GrabberStatus, write_atomic

pytestmark = pytest.mark.clean_install

URL = "rtsp://admin:Pa55%3Aw0rd%2Fxyz@cam.local:554/stream1"


def test_password_masked_in_every_form():
    masker = Masker.for_url(URL)
    text = f"url {URL} raw Pa55:w0rd/xyz encoded Pa55%3Aw0rd%2Fxyz other rtsp://bob:hunter2@10.0.0.9/x"
    masked = masker.mask(text)
    assert "Pa55" not in masked and "hunter2" not in masked
    assert "rtsp://admin:***@cam.local:554/stream1" in masked and "rtsp://bob:***@10.0.0.9/x" in masked
    assert mask_url("rtsp://cam.local/x") == "rtsp://cam.local/x"  # nothing to hide, nothing changed
    assert url_password(URL) == "Pa55%3Aw0rd%2Fxyz"


def test_short_password_masked_only_inside_urls():
    masked = Masker.for_url("rtsp://u:p@h/x").mask("pipeline rtsp://u:p@h/x stopped")
    assert masked == "pipeline rtsp://u:***@h/x stopped"


def test_logging_filter_masks_arguments_and_exceptions(caplog):
    logger = logging.getLogger("test_grabber_masking")
    caplog.handler.addFilter(MaskingFilter(Masker.for_url(URL)))
    try:
        raise RuntimeError(f"cannot open {URL}")
    except RuntimeError:
        logger.exception("attempt %d with %s", 3, URL)
    assert "Pa55" not in caplog.text and "attempt 3 with rtsp://admin:***@cam.local" in caplog.text
    assert "RuntimeError: cannot open rtsp://admin:***@" in caplog.text


def test_command_line_overrides_environment_over_defaults():
    env = {"GRABBER_RTSP_URL": URL, "GRABBER_MAX_FPS": "7", "GRABBER_TRANSPORT": "UDP"}
    config = load_config(["--max-fps", "2", "--output-dir", "/run/cam2"], env)
    assert (config.max_fps, config.transport, config.latency_ms) == (2, "udp", 200)
    assert config.frame_path == Path("/run/cam2/frame.jpg")
    assert config.status_path == Path("/run/cam2/frame.status.json")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no camera URL"),
        ({"GRABBER_RTSP_URL": "http://admin:Pa55@cam/x"}, "'http://admin:***@cam/x' is invalid"),
        ({"GRABBER_RTSP_URL": URL, "GRABBER_CODEC": "vp8"}, "GRABBER_CODEC='vp8' is invalid: expected one of h264"),
        ({"GRABBER_RTSP_URL": URL, "GRABBER_JPEG_QUALITY": "101"}, "101 is outside 1..100"),
        ({"GRABBER_RTSP_URL": URL, "GRABBER_OUTPUT_NAME": "a/b.jpg"}, "plain file name"),
        ({"GRABBER_RTSP_URL": URL, "GRABBER_BACKOFF_MAX_S": "0.5"}, "BACKOFF_MAX_S must be >="),
    ],
)
def test_bad_values_are_one_line_errors(env, message):
    with pytest.raises(ConfigError, match=None) as err:
        load_config([], env)
    assert message in str(err.value) and "\n" not in str(err.value) and "Pa55" not in str(err.value)


def _config(**env: str):
    return load_config([], {"GRABBER_RTSP_URL": URL, **{f"GRABBER_{k.upper()}": v for k, v in env.items()}})


def test_rate_cap_comes_before_scaling_and_encoding():
    tokens = pipeline_elements(_config(max_fps="5", max_width="640", output_dir="/tmp/100%"))
    order = [tokens.index(e) for e in ("rtspsrc", "avdec_h264", "videorate", "videoscale", "jpegenc")]
    assert order == sorted(order)
    assert "max-rate=5" in tokens and "drop-only=true" in tokens
    assert "location=/tmp/100%%/frame.jpg" in tokens  # multifilesink's printf pattern, escaped


def test_no_rate_element_without_cap_and_codec_choices():
    assert "videorate" not in pipeline_elements(_config(max_fps="0"))
    assert "avdec_h265" in pipeline_elements(_config(codec="h265"))
    auto = pipeline_elements(_config(codec="auto", transport="auto"))
    assert "decodebin" in auto and "protocols=tcp+udp+udp-mcast" in auto


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="GStreamer not installed")
@pytest.mark.parametrize("codec", ["h264", "h265", "auto"])
def test_every_codec_pipeline_parses_with_installed_plugins(codec, tmp_path):
    # An unreachable camera: parsing and linking must succeed, then rtspsrc fails to connect.
    config = load_config([], {"GRABBER_RTSP_URL": "rtsp://127.0.0.1:1/x", "GRABBER_CODEC": codec,
                              "GRABBER_MAX_WIDTH": "320", "GRABBER_OUTPUT_DIR": str(tmp_path)})
    result = subprocess.run(launch_command(config), capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "Could not open resource" in result.stdout + result.stderr
    assert "no element" not in result.stderr and "could not link" not in result.stderr.lower()


def test_backoff_doubles_up_to_the_cap():
    assert [backoff_delay(n, 1.0, 8.0) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]


def test_summary_keeps_the_gstreamer_error_on_one_line():
    lines = [
        "ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Not found",
        "Additional debug info:",
        "../gst/rtsp/gstrtspsrc.c(6895): gst_rtspsrc_send (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:",
        "Not Found (404)",
        "ERROR: pipeline doesn't want to preroll.",
    ]
    assert _summarise(lines) == "Not found (Not Found (404))"


def test_status_file_is_replaced_atomically_with_age(tmp_path):
    path = tmp_path / "s.json"
    status = GrabberStatus(camera="rtsp://a:***@h/x", frame_path="/tmp/data/frame.jpg", last_frame_unix=100.0)
    write_atomic(path, status.to_json(now=102.5))
    data = json.loads(path.read_text())
    assert data["last_frame_age_s"] == 2.5 and data["state"] == "starting"
    assert data["last_frame_at"].startswith("1970-01-01T00:01:40")
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left behind
