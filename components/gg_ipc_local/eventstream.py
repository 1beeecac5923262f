"""The AWS event-stream binary framing and the RPC headers carried in it.

A message is ``total length | headers length | prelude CRC32 | headers | payload |
message CRC32`` (big-endian); each header is ``name length | name | type | value``.
The RPC layer puts ``:message-type``, ``:message-flags`` and ``:stream-id`` in every
message. Anything that does not parse raises ``FrameError`` with a one-line reason, so a
connection sending garbage can be closed without affecting the others.
"""

from __future__ import annotations

import enum
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

PRELUDE_LEN = 12
MIN_MESSAGE_LEN = PRELUDE_LEN + 4
#: The limits of aws-c-event-stream, which the clients also enforce.
MAX_MESSAGE_LEN = 16 * 1024 * 1024
MAX_HEADERS_LEN = 128 * 1024
MAX_HEADER_NAME_LEN = 127

MESSAGE_TYPE = ":message-type"
MESSAGE_FLAGS = ":message-flags"
STREAM_ID = ":stream-id"
OPERATION = "operation"
CONTENT_TYPE = ":content-type"
SERVICE_MODEL_TYPE = "service-model-type"


class FrameError(Exception):
    """The bytes on the wire are not a valid event-stream message."""


class HeaderType(enum.IntEnum):
    BOOL_TRUE = 0
    BOOL_FALSE = 1
    BYTE = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    BYTE_BUF = 6
    STRING = 7
    TIMESTAMP = 8
    UUID = 9


class MessageType(enum.IntEnum):
    APPLICATION_MESSAGE = 0
    APPLICATION_ERROR = 1
    PING = 2
    PING_RESPONSE = 3
    CONNECT = 4
    CONNECT_ACK = 5
    PROTOCOL_ERROR = 6
    INTERNAL_ERROR = 7


class Flag(enum.IntFlag):
    NONE = 0
    CONNECTION_ACCEPTED = 1
    TERMINATE_STREAM = 2


_FIXED = {HeaderType.BYTE: ">b", HeaderType.INT16: ">h", HeaderType.INT32: ">i",
          HeaderType.INT64: ">q", HeaderType.TIMESTAMP: ">q"}


@dataclass
class Message:
    """One decoded message: headers by name (with their wire types) and the raw payload."""

    headers: dict[str, tuple[HeaderType, Any]] = field(default_factory=dict)
    payload: bytes = b""

    def get(self, name: str, default: Any = None) -> Any:
        found = self.headers.get(name)
        return default if found is None else found[1]

    def int_header(self, name: str) -> int:
        """An RPC integer header; FrameError if missing or of another type."""
        found = self.headers.get(name)
        if found is None or found[0] != HeaderType.INT32:
            raise FrameError(f"missing or non-int32 {name} header")
        return found[1]

    @property
    def message_type(self) -> int:
        return self.int_header(MESSAGE_TYPE)

    @property
    def flags(self) -> int:
        return self.int_header(MESSAGE_FLAGS)

    @property
    def stream_id(self) -> int:
        return self.int_header(STREAM_ID)


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode_headers(headers: dict[str, tuple[HeaderType, Any]]) -> bytes:
    out = bytearray()
    for name, (kind, value) in headers.items():
        raw_name = name.encode()
        if not 0 < len(raw_name) <= MAX_HEADER_NAME_LEN:
            raise ValueError(f"header name {name!r} must be 1..{MAX_HEADER_NAME_LEN} bytes")
        out += bytes((len(raw_name),)) + raw_name + bytes((kind,))
        if kind in _FIXED:
            out += struct.pack(_FIXED[kind], value)
        elif kind in (HeaderType.BYTE_BUF, HeaderType.STRING):
            raw = value.encode() if isinstance(value, str) else bytes(value)
            out += struct.pack(">H", len(raw)) + raw
        elif kind == HeaderType.UUID:
            out += value.bytes
    return bytes(out)


def encode(headers: dict[str, tuple[HeaderType, Any]], payload: bytes = b"") -> bytes:
    """One complete message with both checksums."""
    raw_headers = encode_headers(headers)
    total = PRELUDE_LEN + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    body = prelude + struct.pack(">I", _crc(prelude)) + raw_headers + payload
    return body + struct.pack(">I", _crc(body))


def rpc_message(message_type: MessageType, stream_id: int = 0, flags: int = 0, payload: bytes = b"",
                extra: dict[str, str] | None = None) -> bytes:
    """An RPC message with the three RPC headers plus ``extra`` string headers."""
    headers: dict[str, tuple[HeaderType, Any]] = {
        MESSAGE_TYPE: (HeaderType.INT32, int(message_type)),
        MESSAGE_FLAGS: (HeaderType.INT32, int(flags)),
        STREAM_ID: (HeaderType.INT32, stream_id),
    }
    for name, value in (extra or {}).items():
        headers[name] = (HeaderType.STRING, value)
    return encode(headers, payload)


def parse_prelude(prelude: bytes) -> int:
    """Validate the 12-byte prelude; returns the total message length."""
    if len(prelude) != PRELUDE_LEN:
        raise FrameError(f"truncated prelude ({len(prelude)} of {PRELUDE_LEN} bytes)")
    total, headers_len, crc = struct.unpack(">III", prelude)
    if _crc(prelude[:8]) != crc:
        raise FrameError("prelude CRC mismatch")
    if not MIN_MESSAGE_LEN <= total <= MAX_MESSAGE_LEN:
        raise FrameError(f"message length {total} outside {MIN_MESSAGE_LEN}..{MAX_MESSAGE_LEN}")
    if headers_len > MAX_HEADERS_LEN:
        raise FrameError(f"headers length {headers_len} exceeds {MAX_HEADERS_LEN}")
    if headers_len > total - MIN_MESSAGE_LEN:
        raise FrameError(f"headers length {headers_len} does not fit in a {total}-byte message")
    return total


def decode(data: bytes) -> Message:
    """Decode one complete message (prelude included)."""
    total = parse_prelude(data[:PRELUDE_LEN])
    if len(data) != total:
        raise FrameError(f"message is {len(data)} bytes, prelude says {total}")
    if _crc(data[:-4]) != struct.unpack(">I", data[-4:])[0]:
        raise FrameError("message CRC mismatch")
    headers_len = struct.unpack(">I", data[4:8])[0]
    end = PRELUDE_LEN + headers_len
    return Message(decode_headers(data[PRELUDE_LEN:end]), bytes(data[end:-4]))


def decode_headers(raw: bytes) -> dict[str, tuple[HeaderType, Any]]:
    headers: dict[str, tuple[HeaderType, Any]] = {}
    pos = 0

    def take(count: int) -> bytes:
        nonlocal pos
        if pos + count > len(raw):
            raise FrameError("header runs past the headers section")
        chunk = raw[pos:pos + count]
        pos += count
        return chunk

    while pos < len(raw):
        name_len = take(1)[0]
        if not name_len:
            raise FrameError("empty header name")
        try:
            name = take(name_len).decode()
            kind = HeaderType(take(1)[0])
        except UnicodeDecodeError:
            raise FrameError("header name is not UTF-8") from None
        except ValueError:
            raise FrameError(f"unknown type of header {name!r}") from None
        value: Any
        if kind in (HeaderType.BOOL_TRUE, HeaderType.BOOL_FALSE):
            value = kind == HeaderType.BOOL_TRUE
        elif kind in _FIXED:
            fmt = _FIXED[kind]
            value = struct.unpack(fmt, take(struct.calcsize(fmt)))[0]
        elif kind == HeaderType.UUID:
            value = uuid.UUID(bytes=take(16))
        else:
            value = take(struct.unpack(">H", take(2))[0])
            if kind == HeaderType.STRING:
                try:
                    value = value.decode()
                except UnicodeDecodeError:
                    raise FrameError(f"header {name!r} is not UTF-8") from None
        headers[name] = (kind, value)
    return headers
