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
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from frame_handoff.cameras import GRABBER_KEYS, SECRET_KEY, camera_entries
from frame_handoff.keys import config_key, load_text, one_line, read_text_file

from gst_grabber.config import OPTIONS, ConfigError, GrabberConfig, parse_option
from gst_grabber.masking import mask_url

#: Grabber keys at the top level: defaults for every camera, plus the frame folder and the restart timing.
TOP_LEVEL_KEYS = (*GRABBER_KEYS[1:], "output_dir", "watchdog_s", "backoff_initial_s", "backoff_max_s")
_OPTION_OF_KEY = {config_key(opt): opt for opt in OPTIONS}


@dataclasses.dataclass(frozen=True)
class Camera:
    """One camera of the list: its id and the settings of its pipeline (equal settings: nothing to restart)."""

    id: str
    config: GrabberConfig

    @property
    def masked(self) -> str:
        return mask_url(self.config.url)


def _grabber_values(where: str, entry: Mapping[str, Any], names: Sequence[str]) -> Dict[str, Any]:
    """The grabber keys of ``entry`` through their declarations (a list, mapping or bool is refused)."""
    values = {}
    for name in (n for n in names if n in entry):
        option, value = _OPTION_OF_KEY[name], entry[name]
        if isinstance(value, (bool, list, dict)) or value is None:
            raise ConfigError(f"{where}.{name}: expected a {'string' if name == 'rtsp_url' else 'number or string'}, "
                              f"got {type(value).__name__}")
        values[option.name] = parse_option(option, str(value), f"{where}.{name}", sep=": ")
    return values


def _camera(index: int, entry: Mapping[str, Any], base: GrabberConfig) -> Camera:
    """One checked entry (frame_handoff.cameras.camera_entries) -> its camera over the defaults ``base``."""
    where, camera_id = f"cameras[{index}]", entry["id"]
    if SECRET_KEY in entry:
        raise ConfigError(f"{where}.{SECRET_KEY}: a camera of a list takes no secret (camera {camera_id!r}); set "
                          "its rtsp_url, or use the single-camera form for a Secrets Manager URL")
    if not entry.get("rtsp_url"):
        raise ConfigError(f"{where}.rtsp_url: missing (camera {camera_id!r}): rtsp://[user:password@]host/path")
    values = {"output_name": f"{camera_id}.jpg", **_grabber_values(where, entry, GRABBER_KEYS)}
    return Camera(camera_id, dataclasses.replace(base, status_file=None, **values))


def parse_cameras(document: Any, base: GrabberConfig, origin: str) -> List[Camera]:
    """The cameras of ``document`` (a mapping with ``cameras``, or the list itself) over the defaults ``base``.
    The list's shape, ids and keys are the contract both components check (frame_handoff.cameras)."""
    top: Mapping[str, Any] = document if isinstance(document, dict) else {}
    entries = top.get("cameras") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{origin}: expected a non-empty list 'cameras' of {{id, rtsp_url, ...}} entries")
    try:
        checked = camera_entries(entries)
    except ValueError as exc:
        raise ConfigError(one_line(exc)) from None
    base = dataclasses.replace(base, **_grabber_values("cameras (top level)", top, TOP_LEVEL_KEYS))
    if base.backoff_max_s < base.backoff_initial_s:
        raise ConfigError("cameras (top level).backoff_max_s: must be >= backoff_initial_s")
    return [_camera(index, entry, base) for index, entry in enumerate(checked)]


def _document(read: Any, origin: str) -> Any:
    """``read()``'s text as plain data through the shared guards (size, depth; a FIFO is not read)."""
    try:
        return load_text(read())
    except ValueError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def load_cameras(base: GrabberConfig, cameras_file: Optional[Path], cameras_json: str) -> List[Camera]:
    """The cameras list from the file, else ``GRABBER_CAMERAS``, else the single camera of ``base``."""
    if cameras_file is not None:
        document, origin = _document(lambda: read_text_file(str(cameras_file)), f"cameras file {cameras_file}"), \
            str(cameras_file)
    elif cameras_json.strip() and (parsed := _document(lambda: cameras_json, "GRABBER_CAMERAS")) not in (
            [], {"cameras": []}):
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
