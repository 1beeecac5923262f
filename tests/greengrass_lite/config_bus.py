"""Write a component's configuration into nucleus lite's ggconfigd, as its deployment daemon does.

UpdateConfiguration over IPC only reaches the caller's own configuration (ggipcd
services/config/update_configuration.c: "caller-scoped"), so a deployment-style update of another
component goes where ggdeploymentd writes: ggconfigd's core-bus interface ``/run/greengrass/gg_config``,
method ``write`` with ``{key_path, value}`` (core-bus-gg-config's ggl_gg_config_write; ggconfigd stamps
it with the current time and notifies subscribers, so the component gets its ConfigurationUpdateEvents).

Core bus, as in modules/core-bus (client_common.c, object_serde.c): one event-stream message with string
header ``method`` and int32 header ``type`` (1 = call), whose payload is the parameters map serialised as
a type byte (0 null, 1 bool, 2 i64, 3 f64, 4 buffer, 5 list, 6 map) then the value, little-endian: i64/f64
8 bytes, buffer u32 length + bytes, list u32 count + objects, map u32 count + (u32-length key, object)
pairs. The answer is one event-stream message; an ``error`` int32 header means the call failed.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from gg_ipc_local import eventstream as es

GG_CONFIG = "/run/greengrass/gg_config"
CALL = 1


def _serialise(value: Any) -> bytes:
    if value is None:
        return b"\x00"
    if isinstance(value, bool):
        return b"\x01" + bytes((value,))
    if isinstance(value, int):
        return b"\x02" + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x03" + struct.pack("<d", value)
    if isinstance(value, (str, bytes)):
        raw = value.encode() if isinstance(value, str) else value
        return b"\x04" + struct.pack("<I", len(raw)) + raw
    if isinstance(value, (list, tuple)):
        return b"\x05" + struct.pack("<I", len(value)) + b"".join(_serialise(item) for item in value)
    if isinstance(value, dict):
        pairs = b"".join(struct.pack("<I", len(key.encode())) + key.encode() + _serialise(item)
                         for key, item in value.items())
        return b"\x06" + struct.pack("<I", len(value)) + pairs
    raise TypeError(f"cannot send {type(value).__name__} over the core bus")


def write_configuration(component: str, key_path: list[str], value: Any, timeout: float = 10.0) -> None:
    """Merge ``value`` at ``services/<component>/configuration/<key_path>``; RuntimeError if refused."""
    headers = {"method": (es.HeaderType.STRING, "write"), "type": (es.HeaderType.INT32, CALL)}
    params = {"key_path": ["services", component, "configuration", *key_path], "value": value}
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(GG_CONFIG)
        sock.sendall(es.encode(headers, _serialise(params)))
        prelude = sock.recv(es.PRELUDE_LEN, socket.MSG_WAITALL)
        total = es.parse_prelude(prelude)
        answer = es.decode(prelude + sock.recv(total - es.PRELUDE_LEN, socket.MSG_WAITALL))
    if answer.get("error") is not None:
        raise RuntimeError(f"ggconfigd refused the write of {key_path} for {component}: error {answer.get('error')}")
