"""The event-stream RPC server: connections, the CONNECT handshake, streams and operations.

One asyncio loop serves every connection. A connection that sends bytes which do not
parse, or that breaks the RPC rules, is closed with a logged reason; the others carry on.
Non-streaming answers carry TERMINATE_STREAM, as the nucleus sends them, so the client
frees the stream; subscriptions stay open until either side terminates them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import hmac
import itertools
import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from gg_ipc_local import eventstream as es
from gg_ipc_local.recipe import MQTT_PROXY, PUBSUB, Recipe
from gg_ipc_local.sinks import Sink, SinkError

log = logging.getLogger("gg_ipc_local")

#: AWS IoT Core refuses larger payloads, and so does the nucleus.
MAX_PAYLOAD_BYTES = 128 * 1024
#: Once a frame has started, the rest must arrive within this many seconds.
FRAME_TIMEOUT_S = 10.0
#: A client that reads slower than this much buffered output is disconnected.
MAX_WRITE_BUFFER = 8 * 1024 * 1024
#: How long a client refused at CONNECT may stay before the server closes its connection.
REJECTED_LINGER_S = 2.0
NS = "aws.greengrass#"


class IpcError(Exception):
    """Answered as APPLICATION_ERROR with a modelled error shape, e.g. UnauthorizedError."""

    def __init__(self, shape: str, message: str) -> None:
        super().__init__(message)
        self.shape, self.message = shape, message


def _unauthorized(component: str, service: str, operation: str, resource: str) -> IpcError:
    return IpcError("UnauthorizedError", f"Principal {component} is not authorized to perform "
                                         f"{service}:{NS}{operation} on resource {resource}")


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` (one level) and ``#`` (the rest)."""
    filter_levels, levels = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(levels) or (level != "+" and level != levels[index]):
            return False
    return len(filter_levels) == len(levels)


class ComponentConfiguration:
    """The component's configuration tree, updated by UpdateConfiguration."""

    def __init__(self, initial: dict[str, Any]) -> None:
        self.data: dict[str, Any] = copy.deepcopy(initial)

    def get(self, path: list[str]) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                raise KeyError("/".join(path))
            node = node[key]
        return node

    def merge(self, path: list[str], value: Any) -> list[list[str]]:
        """Merge ``value`` at ``path`` (maps merge deeply, anything else replaces); the changed leaf paths."""
        if not path and not isinstance(value, dict):
            raise ValueError("valueToMerge must be an object when keyPath is empty")
        node = self.data
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if not path:
            return self._merge_map(self.data, value, [])
        key = path[-1]
        if isinstance(value, dict):
            if not isinstance(node.get(key), dict):
                node[key] = {}
            return self._merge_map(node[key], value, path)
        if node.get(key, object()) == value:
            return []
        node[key] = copy.deepcopy(value)
        return [path]

    def _merge_map(self, node: dict[str, Any], value: dict[str, Any], path: list[str]) -> list[list[str]]:
        changed = []
        for key, item in value.items():
            if isinstance(item, dict) and isinstance(node.get(key), dict):
                changed += self._merge_map(node[key], item, [*path, key])
            elif node.get(key, object()) != item:
                node[key] = copy.deepcopy(item)
                changed.append([*path, key])
        return changed


@dataclass
class _Subscription:
    connection: _Connection
    stream_id: int
    kind: str  # "topic" or "configuration"
    key: Any  # topic filter, or key path
    from_others: bool = False


class _Connection:
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

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()


Handler = Callable[[_Connection, int, dict], Awaitable[tuple[str, dict, bool]]]


class LocalIpcServer:
    """Serves one component (the recipe's) on ``socket_path`` to clients presenting ``token``.

    ``configuration`` is merged over the recipe's DefaultConfiguration, as a deployment's merge is.
    """

    def __init__(
        self,
        socket_path: str,
        token: str,
        recipe: Recipe,
        *,
        configuration: dict[str, Any] | None = None,
        sinks: list[Sink] | None = None,
    ) -> None:
        self.socket_path, self.recipe = socket_path, recipe
        self._token = token.encode()
        self.configuration = ComponentConfiguration(recipe.default_configuration)
        if configuration:
            self.configuration.merge([], configuration)
        self.sinks = sinks or []
        self.component_state: str | None = None
        self.counts: dict[str, int] = {}
        self._subscriptions: list[_Subscription] = []
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self.operations: dict[str, Handler] = {
            "PublishToIoTCore": self._publish_to_iot_core,
            "PublishToTopic": self._publish_to_topic,
            "SubscribeToTopic": self._subscribe_to_topic,
            "GetConfiguration": self._get_configuration,
            "SubscribeToConfigurationUpdate": self._subscribe_to_configuration_update,
            "UpdateConfiguration": self._update_configuration,
            "UpdateState": self._update_state,
        }

    @property
    def component(self) -> str:
        return self.recipe.component_name

    # -- lifecycle -------------------------------------------------------------------------

    async def start_serving(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        self._stopped = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_unix_server(self._serve_connection, path=self.socket_path,
                                                       limit=es.MAX_MESSAGE_LEN)
        os.chmod(self.socket_path, 0o600)
        log.info("serving Greengrass IPC for %s on %s", self.component, self.socket_path)

    async def wait_stopped(self) -> None:
        """Serve until ``request_stop``; then close every connection and the socket."""
        assert self._stopped is not None, "start_serving() first"
        try:
            await self._stopped.wait()
        finally:
            await self._shutdown()

    def request_stop(self) -> None:
        """Ask the loop to stop serving (call on the loop, e.g. from a signal handler)."""
        if self._stopped is not None:
            self._stopped.set()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.close()
        if self._tasks:  # let each connection handler see its end of stream and clean up
            await asyncio.wait(list(self._tasks), timeout=5.0)
        if self._server is not None:
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        for sink in self.sinks:
            sink.close()

    def start(self, timeout: float = 10.0) -> LocalIpcServer:
        """Serve from a background thread (tests, embedding); returns once the socket listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            try:
                await self.start_serving()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            await self.wait_stopped()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), name="gg-ipc-local", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("gg-ipc-local did not start")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close the socket and every connection (clients see the nucleus go away)."""
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already finished
                self._loop.call_soon_threadsafe(self.request_stop)
        if self._thread is not None:
            self._thread.join(timeout)

    # -- connections -------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(reader, writer)
        self._connections.add(connection)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        log.debug("connection %d opened", connection.id)
        reason = "client disconnected"
        try:
            while not connection.closed:
                message = await self._read_message(connection)
                if message is None:
                    break
                self._handle(connection, message)
        except es.FrameError as exc:
            reason = f"malformed frame: {exc}"
            log.warning("connection %d: closing: %s", connection.id, reason)
        except (ConnectionError, OSError) as exc:
            reason = f"socket error: {exc}"
        finally:
            self._connections.discard(connection)
            self._subscriptions = [s for s in self._subscriptions if s.connection is not connection]
            connection.close()
            log.debug("connection %d closed (%s)", connection.id, reason)

    async def _read_message(self, connection: _Connection) -> es.Message | None:
        """The next message, None on a clean end of stream; FrameError for anything malformed."""
        try:
            prelude = await connection.reader.readexactly(es.PRELUDE_LEN)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise es.FrameError(f"truncated prelude ({len(exc.partial)} of {es.PRELUDE_LEN} bytes)") from None
            return None
        total = es.parse_prelude(prelude)
        try:
            rest = await asyncio.wait_for(connection.reader.readexactly(total - es.PRELUDE_LEN), FRAME_TIMEOUT_S)
        except asyncio.IncompleteReadError as exc:
            raise es.FrameError(f"truncated message ({es.PRELUDE_LEN + len(exc.partial)} of {total} bytes)") from None
        except asyncio.TimeoutError:
            raise es.FrameError(f"incomplete message after {FRAME_TIMEOUT_S:.0f} s") from None
        return es.decode(prelude + rest)

    def _protocol_error(self, connection: _Connection, reason: str) -> None:
        log.warning("connection %d: protocol error, closing: %s", connection.id, reason)
        connection.send(es.rpc_message(es.MessageType.PROTOCOL_ERROR,
                                       payload=json.dumps({"message": reason}).encode()))
        connection.close()

    def _handle(self, connection: _Connection, message: es.Message) -> None:
        kind, flags, stream_id = message.message_type, message.flags, message.stream_id
        if connection.rejected:
            connection.close()
            return
        if not connection.connected:
            if kind != es.MessageType.CONNECT or stream_id != 0:
                self._protocol_error(connection, "the first message must be CONNECT on stream 0")
            else:
                self._connect(connection, message)
            return
        if kind == es.MessageType.PING:
            connection.send(es.rpc_message(es.MessageType.PING_RESPONSE))
        elif kind in (es.MessageType.APPLICATION_MESSAGE, es.MessageType.APPLICATION_ERROR) and stream_id > 0:
            self._handle_stream_message(connection, message, stream_id, flags)
        elif kind != es.MessageType.PING_RESPONSE:
            self._protocol_error(connection, f"unexpected message type {kind} on stream {stream_id}")

    def _connect(self, connection: _Connection, message: es.Message) -> None:
        try:
            token = json.loads(message.payload or b"{}").get("authToken", "")
        except (ValueError, AttributeError):
            token = ""
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self._token):
            log.warning("connection %d: rejected: wrong or missing SVCUID auth token", connection.id)
            connection.send(es.rpc_message(es.MessageType.CONNECT_ACK))
            # The client closes on a refused CONNECT_ACK; closing first could race it into a mere
            # "socket closed", so only close if the client lingers.
            connection.rejected = True
            asyncio.get_running_loop().call_later(REJECTED_LINGER_S, connection.close)
            return
        connection.connected = True
        connection.send(es.rpc_message(es.MessageType.CONNECT_ACK, flags=es.Flag.CONNECTION_ACCEPTED))
        log.info("connection %d: %s connected", connection.id, self.component)

    def _handle_stream_message(self, connection: _Connection, message: es.Message, stream_id: int,
                               flags: int) -> None:
        if stream_id <= connection.last_stream_id:
            if flags & es.Flag.TERMINATE_STREAM:  # the client closes a stream (or one we closed already)
                self._subscriptions = [s for s in self._subscriptions
                                       if not (s.connection is connection and s.stream_id == stream_id)]
            return
        connection.last_stream_id = stream_id
        operation = message.get(es.OPERATION)
        if not isinstance(operation, str):
            self._protocol_error(connection, f"stream {stream_id} activated without an operation header")
            return
        task = asyncio.get_running_loop().create_task(
            self._activate(connection, stream_id, operation, message.payload))
        self._tasks.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._tasks.discard)

    async def _activate(self, connection: _Connection, stream_id: int, operation: str, payload: bytes) -> None:
        name = operation[len(NS):] if operation.startswith(NS) else operation
        try:
            handler = self.operations.get(name)
            if handler is None:
                raise IpcError("ServiceError", f"gg-ipc-local does not implement {operation}")
            try:
                request = json.loads(payload or b"{}")
            except ValueError:
                raise IpcError("InvalidArgumentsError", "request payload is not JSON") from None
            if not isinstance(request, dict):
                raise IpcError("InvalidArgumentsError", "request payload must be a JSON object")
            response_shape, response, streaming = await handler(connection, stream_id, request)
        except IpcError as exc:
            log.info("connection %d: %s refused: %s: %s", connection.id, name, exc.shape, exc.message)
            self._count(f"{name}:{exc.shape}")
            self._send_shape(connection, stream_id, exc.shape, {"message": exc.message},
                             es.MessageType.APPLICATION_ERROR, terminate=True)
            return
        except Exception as exc:  # a bug here must cost one request, not the server
            log.exception("connection %d: %s failed", connection.id, name)
            self._send_shape(connection, stream_id, "ServiceError", {"message": f"internal error: {exc}"},
                             es.MessageType.APPLICATION_ERROR, terminate=True)
            return
        self._count(name)
        self._send_shape(connection, stream_id, response_shape, response, terminate=not streaming)

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    @staticmethod
    def _send_shape(connection: _Connection, stream_id: int, shape: str, body: dict,
                    kind: es.MessageType = es.MessageType.APPLICATION_MESSAGE, terminate: bool = False) -> None:
        connection.send(es.rpc_message(
            kind, stream_id, es.Flag.TERMINATE_STREAM if terminate else 0, json.dumps(body).encode(),
            {es.CONTENT_TYPE: "application/json", es.SERVICE_MODEL_TYPE: NS + shape}))

    def _authorize(self, service: str, operation: str, resource: str) -> None:
        if not self.recipe.authorized(service, NS + operation, resource, self.configuration.data):
            raise _unauthorized(self.component, service, operation, resource)

    def _own_component(self, request: dict) -> str:
        name = request.get("componentName") or self.component
        if name != self.component:
            raise IpcError("ResourceNotFoundError", f"component {name} is not served here (only {self.component})")
        return name

    # -- operations: each returns (response shape, response body, stream stays open) ----------

    async def _publish_to_iot_core(self, connection: _Connection, stream_id: int, request: dict):
        topic, qos = request.get("topicName"), str(request.get("qos", "0"))
        if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
            raise IpcError("InvalidArgumentsError", "topicName must be a topic without wildcards")
        if qos not in ("0", "1"):
            raise IpcError("InvalidArgumentsError", f"qos must be 0 or 1, not {qos}")
        try:
            payload = base64.b64decode(request.get("payload") or "", validate=True)
        except (binascii.Error, TypeError):
            raise IpcError("InvalidArgumentsError", "payload is not base64") from None
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise IpcError("InvalidArgumentsError",
                           f"payload of {len(payload)} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte IoT Core limit")
        self._authorize(MQTT_PROXY, "PublishToIoTCore", topic)
        for sink in self.sinks:
            try:
                await sink.publish(topic, payload, int(qos))
            except SinkError as exc:
                raise IpcError("ServiceError", str(exc)) from None
        return "PublishToIoTCoreResponse", {}, False

    async def _publish_to_topic(self, connection: _Connection, stream_id: int, request: dict):
        topic, message = request.get("topic"), request.get("publishMessage") or {}
        if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
            raise IpcError("InvalidArgumentsError", "topic must be a topic without wildcards")
        body = message.get("jsonMessage") or message.get("binaryMessage") if isinstance(message, dict) else None
        if not isinstance(body, dict) or "message" not in body:
            raise IpcError("InvalidArgumentsError", "publishMessage needs a jsonMessage or binaryMessage")
        self._authorize(PUBSUB, "PublishToTopic", topic)
        union = "jsonMessage" if "jsonMessage" in message else "binaryMessage"
        event = {union: {"message": body["message"], "context": {"topic": topic}}}
        for sub in self._subscriptions:
            if sub.kind == "topic" and topic_matches(sub.key, topic) and not (
                    sub.from_others and sub.connection is connection):
                self._send_shape(sub.connection, sub.stream_id, "SubscriptionResponseMessage", event)
        return "PublishToTopicResponse", {}, False

    async def _subscribe_to_topic(self, connection: _Connection, stream_id: int, request: dict):
        topic = request.get("topic")
        if not isinstance(topic, str) or not topic:
            raise IpcError("InvalidArgumentsError", "topic is required")
        self._authorize(PUBSUB, "SubscribeToTopic", topic)
        from_others = request.get("receiveMode") == "RECEIVE_MESSAGES_FROM_OTHERS"
        self._subscriptions.append(_Subscription(connection, stream_id, "topic", topic, from_others))
        return "SubscribeToTopicResponse", {"topicName": topic}, True

    async def _get_configuration(self, connection: _Connection, stream_id: int, request: dict):
        name, path = self._own_component(request), list(request.get("keyPath") or [])
        try:
            value = self.configuration.get(path)
        except KeyError:
            raise IpcError("ResourceNotFoundError", f"no configuration at keyPath {path} of {name}") from None
        if not isinstance(value, dict):  # a leaf comes back as {key: value}, as from the nucleus
            value = {path[-1]: value}
        return "GetConfigurationResponse", {"componentName": name, "value": copy.deepcopy(value)}, False

    async def _subscribe_to_configuration_update(self, connection: _Connection, stream_id: int, request: dict):
        self._own_component(request)
        path = list(request.get("keyPath") or [])
        self._subscriptions.append(_Subscription(connection, stream_id, "configuration", path))
        return "SubscribeToConfigurationUpdateResponse", {}, True

    async def _update_configuration(self, connection: _Connection, stream_id: int, request: dict):
        path, value = list(request.get("keyPath") or []), request.get("valueToMerge")
        try:
            changed = self.configuration.merge(path, value)
        except ValueError as exc:
            raise IpcError("InvalidArgumentsError", str(exc)) from None
        log.info("configuration of %s updated: %s", self.component,
                 ", ".join("/".join(p) for p in changed) or "no change")
        for changed_path in changed:
            for sub in self._subscriptions:
                common = min(len(sub.key), len(changed_path))  # either path inside the other
                if sub.kind == "configuration" and sub.key[:common] == changed_path[:common]:
                    self._send_shape(sub.connection, sub.stream_id, "ConfigurationUpdateEvents", {
                        "configurationUpdateEvent": {"componentName": self.component, "keyPath": changed_path}})
        return "UpdateConfigurationResponse", {}, False

    async def _update_state(self, connection: _Connection, stream_id: int, request: dict):
        state = request.get("state")
        if state not in ("RUNNING", "ERRORED"):
            raise IpcError("InvalidArgumentsError", f"state must be RUNNING or ERRORED, not {state}")
        if state != self.component_state:
            log.info("%s reports state %s", self.component, state)
        self.component_state = state
        return "UpdateStateResponse", {}, False
