"""The HTTP server: routes, 404s, errors kept to one request, live rebinding, one-line bind errors."""

from __future__ import annotations

import socket

import pytest
from count_people.config import Settings
from count_people.errors import UserError
from count_people.observability.server import HttpServer
from support import free_port, port_open
from support import http_get as get


def test_routes_rebinding_and_bind_errors():
    def broken(query):
        raise RuntimeError("boom")

    routes = {"/hello": lambda query: (200, "text/plain", f"hi {query.get('name')}".encode()),
              "/off": lambda query: None, "/broken": broken}
    first = free_port()
    server = HttpServer(Settings().updated({"http_port": first, "http_host": "127.0.0.1"}), routes)
    try:
        assert get(first, "/hello?name=x") == (200, b"hi x")
        assert get(first, "/off")[0] == 404 and get(first, "/nothing")[0] == 404
        assert get(first, "/broken")[0] == 500 and get(first, "/hello")[0] == 200, "one failing route only"

        second = free_port()
        server.reconfigure(Settings().updated({"http_port": second, "http_host": "127.0.0.1"}))
        assert server.port == second and get(second, "/hello")[0] == 200
        assert not port_open(first), "the old port is released"

        server.reconfigure(Settings().updated({"http_port": 0}))
        assert server.port == 0 and not port_open(second)

        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            with pytest.raises(UserError, match=rf"^cannot serve HTTP on 127.0.0.1:{busy}: Address already in use$"):
                server.reconfigure(Settings().updated({"http_port": busy, "http_host": "127.0.0.1"}))
    finally:
        server.close()
