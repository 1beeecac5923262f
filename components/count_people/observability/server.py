"""One small HTTP/1.1 server for /metrics, /healthz and the live view, off the detection thread.

Routes are plain functions returning (status, content type, body), so each feature owns its
endpoints and the server knows nothing about them. The server faces the network, so it is
built to survive hostile clients (measured in docs/content/how-to/monitoring.md): one asyncio loop holds
every connection (a socket, no thread), a request's headers must arrive within
``HEADER_TIMEOUT_S`` and fit ``MAX_HEADER_BYTES``, and at ``MAX_CONNECTIONS`` the oldest idle
connection makes room for a new one, so /healthz answers however many idle sockets are open and
the counter never runs out of file descriptors. Routes run on a few worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import socket
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from count_people.config import Settings
from count_people.errors import UserError
from count_people.hooks import FrameHook
from count_people.observability.auth import LiveViewAuth

log = logging.getLogger("count_people.http")

Response = tuple[int, str, bytes]
Route = Callable[[dict[str, str]], Optional[Response]]  # None: not found (e.g. feature switched off)

#: Paths served without the live-view token: numbers only, no camera picture (Prometheus, health checks).
PUBLIC_PATHS = frozenset({"/metrics", "/healthz"})
#: Request line and headers together; a browser sends under 2 KiB.
MAX_HEADER_BYTES = 8192
#: Seconds a connection may take to send a request's headers, and stay idle between requests.
HEADER_TIMEOUT_S = 10.0
#: Seconds a client may take to read a response.
WRITE_TIMEOUT_S = 30.0
#: Open connections at most (each is a file descriptor), and at most a quarter of ``ulimit -n``: the frame
#: file, model and publisher need theirs, and a burst is accepted ahead of the cap (``ACCEPT_BATCH`` at a time).
MAX_CONNECTIONS = 256
ACCEPT_BATCH = 64
ROUTE_THREADS = 4
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Content Too Large", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 503: "Service Unavailable"}


def _log_one_line(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The loop's own errors (e.g. accept() out of descriptors, retried by asyncio) as one line, no traceback."""
    log.warning("http: %s%s", context.get("message", "error"),
                f": {context['exception']}" if context.get("exception") else "")


class _Connection:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.idle = True  # waiting for a request, not serving one: may be closed to make room


class HttpServer(FrameHook):
    """Serves ``routes`` on ``settings.http_host:http_port`` (0 = off); rebinds when they change.

    Paths outside ``public`` need ``settings.http_token`` (see :class:`LiveViewAuth`).
    """

    def __init__(self, settings: Settings, routes: dict[str, Route], public: Iterable[str] = PUBLIC_PATHS) -> None:
        self.routes = routes
        self.public = frozenset(public)
        self.auth = LiveViewAuth(settings)
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: dict[_Connection, None] = {}  # insertion order: oldest first
        self._pool = ThreadPoolExecutor(ROUTE_THREADS, thread_name_prefix="http-route")
        self._address: tuple[str, int] = ("", 0)
        self._cap = min(MAX_CONNECTIONS, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4)
        self._bind(settings)

    @property
    def port(self) -> int:
        """The bound port; 0 while off."""
        return self._socket.getsockname()[1] if self._socket else 0

    @property
    def connections(self) -> int:
        return len(self._connections)

    def reconfigure(self, settings: Settings) -> None:
        self.auth = LiveViewAuth(settings)
        if (settings.http_host, settings.http_port) != self._address:
            self._bind(settings)
        elif self._socket is not None:
            self.auth.log_policy(settings)

    def close(self) -> None:
        loop, thread, self._loop, self._thread, self._socket = self._loop, self._thread, None, None, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5.0)

    def _bind(self, settings: Settings) -> None:
        address = (settings.http_host, settings.http_port)
        sock = None
        if settings.http_port == self.port:
            self.close()  # same port on another address: free it first, or the new bind would fail
        if settings.http_port:
            try:
                sock = socket.create_server(address, backlog=1024)  # a burst waits queued, not dropped
            except (socket.gaierror, UnicodeError):
                raise UserError(f"cannot serve HTTP on {address[0]!r}: not an address of this host") from None
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc)  # create_server appends the address
                raise UserError(f"cannot serve HTTP on {address[0]}:{address[1]}: {reason}") from None
        self.close()
        self._address = address
        if sock is not None:
            self._socket = sock
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._serve, args=(self._loop, sock), name="http", daemon=True)
            self._thread.start()
            log.info("serving /metrics and /healthz on http://%s:%d/", *address)
            self.auth.log_policy(settings)

    def _serve(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_log_one_line)
        server = loop.run_until_complete(
            asyncio.start_server(self._connection, sock=sock, limit=MAX_HEADER_BYTES, backlog=ACCEPT_BATCH))
        try:
            loop.run_forever()
        finally:
            server.close()
            for connection in list(self._connections):
                connection.writer.transport.abort()
            with contextlib.suppress(Exception):
                loop.run_until_complete(server.wait_closed())
            loop.run_until_complete(asyncio.sleep(0))  # let aborted connections finish
            loop.close()

    def _admit(self, connection: _Connection) -> bool:
        """Register ``connection``, closing the oldest idle one at the cap; False when all are busy."""
        if len(self._connections) >= self._cap:
            oldest = next((c for c in self._connections if c.idle), None)
            if oldest is None:
                return False
            del self._connections[oldest]
            oldest.writer.transport.abort()
        self._connections[connection] = None
        return True

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer)
        if not self._admit(connection):
            writer.transport.abort()
            return
        try:
            while await self._one_request(connection, reader, writer):
                connection.idle = True
        except (ConnectionError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass  # the client hung up or stalled: nothing to log
        finally:
            self._connections.pop(connection, None)
            if writer.transport.get_write_buffer_size():
                writer.transport.abort()  # a client that does not read: drop what it did not take
            else:
                writer.close()

    async def _one_request(self, connection: _Connection, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> bool:
        """Read and answer one request; True to keep the connection for another."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEADER_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            await self._send(writer, (431, "text/plain", b"request headers too large\n"), {}, head_only=False)
            return False
        connection.idle = False
        try:
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ")
            headers = {}
            for line in filter(None, header_lines):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        except ValueError:
            await self._send(writer, (400, "text/plain", b"bad request\n"), {}, head_only=False)
            return False
        if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
            await self._send(writer, (413, "text/plain", b"requests carry no body here\n"), {}, head_only=False)
            return False
        if method not in ("GET", "HEAD"):
            response, extra = (405, "text/plain", b"GET only\n"), {"Allow": "GET, HEAD"}
        else:
            response, extra = await self._route(target, headers)
        keep = response[0] < 400 and version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        await self._send(writer, response, {**extra, "Connection": "keep-alive" if keep else "close"},
                         head_only=method == "HEAD")
        return keep

    async def _route(self, target: str, headers: dict[str, str]) -> tuple[Response, dict[str, str]]:
        url = urlsplit(target)
        path = unquote(url.path)
        route = self.routes.get(path)
        if route is None:
            return (404, "text/plain", b"not found\n"), {}
        if path not in self.public:
            refusal = self.auth.refusal(headers.get("authorization", ""))
            if refusal is not None:
                return refusal
        try:
            response = await asyncio.get_running_loop().run_in_executor(
                self._pool, route, dict(parse_qsl(url.query)))
        except Exception:
            log.exception("error serving %s", path)
            response = 500, "text/plain", b"internal error\n"
        return response or (404, "text/plain", b"not found\n"), {}

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, response: Response, extra: dict[str, str],
                    head_only: bool) -> None:
        status, content_type, body = response
        headers = {"Content-Type": content_type, "Content-Length": str(len(body)), "Cache-Control": "no-store",
                   **extra}
        head = f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        writer.write(head.encode("latin-1") + (b"" if head_only else body))
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
