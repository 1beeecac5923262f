"""The counter's configuration schema: every key declared once, in its section, with what a change rebuilds.

A key is a field of one section class (``frame_handoff.keys.key``): its default, kind (type and range),
help and metavar, and the :class:`Part` of the running counter a change rebuilds (the section's, unless the
key says otherwise). ``Settings`` is all sections in one frozen object (``settings.threshold``); the same
snake_case name is the config-file and Greengrass key, the ``--kebab-case`` flag and the
``COUNT_PEOPLE_UPPER_CASE`` variable, and a file or Greengrass configuration may also nest a section's keys
under its name (``detection: {threshold: 0.6}``). The reference, JSON Schema, recipe defaults and ``--help``
are generated from these declarations (``config/generate.py``; ``ggctl generate`` writes the files).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

from frame_handoff import DEFAULT_FRAME_PATH, status_path
from frame_handoff.cameras import COUNTER_KEYS as CAMERA_KEYS
from frame_handoff.cameras import IDENTIFIER_KIND
from frame_handoff.keys import SWITCH, TEXT, Kind, choice, key, keys, number, one_line, parse_key

from count_people.config.values import (
    ALIASES,
    AREAS,
    BUCKETS,
    CAMERAS,
    CONTEXT,
    HTTP_URL,
    LINES,
    NAMES,
    OPTIONAL_FILE,
    PUBLISH,
    RESET_TIMES,
    SECRET,
    TIMEZONE,
    TOPIC,
    ZONES,
    Camera,
    ResetTime,
)
from count_people.errors import UserError
from count_people.geometry import AreaSpec, LineSpec, ZoneSpec

log = logging.getLogger("count_people.config")


class Part(Enum):
    """What a change of a key rebuilds in the running counter; all but RESTART apply without a restart."""

    LIVE = "live: from the next frame"
    SOURCE = "live: reopens the frame source"
    MODEL = "live: loads the model again, beside the running one"
    PUBLISHER = "live: reconnects the publisher"
    CADENCE = "live: starts a new publishing cadence"
    TRACKER = "live: restarts tracking (line totals kept)"
    REGIONS = "live: rebuilds lines and zones (totals of unchanged lines kept)"
    ANALYTICS = "live: rebuilds areas, visits and thresholds (area occupancy kept)"
    CAMERAS = "live: starts, stops or retunes cameras"
    HTTP = "live: rebinds the HTTP server"
    INFLUX = "live: restarts the InfluxDB writer"
    RESTART = "restart: read at start only"


@dataclass(frozen=True)
class Input:
    """Where frames come from and which camera they are."""

    NAME: ClassVar[str] = "input"
    PART: ClassVar[Part] = Part.LIVE

    source: str = key(DEFAULT_FRAME_PATH, "frame file kept fresh by the grabber, a video file, or a folder of images",
                      TEXT, "PATH", part=Part.SOURCE)
    camera_id: str = key("camera-1", "camera id carried in messages and topics", IDENTIFIER_KIND, "ID")
    thing_name: str = key(os.environ.get("AWS_IOT_THING_NAME") or socket.gethostname(),
                          "thing name carried in messages and topics",
                          IDENTIFIER_KIND, "NAME", recipe=False, shown="AWS_IOT_THING_NAME or the host name")
    cameras: tuple[Camera, ...] = key(
        (), "several cameras on one model: a list of {id, source, max_fps, lines, zones, ...} (docs/content/how-to/"
        "several-cameras.md); each inherits the other keys; empty = the one camera the other keys describe", CAMERAS,
        "JSON", part=Part.CAMERAS)
    max_fps: float = key(0.0, "process at most this many frames per second (0 = every new frame)",
                         number(float, 0.0, 1000.0), "FPS")
    poll_interval: float = key(0.005, "seconds between checks of an unchanged frame file",
                               number(float, 0.001, 1.0), "S", part=Part.SOURCE)
    max_frame_pixels: int = key(
        40_000_000, "frames whose JPEG header claims more pixels are skipped undecoded (a decompression bomb "
        "would take seconds and gigabytes)", number(int, 1, 1_000_000_000), "PX", part=Part.SOURCE)


@dataclass(frozen=True)
class Detection:
    """The model and what it counts (docs/content/how-to/detectors.md, int8.md)."""

    NAME: ClassVar[str] = "detection"
    PART: ClassVar[Part] = Part.MODEL

    detector: str = key("gluoncv", "detector backend", TEXT, "NAME")
    model: str = key("ssd_512_resnet50_v1_voc", "model name (GluonCV model zoo) or model file", TEXT, "NAME")
    params: str | None = key(
        None, "weights file: GluonCV .params instead of downloading, or the .weights of a Darknet .cfg model",
        OPTIONAL_FILE, "FILE")
    onnx_export: str | None = key(
        None, "ONNX export of the GluonCV model (made by ggctl build), run on ONNX Runtime where MXNet is not "
        "installed (Python 3.12 or newer)", OPTIONAL_FILE, "FILE")
    context: str = key("cpu", "where inference runs: cpu or gpu:N", CONTEXT, "CTX")
    input_size: int = key(512, "short side of the network input in pixels (YOLO models: only when the model does "
                          "not fix it)", number(int, 32, 4096), "PX")
    threshold: float = key(0.5, "minimum detection confidence", number(float, 0.0, 1.0), "SCORE", part=Part.LIVE)
    classes: tuple[str, ...] = key(("person",), "comma-separated classes to count", NAMES, "NAMES", part=Part.LIVE)
    min_box_height: float = key(
        0.0, "boxes shorter than this fraction of the frame height are not detected: people far away, behind "
        "glass or on posters (0 = every size; a little below the height of the smallest person who should count)",
        number(float, 0.0, 1.0), "FRACTION", part=Part.LIVE)
    labels: str | None = key(None, "class names of a YOLO model, one per line (Darknet .names)", OPTIONAL_FILE,
                             "FILE")
    class_alias: tuple[tuple[str, str], ...] = key((), "rename model classes to counted labels, e.g. body=person",
                                                   ALIASES, "CLASS=LABEL,...")
    resize_mode: str = key("auto", "fit frames to a YOLO input: stretch, letterbox, or auto (stretch for Darknet, "
                           "letterbox for YOLOv5/v8 ONNX)", choice("auto", "stretch", "letterbox"), "MODE",
                           part=Part.LIVE)
    nms_threshold: float = key(0.45, "IoU above which a same-class box with a lower score is dropped (YOLO)",
                               number(float, 0.0, 1.0), "IOU", part=Part.LIVE)
    threads: int = key(0, "CPU threads for inference (0 = runtime default: all cores)", number(int, 0, 1024), "N")
    model_defaults: bool = key(
        True, "apply the model catalog's defaults (labels, layout) and the model's calibration (thresholds, NMS, "
        "count modes) to the keys left at their built-in defaults", SWITCH, "on|off")
    output_layout: str = key(
        "auto", "output layout of a YOLO model: auto (from the output shapes), darknet, yolov5, yolov8, yolox or "
        "nanodet", choice("auto", "darknet", "yolov5", "yolov8", "yolox", "nanodet"), "LAYOUT")
    precision: str = key("fp32", "arithmetic of the network on CPU: fp32, int8 (quantized once with calibration "
                         "frames and cached; gluoncv and onnxruntime), or auto (count in FP32 at once, measure INT8 "
                         "against it in the background and switch when it is faster and agrees; cached per CPU "
                         "model)", choice("fp32", "int8", "auto"), "fp32|int8|auto")
    model_cache: str = key("model-cache", "folder for quantized models (relative: to the working directory, the "
                           "component's work folder)", TEXT, "PATH", part=Part.LIVE)
    calibration_source: str = key("", "video, image folder or frame file whose frames calibrate INT8 (empty = "
                                  "source)", TEXT, "PATH", part=Part.LIVE)
    calibration_frames: int = key(50, "frames that calibrate INT8", number(int, 1, 1000), "N", part=Part.LIVE)


@dataclass(frozen=True)
class Tracking:
    """Tracks across frames, and what a message counts (docs/content/how-to/detectors.md, "What is counted")."""

    NAME: ClassVar[str] = "tracking"
    PART: ClassVar[Part] = Part.TRACKER

    tracker_high_threshold: float = key(0.5, "detections at least this confident start tracks; weaker ones only "
                                        "extend them", number(float, 0.0, 1.0), "SCORE")
    tracker_match_iou: float = key(0.2, "minimum IoU between a track's predicted box and its detection",
                                   number(float, 0.01, 1.0), "IOU")
    # Time constants in seconds (issue 25: one setting means the same at every frame rate); the frame-counted
    # keys of earlier releases are deprecated aliases, converted by frames_to_seconds below.
    tracker_lost_s: float = key(1.2, "seconds a track survives unseen before its id is dropped",
                                number(float, 0.0, 3600.0), "S")
    tracker_confirm_s: float = key(
        0.04, "seconds an object must be followed (first to latest sighting) before it gets a track id; 0 = at its "
        "first sighting", number(float, 0.0, 60.0), "S")
    count_from: str = key(
        "auto", "what a message's count is: detections (this frame's boxes), smoothed (their count's median over "
        "count_window_s), tracks (confirmed tracks seen in this frame, including weak detections that continue a "
        "track), fused (this frame's boxes, plus weak ones that continue a confirmed track and tracks unseen for at "
        "most count_hold_s), or auto (the mode the model's calibration measured best at this camera's actual frame "
        "rate; detections for an uncalibrated model)", choice("auto", "detections", "smoothed", "tracks", "fused"),
        "auto|detections|smoothed|tracks|fused", part=Part.LIVE)
    count_hold_s: float = key(
        0.12, "with count_from tracks or fused: seconds a confirmed track still counts after its last detection (a "
        "person the detector missed briefly)", number(float, 0.0, 3600.0), "S", part=Part.LIVE)
    count_window_s: float = key(
        0.0, "with count_from smoothed, tracks or fused: the count is the median of the last this many seconds' "
        "counts (0 = this frame's)", number(float, 0.0, 60.0), "S", part=Part.LIVE)


@dataclass(frozen=True)
class Regions:
    """Counting lines and occupancy zones, and where line totals persist (docs/content/how-to/lines-and-zones.md)."""

    NAME: ClassVar[str] = "regions"
    PART: ClassVar[Part] = Part.REGIONS

    lines: tuple[LineSpec, ...] = key(
        (), 'named counting lines, {"name": [[x1, y1], [x2, y2]]} in 0..1 frame coordinates, or '
        '{"name": {"points": ..., "anchor": ..., "margin": ...}}', LINES, "JSON")
    zones: tuple[ZoneSpec, ...] = key(
        (), 'named zones, {"name": [[x, y], [x, y], [x, y], ...]} in 0..1 frame coordinates', ZONES, "JSON")
    state_file: str = key("line-counts.json", "where line totals persist across restarts (relative: to the working "
                          "directory, the component's work folder; empty = not saved)", TEXT, "PATH")
    counts_reset: str = key("", "change to any new value (e.g. a date) to zero the line totals once", TEXT, "TOKEN")


@dataclass(frozen=True)
class Publishing:
    """Where messages go, on which topic, and how often."""

    NAME: ClassVar[str] = "publishing"
    PART: ClassVar[Part] = Part.PUBLISHER

    publish: str = key("stdout", "where messages go: stdout, ipc or mqtt://HOST:PORT", PUBLISH, "DEST", recipe=False)
    topic: str = key("people-counter/{thing}/{camera}", "topic template ({thing}, {camera})", TOPIC, "TOPIC",
                     part=Part.LIVE)
    qos: int = key(1, "MQTT / IoT Core QoS (1: the nucleus spools while offline and the broker acknowledges; 0: "
                   "dropped while offline)", choice(0, 1), "0|1")
    local_pubsub: bool = key(False, "with --publish ipc, also publish each message on Greengrass local pub/sub (same "
                             "topic) for other components", choice(False, True), "true|false")
    queue_size: int = key(100, "messages buffered while the broker is away (oldest dropped)",
                          number(int, 1, 1000000), "N")
    max_boxes: int = key(100, "boxes per message; lowest scores dropped beyond it", number(int, 0, 100000), "N",
                         part=Part.LIVE)
    publish_mode: str = key(
        "every_frame", "what the publisher gets: every_frame, on_change (counts, line totals or zone occupancy "
        "changed, plus a heartbeat) or summary (one message per summary_interval); hooks still see every frame",
        choice("every_frame", "on_change", "summary"), "MODE", part=Part.CADENCE,
        component_default="summary", component_note="The component sends summaries (docs/content/how-to/"
        "publishing.md): IoT Core bills every message, one summary per camera per minute is 1,440 a day, one "
        "message per frame 432,000 at 5 fps.")
    heartbeat_interval: float = key(60.0, "with publish_mode on_change: seconds between messages when nothing "
                                    "changed", number(float, 1.0, 86400.0), "S", part=Part.CADENCE)
    summary_interval: float = key(60.0, "with publish_mode summary: seconds each summary covers",
                                  number(float, 1.0, 86400.0), "S", part=Part.CADENCE)


@dataclass(frozen=True)
class Observability:
    """HTTP endpoints (/metrics, /healthz, live view), InfluxDB time series and logs."""

    NAME: ClassVar[str] = "observability"
    PART: ClassVar[Part] = Part.LIVE

    http_port: int = key(0, "port serving /metrics, /healthz and the live view (0 = off)", number(int, 0, 65535),
                         "PORT", part=Part.HTTP)
    http_host: str = key("127.0.0.1", "address the HTTP server listens on (another address serves the live view "
                         "only with http_token)", TEXT, "ADDR", part=Part.HTTP)
    http_token: str = key("", "token the live view asks for (HTTP Bearer, or the basic-auth password); without it "
                          "the live view is served on a loopback http_host only (never logged)", SECRET, "TOKEN")
    live_view: bool = key(True, "serve the live view page and /frame.jpg on the HTTP port", SWITCH, "on|off")
    health_timeout: float = key(
        30.0, "seconds without a new frame, or with the publisher unable to deliver, before /healthz fails",
        number(float, 0.1, 86400.0), "S")
    grabber_status: str = key("", "grabber status JSON to export (default: <frame stem>.status.json beside the frame "
                              "file)", TEXT, "PATH", component_default=str(status_path(DEFAULT_FRAME_PATH)))
    stats_interval: float = key(10.0, "seconds between stats log lines (0 = off)", number(float, 0.0, 86400.0), "S")
    influx_url: str = key("", "InfluxDB URL to write counts to, e.g. http://127.0.0.1:8086 (empty = off; "
                          "credentials in it: set COUNT_PEOPLE_INFLUX_URL, not the flag: argv shows in ps)",
                          HTTP_URL, "URL", part=Part.INFLUX)
    influx_db: str = key("people_counter", "InfluxDB 1.x database, or 2.x bucket when influx_org is set", TEXT,
                         "NAME", part=Part.INFLUX)
    influx_org: str = key("", "InfluxDB 2.x organisation (selects the /api/v2/write API)", TEXT, "ORG",
                          part=Part.INFLUX)
    influx_token: str = key("", "InfluxDB 2.x token, or user:password for 1.8+ (never logged; set it with "
                            "COUNT_PEOPLE_INFLUX_TOKEN, not the flag: argv shows in ps)", SECRET, "TOKEN",
                            part=Part.INFLUX)
    influx_buffer: int = key(10000, "points kept while InfluxDB is unreachable (oldest dropped)",
                             number(int, 1, 10000000), "N", part=Part.INFLUX)
    influx_interval: float = key(1.0, "seconds between batched InfluxDB writes", number(float, 0.01, 60.0), "S",
                                 part=Part.INFLUX)
    log_level: str = key("INFO", "log verbosity", choice("DEBUG", "INFO", "WARNING", "ERROR"), "LEVEL",
                         part=Part.RESTART)
    log_format: str = key("text", "log lines as text, or json: one object per line (time, level, logger, message) "
                          "for CloudWatch Logs Insights or Loki", choice("text", "json"), "text|json",
                          part=Part.RESTART)


@dataclass(frozen=True)
class Analytics:
    """Occupancy analytics above lines and zones (docs/content/how-to/analytics.md): areas counted at their doors,
    scheduled resets, dwell time, capacity and dwell events, privacy of served pictures. A zone's thresholds and
    hysteresis are keys of the zone (max_occupancy, max_dwell_s, margin), an area's are keys of the area."""

    NAME: ClassVar[str] = "analytics"
    PART: ClassVar[Part] = Part.ANALYTICS

    areas: tuple[AreaSpec, ...] = key(
        (), 'rooms counted at their doors: {"name": {"doors": ["LINE", "CAMERA/LINE", "-LINE"], "reset": TOKEN, '
        '"max_occupancy": N}}; occupancy = in - out over the doors (a leading - swaps them), never below 0',
        AREAS, "JSON")
    reset_at: tuple[ResetTime, ...] = key(
        (), 'local times that zero line totals and area occupancy, "04:00" or "04:00,sun 12:00" (empty = never; a '
        "reset missed while stopped is applied at start)", RESET_TIMES, "HH:MM,...")
    timezone: str = key("UTC", "IANA time zone of reset_at, e.g. Europe/Berlin", TIMEZONE, "ZONE")
    dwell_buckets: tuple[float, ...] = key(
        (30.0, 120.0, 600.0), "upper bounds in seconds of the dwell-time histogram buckets of summaries and "
        "evaluate --zones (one more above the last; /metrics keeps those it started with)", BUCKETS, "S,...",
        part=Part.CADENCE)
    event_min_duration: float = key(
        5.0, "seconds a threshold must stay crossed (or cleared) before an event is raised (or cleared)",
        number(float, 0.0, 86400.0), "S")
    event_hysteresis: float = key(
        0.1, "an event clears once the value is at most (1 - this) times its threshold", number(float, 0.0, 1.0),
        "FRACTION")
    privacy: str = key(
        "auto", "pictures served by the live view: blur_people, boxes_only (boxes on a pixelated frame), off; auto = "
        "blur_people unless http_host is a loopback address", choice("auto", "blur_people", "boxes_only", "off"),
        "MODE", part=Part.LIVE)


#: The sections in the order of ``--help`` and the reference.
SECTIONS: tuple[type, ...] = (Input, Detection, Tracking, Regions, Analytics, Publishing, Observability)


@dataclass(frozen=True)
class Settings(Observability, Publishing, Analytics, Regions, Tracking, Detection, Input):
    """All tunables of the counter: every section's keys in one frozen object; see ``count-people --help``."""

    @classmethod
    def options(cls) -> tuple[dataclasses.Field, ...]:
        return keys(cls)

    def updated(self, changes: Mapping[str, Any], origin: str = "configuration") -> Settings:
        """A copy with ``changes`` (flat keys, or a section's keys under its name) parsed and validated; raises
        UserError naming the bad key."""
        parsed, frame_keys = {}, {}
        for name, raw in _flat(changes, origin):
            if name in DEPRECATED_FRAME_KEYS:
                frame_keys[name] = raw
                continue
            try:
                parsed[name] = parse_key(FIELDS[name], raw)
            except (ValueError, TypeError) as exc:  # TypeError: a value of the wrong shape from a config file
                raise UserError(f"{origin}: bad value for {name}: {one_line(exc)}") from None
        try:
            seconds = frames_to_seconds(frame_keys, parsed.get("max_fps", self.max_fps))
        except ValueError as exc:
            raise UserError(f"{origin}: bad value for {exc}") from None
        return dataclasses.replace(self, **{**{k: v for k, v in seconds.items() if k not in parsed}, **parsed})

    def camera_settings(self) -> list[Settings]:
        """One Settings per camera (``cameras`` entries over these defaults), or ``[self]`` for one camera.

        A camera's frame file defaults to ``<id>.jpg`` in the folder of ``source``, its line totals to
        ``<state stem>-<id>.json``; two cameras reading one frame file are refused. An entry's grabber keys
        (frame_handoff.cameras) are the grabber's and are not read here.
        """
        if not self.cameras:
            return [self]
        folder, state = Path(self.source).parent, Path(self.state_file)
        cameras, sources = [], {}
        for index, entry in enumerate(self.cameras):
            values = {k: v for k, v in entry if k in CAMERA_KEYS or k in DEPRECATED_FRAME_KEYS}
            camera_id = dict(entry)["id"]
            values.setdefault("source", str(folder / f"{camera_id}.jpg"))
            values.setdefault("grabber_status", "")  # beside this camera's frame, not the shared default's
            if self.state_file and "state_file" not in values:
                values["state_file"] = str(state.with_name(f"{state.stem}-{camera_id}{state.suffix}"))
            parsed = {}
            for name, raw in values.items():
                if name in DEPRECATED_FRAME_KEYS:
                    continue
                try:
                    parsed[name] = parse_key(FIELDS[name], raw)
                except (ValueError, TypeError) as exc:
                    raise UserError(f"cameras[{index}].{name}: {one_line(exc)}") from None
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
        return {name for name in FIELDS if getattr(self, name) != getattr(other, name)}

    def changed_parts(self, other: Settings) -> set[Part]:
        """What a switch from these settings to ``other`` rebuilds (the parts of the changed keys)."""
        return {part_of(name) for name in self.changed_keys(other)}


#: Deprecated keys counted in processed frames -> (their key in seconds, frames that span no time). A frame form
#: converts at the camera's ``max_fps`` of the same configuration when set, else at FRAME_KEYS_FPS, the rate the
#: old frame defaults were tuned at (TUD at 25 fps): 30 lost frames -> 1.2 s, 2 confirm frames (one interval)
#: -> 0.04 s, 3 hold frames -> 0.12 s, the new defaults. Logged once per key; the seconds key wins when both are
#: set. Not keys of Settings: they are in no reference, flag list or schema, only read.
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
        key_in_seconds, offset = DEPRECATED_FRAME_KEYS[name]
        try:
            frames = number(int, offset, 100000)(raw)
        except ValueError as exc:
            raise ValueError(f"{name}: {one_line(exc)}") from None
        converted[key_in_seconds] = (frames - offset) / rate
        if name not in _warned_frame_keys:
            _warned_frame_keys.add(name)
            log.warning("%s is deprecated: counted in frames it meant a different time at every frame rate; read as "
                        "%s: %g (at %g fps); set %s instead", name, key_in_seconds, converted[key_in_seconds], rate,
                        key_in_seconds)
    return converted


#: Every key of Settings by name, and the section that declares it.
FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in Settings.options()}
SECTION_OF: dict[str, type] = {f.name: section for section in SECTIONS for f in keys(section)}
SECTION_NAMED: dict[str, type] = {section.NAME: section for section in SECTIONS}


def part_of(name: str) -> Part:
    """The part of the running counter a change of key ``name`` rebuilds: its own, else its section's."""
    return FIELDS[name].metadata.get("part") or SECTION_OF[name].PART


def keys_rebuilding(part: Part) -> frozenset[str]:
    """The keys whose change rebuilds ``part``."""
    return frozenset(name for name in FIELDS if part_of(name) is part)


def open_sections(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """``configuration`` with each section's nested mapping replaced by its keys (a deployment merges flat keys)."""
    flat: dict[str, Any] = {}
    for name, value in configuration.items():
        flat.update(value if name in SECTION_NAMED and isinstance(value, dict) else {name: value})
    return flat


def _flat(changes: Mapping[str, Any], origin: str) -> Iterator[tuple[str, Any]]:
    """(key, value) of ``changes``, a section's nested mapping opened; UserError on an unknown key."""
    for raw_key, value in changes.items():
        name = str(raw_key).replace("-", "_")
        section = SECTION_NAMED.get(name)
        if section is None:
            if name not in FIELDS and name not in DEPRECATED_FRAME_KEYS:
                close = difflib.get_close_matches(name, [*FIELDS, *SECTION_NAMED], n=1)
                hint = f"did you mean {close[0]}?" if close else f"valid keys: {', '.join(FIELDS)}"
                raise UserError(f"{origin}: unknown key {raw_key!r}; {hint} (or a section: {', '.join(SECTION_NAMED)}; "
                                "every key: docs/content/reference/configuration.md)")
            yield name, value
            continue
        if not isinstance(value, dict):
            raise UserError(f"{origin}: bad value for {name}: expected a mapping of the {name} section's keys")
        own = {f.name for f in keys(section)} | (set(DEPRECATED_FRAME_KEYS) if section is Tracking else set())
        for inner, inner_value in value.items():
            if str(inner) not in own:
                raise UserError(f"{origin}: unknown key {name}.{inner}; the {name} section has: {', '.join(own)}")
            yield str(inner), inner_value


def _install_mxnet(value: Any) -> bool | str:
    if not isinstance(value, bool) and value != "auto":
        raise ValueError(f"must be auto, true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class Greengrass:
    """Keys of the component configuration that are Greengrass's, not the counter's (besides ``accessControl``,
    which ``ggctl`` computes): the recipe's Install step reads them, or they name a secret."""

    NAME: ClassVar[str] = "greengrass"
    PART: ClassVar[Part] = Part.RESTART  # the Install step reads them when the component starts

    install_mxnet: bool | str = key(
        "auto", "Install step (count_people/install.sh): auto runs the gluoncv network on MXNet with the first "
        "Python 3.9 to 3.11 of install_python, python3.11, python3.10, python3.9, and where there is none (Ubuntu "
        "24.04, Debian 13) its ONNX export on ONNX Runtime with install_python; true insists on MXNet, false never "
        "installs it", Kind(_install_mxnet, "auto or boolean", {"enum": ["auto", True, False]}, "auto | true | false"),
        "auto|true|false")
    install_python: str = key("python3", "Install step: the interpreter the component's venv is built with", TEXT,
                              "PYTHON")
    influx_token_secret_arn: str = key(
        "", "ARN of a Secrets Manager secret whose value is influx_token (needs aws.greengrass.SecretManager; "
        "ggctl build --secrets adds it)", TEXT, "ARN", fills="influx_token", recipe=False, part=Part.INFLUX)


#: Component configuration keys that belong to Greengrass, not to the counter.
GREENGRASS_KEYS = frozenset({"accessControl", *(f.name for f in keys(Greengrass))})
#: Keys naming a Secrets Manager secret (ARN) -> the Settings key its value fills.
SECRET_KEYS = {f.name: f.metadata["fills"] for f in keys(Greengrass) if "fills" in f.metadata}
