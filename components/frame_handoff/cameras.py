"""The cameras list both components read: the entry schema, the id rule and which keys each component owns.

One file (or one deployment's ``cameras``) configures the grabber and the counter; each takes its keys of an
entry and accepts the other's without reading them. Declared here once, so neither can drift from the other.
"""

from __future__ import annotations

import re
from typing import Any

from frame_handoff.keys import Kind, guarded, load_text

#: Characters of a camera id or thing name: they become MQTT topic levels, frame file names, InfluxDB
#: measurements and metric labels, so no topic separator or wildcard (/ + #), no space; AWS IoT thing
#: names allow [A-Za-z0-9:_-].
IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]{1,128}")

#: Keys of an entry the grabber reads (besides ``id``).
GRABBER_KEYS = ("rtsp_url", "transport", "codec", "latency_ms", "max_fps", "max_width", "jpeg_quality")
#: A grabber key the counter accepts in an entry; the grabber refuses it in a list (a secret serves one camera).
SECRET_KEY = "rtsp_secret_arn"
#: Keys of an entry the counter reads (besides ``id``); every other counter key is shared by all cameras.
COUNTER_KEYS = (
    "source", "max_fps", "lines", "zones", "threshold", "classes", "max_boxes", "publish_mode",
    "heartbeat_interval", "summary_interval", "topic", "state_file", "counts_reset", "grabber_status",
    "health_timeout", "tracker_high_threshold", "tracker_match_iou", "tracker_lost_s", "tracker_confirm_s",
)
#: Frame-counted forms of two counter keys, deprecated: still read (count_people.config.settings.frames_to_seconds),
#: listed nowhere.
DEPRECATED_COUNTER_KEYS = frozenset({"tracker_lost_frames", "tracker_confirm_frames"})
ENTRY_KEYS = frozenset({"id", *GRABBER_KEYS, SECRET_KEY, *COUNTER_KEYS})


def _identifier(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not IDENTIFIER.fullmatch(text) or text in (".", ".."):
        raise ValueError(f"{value!r} is invalid: use 1 to 128 of A-Z a-z 0-9 _ . : - (no /, + or #: it names the "
                         "frame file and an MQTT topic level)")
    return text


IDENTIFIER_KIND = Kind(lambda value: _identifier(str(value) if isinstance(value, (int, float)) else value),
                       "identifier", {"type": "string", "pattern": f"^{IDENTIFIER.pattern}$"}, IDENTIFIER.pattern)

#: JSON Schema of one entry (keys' own types come from each component's declarations).
ENTRY_SCHEMA = {"type": "object", "required": ["id"], "additionalProperties": False,
                "properties": {"id": dict(IDENTIFIER_KIND.schema), **{k: {} for k in sorted(ENTRY_KEYS - {"id"})}}}


def camera_entries(value: Any) -> list[dict[str, Any]]:
    """A cameras list (a list, or its JSON/YAML text) -> its entries, each a mapping with a unique valid id and
    only known keys; ValueError ``cameras[N].KEY: reason``. Values are each component's to parse."""
    if isinstance(value, str):
        value = load_text(value) or []
    guarded(value)
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of cameras, each a mapping with an id")
    entries: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    for index, entry in enumerate(value):
        where = f"cameras[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping with an id, got {type(entry).__name__}")
        try:
            camera_id = _identifier(entry.get("id"))
        except ValueError as exc:
            raise ValueError(f"{where}.id: {exc}") from None
        unknown = sorted(set(map(str, entry)) - ENTRY_KEYS - DEPRECATED_COUNTER_KEYS)
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: unknown key (camera {camera_id!r}); a camera sets id and any of "
                             f"{', '.join(sorted(ENTRY_KEYS - {'id'}))}")
        if camera_id in ids:
            raise ValueError(f"{where}.id: {camera_id!r} is already the id of cameras[{ids[camera_id]}]; ids must be "
                             "unique (each camera writes <id>.jpg)")
        ids[camera_id] = index
        entries.append({**entry, "id": camera_id})
    return entries
