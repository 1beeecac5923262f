"""Grabber configuration from command line and environment (``GRABBER_*``), validated up front.

Each key is declared once, as a field of :class:`GrabberConfig`, with the machinery the counter uses
(frame_handoff.keys): one parser per key for flags, variables, the Greengrass configuration and a cameras list.

Containers and Greengrass recipes configure the grabber by environment variables; the command line
overrides them for local use. Every bad value is a one-line :class:`ConfigError`, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence
from urllib.parse import urlsplit

from frame_handoff import DEFAULT_FRAME_DIR, DEFAULT_FRAME_NAME, keys, status_path

from gst_grabber.masking import mask_url

TRANSPORTS = ("tcp", "udp", "auto")
CODECS = ("h264", "h265", "auto")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the option and the fix."""


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


def _optional_path(text: str) -> Optional[Path]:
    return Path(text) if text else None


RTSP_URL = keys.text(_rtsp_url, "URL", "rtsp://[USER:PASSWORD@]HOST[:PORT]/PATH")
PATH = keys.text(Path, "path")
SECONDS = keys.number(float, 0.001, 86400.0)


@dataclass(frozen=True)
class GrabberConfig:
    """The grabber's keys (frame_handoff.keys declarations): ``--flag``, ``GRABBER_<KEY>`` variable and, for the
    Greengrass configuration and a cameras list, the snake_case key (``config_key`` where it differs)."""

    url: str = keys.key("", "camera URL rtsp://user:password@host:554/path (prefer the env var: argv is visible in "
                        "ps)", RTSP_URL, config_key="rtsp_url", component_note="Set it per device or group at "
                        "deployment. It is stored in the deployment document: prefer rtsp_secret_arn (a Secrets "
                        "Manager secret; ggctl build --secrets)")
    transport: str = keys.key("tcp", "RTSP lower transport", keys.choice(*TRANSPORTS))
    latency_ms: int = keys.key(200, "jitter buffer in ms", keys.number(int, 0, 10000))
    codec: str = keys.key("h264", "stream codec; auto uses decodebin", keys.choice(*CODECS))
    output_dir: Path = keys.key(Path(DEFAULT_FRAME_DIR), "directory of the frame file", PATH,
                                recipe=False)  # in the container: frame_dir is mounted there
    output_name: str = keys.key(DEFAULT_FRAME_NAME, "frame file name", keys.text(_file_name, "file name"))
    max_fps: int = keys.key(5, "frames per second written at most, dropped before JPEG encoding; 0 = every frame",
                            keys.number(int, 0, 240))
    max_width: int = keys.key(0, "scale frames wider than this down (aspect kept); 0 = never",
                              keys.number(int, 0, 16384))
    jpeg_quality: int = keys.key(85, "JPEG quality", keys.number(int, 1, 100))
    watchdog_s: float = keys.key(10.0, "restart the pipeline when no frame was written for this long", SECONDS)
    backoff_initial_s: float = keys.key(1.0, "first delay before a restart; doubles per failed attempt", SECONDS)
    backoff_max_s: float = keys.key(8.0, "restart delay cap", SECONDS)
    status_file: Optional[Path] = keys.key(None, "heartbeat JSON (default: <output-dir>/<frame stem>.status.json)",
                                           keys.text(_optional_path, "path"), recipe=False)
    gst_launch: str = keys.key("gst-launch-1.0", "GStreamer tools (gst-inspect-1.0 beside it checks elements)",
                               keys.TEXT, recipe=False)
    log_level: str = keys.key("INFO", "log verbosity", keys.choice("DEBUG", "INFO", "WARNING", "ERROR"))

    @property
    def frame_path(self) -> Path:
        return self.output_dir / self.output_name

    @property
    def status_path(self) -> Path:
        return self.status_file or status_path(self.frame_path)

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


#: The keys in declaration order.
OPTIONS = keys.keys(GrabberConfig)


@dataclass(frozen=True)
class RecipeKeys:
    """Keys of the grabber's component configuration that its recipe's Run step reads rather than the grabber:
    the container's mounts, network and stop timeout, and the cameras list it passes as GRABBER_CAMERAS."""

    rtsp_secret_file: str = keys.key(
        "", "for cores without GetSecretValue (nucleus lite): a file on the device, readable by the component user "
        "only (chmod 400), holding {\"username\": ..., \"password\": ...} or the whole rtsp:// URL; mounted "
        "read-only", keys.TEXT)
    cameras: tuple = keys.key(
        (), "several cameras instead of rtsp_url: a list of {id, rtsp_url, transport, codec, latency_ms, max_fps, "
        "max_width, jpeg_quality} (docs/content/how-to/several-cameras.md); the keys above are their defaults. "
        "Each camera writes <frame_dir>/<id>.jpg. The "
        "counter's keys of an entry (lines, zones, ...) are accepted and ignored, so one list serves both "
        "components. [] = the one camera of rtsp_url", keys.Kind(lambda value: value, "list of cameras",
                                                                  {"type": ["array", "string"]}),
        component_default=[])
    frame_dir: str = keys.key(DEFAULT_FRAME_DIR, "host directory the frames go to: a tmpfs (scripts/setup-frames-"
                              "tmpfs.sh), bind-mounted at /tmp/data", keys.TEXT)
    docker_network: str = keys.key("bridge", "Docker network: bridge suffices for RTSP over TCP; use host for "
                                   "transport udp", keys.TEXT)
    stop_timeout_s: int = keys.key(10, "seconds docker stop waits before it kills the container",
                                   keys.number(int, 0, 3600))


def env_var(option: dataclasses.Field) -> str:
    return "GRABBER_" + keys.config_key(option).upper()


def parse_option(option: dataclasses.Field, raw: object, source: str, sep: str = "=") -> object:
    """``raw`` through the option's declaration; ConfigError ``SOURCE='value' is invalid: reason`` (URL masked)."""
    try:
        return keys.parse_key(option, raw)
    except ValueError as exc:
        shown = mask_url(str(raw)) if option.name == "url" else raw
        raise ConfigError(f"{source}{sep}{shown!r} is invalid: {keys.one_line(exc)}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gst-grabber",
        description="Writes the latest frame of an RTSP camera as a JPEG file, restarting on failures. "
        "Every option can also be set by the environment variable shown.",
    )
    for opt in OPTIONS:
        kind = opt.metadata["kind"]
        facts = ", ".join(filter(None, (kind.range, f"default {opt.default}" if opt.default not in ("", None) else "")))
        parser.add_argument("--" + opt.name.replace("_", "-"), dest=opt.name, metavar=env_var(opt),
                            help=f"{opt.metadata['help']}; env {env_var(opt)}" + (f" ({facts})" if facts else ""))
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
        raw, source = getattr(args, opt.name), "--" + opt.name.replace("_", "-")
        if raw is None and environ.get(env_var(opt), "") != "":
            raw, source = environ[env_var(opt)], env_var(opt)
        if raw is not None:
            values[opt.name] = parse_option(opt, raw, source)
    if require_url and not values.get("url"):
        raise ConfigError("no camera URL: set GRABBER_RTSP_URL (or --url), or a cameras list (GRABBER_CAMERAS "
                          "or --cameras FILE)")
    config = GrabberConfig(**values)
    if config.backoff_max_s < config.backoff_initial_s:
        raise ConfigError("GRABBER_BACKOFF_MAX_S must be >= GRABBER_BACKOFF_INITIAL_S")
    return config
