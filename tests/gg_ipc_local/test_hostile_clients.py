"""gg-ipc-local against unauthenticated hostile clients (issue 15, defect 8): bounded memory before CONNECT,
a connection cap, depth-limited JSON, nothing unhandled in the event loop; a real SDK client still served."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from gg_ipc_local import eventstream as es
from gg_ipc_local import server as server_module
from gg_ipc_local.rpc import MAX_JSON_DEPTH, parse_json
from gg_ipc_support import TOKEN, IpcServer, connect_client, write_recipe

DEEP = b"[" * 100_000 + b"]" * 100_000


def connect_frame(payload: bytes) -> bytes:
    return es.rpc_message(es.MessageType.CONNECT, payload=payload)


def big_prelude() -> bytes:
    """A valid prelude announcing a 16 MiB message, followed by 1 MiB of it (the probe's buffering frame)."""
    prelude = (es.MAX_MESSAGE_LEN).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return prelude + zlib.crc32(prelude).to_bytes(4, "big") + b"\0" * (1024 * 1024)


MALFORMED = [
    connect_frame(DEEP),  # deeply nested JSON in the CONNECT payload
    connect_frame(b'{"authToken": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    big_prelude(),
    b"\xff" * 64,  # prelude CRC mismatch
    connect_frame(b"{}")[:-1] + b"\0",  # message CRC mismatch
]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def hammer(socket_path: str, frames: int, counter: list[int], lock: threading.Lock) -> None:
    for index in range(frames):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            try:
                sock.connect(socket_path)
                sock.sendall(MALFORMED[index % len(MALFORMED)])
                sock.recv(1024)  # the server's answer or its close
            except OSError:
                pass
        with lock:
            counter[0] += 1


def test_2000_malformed_frames_from_50_connections(tmp_path):
    socket_path = f"/tmp/ggipc-hostile-{os.getpid()}.socket"
    log = tmp_path / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gg_ipc_local", "--recipe", str(write_recipe(tmp_path, {"threshold": 0.5})),
         "--socket", socket_path, "--token", TOKEN], stdout=subprocess.PIPE, stderr=log.open("wb"), text=True)
    try:
        server.stdout.readline()
        client = connect_client(socket_path, TOKEN)  # a legitimate component, connected throughout
        assert client.get_configuration().value["threshold"] == 0.5
        time.sleep(0.5)
        fresh = rss_kib(server.pid)
        sent, lock = [0], threading.Lock()
        workers = [threading.Thread(target=hammer, args=(socket_path, 40, sent, lock)) for _ in range(50)]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(300)
        took = time.monotonic() - started
        after = rss_kib(server.pid)
        assert sent[0] == 2000
        assert client.get_configuration().value["threshold"] == 0.5, "the legitimate client is still served"
        client.close()
        text = log.read_text()
        print(f"RSS fresh {fresh} KiB, after 2,000 malformed frames {after} KiB ({after / fresh:.2f}x) in {took:.1f} s")
        assert after <= 2 * fresh, (fresh, after)
        assert "Traceback" not in text and "RecursionError" not in text, text[-3000:]
    finally:
        server.terminate()
        server.wait(15)


def test_connection_cap_closes_the_oldest_unauthenticated_and_a_component_still_connects(tmp_path, monkeypatch):
    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 8)
    ipc = IpcServer(tmp_path, {"threshold": 0.5}).start()
    idle = []
    try:
        for _ in range(20):  # connected, never sending CONNECT
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(ipc.socket_path)
            idle.append(sock)
        time.sleep(0.3)
        assert len(ipc.server._connections) <= 8
        client = connect_client(ipc.socket_path, TOKEN)
        assert client.get_configuration().value["threshold"] == 0.5
        client.close()
    finally:
        for sock in idle:
            sock.close()
        ipc.close()


def test_connect_must_come_in_time(tmp_path, monkeypatch):
    monkeypatch.setattr(server_module, "CONNECT_TIMEOUT_S", 0.5)
    ipc = IpcServer(tmp_path).start()
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(ipc.socket_path)
            started = time.monotonic()
            assert sock.recv(16) == b""  # closed by the server
            assert time.monotonic() - started < 3
    finally:
        ipc.close()


@pytest.mark.parametrize("payload", [DEEP, b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
                                     b'{"a":' * 200 + b"1" + b"}" * 200])
def test_deep_json_is_a_value_error(payload):
    with pytest.raises(ValueError, match="nested deeper"):
        parse_json(payload)


def test_shallow_json_parses():
    value = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert parse_json(value) is not None and parse_json(b"") == {}
