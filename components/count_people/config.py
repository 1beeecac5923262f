"""Settings shared by flags, environment variables, a YAML/JSON file and Greengrass configuration.

Every key is declared once, as a field of ``Settings``; the same snake_case name is the
config-file key, the Greengrass configuration key, ``--kebab-case`` flag and
``COUNT_PEOPLE_UPPER_CASE`` environment variable. Values are parsed and validated in one
place so every source fails with the same one-line error.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import yaml
from frame_handoff import DEFAULT_FRAME_PATH

from count_people.errors import UserError
from count_people.geometry import LineSpec, ZoneSpec, parse_lines, parse_zones

ENV_PREFIX = "COUNT_PEOPLE_"

log = logging.getLogger("count_people.config")


def _text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError("expected a string")
    return str(value)


def _number(kind: type, low: float | None = None, high: float | None = None) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"expected a {kind.__name__}")
        try:
            number = kind(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"expected a {kind.__name__}, got {value!r}") from None
        if not math.isfinite(number):  # NaN passes every comparison below: --threshold nan would count nothing
            raise ValueError(f"expected a finite {kind.__name__}, got {value!r}")
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            raise ValueError(f"{number} is outside {bounds}")
        return number

    return parse


#: Characters of a camera id or thing name: they become MQTT topic levels, InfluxDB measurements and metric
#: labels, so no topic separator or wildcard (/ + #), no space; AWS IoT thing names allow [A-Za-z0-9:_-].
IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def _identifier(value: Any) -> str:
    text = _text(value).strip()
    if not IDENTIFIER.fullmatch(text):
        raise ValueError(f"{text!r} must be 1 to 128 of A-Z a-z 0-9 _ . : - (no /, + or #: it is an MQTT topic level)")
    return text


def _choice(*choices: Any) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        for choice in choices:
            if str(value).lower() == str(choice).lower():
                return choice
        raise ValueError(f"expected one of {', '.join(map(str, choices))}, got {value!r}")

    return parse


def _names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("expected a comma-separated list of names")
    names = tuple(str(item).strip() for item in items if str(item).strip())
    if not names:
        raise ValueError("expected at least one name")
    return names


def _optional_file(value: Any) -> str | None:
    if value in (None, ""):
        return None
    path = _text(value)
    if not Path(path).is_file():
        raise ValueError(f"file {path!r} does not exist")
    return path


def _context(value: Any) -> str:
    text = _text(value).strip().lower()
    if text == "cpu" or re.fullmatch(r"gpu(:\d+)?", text):
        return text if text != "gpu" else "gpu:0"
    raise ValueError(f"expected 'cpu' or 'gpu:N', got {value!r}")


def _publish(value: Any) -> str:
    text = _text(value).strip()
    if text in ("stdout", "ipc"):
        return text
    if text.startswith("mqtt://"):
        url = urlsplit(text)
        try:
            port = url.port
        except ValueError:
            raise ValueError(f"bad port in {text!r}; expected mqtt://HOST:PORT") from None
        if not url.hostname or url.path not in ("", "/"):
            raise ValueError(f"expected mqtt://HOST[:PORT], got {text!r}")
        return f"mqtt://{url.hostname}:{port or 1883}"
    raise ValueError(f"expected 'stdout', 'ipc' or mqtt://HOST:PORT, got {value!r}")


def _topic(value: Any) -> str:
    text = _text(value).strip()
    try:
        text.format(thing="t", camera="c")
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"topic {text!r} may only use the placeholders {{thing}} and {{camera}}") from None
    if not text or "#" in text or "+" in text:
        raise ValueError(f"topic {text!r} must be non-empty and free of MQTT wildcards")
    return text


#: AWS IoT Core's limits, which the Java nucleus enforces before publishing (aws-greengrass-nucleus v2.18.2
#: src/main/java/com/aws/greengrass/mqttclient/IotCoreTopicValidator.java:24-25, MqttClient.java:124): at most
#: 7 '/' and 256 bytes of topic, not counting a Basic Ingest prefix $aws/rules/RULE/; 128 KiB of payload.
IOT_CORE_MAX_TOPIC_SLASHES, IOT_CORE_MAX_TOPIC_BYTES, IOT_CORE_MAX_PAYLOAD_BYTES = 7, 256, 128 * 1024
BASIC_INGEST_PREFIX = re.compile(r"\$aws/rules/[^/]+/")


def iot_core_topic_problem(topic: str) -> str | None:
    """Why AWS IoT Core (and the Java nucleus before it) refuses to publish on ``topic``, or None."""
    effective = BASIC_INGEST_PREFIX.sub("", topic, count=1)
    if effective.count("/") > IOT_CORE_MAX_TOPIC_SLASHES:
        return f"it has {effective.count('/')} '/' and AWS IoT Core allows at most {IOT_CORE_MAX_TOPIC_SLASHES}"
    size = len(effective.encode())
    if size > IOT_CORE_MAX_TOPIC_BYTES:
        return f"it is {size} bytes long and AWS IoT Core allows at most {IOT_CORE_MAX_TOPIC_BYTES}"
    return None


class Secret(str):
    """A string whose repr is masked, so a token never shows in logs or a printed Settings."""

    def __repr__(self) -> str:
        return "'***'" if self else "''"


def _secret(value: Any) -> Secret:
    return Secret(_text(value).strip())


def _switch(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise ValueError(f"expected on or off, got {value!r}")


def without_userinfo(text: str) -> str:
    """``text`` (a URL, maybe malformed) with anything before its last ``@`` masked: an error may show it."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    if "@" not in rest:
        return text
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"


def _http_url(value: Any) -> str:
    text = _text(value).strip().rstrip("/")
    if not text:
        return ""
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValueError(f"bad URL or port in {without_userinfo(text)!r}") from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"expected http(s)://HOST[:PORT] or empty, got {without_userinfo(text)!r}")
    return text


def _aliases(value: Any) -> tuple[tuple[str, str], ...]:
    """``body=person,man=person`` (or a mapping in a config file) -> ((model name, counted label), ...)."""
    if isinstance(value, dict):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError("expected MODEL_CLASS=LABEL[,...]")
        pairs = []
        for item in map(str, items):
            if not item.strip():
                continue
            name, sep, label = item.partition("=")
            if not sep:
                raise ValueError(f"expected MODEL_CLASS=LABEL, got {item.strip()!r}")
            pairs.append((name, label))
    pairs = [(name.strip(), label.strip()) for name, label in pairs]
    if not all(name and label for name, label in pairs):
        raise ValueError("class names and labels must be non-empty")
    return tuple(pairs)


#: Deprecated keys counted in processed frames -> (their key in seconds, frames that span no time). A frame form
#: converts at the camera's ``max_fps`` of the same configuration when set, else at FRAME_KEYS_FPS, the rate the
#: old frame defaults were tuned at (TUD at 25 fps): 30 lost frames -> 1.2 s, 2 confirm frames (one interval)
#: -> 0.04 s, 3 hold frames -> 0.12 s, the new defaults. Logged once per key; the seconds key wins when both are set.
DEPRECATED_FRAME_KEYS = {"tracker_lost_frames": ("tracker_lost_s", 0),
                         "tracker_confirm_frames": ("tracker_confirm_s", 1), "count_hold_frames": ("count_hold_s", 0)}
FRAME_KEYS_FPS = 25.0
_warned_frame_keys: set[str] = set()


def frames_to_seconds(changes: Mapping[str, Any], max_fps: float) -> dict[str, float]:
    """The seconds keys of the deprecated frame keys in ``changes`` (snake_case names), converted at ``max_fps``
    (when > 0, else FRAME_KEYS_FPS); raises ValueError naming a bad value."""
    rate = max_fps if max_fps > 0 else FRAME_KEYS_FPS
    converted = {}
    for name, raw in changes.items():
        if name not in DEPRECATED_FRAME_KEYS:
            continue
        key, offset = DEPRECATED_FRAME_KEYS[name]
        try:
            frames = _number(int, offset, 100000)(raw)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        converted[key] = (frames - offset) / rate
        if name not in _warned_frame_keys:
            _warned_frame_keys.add(name)
            log.warning("%s is deprecated: counted in frames it meant a different time at every frame rate; "
                        "read as %s: %g (at %g fps); set %s instead", name, key, converted[key], rate, key)
    return converted


#: Keys a camera entry may set for itself (docs/content/how-to/several-cameras.md); every other key is shared by all
#: cameras: one model, one set of publisher settings, one HTTP server.
CAMERA_KEYS = frozenset({
    "source", "max_fps", "lines", "zones", "threshold", "classes", "max_boxes", "publish_mode",
    "heartbeat_interval", "summary_interval", "topic", "state_file", "counts_reset", "grabber_status",
    "health_timeout", "tracker_high_threshold", "tracker_match_iou", "tracker_lost_s", "tracker_confirm_s",
    *DEPRECATED_FRAME_KEYS,
})
#: The grabber's keys in a cameras list that both components read; the counter ignores them.
GRABBER_CAMERA_KEYS = frozenset({"rtsp_url", "rtsp_secret_arn", "transport", "codec", "latency_ms", "max_width",
                                 "jpeg_quality"})

Camera = tuple[tuple[str, Any], ...]


def _cameras(value: Any) -> tuple[Camera, ...]:
    """A list of camera mappings (from a file, or JSON/YAML text) -> frozen (key, value) pairs.

    Checks the shape, ids and keys here; the values are parsed per camera by ``Settings.camera_settings``.
    """
    if isinstance(value, str):
        value = yaml.safe_load(value) if value.strip() else []
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of cameras, each a mapping with an id")
    cameras, ids = [], {}
    for index, entry in enumerate(value):
        where = f"cameras[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping with an id, got {type(entry).__name__}")
        unknown = sorted(set(map(str, entry)) - CAMERA_KEYS - GRABBER_CAMERA_KEYS - {"id"})
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: unknown key; a camera sets id and any of "
                             f"{', '.join(sorted(CAMERA_KEYS | GRABBER_CAMERA_KEYS))}")
        try:
            camera_id = _identifier(entry.get("id", ""))
        except ValueError as exc:
            raise ValueError(f"{where}.id: {exc}") from None
        if camera_id in ids:
            raise ValueError(f"{where}.id: {camera_id!r} is also cameras[{ids[camera_id]}]; ids must be unique")
        ids[camera_id] = index
        cameras.append(tuple(sorted({**entry, "id": camera_id}.items())))
    return tuple(cameras)


def _option(default: Any, help: str, parse: Callable[[Any], Any], metavar: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "parse": parse, "metavar": metavar})


@dataclass(frozen=True)
class Settings:
    """All tunables of the counter; see ``count-people --help``."""

    source: str = _option(
        DEFAULT_FRAME_PATH,
        "frame file kept fresh by the grabber, a video file, or a folder of images",
        _text,
        "PATH",
    )
    detector: str = _option("gluoncv", "detector backend", _text, "NAME")
    model: str = _option(
        "ssd_512_resnet50_v1_voc", "model name (GluonCV model zoo) or model file", _text, "NAME"
    )
    params: str | None = _option(
        None, "weights file: GluonCV .params instead of downloading, or the .weights of a Darknet .cfg model",
        _optional_file, "FILE"
    )
    onnx_export: str | None = _option(
        None, "ONNX export of the GluonCV model (made by ggctl build), run on ONNX Runtime where MXNet is not "
        "installed (Python 3.12 or newer)", _optional_file, "FILE")
    context: str = _option("cpu", "where inference runs: cpu or gpu:N", _context, "CTX")
    input_size: int = _option(512, "short side of the network input in pixels (YOLO models: only when the "
                              "model does not fix it)", _number(int, 32, 4096), "PX")
    threshold: float = _option(0.5, "minimum detection confidence", _number(float, 0.0, 1.0), "SCORE")
    classes: tuple[str, ...] = _option(("person",), "comma-separated classes to count", _names, "NAMES")
    labels: str | None = _option(None, "class names of a YOLO model, one per line (Darknet .names)",
                                 _optional_file, "FILE")
    class_alias: tuple[tuple[str, str], ...] = _option(
        (), "rename model classes to counted labels, e.g. body=person", _aliases, "CLASS=LABEL,...")
    resize_mode: str = _option("auto", "fit frames to a YOLO input: stretch, letterbox, or auto (stretch for "
                               "Darknet, letterbox for YOLOv5/v8 ONNX)", _choice("auto", "stretch", "letterbox"),
                               "MODE")
    nms_threshold: float = _option(0.45, "IoU above which a same-class box with a lower score is dropped (YOLO)",
                                   _number(float, 0.0, 1.0), "IOU")
    threads: int = _option(0, "CPU threads for inference (0 = runtime default: all cores)", _number(int, 0, 1024),
                          "N")
    # Model catalog, YOLO layouts and INT8 (docs/content/how-to/detectors.md, int8.md).
    model_defaults: bool = _option(
        True, "apply the model catalog's measured defaults (thresholds, NMS, labels, layout) to a known model's "
        "keys left at their built-in defaults", _switch, "on|off")
    output_layout: str = _option(
        "auto", "output layout of a YOLO model: auto (from the output shapes), darknet, yolov5, yolov8, yolox or "
        "nanodet", _choice("auto", "darknet", "yolov5", "yolov8", "yolox", "nanodet"), "LAYOUT")
    precision: str = _option("fp32", "arithmetic of the network on CPU: fp32, int8 (quantized once with "
                             "calibration frames and cached; gluoncv and onnxruntime), or auto (count in FP32 at once, "
                             "measure INT8 against it in the background and switch when it is faster and agrees; "
                             "cached per CPU model)", _choice("fp32", "int8", "auto"), "fp32|int8|auto")
    model_cache: str = _option("model-cache", "folder for quantized models (relative: to the working directory, "
                               "the component's work folder)", _text, "PATH")
    calibration_source: str = _option(
        "", "video, image folder or frame file whose frames calibrate INT8 (empty = source)", _text, "PATH")
    calibration_frames: int = _option(50, "frames that calibrate INT8", _number(int, 1, 1000), "N")
    max_fps: float = _option(0.0, "process at most this many frames per second (0 = every new frame)",
                             _number(float, 0.0, 1000.0), "FPS")
    publish: str = _option("stdout", "where messages go: stdout, ipc or mqtt://HOST:PORT", _publish, "DEST")
    topic: str = _option("people-counter/{thing}/{camera}", "topic template ({thing}, {camera})", _topic)
    qos: int = _option(1, "MQTT / IoT Core QoS (1: the nucleus spools while offline and the broker acknowledges; "
                       "0: dropped while offline)", _choice(0, 1), "0|1")
    local_pubsub: bool = _option(False, "with --publish ipc, also publish each message on Greengrass local "
                                 "pub/sub (same topic) for other components", _choice(False, True), "true|false")
    publish_mode: str = _option(
        "every_frame", "what the publisher gets: every_frame, on_change (counts, line totals or zone occupancy "
        "changed, plus a heartbeat) or summary (one message per summary_interval); hooks still see every frame",
        _choice("every_frame", "on_change", "summary"), "MODE")
    heartbeat_interval: float = _option(60.0, "with publish_mode on_change: seconds between messages when "
                                        "nothing changed", _number(float, 1.0, 86400.0), "S")
    summary_interval: float = _option(60.0, "with publish_mode summary: seconds each summary covers",
                                      _number(float, 1.0, 86400.0), "S")
    camera_id: str = _option("camera-1", "camera id carried in messages and topics (A-Z a-z 0-9 _ . : -)",
                             _identifier, "ID")
    thing_name: str = _option(
        os.environ.get("AWS_IOT_THING_NAME") or socket.gethostname(),
        "thing name carried in messages and topics (default: AWS_IOT_THING_NAME or host name; A-Z a-z 0-9 _ . : -)",
        _identifier,
        "NAME",
    )
    cameras: tuple[Camera, ...] = _option(
        (), "several cameras on one model: a list of {id, source, max_fps, lines, zones, ...} (docs/content/how-to/"
        "several-cameras.md); each inherits the other keys; empty = the one camera the other keys describe",
        _cameras, "JSON")
    max_boxes: int = _option(100, "boxes per message; lowest scores dropped beyond it", _number(int, 0, 100000),
                           "N")
    # Tracking, line crossings and zone occupancy (count_people/tracking; docs/content/how-to/lines-and-zones.md).
    lines: tuple[LineSpec, ...] = _option(
        (), 'named counting lines, {"name": [[x1, y1], [x2, y2]]} in 0..1 frame coordinates, or '
        '{"name": {"points": ..., "anchor": ..., "margin": ...}}', parse_lines, "JSON")
    zones: tuple[ZoneSpec, ...] = _option(
        (), 'named zones, {"name": [[x, y], [x, y], [x, y], ...]} in 0..1 frame coordinates', parse_zones, "JSON")
    tracker_high_threshold: float = _option(
        0.5, "detections at least this confident start tracks; weaker ones only extend them",
        _number(float, 0.0, 1.0), "SCORE")
    tracker_match_iou: float = _option(0.2, "minimum IoU between a track's predicted box and its detection",
                                       _number(float, 0.01, 1.0), "IOU")
    # -- Time constants of tracking and counting, in seconds (issue 25: one setting means the same at every
    # frame rate). The frame forms of earlier releases are deprecated aliases: see DEPRECATED_FRAME_KEYS.
    tracker_lost_s: float = _option(1.2, "seconds a track survives unseen before its id is dropped",
                                    _number(float, 0.0, 3600.0), "S")
    tracker_confirm_s: float = _option(
        0.04, "seconds an object must be followed (first to latest sighting) before it gets a track id; 0 = at "
        "its first sighting", _number(float, 0.0, 60.0), "S")
    count_from: str = _option(
        "auto", "what a message's count is: detections (this frame's boxes), smoothed (their count's median over "
        "count_window_s), tracks (confirmed tracks seen in "
        "this frame, including weak detections that continue a track), fused (this frame's boxes, plus weak ones "
        "that continue a confirmed track and tracks unseen for at most count_hold_s), or auto (the mode the model's "
        "calibration measured best at this camera's actual frame rate; detections for an uncalibrated model)",
        _choice("auto", "detections", "smoothed", "tracks", "fused"), "auto|detections|smoothed|tracks|fused")
    count_hold_s: float = _option(
        0.12, "with count_from tracks or fused: seconds a confirmed track still counts after its last detection (a "
        "person the detector missed briefly)", _number(float, 0.0, 3600.0), "S")
    count_window_s: float = _option(
        0.0, "with count_from smoothed, tracks or fused: the count is the median of the last this many seconds' "
        "counts (0 = this frame's)", _number(float, 0.0, 60.0), "S")
    state_file: str = _option("line-counts.json", "where line totals persist across restarts (relative: to the "
                              "working directory, the component's work folder; empty = not saved)", _text, "PATH")
    counts_reset: str = _option("", "change to any new value (e.g. a date) to zero the line totals once", _text,
                                "TOKEN")
    queue_size: int = _option(100, "messages buffered while the broker is away (oldest dropped)",
                              _number(int, 1, 1000000), "N")
    stats_interval: float = _option(10.0, "seconds between stats log lines (0 = off)",
                                    _number(float, 0.0, 86400.0), "S")
    poll_interval: float = _option(0.005, "seconds between checks of an unchanged frame file",
                                   _number(float, 0.001, 1.0), "S")
    max_frame_pixels: int = _option(
        40_000_000, "frames whose JPEG header claims more pixels are skipped undecoded (a decompression bomb "
        "would take seconds and gigabytes)", _number(int, 1, 1_000_000_000), "PX")
    # Observability: HTTP endpoints (/metrics, /healthz, live view) and InfluxDB time series.
    http_port: int = _option(0, "port serving /metrics, /healthz and the live view (0 = off)",
                             _number(int, 0, 65535), "PORT")
    http_host: str = _option("127.0.0.1", "address the HTTP server listens on (another address serves the live "
                             "view only with http_token)", _text, "ADDR")
    http_token: str = _option("", "token the live view asks for (HTTP Bearer, or the basic-auth password); "
                              "without it the live view is served on a loopback http_host only (never logged)",
                              _secret, "TOKEN")
    live_view: bool = _option(True, "serve the live view page and /frame.jpg on the HTTP port", _switch, "on|off")
    health_timeout: float = _option(
        30.0, "seconds without a new frame, or with the publisher unable to deliver, before /healthz fails",
        _number(float, 0.1, 86400.0), "S")
    grabber_status: str = _option(
        "", "grabber status JSON to export (default: <frame stem>.status.json beside the frame file)", _text, "PATH")
    influx_url: str = _option("", "InfluxDB URL to write counts to, e.g. http://127.0.0.1:8086 (empty = off)",
                              _http_url, "URL")
    influx_db: str = _option("people_counter", "InfluxDB 1.x database, or 2.x bucket when influx_org is set",
                             _text, "NAME")
    influx_org: str = _option("", "InfluxDB 2.x organisation (selects the /api/v2/write API)", _text, "ORG")
    influx_token: str = _option("", "InfluxDB 2.x token, or user:password for 1.8+ (never logged; set it with "
                                "COUNT_PEOPLE_INFLUX_TOKEN, not the flag: argv shows in ps)", _secret, "TOKEN")
    influx_buffer: int = _option(10000, "points kept while InfluxDB is unreachable (oldest dropped)",
                                 _number(int, 1, 10000000), "N")
    influx_interval: float = _option(1.0, "seconds between batched InfluxDB writes", _number(float, 0.01, 60.0), "S")
    log_level: str = _option("INFO", "log verbosity", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "LEVEL")

    @classmethod
    def options(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    def updated(self, changes: Mapping[str, Any], origin: str = "configuration") -> Settings:
        """A copy with ``changes`` parsed and validated; raises UserError naming the bad key."""
        fields = {f.name: f for f in self.options()}
        parsed: dict[str, Any] = {}
        frame_keys = {}
        for key, raw in changes.items():
            name = key.replace("-", "_")
            if name in DEPRECATED_FRAME_KEYS:
                frame_keys[name] = raw
                continue
            if name not in fields:
                raise UserError(f"{origin}: unknown key {key!r}; valid keys: {', '.join(fields)}")
            try:
                parsed[name] = fields[name].metadata["parse"](raw)
            except (ValueError, TypeError) as exc:  # TypeError: a value of the wrong shape from a config file
                raise UserError(f"{origin}: bad value for {name}: {exc}") from None
        try:
            seconds = frames_to_seconds(frame_keys, parsed.get("max_fps", self.max_fps))
        except ValueError as exc:
            raise UserError(f"{origin}: bad value for {exc}") from None
        parsed = {**{k: v for k, v in seconds.items() if k not in parsed}, **parsed}
        return dataclasses.replace(self, **parsed)

    def camera_settings(self) -> list[Settings]:
        """One Settings per camera (``cameras`` entries over these defaults), or ``[self]`` for one camera.

        A camera's frame file defaults to ``<id>.jpg`` in the folder of ``source``, its line totals to
        ``<state stem>-<id>.json``; two cameras reading one frame file are refused.
        """
        if not self.cameras:
            return [self]
        fields = {f.name: f for f in self.options()}
        folder, state = Path(self.source).parent, Path(self.state_file)
        cameras, sources = [], {}
        for index, entry in enumerate(self.cameras):
            values = {k: v for k, v in entry if k not in GRABBER_CAMERA_KEYS}
            camera_id = values.pop("id")
            values.setdefault("source", str(folder / f"{camera_id}.jpg"))
            values.setdefault("grabber_status", "")  # beside this camera's frame, not the shared default's
            if self.state_file and "state_file" not in values:
                values["state_file"] = str(state.with_name(f"{state.stem}-{camera_id}{state.suffix}"))
            parsed = {}
            for key, raw in values.items():
                if key in DEPRECATED_FRAME_KEYS:
                    continue
                try:
                    parsed[key] = fields[key].metadata["parse"](raw)
                except ValueError as exc:
                    raise UserError(f"cameras[{index}].{key}: {exc}") from None
            try:
                seconds = frames_to_seconds(values, parsed.get("max_fps", self.max_fps))
            except ValueError as exc:
                raise UserError(f"cameras[{index}].{exc}") from None
            parsed = {**{k: v for k, v in seconds.items() if k not in parsed}, **parsed}
            source = str(Path(parsed["source"]).resolve())
            if source in sources:
                raise UserError(f"cameras[{index}].source: {parsed['source']} is also the frame file of camera "
                                f"{sources[source]!r}; give each camera its own")
            sources[source] = camera_id
            cameras.append(dataclasses.replace(self, cameras=(), camera_id=camera_id, **parsed))
        return cameras

    def changed_keys(self, other: Settings) -> set[str]:
        return {f.name for f in self.options() if getattr(self, f.name) != getattr(other, f.name)}


#: A settings file is a few kilobytes; anything far larger is the wrong file.
MAX_CONFIG_BYTES = 1024 * 1024


def read_config_file(path: str) -> dict[str, Any]:
    """Read a YAML or JSON mapping of settings (JSON is valid YAML)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read config file {path!r}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UserError(f"config file {path!r} is larger than {MAX_CONFIG_BYTES // 1024} KiB; is it the right file?")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"config file {path!r} is not UTF-8 text; expected a YAML or JSON mapping") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path!r} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise UserError(f"config file {path!r} is nested too deeply; settings are at most a few levels") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {path!r} must hold a mapping of key: value")
    return data


def environment_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings given as COUNT_PEOPLE_<KEY> environment variables."""
    names = {f.name for f in Settings.options()} | set(DEPRECATED_FRAME_KEYS)
    values = {}
    for var, value in environ.items():
        if var.startswith(ENV_PREFIX) and var != ENV_PREFIX + "CONFIG":
            name = var[len(ENV_PREFIX):].lower()
            if name not in names:
                raise UserError(f"unknown environment variable {var}; valid keys: {', '.join(sorted(names))}")
            values[name] = value
    return values


def load_settings(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None, config_file: str | None = None,
    greengrass: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then the config file, then environment, then the Greengrass component configuration
    (given when running as a component, which also makes ``publish`` default to ipc), then flags:
    later sources win."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    settings = Settings() if greengrass is None else Settings(publish="ipc")
    if config_file:
        settings = settings.updated(read_config_file(config_file), origin=f"config file {config_file}")
    settings = settings.updated(environment_settings(environ), origin="environment")
    if greengrass is not None:
        settings = settings.updated(greengrass, origin="Greengrass configuration")
    settings = settings.updated({k: v for k, v in flags.items() if v is not None}, origin="command line")
    cameras = settings.camera_settings()  # every camera's values valid, no two on one frame file
    if settings.publish == "ipc":
        _check_iot_core_topics(settings, cameras)
    return settings


def _check_iot_core_topics(settings: Settings, cameras: list[Settings]) -> None:
    """Every camera's topic, rendered with its ids, within AWS IoT Core's limits: the nucleus would refuse each
    message on it, so it is a configuration error at start-up (and a refused update), not one per message."""
    entries = [dict(entry) for entry in settings.cameras] or [{}]
    for index, (entry, camera) in enumerate(zip(entries, cameras)):
        topic = camera.topic.format(thing=camera.thing_name, camera=camera.camera_id)
        problem = iot_core_topic_problem(topic)
        if problem:
            key = f"cameras[{index}].topic" if "topic" in entry else "topic"
            raise UserError(f"{key}: {camera.topic!r} gives the topic {topic!r} for camera {camera.camera_id}, "
                            f"but {problem}; shorten the template, the thing name or the camera id")
