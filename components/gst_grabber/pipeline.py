"""Turns a :class:`GrabberConfig` into the argv and environment of the pipeline child (``gst_grabber.launch``).

Order matters for CPU: decode (every frame for inter-coded video, or only keyframes where they
reach the rate cap: ``keyframes``) -> drop frames to the rate cap -> scale -> JPEG. Frames the cap
drops are never scaled or encoded. ``multifilesink`` writes each
JPEG with ``g_file_set_contents`` (temporary file + rename), so readers never see a partial file.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import unquote

from gst_grabber import launch
from gst_grabber.config import GrabberConfig
from gst_grabber.masking import split_credentials
from gst_grabber.preflight import element_names

_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "auto": "tcp+udp+udp-mcast"}
#: Depayloader, parser and decoder per codec; the parser marks which access units are keyframes.
CODEC_ELEMENTS = {
    "h264": ("rtph264depay", "h264parse", "avdec_h264"),
    "h265": ("rtph265depay", "h265parse", "avdec_h265"),
}


def source_elements(config: GrabberConfig) -> list[str]:
    """The camera's RTP video stream, as gst-launch tokens; its user and password are not among them (argv
    shows in ``ps``): ``launch_environment`` hands them to the child."""
    return [
        "rtspsrc", f"name={launch.SOURCE_NAME}", f"location={split_credentials(config.url)[0]}",
        f"protocols={_PROTOCOLS[config.transport]}",
        f"latency={config.latency_ms}", "!",
        # Only the video stream: an audio track would otherwise be linked to the decoder too.
        "application/x-rtp,media=video",
    ]


def decode_elements(codec: str, keyframes_only: bool = False) -> list[str]:
    """Depayload and decode every frame, or parse, drop the inter-coded access units and decode keyframes."""
    if codec not in CODEC_ELEMENTS:
        return ["decodebin"]
    depay, parse, decoder = CODEC_ELEMENTS[codec]
    if keyframes_only:
        return [depay, "!", parse, "!", "identity", "drop-buffer-flags=delta-unit", "!", decoder]
    return [depay, "!", decoder]


def pipeline_elements(config: GrabberConfig, keyframes_only: bool = False) -> list[str]:
    """The pipeline description as gst-launch tokens (one argv entry each, so no shell quoting)."""
    tokens = [*source_elements(config), "!", *decode_elements(config.codec, keyframes_only), "!"]
    if config.max_fps > 0:
        tokens += ["videorate", "drop-only=true", f"max-rate={config.max_fps}", "!"]
    if config.max_width > 0:
        # A width range lets narrower frames pass unscaled; videoscale keeps the aspect ratio.
        tokens += ["videoscale", "!", f"video/x-raw,width=[1,{config.max_width}],pixel-aspect-ratio=1/1", "!"]
    # multifilesink treats its location as a printf format: escape '%'.
    location = str(config.frame_path).replace("%", "%%")
    tokens += [
        "videoconvert", "!", "jpegenc", f"quality={config.jpeg_quality}", "!",
        "multifilesink", f"location={location}", "sync=false", "async=false",
    ]
    return tokens


def child_command(*args: str) -> list[str]:
    """argv of ``gst_grabber.launch``, gst-launch-1.0 with the credentials from ``launch_environment``."""
    return [sys.executable, "-m", "gst_grabber.launch", *args]


def launch_command(config: GrabberConfig, keyframes_only: bool = False) -> list[str]:
    """Full argv of the child; no EOS flush at stop on purpose (a JPEG sink needs none)."""
    return child_command(*pipeline_elements(config, keyframes_only))


def launch_environment(config: GrabberConfig) -> dict[str, str]:
    """The child's environment: ours plus the camera's decoded credentials (readable by its owner only)."""
    _, user, password = split_credentials(config.url)
    secret = {launch.USER_ENV: unquote(user), launch.PASSWORD_ENV: unquote(password)} if user else {}
    return {**os.environ, **secret}


def required_elements(config: GrabberConfig) -> list[str]:
    """Elements the pipeline names (decodebin's choices at run time are not known up front)."""
    return element_names(pipeline_elements(config))
