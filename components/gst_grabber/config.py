"""Grabber configuration from command line and environment (``GRABBER_*``), validated up front.

Containers and Greengrass recipes configure the grabber by environment variables; the command line
overrides them for local use. Every bad value is a one-line :class:`ConfigError`, never a traceback.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from frame_handoff import DEFAULT_FRAME_DIR, DEFAULT_FRAME_NAME, status_path

from gst_grabber.masking import mask_url

TRANSPORTS = ("tcp", "udp", "auto")
CODECS = ("h264", "h265", "auto")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the option and the fix."""


@dataclass(frozen=True)
class GrabberConfig:
    url: str
    transport: str = "tcp"
    latency_ms: int = 200
    codec: str = "h264"
    output_dir: Path = Path(DEFAULT_FRAME_DIR)
    output_name: str = DEFAULT_FRAME_NAME
    max_fps: int = 5
    max_width: int = 0
    jpeg_quality: int = 85
    watchdog_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 8.0
    status_file: Optional[Path] = None
    gst_launch: str = "gst-launch-1.0"
    log_level: str = "INFO"

    @property
    def frame_path(self) -> Path:
        return self.output_dir / self.output_name

    @property
    def status_path(self) -> Path:
        return self.status_file or status_path(self.frame_path)

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


@dataclass(frozen=True)
class _Option:
    field: str
    flag: str
    env: str
    parse: Callable[[str], object]
    help: str


def _int_range(low: int, high: Optional[int] = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}" if high is not None else f"must be >= {low}")
        return value

    return parse


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be > 0")
    return value


def _choice(choices: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def _rtsp_url(text: str) -> str:
    shape = ("must look like rtsp://HOST[:PORT]/PATH, with USER:PASSWORD@ before HOST if needed "
             "(percent-encode '@' ':' '/' in the password)")
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValueError(f"bad host or port: {shape}") from None
    if parts.scheme not in ("rtsp", "rtsps", "rtspt", "rtspu") or not parts.hostname:
        raise ValueError(shape)
    return text.strip()


def _file_name(text: str) -> str:
    if not text or "/" in text or text in (".", ".."):
        raise ValueError("must be a plain file name without '/'")
    return text


OPTIONS = (
    _Option("url", "--url", "GRABBER_RTSP_URL", _rtsp_url,
            "camera URL rtsp://user:password@host:554/path (prefer the env var: argv is visible in ps)"),
    _Option("transport", "--transport", "GRABBER_TRANSPORT", _choice(TRANSPORTS), "RTSP lower transport"),
    _Option("latency_ms", "--latency-ms", "GRABBER_LATENCY_MS", _int_range(0, 10000), "jitter buffer in ms"),
    _Option("codec", "--codec", "GRABBER_CODEC", _choice(CODECS), "stream codec; auto uses decodebin"),
    _Option("output_dir", "--output-dir", "GRABBER_OUTPUT_DIR", Path, "directory of the frame file"),
    _Option("output_name", "--output-name", "GRABBER_OUTPUT_NAME", _file_name, "frame file name"),
    _Option("max_fps", "--max-fps", "GRABBER_MAX_FPS", _int_range(0, 240),
            "frames per second written at most, dropped before JPEG encoding; 0 = every frame"),
    _Option("max_width", "--max-width", "GRABBER_MAX_WIDTH", _int_range(0, 16384),
            "scale frames wider than this down (aspect kept); 0 = never"),
    _Option("jpeg_quality", "--jpeg-quality", "GRABBER_JPEG_QUALITY", _int_range(1, 100), "JPEG quality"),
    _Option("watchdog_s", "--watchdog-s", "GRABBER_WATCHDOG_S", _positive_float,
            "restart the pipeline when no frame was written for this long"),
    _Option("backoff_initial_s", "--backoff-initial-s", "GRABBER_BACKOFF_INITIAL_S", _positive_float,
            "first delay before a restart; doubles per failed attempt"),
    _Option("backoff_max_s", "--backoff-max-s", "GRABBER_BACKOFF_MAX_S", _positive_float, "restart delay cap"),
    _Option("status_file", "--status-file", "GRABBER_STATUS_FILE", Path,
            "heartbeat JSON (default: <output-dir>/<frame stem>.status.json)"),
    _Option("gst_launch", "--gst-launch", "GRABBER_GST_LAUNCH", str,
            "GStreamer tools (gst-inspect-1.0 beside it checks elements)"),
    _Option("log_level", "--log-level", "GRABBER_LOG_LEVEL", _choice(("debug", "info", "warning", "error")),
            "log verbosity"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gst-grabber",
        description="Writes the latest frame of an RTSP camera as a JPEG file, restarting on failures. "
        "Every option can also be set by the environment variable shown.",
    )
    defaults = GrabberConfig(url="")
    for opt in OPTIONS:
        default = getattr(defaults, opt.field)
        shown = "" if opt.field in ("url", "status_file") else f" (default {default})"
        parser.add_argument(opt.flag, dest=opt.field, metavar=opt.env, help=f"{opt.help}; env {opt.env}{shown}")
    return parser


def load_config(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None,
                parser: Optional[argparse.ArgumentParser] = None, require_url: bool = True) -> GrabberConfig:
    """Command line over environment over defaults; raises :class:`ConfigError` on the first bad value.

    ``parser`` may extend :func:`build_parser` (gst_grabber.supervisor adds ``--cameras``); without
    ``require_url`` the result is the defaults a cameras list builds on.
    """
    environ = os.environ if environ is None else environ
    args = (parser or build_parser()).parse_args(argv)
    values: dict = {}
    for opt in OPTIONS:
        raw, source = getattr(args, opt.field), opt.flag
        if raw is None and environ.get(opt.env, "") != "":
            raw, source = environ[opt.env], opt.env
        if raw is None:
            continue
        try:
            values[opt.field] = opt.parse(raw)
        except ValueError as exc:
            shown = mask_url(raw) if opt.field == "url" else raw
            raise ConfigError(f"{source}={shown!r} is invalid: {exc}") from None
    if require_url and not values.get("url"):
        raise ConfigError("no camera URL: set GRABBER_RTSP_URL (or --url), or a cameras list (GRABBER_CAMERAS "
                          "or --cameras FILE)")
    if "log_level" in values:
        values["log_level"] = values["log_level"].upper()
    config = GrabberConfig(**{"url": "", **values})
    if config.backoff_max_s < config.backoff_initial_s:
        raise ConfigError("GRABBER_BACKOFF_MAX_S must be >= GRABBER_BACKOFF_INITIAL_S")
    return config
