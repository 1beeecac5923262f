"""The event-stream RPC server: connections, the CONNECT handshake, streams and dispatch to operations.

One asyncio loop serves every connection. A connection that sends bytes which do not
parse, or that breaks the RPC rules, is closed with a logged reason; the others carry on.
Non-streaming answers carry TERMINATE_STREAM, as the nucleus sends them, so the client
frees the stream; subscriptions stay open until either side terminates them. The operations
themselves live in ``gg_ipc_local.operations``, one module per family.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from gg_ipc_local import eventstream as es
from gg_ipc_local.config_store import ComponentConfiguration
from gg_ipc_local.deployment import DEFAULT_VALIDATION_TIMEOUT_S, DeploymentResult, Deployments
from gg_ipc_local.operations import OPERATIONS
from gg_ipc_local.recipe import Recipe
from gg_ipc_local.rpc import NS, Call, Connection, IpcError, Subscription, parse_json, unauthorized
from gg_ipc_local.secret_store import SecretStore
from gg_ipc_local.sinks import Sink
from gg_ipc_local.spool import DEFAULT_SPOOL_BYTES, IotCoreLink

log = logging.getLogger("gg_ipc_local")

#: Once a frame has started, the rest must arrive within this many seconds.
FRAME_TIMEOUT_S = 10.0
#: Before CONNECT is accepted a client is anyone who can open the socket: its CONNECT must come within this
#: many seconds and fit in this many bytes (the SDK's is under 1 KiB), so it buffers little and not for long.
CONNECT_TIMEOUT_S = 10.0
MAX_UNAUTHENTICATED_MESSAGE = 64 * 1024
#: Open connections at most; at the cap the oldest unauthenticated one makes room (a component needs a few).
MAX_CONNECTIONS = 64
#: Bytes the socket reader buffers ahead of what is parsed (asyncio pauses reading at twice this).
READ_BUFFER_LIMIT = 64 * 1024
#: How long a client refused at CONNECT may stay before the server closes its connection.
REJECTED_LINGER_S = 2.0
#: The event-stream RPC protocol version a CONNECT must carry in its ``:version`` string header: the Java
#: nucleus's RPC server accepts only 0.1.0 (major.minor.patch compared as numbers) and answers anything else,
#: a missing header included, with a CONNECT_ACK that does not accept and closes the connection
#: (aws-iot-device-sdk-java-v2 @ 47a799c, sdk/greengrass/event-stream-rpc-server/src/main/java/software/
#: amazon/awssdk/eventstreamrpc/ServiceOperationMappingContinuationHandler.java:79-85 and :116-120;
#: event-stream-rpc-model/.../Version.java:11-16). Nucleus lite refuses a different version too, but lets a
#: CONNECT without the header through (ggipcd/src/ipc_server.c:128-140).
RPC_VERSION = (0, 1, 0)
VERSION_HEADER = ":version"
#: The socket's mode: readable and writable by everyone, as both nuclei leave it, so that a component running
#: as another user (ggc_user) can connect; the SVCUID token is what authenticates (aws-greengrass-nucleus
#: v2.18.2 src/main/java/com/aws/greengrass/util/Permissions.java:140-148, called from
#: util/platforms/unix/UnixPlatform.java:665-667; nucleus lite ggipcd/src/ipc_server.c:535-537, 0666).
SOCKET_MODE = 0o666


def rpc_version(message: es.Message) -> tuple[int, ...] | None:
    """The CONNECT's ``:version`` as numbers; None when absent, not a string, or not N.N.N."""
    kind, value = message.headers.get(VERSION_HEADER, (None, None))
    if kind != es.HeaderType.STRING or not re.fullmatch(r"\d+\.\d+\.\d+", value, re.ASCII):
        return None
    return tuple(int(part) for part in value.split("."))


class LocalIpcServer:
    """Serves one component (the recipe's) on ``socket_path`` to clients presenting ``token``.

    ``configuration`` is merged over the recipe's DefaultConfiguration, as a deployment's merge is.
    ``other_components`` are the configurations of the device's other components, which GetConfiguration
    and SubscribeToConfigurationUpdate may read by componentName, as on the nucleus.
    """

    def __init__(
        self,
        socket_path: str,
        token: str,
        recipe: Recipe,
        *,
        configuration: dict[str, Any] | None = None,
        sinks: list[Sink] | None = None,
        secrets: SecretStore | None = None,
        spool_bytes: int = DEFAULT_SPOOL_BYTES,
        other_components: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        self.socket_path, self.recipe = socket_path, recipe
        self._token = token.encode()
        self.configuration = ComponentConfiguration(recipe.default_configuration)
        if configuration:
            self.configuration.merge([], configuration)
        self.other_components = {name: ComponentConfiguration(data) for name, data in (other_components or {}).items()}
        self.iot_core = IotCoreLink(sinks or [], spool_bytes)
        self.secrets = secrets or SecretStore()
        self.deployments = Deployments(self)
        self.component_state: str | None = None
        self.counts: dict[str, int] = {}
        self.subscriptions: list[Subscription] = []
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def component(self) -> str:
        return self.recipe.component_name

    @property
    def sinks(self) -> list[Sink]:
        return self.iot_core.sinks

    def component_configurations(self) -> dict[str, ComponentConfiguration]:
        """Every component's configuration tree by name, the served one's live."""
        return {**self.other_components, self.component: self.configuration}

    def authorize(self, service: str, operation: str, resource: str) -> None:
        """UnauthorizedError unless the live accessControl allows ``operation`` on ``resource``."""
        if not self.recipe.authorized(service, NS + operation, resource, self.configuration.data):
            raise unauthorized(self.component, service, operation, resource)

    def deploy(self, merge: dict[str, Any], timeout: float = DEFAULT_VALIDATION_TIMEOUT_S, *,
               reset: Sequence[str] = (), version_change: bool = False) -> DeploymentResult:
        """A deployment's configurationUpdate, from another thread: validated by the component, then applied
        (see ``gg_ipc_local.deployment``)."""
        if self._loop is None:
            raise RuntimeError("start() the server first")
        future = asyncio.run_coroutine_threadsafe(
            self.deployments.deploy(merge, timeout, reset=reset, version_change=version_change), self._loop)
        return future.result(timeout + 10)

    # -- lifecycle -------------------------------------------------------------------------

    async def start_serving(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        self._stopped = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_unix_server(self._serve_connection, path=self.socket_path,
                                                       limit=READ_BUFFER_LIMIT)
        os.chmod(self.socket_path, SOCKET_MODE)
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
        await self.iot_core.close()

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

    def _admit(self, connection: Connection) -> bool:
        """Register ``connection``; at the cap close the oldest unauthenticated one, or refuse this one."""
        if len(self._connections) >= MAX_CONNECTIONS:
            waiting = [c for c in self._connections if not c.connected]
            if not waiting:
                log.warning("connection %d: refused: %d connections open", connection.id, len(self._connections))
                return False
            oldest = min(waiting, key=lambda c: c.id)
            log.warning("connection %d: closed to make room (%d connections open)", oldest.id, MAX_CONNECTIONS)
            oldest.close()
            self._connections.discard(oldest)
        self._connections.add(connection)
        return True

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(reader, writer)
        if not self._admit(connection):
            connection.close()
            return
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
        except Exception as exc:  # a bug must cost this connection, never the loop or the other clients
            reason = f"unexpected {type(exc).__name__}: {exc}"
            log.error("connection %d: closing: %s", connection.id, reason)
            log.debug("connection %d: details", connection.id, exc_info=True)
        finally:
            self._connections.discard(connection)
            self.subscriptions = [s for s in self.subscriptions if s.connection is not connection]
            connection.close()
            log.debug("connection %d closed (%s)", connection.id, reason)

    async def _read_message(self, connection: Connection) -> es.Message | None:
        """The next message, None on a clean end of stream; FrameError for anything malformed."""
        try:
            prelude = await asyncio.wait_for(connection.reader.readexactly(es.PRELUDE_LEN),
                                             None if connection.connected else CONNECT_TIMEOUT_S)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise es.FrameError(f"truncated prelude ({len(exc.partial)} of {es.PRELUDE_LEN} bytes)") from None
            return None
        except asyncio.TimeoutError:
            raise es.FrameError(f"no CONNECT within {CONNECT_TIMEOUT_S:.0f} s") from None
        total = es.parse_prelude(prelude)
        if not connection.connected and total > MAX_UNAUTHENTICATED_MESSAGE:
            raise es.FrameError(f"{total}-byte message before CONNECT was accepted "
                                f"(at most {MAX_UNAUTHENTICATED_MESSAGE})")
        try:
            rest = await asyncio.wait_for(connection.reader.readexactly(total - es.PRELUDE_LEN), FRAME_TIMEOUT_S)
        except asyncio.IncompleteReadError as exc:
            raise es.FrameError(f"truncated message ({es.PRELUDE_LEN + len(exc.partial)} of {total} bytes)") from None
        except asyncio.TimeoutError:
            raise es.FrameError(f"incomplete message after {FRAME_TIMEOUT_S:.0f} s") from None
        return es.decode(prelude + rest)

    def _protocol_error(self, connection: Connection, reason: str) -> None:
        log.warning("connection %d: protocol error, closing: %s", connection.id, reason)
        connection.send(es.rpc_message(es.MessageType.PROTOCOL_ERROR,
                                       payload=json.dumps({"message": reason}).encode()))
        connection.close()

    def _handle(self, connection: Connection, message: es.Message) -> None:
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

    def _refusal(self, message: es.Message) -> str | None:
        """Why this CONNECT is refused, or None to accept it."""
        version = rpc_version(message)
        if version != RPC_VERSION:
            return (f"client protocol version {message.get(VERSION_HEADER)!r} is not "
                    f"{'.'.join(map(str, RPC_VERSION))}")
        try:
            token = parse_json(message.payload).get("authToken", "")
        except (ValueError, AttributeError):
            token = ""
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self._token):
            return "wrong or missing SVCUID auth token"
        return None

    def _connect(self, connection: Connection, message: es.Message) -> None:
        refusal = self._refusal(message)
        if refusal is not None:
            log.warning("connection %d: rejected: %s", connection.id, refusal)
            connection.send(es.rpc_message(es.MessageType.CONNECT_ACK))
            # The client closes on a refused CONNECT_ACK; closing first could race it into a mere
            # "socket closed", so only close if the client lingers.
            connection.rejected = True
            asyncio.get_running_loop().call_later(REJECTED_LINGER_S, connection.close)
            return
        connection.connected = True
        connection.send(es.rpc_message(es.MessageType.CONNECT_ACK, flags=es.Flag.CONNECTION_ACCEPTED))
        log.info("connection %d: %s connected", connection.id, self.component)

    def _handle_stream_message(self, connection: Connection, message: es.Message, stream_id: int,
                               flags: int) -> None:
        if stream_id <= connection.last_stream_id:
            if flags & es.Flag.TERMINATE_STREAM:  # the client closes a stream (or one we closed already)
                self.subscriptions = [s for s in self.subscriptions
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

    async def _activate(self, connection: Connection, stream_id: int, operation: str, payload: bytes) -> None:
        name = operation[len(NS):] if operation.startswith(NS) else operation
        try:
            handler = OPERATIONS.get(name)
            if handler is None:
                raise IpcError("ServiceError", f"gg-ipc-local does not implement {operation}")
            try:
                request = parse_json(payload)
            except ValueError as exc:
                raise IpcError("InvalidArgumentsError", f"request payload is not usable JSON: {exc}") from None
            if not isinstance(request, dict):
                raise IpcError("InvalidArgumentsError", "request payload must be a JSON object")
            response = await handler(Call(self, connection, stream_id), request)
        except IpcError as exc:
            log.info("connection %d: %s refused: %s: %s", connection.id, name, exc.shape, exc.message)
            self._count(f"{name}:{exc.shape}")
            connection.send_shape(stream_id, exc.shape, {"message": exc.message},
                                  es.MessageType.APPLICATION_ERROR, terminate=True)
            return
        except Exception as exc:  # a bug here must cost one request, not the server
            log.exception("connection %d: %s failed", connection.id, name)
            connection.send_shape(stream_id, "ServiceError", {"message": f"internal error: {exc}"},
                                  es.MessageType.APPLICATION_ERROR, terminate=True)
            return
        self._count(name)
        connection.send_shape(stream_id, response.shape, response.body, terminate=not response.streaming)

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
