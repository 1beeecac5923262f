"""The IPC publisher against the local IPC server, through the real SDK client and a Unix socket."""

from __future__ import annotations

import functools
import json
import logging
from concurrent.futures import Future

import pytest
from count_people.comms.ipc import IpcPublisher, is_unavailable
from count_people.errors import UserError
from gg_ipc_support import IpcServer
from support import quick_retry_publishers, wait_for

TOPIC = "people/thing-1/cam-1"


@pytest.fixture
def ipc(tmp_path):
    server = IpcServer(tmp_path).start()
    yield server
    server.close()


@pytest.fixture
def publisher_factory(ipc):
    with quick_retry_publishers(functools.partial(IpcPublisher, environ=ipc.env)) as make:
        yield make


def counts(records: list[dict]) -> list[int]:
    return [json.loads(r["payload"])["count"] for r in records]


@pytest.mark.parametrize("qos", [0, 1])
def test_messages_reach_iot_core_in_order(ipc, publisher_factory, qos):
    publisher = publisher_factory(qos=qos)
    for count in range(10):
        publisher.publish(TOPIC, json.dumps({"count": count}).encode())
    wait_for(lambda: publisher.stats.sent == 10, 10, what="10 messages sent")
    assert counts(ipc.records()) == list(range(10)) and {r["qos"] for r in ipc.records()} == {qos}
    assert publisher.healthy and publisher.stats.failed == 0


def test_local_pubsub_copy(ipc, publisher_factory):
    listener = ipc.client()
    local = []
    # Same component as the publisher here: a wildcard subscription skips its own messages unless asked
    # (RECEIVE_MESSAGES_FROM_OTHERS is the nucleus's default for wildcards; see gg_ipc_local.operations.pubsub).
    listener.subscribe_to_topic(topic="local/#", receive_mode="RECEIVE_ALL_MESSAGES", on_stream_event=local.append)
    publisher = publisher_factory(local_pubsub=True)
    publisher.publish("local/cam-1", b'{"count": 1}')  # allowed on local pub/sub, not on IoT Core
    publisher.publish(TOPIC, b'{"count": 2}')  # allowed on IoT Core, not on local pub/sub
    wait_for(lambda: publisher.stats.failed == 2, 10, what="both partly refused")
    wait_for(lambda: local, 10, what="the local pub/sub copy")
    assert [m.binary_message.message for m in local] == [b'{"count": 1}']
    assert counts(ipc.records()) == [2]
    listener.close()


def test_refused_messages_are_counted_not_retried(ipc, publisher_factory, caplog):
    publisher = publisher_factory(qos=1)
    publisher.publish("people/other-thing/cam-1", b'{"count": 0}')
    publisher.publish(TOPIC, b'{"count": 2}')
    wait_for(lambda: publisher.stats.sent == 1, 10, what="the acceptable message")
    assert publisher.stats.failed == 1 and counts(ipc.records()) == [2]
    assert ipc.server.counts["PublishToIoTCore:UnauthorizedError"] == 1
    assert "UnauthorizedError" in caplog.text
    assert "reconnecting" not in caplog.text, "a refused message is not a connection loss"


def test_a_payload_over_the_iot_core_limit_is_dropped_before_the_nucleus(ipc, publisher_factory, caplog):
    """The Java nucleus refuses it on every try (MqttClient.java:738-741): counted and logged once, never queued."""
    publisher = publisher_factory(qos=1)
    for _ in range(2):
        publisher.publish(TOPIC, json.dumps({"count": 1, "pad": "x" * 140_000}).encode())
    assert publisher.stats.failed == 2, "refused at once, in the caller's thread"
    publisher.publish(TOPIC, b'{"count": 2}')
    wait_for(lambda: publisher.stats.sent == 1, 10, what="the message behind it")
    assert counts(ipc.records()) == [2]
    assert not [key for key in ipc.server.counts if "Error" in key], "the nucleus never saw it"
    assert caplog.text.count("131072-byte limit of AWS IoT Core") == 1, "logged once per reason"


#: Topics the Java nucleus refuses with ServiceError (IotCoreTopicValidator.java:129-138): 8 '/', 257 characters.
BAD_TOPICS = ["people/thing-1/cam-1/a/b/c/d/e/f", "people/thing-1/" + "c" * 242]


def test_permanent_service_errors_are_rejections_and_the_queue_moves_on(ipc, publisher_factory, caplog):
    """A ServiceError about the topic is no outage: before, the head of the queue was retried for ever."""
    caplog.set_level(logging.INFO, "count_people.comms")
    publisher = publisher_factory(qos=1)
    for topic in BAD_TOPICS * 2:
        publisher.publish(topic, b'{"count": 0}')
    publisher.publish(TOPIC, b'{"count": 1}')
    wait_for(lambda: publisher.stats.sent == 1, 10, what="the message behind the refused ones")
    assert publisher.stats.failed == 4 and counts(ipc.records()) == [1] and publisher.healthy
    assert ipc.server.counts["PublishToIoTCore:ServiceError"] == 4
    assert caplog.text.count("forward slashes") == 1 and caplog.text.count("The topic size of request") == 1
    assert "cannot deliver" not in caplog.text, "not taken for an outage"


@pytest.mark.parametrize(("reason", "transient"), [
    ("Publish to topic t failed: Device is offline. Dropping QoS 0 message.", True),  # MqttClient.java:704
    ("Publish to topic t failed: Message spool is full. Message could not be added.", True),  # Spool.java:375
    ("Failed to publish the message.", True),  # nucleus lite, publish_to_iot_core.c:124, any MQTT failure
    ("Publish to topic t failed: The publishing message size 131073 bytes exceeds the configured limit of "
     "131072 bytes", False),
    ("Publish to topic t failed: The request topic must have no more than 7 forward slashes (/)", False),
    ("Publish to topic t failed: Message is larger than the size of message spool.", True),  # Spool.java:365
])
def test_service_errors_transient_or_permanent_by_their_reason(reason, transient):
    from awsiot.greengrasscoreipc.model import ServiceError

    assert is_unavailable(ServiceError(message=reason)) is transient


class ClosingNucleus:
    """A client whose nucleus closes the connection on large requests, as nucleus lite does (ipc_server.c:484)."""

    def __init__(self) -> None:
        self.published: list[bytes] = []

    def publish_to_iot_core_async(self, topic_name: str, qos: str, payload: bytes) -> Future:
        future: Future = Future()
        if len(payload) > 7000:
            future.set_exception(ConnectionResetError("socket is closed."))
        else:
            self.published.append(payload)
            future.set_result(None)
        return future

    def close(self, executor_wait: bool = False) -> None:
        pass


def test_a_message_the_nucleus_closes_the_connection_on_is_dropped_after_three_tries(ipc, publisher_factory,
                                                                                     monkeypatch):
    nucleus = ClosingNucleus()
    monkeypatch.setattr("count_people.comms.ipc.connect_ipc", lambda *_args, **_kwargs: nucleus)
    publisher = publisher_factory(qos=1)
    publisher.publish(TOPIC, b"x" * 8000)
    publisher.publish(TOPIC, b'{"count": 1}')
    wait_for(lambda: publisher.stats.sent == 1, 20, what="the message behind the one the nucleus chokes on")
    assert nucleus.published == [b'{"count": 1}']
    assert publisher.stats.failed == 3, "two connection losses, then the rejection"


def test_server_restart_mid_run_resumes(ipc, publisher_factory):
    publisher = publisher_factory(qos=1, queue_size=50)
    publisher.publish(TOPIC, b'{"count": 1}')
    wait_for(lambda: publisher.stats.sent == 1, 10, what="first message")
    ipc.stop()
    for count in range(2, 5):
        publisher.publish(TOPIC, json.dumps({"count": count}).encode())
    wait_for(lambda: not publisher.healthy, 10, what="the publisher to notice the nucleus is gone")
    ipc.start()
    publisher.publish(TOPIC, b'{"count": 5}')
    wait_for(lambda: 5 in counts(ipc.records()), 20, what="messages after the restart")
    assert publisher.healthy
    assert {1, 5} <= set(counts(ipc.records()))
    assert publisher.stats.sent + publisher.stats.dropped + publisher.stats.failed >= 5


def test_outside_greengrass_is_a_one_line_error():
    with pytest.raises(UserError, match="SVCUID"):
        IpcPublisher(environ={})


@pytest.mark.parametrize("qos", [0, 1])
def test_iot_core_outage_keeps_messages_queued_and_delivers_them_after(tmp_path, mosquitto, caplog, qos):
    """While IoT Core is unreachable the nucleus answers ServiceError (QoS 0 on the Java nucleus, any QoS on
    nucleus lite); that is no rejection: the messages wait, bounded, and go out once the link is back."""
    from gg_ipc_local.sinks import MqttSink

    caplog.set_level(logging.INFO, "count_people.comms")
    server = IpcServer(tmp_path, sinks=[MqttSink(mosquitto.url)]).start()
    server.server.iot_core.spool_bytes = 0  # as nucleus lite: nothing spooled, QoS 1 refused too
    try:
        with quick_retry_publishers(functools.partial(IpcPublisher, environ=server.env)) as make:
            publisher = make(qos=qos, queue_size=4)
            publisher.publish(TOPIC, b'{"count": 0}')
            wait_for(lambda: publisher.stats.sent == 1, 10, what="the first message")
            mosquitto.stop()
            wait_for(lambda: not server.server.iot_core.online, 10, what="the nucleus to notice the outage")
            for count in range(1, 7):
                publisher.publish(TOPIC, json.dumps({"count": count}).encode())
            wait_for(lambda: not publisher.healthy, 10, what="the publisher to report the outage")
            assert publisher.stats.failed == 0, "an outage is not a rejection"
            assert publisher.stats.dropped == 2, "the bounded queue drops the oldest and counts them"
            mosquitto.start()
            wait_for(lambda: publisher.stats.sent == 5, 30, what="the queued messages delivered")
            assert counts(server.records()) == [0, 3, 4, 5, 6] and publisher.healthy
            assert caplog.text.count("cannot deliver") == 1, "the outage is logged once, not per retry"
            assert "delivering again" in caplog.text
    finally:
        server.close()


def test_a_topic_over_the_iot_core_limits_stops_the_start_with_one_line(capsys):
    """Publishing through the nucleus, the rendered topic must fit AWS IoT Core (IotCoreTopicValidator.java:24-25)."""
    from count_people.cli import main

    assert main(["--publish", "ipc", "--topic", "a/b/c/d/e/f/g/{thing}/{camera}", "--thing-name", "t"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "topic: " in error and "8 '/'" in error, error
    assert main(["--publish", "ipc", "--thing-name", "t" * 128, "--camera-id", "c" * 128]) == 2
    assert "272 bytes long" in capsys.readouterr().err
