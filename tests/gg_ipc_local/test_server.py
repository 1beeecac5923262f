"""The local IPC server against the real awsiot SDK client over a real Unix socket."""

from __future__ import annotations

import datetime
import json
import random
import socket
import time

import pytest
from awsiot.eventstreamrpc import AccessDeniedError
from awsiot.greengrasscoreipc import model
from gg_ipc_local import eventstream as es
from gg_ipc_local.operations.iot_core import MAX_PAYLOAD_BYTES
from gg_ipc_support import TOKEN, IpcServer
from support import wait_for

TOPIC = "people/thing-1/cam-1"


@pytest.fixture
def ipc(tmp_path):
    server = IpcServer(tmp_path, {"threshold": 0.5, "camera_id": "cam-1"}).start()
    yield server
    server.close()


@pytest.mark.parametrize("qos", ["0", "1"])
def test_publish_to_iot_core_in_order(ipc, client, qos):
    for count in range(20):
        client.publish_to_iot_core(topic_name=TOPIC, qos=qos, payload=json.dumps({"count": count}).encode())
    records = ipc.records()
    assert [json.loads(r["payload"])["count"] for r in records] == list(range(20))
    assert {(r["topic"], r["qos"]) for r in records} == {(TOPIC, int(qos))}


def test_payload_limit_is_128_kib(ipc, client):
    client.publish_to_iot_core(topic_name=TOPIC, qos="1", payload=b"x" * MAX_PAYLOAD_BYTES)
    with pytest.raises(model.ServiceError) as refused:  # MqttClient.java:738-741 via MqttProxyIPCAgent.java:133
        client.publish_to_iot_core(topic_name=TOPIC, qos="1", payload=b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert "exceeds the configured limit of 131072 bytes" in refused.value.message
    client.publish_to_iot_core(topic_name=TOPIC, qos="0", payload=b"after")  # connection still fine
    assert [len(r["payload"]) for r in ipc.records()] == [MAX_PAYLOAD_BYTES, 5]


def test_topics_outside_access_control_are_unauthorized(ipc, client):
    with pytest.raises(model.UnauthorizedError) as refused:
        client.publish_to_iot_core(topic_name="people/other-thing/cam-1", qos="0", payload=b"{}")
    assert "not authorized" in refused.value.message
    with pytest.raises(model.UnauthorizedError):
        client.publish_to_topic(topic="elsewhere", publish_message=model.PublishMessage(
            json_message=model.JsonMessage(message={"a": 1})))
    with pytest.raises(model.UnauthorizedError):
        client.subscribe_to_topic(topic="#")
    assert ipc.records() == []


def test_wrong_svcuid_is_refused(ipc, client):
    with pytest.raises(AccessDeniedError):
        ipc.client(token="wrong-" + TOKEN)
    client.publish_to_iot_core(topic_name=TOPIC, qos="0", payload=b"{}")  # others unaffected
    assert len(ipc.records()) == 1


def test_configuration_get_update_and_events(ipc, client):
    assert client.get_configuration(key_path=["threshold"]).value == {"threshold": 0.5}
    assert client.get_configuration().value["camera_id"] == "cam-1"
    with pytest.raises(model.ResourceNotFoundError):
        client.get_configuration(key_path=["nope"])
    events = []
    client.subscribe_to_configuration_update(key_path=[], on_stream_event=events.append)
    other = ipc.client()  # e.g. a test or a tool driving the update
    try:
        other.update_configuration(key_path=[], value_to_merge={"threshold": 0.8, "camera_id": "cam-1"},
                                   timestamp=datetime.datetime.now())
    finally:
        other.close()
    wait_for(lambda: events, 10, what="a configuration update event")
    assert [e.configuration_update_event.key_path for e in events] == [["threshold"]], "only changed keys"
    assert client.get_configuration(key_path=["threshold"]).value == {"threshold": 0.8}
    client.update_state(state=model.ReportedLifecycleState.RUNNING)
    assert ipc.server.component_state == "RUNNING"


def test_local_pubsub_between_connections(ipc, client):
    """Every client here is the one served component: a wildcard subscription that names no receiveMode skips
    the component's own messages (PubSubIPCEventStreamAgent.java:150-154, :310-321 at v2.18.2)."""
    received, own_default = [], []
    client.subscribe_to_topic(topic="local/+/counts", receive_mode=model.ReceiveMode.RECEIVE_ALL_MESSAGES,
                              on_stream_event=received.append)
    client.subscribe_to_topic(topic="local/+/counts", on_stream_event=own_default.append)
    other = ipc.client()
    try:
        other.publish_to_topic(topic="local/cam-1/counts", publish_message=model.PublishMessage(
            binary_message=model.BinaryMessage(message=b'{"count": 3}')))
        other.publish_to_topic(topic="local/cam-1/other", publish_message=model.PublishMessage(
            binary_message=model.BinaryMessage(message=b"no")))
    finally:
        other.close()
    wait_for(lambda: received, 10, what="a local pub/sub message")
    time.sleep(0.2)  # a wrongly routed second message would arrive by now
    assert [(m.binary_message.message, m.binary_message.context.topic) for m in received] == [
        (b'{"count": 3}', "local/cam-1/counts")]
    assert own_default == [], "RECEIVE_MESSAGES_FROM_OTHERS by default for a wildcard: not its own messages"


def _connect_frame() -> bytes:
    return es.rpc_message(es.MessageType.CONNECT, payload=json.dumps({"authToken": TOKEN}).encode(),
                          extra={":version": "0.1.0"})


def _publish_frame() -> bytes:
    """A PublishToIoTCore activation, byte for byte as the SDK client sends it."""
    request = {"topicName": TOPIC, "qos": "0", "payload": "e30="}
    return es.rpc_message(es.MessageType.APPLICATION_MESSAGE, 1, payload=json.dumps(request).encode(),
                          extra={es.OPERATION: "aws.greengrass#PublishToIoTCore",
                                 es.SERVICE_MODEL_TYPE: "aws.greengrass#PublishToIoTCoreRequest"})


def _closed_by_server(sock: socket.socket, timeout: float = 10.0) -> bool:
    """True once the server closed the connection (whatever it answered first)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return False
    return True


def test_malformed_bytes_close_only_that_connection(ipc, client, caplog):
    rng = random.Random(1234)
    valid = _connect_frame() + _publish_frame()
    oversize_headers = bytearray(es.encode({}, b"x" * 64))
    oversize_headers[4:8] = (es.MAX_HEADERS_LEN + 1).to_bytes(4, "big")
    oversize_headers[8:12] = es._crc(bytes(oversize_headers[:8])).to_bytes(4, "big")
    cases = [("random", rng.randbytes(rng.randint(1, 4096))) for _ in range(15)]
    for _ in range(25):
        flipped = bytearray(valid)
        bit = rng.randrange(len(flipped) * 8)
        flipped[bit // 8] ^= 1 << (bit % 8)
        cases.append(("bit-flipped", bytes(flipped)))
    cases += [("truncated", valid[:cut]) for cut in (1, 5, 11, 12, 30, len(valid) - 1)]
    cases += [("oversize headers", bytes(oversize_headers)), ("publish before connect", _publish_frame())]
    for name, data in cases:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(ipc.socket_path)
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # a truncated frame then ends the stream
            assert _closed_by_server(sock), f"{name}: the server kept a broken connection open"
        client.publish_to_iot_core(topic_name=TOPIC, qos="1", payload=b'{"ok": true}')
    assert len(ipc.records()) == len(cases), "the well-behaved client was served throughout"
    assert "malformed frame" in caplog.text and "CRC" in caplog.text and "exceeds" in caplog.text


def test_slow_partial_frame_does_not_block_others(ipc, client):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(ipc.socket_path)
        sock.sendall(_connect_frame()[:20])  # a frame started and never finished
        client.publish_to_iot_core(topic_name=TOPIC, qos="1", payload=b"{}")
    assert len(ipc.records()) == 1
