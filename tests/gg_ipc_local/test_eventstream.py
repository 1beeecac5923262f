"""The event-stream codec: every header type round-trips, and damage is always detected."""

from __future__ import annotations

import uuid

import pytest
from gg_ipc_local import eventstream as es
from gg_ipc_local.eventstream import HeaderType as T

HEADERS = {"t": (T.BOOL_TRUE, True), "f": (T.BOOL_FALSE, False), "b": (T.BYTE, -5), "s": (T.INT16, -300),
           "i": (T.INT32, 2**31 - 1), "l": (T.INT64, -(2**40)), "buf": (T.BYTE_BUF, b"\x00\xff"),
           ":str": (T.STRING, "héllo"), "ts": (T.TIMESTAMP, 1_700_000_000_000), "u": (T.UUID, uuid.uuid4())}


def test_round_trip_of_every_header_type():
    message = es.decode(es.encode(HEADERS, b"payload"))
    assert message.headers == HEADERS and message.payload == b"payload"


def test_rpc_headers():
    message = es.decode(es.rpc_message(es.MessageType.CONNECT_ACK, 0, es.Flag.CONNECTION_ACCEPTED))
    assert (message.message_type, message.flags, message.stream_id) == (5, 1, 0)
    with pytest.raises(es.FrameError, match=":stream-id"):
        es.decode(es.encode({":message-type": (T.INT32, 0)})).int_header(es.STREAM_ID)


@pytest.mark.parametrize("bit", range(0, 8 * 60, 7))
def test_any_flipped_bit_is_detected(bit):
    data = bytearray(es.encode(HEADERS, b"payload"))
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(es.FrameError, match=r"CRC|length"):
        es.decode(bytes(data))


def test_limits_and_truncation():
    with pytest.raises(es.FrameError, match="truncated prelude"):
        es.parse_prelude(b"\x00" * 5)
    huge = bytearray(es.encode({}, b""))
    huge[0:4] = (es.MAX_MESSAGE_LEN + 1).to_bytes(4, "big")
    huge[8:12] = es._crc(bytes(huge[:8])).to_bytes(4, "big")
    with pytest.raises(es.FrameError, match="outside"):
        es.parse_prelude(bytes(huge[:12]))
    with pytest.raises(es.FrameError, match="prelude says"):
        es.decode(es.encode(HEADERS)[:-1])
