"""The counter's own kinds of value (a publish destination, a topic template, a secret, ...), beside the
shared ones of ``frame_handoff.keys``. Each raises ValueError with a one-line reason."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from frame_handoff.cameras import camera_entries
from frame_handoff.keys import Kind, text

from count_people.geometry import parse_areas, parse_lines, parse_zones


def _context(value: str) -> str:
    lowered = value.strip().lower()
    if lowered == "cpu" or re.fullmatch(r"gpu(:\d+)?", lowered):
        return lowered if lowered != "gpu" else "gpu:0"
    raise ValueError(f"expected 'cpu' or 'gpu:N', got {value!r}")


CONTEXT = text(_context, "device", "cpu | gpu:N")


def _publish(value: str) -> str:
    stripped = value.strip()
    if stripped in ("stdout", "ipc"):
        return stripped
    if stripped.startswith("mqtt://"):
        url = urlsplit(stripped)
        try:
            port = url.port
        except ValueError:
            raise ValueError(f"bad port in {stripped!r}; expected mqtt://HOST:PORT") from None
        if not url.hostname or url.path not in ("", "/"):
            raise ValueError(f"expected mqtt://HOST[:PORT], got {stripped!r}")
        return f"mqtt://{url.hostname}:{port or 1883}"
    raise ValueError(f"expected 'stdout', 'ipc' or mqtt://HOST:PORT, got {value!r}")


PUBLISH = text(_publish, "destination", "stdout | ipc | mqtt://HOST:PORT")


def _topic(value: str) -> str:
    stripped = value.strip()
    try:
        stripped.format(thing="t", camera="c")
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"topic {stripped!r} may only use the placeholders {{thing}} and {{camera}}") from None
    if not stripped or "#" in stripped or "+" in stripped:
        raise ValueError(f"topic {stripped!r} must be non-empty and free of MQTT wildcards")
    return stripped


TOPIC = text(_topic, "topic template", "{thing} {camera}, no + #")

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


SECRET = text(lambda value: Secret(value.strip()), "secret")


def without_userinfo(url: str) -> str:
    """``url`` (maybe malformed) with anything before its last ``@`` masked: an error may show it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"


def _http_url(value: str) -> str:
    stripped = value.strip().rstrip("/")
    if not stripped:
        return ""
    try:
        url = urlsplit(stripped)
        url.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValueError(f"bad URL or port in {without_userinfo(stripped)!r}") from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"expected http(s)://HOST[:PORT] or empty, got {without_userinfo(stripped)!r}")
    return stripped


HTTP_URL = text(_http_url, "URL", "http(s)://HOST[:PORT] or empty")


def _optional_file(value: Any) -> str | None:
    if value in (None, ""):
        return None
    path = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    if path is None:
        raise ValueError("expected a file name")
    if not Path(path).is_file():
        raise ValueError(f"file {path!r} does not exist")
    return path


OPTIONAL_FILE = Kind(_optional_file, "file", {"type": ["string", "null"]}, "an existing file, or empty")


def _names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("expected a comma-separated list of names")
    names = tuple(str(item).strip() for item in items if str(item).strip())
    if not names:
        raise ValueError("expected at least one name")
    return names


NAMES = Kind(_names, "list of names", {"type": ["string", "array"], "items": {"type": "string"}}, "comma-separated")


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


ALIASES = Kind(_aliases, "aliases", {"type": ["string", "object", "array"]}, "CLASS=LABEL,...")

#: One camera entry of ``cameras``, frozen as sorted (key, value) pairs.
Camera = tuple[tuple[str, Any], ...]


def _cameras(value: Any) -> tuple[Camera, ...]:
    """The shared checks of the list (shape, ids, keys); values are parsed per camera by ``camera_settings``."""
    return tuple(tuple(sorted(entry.items())) for entry in camera_entries(value or []))


CAMERAS = Kind(_cameras, "list of cameras", {"anyOf": [{"type": "array"}, {"type": "string"}]},
               "entries {id, ...}; ids unique")
_POINTS = {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}
#: Lines and zones: a mapping in a file, its JSON/YAML text in a flag or variable (parse_* load it, guarded).
LINES = Kind(parse_lines, "lines", {"anyOf": [{"type": "object", "additionalProperties": {"anyOf": [
    _POINTS, {"type": "object", "required": ["points"]}]}}, {"type": "string"}]})
ZONES = Kind(parse_zones, "zones", {"anyOf": [{"type": "object", "additionalProperties": {"anyOf": [
    _POINTS, {"type": "object", "required": ["polygon"]}]}}, {"type": "string"}]})

#: Areas counted at their doors (count_people/analytics/areas.py): a mapping in a file, JSON/YAML text in a flag.
AREAS = Kind(parse_areas, "areas", {"anyOf": [{"type": "object", "additionalProperties": {"anyOf": [
    {"type": "array", "items": {"type": "string"}}, {"type": "object", "required": ["doors"]}]}},
    {"type": "string"}]})

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: (weekday 0 = Monday or None = daily, hour, minute) in local time (count_people/analytics/schedule.py).
ResetTime = tuple[int | None, int, int]


def _reset_times(value: Any) -> tuple[ResetTime, ...]:
    """``"04:00"``, ``"04:00,16:30"`` or ``"sun 04:00"`` (a list in a config file) -> sorted local reset times."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError('expected "HH:MM" times, comma-separated, each maybe after a weekday ("sun 04:00")')
    times = set()
    for item in (str(i).strip().lower() for i in items):
        if not item:
            continue
        match = re.fullmatch(r"(?:([a-z]{3})[a-z]*\s+)?([01]?\d|2[0-3]):([0-5]\d)", item)
        if not match or (match[1] and match[1] not in WEEKDAYS):
            raise ValueError(f'expected "HH:MM" (00:00..23:59), maybe after a weekday ("sun 04:00"), got {item!r}')
        times.add((WEEKDAYS.index(match[1]) if match[1] else None, int(match[2]), int(match[3])))
    return tuple(sorted(times, key=lambda t: (t[0] is not None, t)))


RESET_TIMES = Kind(_reset_times, "list of times", {"type": ["string", "array"], "items": {"type": "string"}},
                   '"HH:MM" or "sun HH:MM", comma-separated')


def _timezone(value: str) -> str:
    name = value.strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name such as Europe/Berlin or UTC") from None
    return name


TIMEZONE = text(_timezone, "time zone", "IANA name")


def _buckets(value: Any) -> tuple[float, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("expected increasing bucket bounds in seconds, e.g. 30,120,600")
    try:
        bounds = tuple(float(item) for item in items if str(item).strip() and not isinstance(item, bool))
    except (TypeError, ValueError):
        raise ValueError(f"expected numbers of seconds, got {value!r}") from None
    if not bounds or not all(0 < b < float("inf") for b in bounds) or list(bounds) != sorted(set(bounds)):
        raise ValueError(f"expected at least one bound above 0, strictly increasing, got {value!r}")
    return bounds


BUCKETS = Kind(_buckets, "list of seconds", {"type": ["string", "array"], "items": {"type": "number"}},
               "increasing, > 0")


def events_topic(topic: str) -> str:
    """Where a camera's threshold events go (count_people/analytics/events.py): beside its messages."""
    return f"{topic}/events"
