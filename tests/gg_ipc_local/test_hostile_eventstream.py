"""Property tests of the event-stream decoder (issue 15): any bytes decode or raise FrameError, nothing else;
whatever the encoder writes decodes back to the same message."""

from __future__ import annotations

import contextlib
import struct
import uuid
import zlib

from gg_ipc_local import eventstream as es
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = st.text(min_size=1, max_size=20).filter(lambda n: len(n.encode()) <= es.MAX_HEADER_NAME_LEN)
VALUES = st.one_of(
    st.tuples(st.just(es.HeaderType.BOOL_TRUE), st.just(True)),
    st.tuples(st.just(es.HeaderType.BOOL_FALSE), st.just(False)),
    st.tuples(st.just(es.HeaderType.BYTE), st.integers(-128, 127)),
    st.tuples(st.just(es.HeaderType.INT16), st.integers(-(2**15), 2**15 - 1)),
    st.tuples(st.just(es.HeaderType.INT32), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(es.HeaderType.INT64), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just(es.HeaderType.TIMESTAMP), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just(es.HeaderType.BYTE_BUF), st.binary(max_size=50)),
    st.tuples(st.just(es.HeaderType.STRING), st.text(max_size=50)),
    st.tuples(st.just(es.HeaderType.UUID), st.uuids().map(lambda u: uuid.UUID(str(u)))),
)


def framed(headers: bytes, payload: bytes) -> bytes:
    """``headers`` and ``payload`` in a message with valid lengths and checksums: only the headers may be bad."""
    prelude = struct.pack(">II", 12 + len(headers) + len(payload) + 4, len(headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


@settings(max_examples=300)
@given(st.dictionaries(NAMES, VALUES, max_size=8), st.binary(max_size=300))
def test_what_is_encoded_decodes_back(headers, payload):
    message = es.decode(es.encode(headers, payload))
    assert message.payload == payload
    assert {name: (kind, value) for name, (kind, value) in message.headers.items()} == headers


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_frame_error(data):
    with contextlib.suppress(es.FrameError):
        es.decode(data)


@settings(max_examples=500)
@given(st.binary(max_size=200), st.binary(max_size=50))
def test_any_headers_section_decodes_or_raises_frame_error(headers, payload):
    with contextlib.suppress(es.FrameError):
        es.decode(framed(headers, payload))


@given(st.binary(min_size=12, max_size=12))
def test_any_prelude_is_a_length_in_range_or_frame_error(prelude):
    try:
        total = es.parse_prelude(prelude)
    except es.FrameError:
        return
    assert es.MIN_MESSAGE_LEN <= total <= es.MAX_MESSAGE_LEN
