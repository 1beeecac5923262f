"""The grabber's cameras list: one entry per camera, from a file (``--cameras``) or ``GRABBER_CAMERAS`` (JSON).

The same file configures the counter (count_people), so the grabber takes its own keys and accepts the
counter's without reading them. Top-level grabber keys are defaults for every camera; a camera overrides
them. Each camera writes ``<output_dir>/<id>.jpg`` with its status beside it (frame_handoff.status_path),
where the counter looks by default. Every error is one line naming the camera and the key. Stdlib only
(YAML needs PyYAML, which the grabber image installs as python3-yaml); values go through the parsers of
the GRABBER_* options, so a key means the same in both forms.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from gst_grabber.config import OPTIONS, ConfigError, GrabberConfig
from gst_grabber.masking import mask_url

#: The counter's rule for a camera id (count_people.config.IDENTIFIER): an MQTT topic level and a file name.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
#: Configuration key -> GrabberConfig field where the names differ.
FIELD_OF_KEY = {"rtsp_url": "url"}
#: Grabber keys of a camera entry, besides ``id`` (the counter accepts the same ones: GRABBER_CAMERA_KEYS).
CAMERA_KEYS = ("rtsp_url", "transport", "codec", "latency_ms", "max_fps", "max_width", "jpeg_quality")
#: Grabber keys at the top level: defaults for every camera, plus the frame folder and the restart timing.
TOP_LEVEL_KEYS = (*CAMERA_KEYS[1:], "output_dir", "watchdog_s", "backoff_initial_s", "backoff_max_s")
#: The counter's per-camera keys (count_people.config.CAMERA_KEYS), accepted and not read: one file serves
#: both components (tests/gst_grabber/test_cameras_units.py keeps the two lists in step).
COUNTER_KEYS = frozenset({"source", "lines", "zones", "threshold", "classes", "max_boxes", "publish_mode",
                          "heartbeat_interval", "summary_interval", "topic", "state_file", "counts_reset",
                          "grabber_status", "health_timeout"})
COUNTER_PREFIXES = ("tracker_",)
#: The counter accepts it in an entry; the grabber reads a secret for the single-camera form only.
SECRET_KEY = "rtsp_secret_arn"
_PARSERS = {opt.field: opt.parse for opt in OPTIONS}


@dataclasses.dataclass(frozen=True)
class Camera:
    """One camera of the list: its id and the settings of its pipeline (equal settings: nothing to restart)."""

    id: str
    config: GrabberConfig

    @property
    def masked(self) -> str:
        return mask_url(self.config.url)


def _value(where: str, key: str, value: Any) -> Any:
    """``value`` through the GRABBER_* parser of ``key``; a list or mapping, a bool or null is refused."""
    field = FIELD_OF_KEY.get(key, key)
    if isinstance(value, (bool, list, dict)) or value is None:
        raise ConfigError(f"{where}.{key}: expected a {'string' if field == 'url' else 'number or string'}, "
                          f"got {json.dumps(value)[:40]}")
    try:
        return _PARSERS[field](str(value))
    except ValueError as exc:
        shown = mask_url(str(value)) if field == "url" else str(value)
        raise ConfigError(f"{where}.{key}: {shown!r} is invalid: {exc}") from None


def _grabber_values(where: str, entry: Mapping[str, Any], keys: Sequence[str]) -> Dict[str, Any]:
    return {FIELD_OF_KEY.get(k, k): _value(where, k, entry[k]) for k in keys if k in entry}


def _is_counter_key(key: str) -> bool:
    return key in COUNTER_KEYS or key.startswith(COUNTER_PREFIXES)


def _camera(index: int, entry: Any, base: GrabberConfig) -> Camera:
    where = f"cameras[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with id and rtsp_url, got {type(entry).__name__}")
    camera_id = entry.get("id")
    if not isinstance(camera_id, str) or not ID_PATTERN.match(camera_id) or camera_id in (".", ".."):
        raise ConfigError(f"{where}.id: {camera_id!r} is invalid: use 1-128 of A-Z a-z 0-9 _ . : - "
                          "(it names the frame file and the MQTT topic level)")
    if SECRET_KEY in entry:
        raise ConfigError(f"{where}.{SECRET_KEY}: a camera of a list takes no secret (camera {camera_id!r}); set "
                          "its rtsp_url, or use the single-camera form for a Secrets Manager URL")
    unknown = sorted(k for k in entry if k != "id" and k not in CAMERA_KEYS and not _is_counter_key(k))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (camera {camera_id!r}); grabber keys: "
                          f"id, {', '.join(CAMERA_KEYS)}")
    if not entry.get("rtsp_url"):
        raise ConfigError(f"{where}.rtsp_url: missing (camera {camera_id!r}): rtsp://[user:password@]host/path")
    values = {"output_name": f"{camera_id}.jpg", **_grabber_values(where, entry, CAMERA_KEYS)}
    return Camera(camera_id, dataclasses.replace(base, status_file=None, **values))


def parse_cameras(document: Any, base: GrabberConfig, origin: str) -> List[Camera]:
    """The cameras of ``document`` (a mapping with ``cameras``, or the list itself) over the defaults ``base``."""
    top: Mapping[str, Any] = document if isinstance(document, dict) else {}
    entries = top.get("cameras") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{origin}: expected a non-empty list 'cameras' of {{id, rtsp_url, ...}} entries")
    base = dataclasses.replace(base, **_grabber_values("cameras (top level)", top, TOP_LEVEL_KEYS))
    if base.backoff_max_s < base.backoff_initial_s:
        raise ConfigError("cameras (top level).backoff_max_s: must be >= backoff_initial_s")
    cameras = [_camera(index, entry, base) for index, entry in enumerate(entries)]
    seen: Dict[str, int] = {}
    for index, camera in enumerate(cameras):
        # The frame file is <id>.jpg: unique ids are what keeps two cameras off one frame file.
        if camera.id in seen:
            raise ConfigError(f"cameras[{index}].id: {camera.id!r} is already the id of cameras[{seen[camera.id]}] "
                              f"(each camera writes <id>.jpg)")
        seen[camera.id] = index
    return cameras


def read_document(path: Path) -> Any:
    """A cameras file: JSON, or YAML when PyYAML is installed (the grabber image has it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read cameras file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if path.suffix.lower() == ".json":
        return _json(text, str(path))
    try:
        import yaml
    except ImportError:
        return _json(text, f"{path} (YAML needs PyYAML: install python3-yaml, or write the file as JSON)")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"cameras file {path} is not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


def _json(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{origin} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{origin} is nested too deeply") from None


def load_cameras(base: GrabberConfig, cameras_file: Optional[Path], cameras_json: str) -> List[Camera]:
    """The cameras list from the file, else ``GRABBER_CAMERAS``, else the single camera of ``base``."""
    if cameras_file is not None:
        document, origin = read_document(cameras_file), str(cameras_file)
    elif cameras_json.strip() and (parsed := _json(cameras_json, "GRABBER_CAMERAS")) not in ([], {"cameras": []}):
        document, origin = parsed, "GRABBER_CAMERAS"  # [] is "no list": the recipe's default
    elif base.url:
        return [Camera("", base)]  # the single-camera form: its own frame and status names, no id
    else:
        raise ConfigError("no camera: set GRABBER_RTSP_URL (or --url), or a cameras list (GRABBER_CAMERAS or "
                          "--cameras FILE)")
    if base.url:
        raise ConfigError("both a camera URL (GRABBER_RTSP_URL/--url) and a cameras list are set: use one; "
                          "with a list, each camera has its own rtsp_url")
    return parse_cameras(document, base, origin)
