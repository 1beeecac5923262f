"""Refusals the publisher cannot fix by reconnecting (issue 15, defect 2), counted at a real mosquitto."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from count_people.comms.backoff import Backoff
from count_people.comms.mqtt import MqttPublisher
from support import Mosquitto, Subscriber, quick_retry_publishers, wait_for


@pytest.fixture
def publisher_factory():
    with quick_retry_publishers(MqttPublisher) as make:
        yield make


def connections(broker: Mosquitto) -> int:
    return broker.log.read_text().count("New connection from")


def test_a_broker_refusing_the_client_gets_one_attempt_and_one_line(tmp_path, publisher_factory, caplog):
    broker = Mosquitto(tmp_path)
    config = broker.argv[-1]
    with open(config, "a") as handle:
        handle.write("allow_anonymous false\n")  # the later line wins: this broker wants a user name
    broker.start()
    try:
        with caplog.at_level(logging.INFO, logger="count_people.comms"):
            publisher = publisher_factory(broker.url, qos=1)
            publisher.publish("t", b"{}")
            # Refused: the worker stops for good. A retrying one would still be alive, trying every 0.1 s.
            wait_for(lambda: not publisher._thread.is_alive(), 10, what="the publisher to give up")
        assert broker.log.read_text().count("not authorised") == 1, broker.log.read_text()
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert errors == [f"mqtt 127.0.0.1:{broker.port}: refused (broker answered Not authorized); not retrying: "
                          "fix the credentials or access rules, then restart"]
        assert not publisher.healthy
    finally:
        broker.stop()


def test_a_wildcard_topic_is_rejected_without_reconnecting(mosquitto, publisher_factory):
    subscriber = Subscriber(mosquitto.port, "ok/#")
    before = connections(mosquitto)
    publisher = publisher_factory(mosquitto.url, qos=1)
    publisher.publish("people-counter/a/#/cam", b'{"count": 1}')
    publisher.publish("ok/cam", b'{"count": 2}')
    wait_for(lambda: len(subscriber.messages) == 1, 10, what="the good message after the rejected one")
    time.sleep(0.5)
    assert publisher.stats.failed == 1 and publisher.stats.sent == 1
    assert connections(mosquitto) - before == 1, "the publisher connected once"
    subscriber.close()


def test_a_broker_that_drops_the_client_on_publish_gets_one_attempt_per_backoff_step(tmp_path, publisher_factory):
    """Connect succeeds, the publish makes the broker hang up (packet over its max_packet_size): the reconnect
    after a failed send waits its backoff step too (it used to reconnect at once, as fast as messages came)."""
    broker = Mosquitto(tmp_path)
    with open(broker.argv[-1], "a") as handle:
        handle.write("max_packet_size 200\n")
    broker.start()
    try:
        publisher = publisher_factory(broker.url, qos=0, queue_size=1000)
        publisher.backoff = Backoff(first=0.2, cap=0.4)
        start = time.monotonic()
        for _ in range(1000):
            publisher.publish("t", b"x" * 1000)
        # The start-up probe of the port, then 3 attempts: at least 2 backoff steps of >= 0.2 s between them
        # (a reconnect at once would make them within milliseconds).
        wait_for(lambda: connections(broker) >= 4, 15, what="3 connection attempts")
        assert time.monotonic() - start >= 2 * 0.2, broker.log.read_text()[-2000:]
    finally:
        broker.stop()


def test_a_link_that_connects_but_cannot_send_backs_off_between_attempts(publisher_factory):
    """A listener that accepts, acknowledges nothing and closes: one attempt per backoff step, no spinning."""
    accepted: list[float] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    client, _ = listener.accept()
                except OSError:
                    continue
                accepted.append(time.monotonic())
                client.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        publisher = publisher_factory(f"mqtt://127.0.0.1:{listener.getsockname()[1]}")
        publisher.backoff = Backoff(first=0.2, cap=0.4)
        wait_for(lambda: len(accepted) >= 3, 15, what="3 connection attempts")
        stop.set()
        thread.join(2)
    gaps = [b - a for a, b in zip(accepted, accepted[1:])]
    assert all(gap >= 0.19 for gap in gaps), gaps
