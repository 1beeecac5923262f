"""What the connection layer and the operation handlers share: a call, its errors, and subscriptions.

Handlers see a ``Call`` (the server, the caller's connection and stream) and the request body; they
return a ``Response`` or raise ``IpcError``. They never touch sockets or framing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from gg_ipc_local import eventstream as es

if TYPE_CHECKING:
    from gg_ipc_local.server import LocalIpcServer

log = logging.getLogger("gg_ipc_local")

NS = "aws.greengrass#"
#: A client that reads slower than this much buffered output is disconnected.
MAX_WRITE_BUFFER = 8 * 1024 * 1024
#: Nesting deeper than any Greengrass IPC request (a configuration value is a few levels): refused, never recursed.
MAX_JSON_DEPTH = 64


def parse_json(payload: bytes) -> Any:
    """``payload`` as JSON; ValueError when it is not JSON or nests deeper than ``MAX_JSON_DEPTH``.

    The decoder recurses per level, so a payload of nested brackets would otherwise end in a RecursionError.
    """
    try:
        value = json.loads(payload or b"{}")
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    level = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return value
    raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


class IpcError(Exception):
    """Answered as APPLICATION_ERROR with a modelled error shape, e.g. UnauthorizedError."""

    def __init__(self, shape: str, message: str) -> None:
        super().__init__(message)
        self.shape, self.message = shape, message


def unauthorized(component: str, service: str, operation: str, resource: str) -> IpcError:
    return IpcError("UnauthorizedError", f"Principal {component} is not authorized to perform "
                                         f"{service}:{NS}{operation} on resource {resource}")


class Connection:
    """One client socket: its handshake state and a bounded write side."""

    ids = itertools.count(1)

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.id = next(self.ids)
        self.reader, self.writer = reader, writer
        self.connected = self.rejected = False
        self.last_stream_id = 0
        self.closed = False

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("connection %d: client is not reading; closing it", self.id)
            self.close()
            return
        self.writer.write(data)

    def send_shape(self, stream_id: int, shape: str, body: dict,
                   kind: es.MessageType = es.MessageType.APPLICATION_MESSAGE, terminate: bool = False) -> None:
        """A modelled message (response, event or error) on ``stream_id``."""
        self.send(es.rpc_message(
            kind, stream_id, es.Flag.TERMINATE_STREAM if terminate else 0, json.dumps(body).encode(),
            {es.CONTENT_TYPE: "application/json", es.SERVICE_MODEL_TYPE: NS + shape}))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()


@dataclass
class Subscription:
    """An open stream that receives events: ``kind`` names the family, ``key`` what it listens to."""

    connection: Connection
    stream_id: int
    kind: str  # "topic", "configuration" or "validation"
    key: Any  # topic filter, key path, or None
    from_others: bool = False

    def send(self, shape: str, event: dict) -> None:
        self.connection.send_shape(self.stream_id, shape, event)


@dataclass
class Call:
    """One operation invocation: who calls, on which stream, served by which server."""

    server: LocalIpcServer
    connection: Connection
    stream_id: int

    def subscribe(self, kind: str, key: Any, from_others: bool = False) -> None:
        """Keep this stream open for events of ``kind`` (until either side terminates it)."""
        self.server.subscriptions.append(Subscription(self.connection, self.stream_id, kind, key, from_others))


@dataclass
class Response:
    """A handler's answer; ``streaming`` keeps the stream open for events."""

    shape: str
    body: dict
    streaming: bool = False


Handler = Callable[[Call, dict], Awaitable[Response]]
