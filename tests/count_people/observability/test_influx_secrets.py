"""InfluxDB credentials never in an error, a log line or the request URL (issue 15, defect 7)."""

from __future__ import annotations

import base64
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from count_people.config import Settings
from count_people.errors import UserError
from count_people.observability.influx import InfluxWriter
from support import wait_for

PASSWORD = "S3cr3t!Pw"


@pytest.mark.parametrize("url", [
    f"http://a:{PASSWORD}@h:bad", f"http://a:{PASSWORD}@h:99999", f"ftp://a:{PASSWORD}@h",
    f"a:{PASSWORD}@h:8086", f"http://a:{PASSWORD}@[::1", f"http://a:{PASSWORD}@@h:x",
])
def test_a_malformed_url_is_refused_without_its_password(url):
    with pytest.raises(UserError) as error:
        Settings().updated({"influx_url": url}, origin="command line")
    assert PASSWORD not in str(error.value) and str(error.value).startswith("command line: bad value for influx_url")


def test_credentials_in_the_url_go_into_a_basic_auth_header(caplog):
    requests: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            requests.append((self.path, self.headers.get("Authorization", "")))
            self.send_response(401 if len(requests) == 1 else 204)  # first refused: its error is logged
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://user:{PASSWORD.replace('!', '%21')}@127.0.0.1:{server.server_port}"
    with caplog.at_level(logging.DEBUG):
        writer = InfluxWriter(Settings().updated({"influx_url": url, "influx_interval": 0.01}))
        writer.backoff.first = 0.01
        try:
            writer.add(["m v=1 1"])
            writer.add(["m v=2 2"])
            wait_for(lambda: requests, 10, what="a write")
        finally:
            writer.close(timeout=2)
            server.shutdown()
    path, authorization = requests[0]
    assert authorization == "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert path.startswith("/write?") and PASSWORD not in writer.endpoint and "%21" not in writer.endpoint
    assert PASSWORD not in caplog.text and "%21" not in caplog.text
