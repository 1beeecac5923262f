"""Keyframe-only decoding at low rate caps: the stream's keyframe interval, measured, decides the decode path.

At a 1 fps cap a full decode still decodes every frame (the inter-coded ones need their
predecessors), so the grabber costs half of what it costs at 30 fps. Keyframes decode on their own:
when the stream carries at least one per capped frame period, dropping every other access unit
(``identity drop-buffer-flags=delta-unit`` after the parser, which marks them) before the decoder
gives the same frame rate for a fraction of the decoding. The interval is measured from the stream
itself (a short probe that only parses), because cameras set it freely (often 1-4 s, sometimes
longer); where it is too long, unknown, or the codec is left to ``decodebin``, every frame is decoded.
Frames are written when their keyframe arrives, so their age stays what it is.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
import time
from collections.abc import Iterable

from gst_grabber.config import GrabberConfig
from gst_grabber.pipeline import CODEC_ELEMENTS, child_command, launch_environment, source_elements
from gst_grabber.preflight import MissingElement, gst_inspect_exists, missing_elements

log = logging.getLogger("gst_grabber.keyframes")

#: Highest cap probed: a keyframe interval under 0.5 s is rare, so at higher caps every frame is decoded
#: without spending the probe's seconds at start.
PROBE_MAX_FPS = 2
#: Keyframes needed to measure an interval (two intervals, so one irregular GOP does not decide).
KEYFRAMES = 3
#: Slack on the comparison with the cap's period: the measured intervals jitter with network timing.
TOLERANCE = 1.1
_BUFFER = re.compile(r"last-message = chain .*?pts: (\d+):(\d+):(\d+\.\d+).*?flags: [0-9a-f]+ ([^,]*),")


def probe_command(config: GrabberConfig) -> list[str]:
    """A parse-only pipeline that prints every access unit's timestamp and flags (``identity`` verbose)."""
    depay, parse, _ = CODEC_ELEMENTS[config.codec]
    return child_command("-v", *source_elements(config), "!", depay, "!", parse, "!",
                         "identity", "silent=false", "!", "fakesink", "sync=false")


def keyframe_times(lines: Iterable[str]) -> Iterable[float]:
    """Presentation times (s) of the keyframes among ``identity``'s verbose buffer lines."""
    for line in lines:
        match = _BUFFER.search(line)
        if match and "delta-unit" not in match.group(4):
            hours, minutes, seconds = match.groups()[:3]
            yield int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def interval_of(times: Iterable[float], count: int = KEYFRAMES) -> float | None:
    """The longest gap between the first ``count`` keyframe times, None when fewer arrived."""
    seen: list[float] = []
    for stamp in times:
        seen.append(stamp)
        if len(seen) == count:
            return max(b - a for a, b in zip(seen, seen[1:]))
    return None


def measure_interval(config: GrabberConfig, timeout: float) -> float | None:
    """Keyframe interval of the camera's stream in seconds, or None if it could not be measured in time."""
    try:
        proc = subprocess.Popen(probe_command(config), env=launch_environment(config), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace",
                                start_new_session=True)
    except OSError:
        return None
    timer = threading.Timer(timeout, proc.kill)  # a silent camera must not hold the grabber up
    timer.start()
    started = time.monotonic()
    try:
        assert proc.stdout is not None
        interval = interval_of(keyframe_times(proc.stdout))
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
    log.info("keyframe interval %s (measured in %.1f s)", "unknown" if interval is None else f"{interval:.2f} s",
             time.monotonic() - started)
    return interval


def keyframes_suffice(interval: float | None, max_fps: int) -> bool:
    """Whether keyframes alone reach the rate cap (a cap of 0 means every frame: never)."""
    return max_fps > 0 and interval is not None and 0 < interval <= TOLERANCE / max_fps


def keyframes_only(config: GrabberConfig) -> bool:
    """Whether this camera's pipeline should decode keyframes only: a low cap, a known codec, the parser
    installed, and keyframes measured frequent enough. Any doubt decodes every frame."""
    if not 0 < config.max_fps <= PROBE_MAX_FPS or config.codec not in CODEC_ELEMENTS:
        return False
    try:
        missing = missing_elements([CODEC_ELEMENTS[config.codec][1], "identity"], gst_inspect_exists(config.gst_launch))
    except MissingElement:
        missing = ["gst-inspect-1.0"]
    if missing:
        log.info("decoding every frame: keyframe-only decoding needs %s", ", ".join(missing))
        return False
    # Up to three keyframes at the cap's period, plus the time rtspsrc needs to connect and buffer.
    interval = measure_interval(config, timeout=3 * TOLERANCE / config.max_fps + 5 + config.latency_ms / 1000)
    chosen = keyframes_suffice(interval, config.max_fps)
    log.info("decoding %s at max %d fps", "keyframes only" if chosen else "every frame", config.max_fps)
    return chosen
