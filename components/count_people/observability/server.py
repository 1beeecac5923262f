"""One small threaded HTTP server for /metrics, /healthz and the live view, off the detection thread.

Routes are plain functions returning (status, content type, body), so each feature owns its
endpoints and the server knows nothing about them. The standard library is enough here:
a handful of requests per second from Prometheus and a few browsers.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from count_people.config import Settings
from count_people.errors import UserError
from count_people.hooks import FrameHook

log = logging.getLogger("count_people.http")

Response = tuple[int, str, bytes]
Route = Callable[[dict[str, str]], Optional[Response]]  # None: not found (e.g. feature switched off)


class HttpServer(FrameHook):
    """Serves ``routes`` on ``settings.http_host:http_port`` (0 = off); rebinds when they change."""

    def __init__(self, settings: Settings, routes: dict[str, Route]) -> None:
        self.routes = routes
        self._server: ThreadingHTTPServer | None = None
        self._address: tuple[str, int] = ("", 0)
        self._bind(settings)

    @property
    def port(self) -> int:
        """The bound port; 0 while off."""
        return self._server.server_address[1] if self._server else 0

    def reconfigure(self, settings: Settings) -> None:
        if (settings.http_host, settings.http_port) != self._address:
            self._bind(settings)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _bind(self, settings: Settings) -> None:
        address = (settings.http_host, settings.http_port)
        server = None
        if settings.http_port == self.port:
            self.close()  # same port on another address: free it first, or the new bind would fail
        if settings.http_port:
            try:
                server = ThreadingHTTPServer(address, self._handler_class())
            except OSError as exc:
                raise UserError(f"cannot serve HTTP on {address[0]}:{address[1]}: {exc.strerror}") from None
            server.daemon_threads = True
        self.close()
        self._server, self._address = server, address
        if server is not None:
            threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
            log.info("serving /metrics, /healthz and the live view on http://%s:%d/", *address)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                route = routes.get(url.path)
                try:
                    response = route(dict(parse_qsl(url.query))) if route else None
                except Exception:
                    log.exception("error serving %s", url.path)
                    response = 500, "text/plain", b"internal error\n"
                status, content_type, body = response or (404, "text/plain", b"not found\n")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("%s %s", self.address_string(), format % args)

        return Handler
