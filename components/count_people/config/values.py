"""The counter's own kinds of value (a publish destination, a topic template, a secret, ...), beside the
shared ones of ``frame_handoff.keys``. Each raises ValueError with a one-line reason."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from frame_handoff.cameras import camera_entries
from frame_handoff.keys import Kind, text

from count_people.geometry import parse_lines, parse_zones


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
