"""The MQTT publisher against a real mosquitto broker: delivery, outages, bounded queue."""

from __future__ import annotations

import json
import time

import pytest
from count_people.comms.mqtt import MqttPublisher
from support import Subscriber, quick_retry_publishers, wait_for


@pytest.fixture
def publisher_factory():
    with quick_retry_publishers(MqttPublisher) as make:
        yield make


@pytest.mark.parametrize("qos", [0, 1])
def test_messages_reach_a_subscriber(mosquitto, publisher_factory, qos):
    subscriber = Subscriber(mosquitto.port, "people/#")
    publisher = publisher_factory(mosquitto.url, qos=qos)
    for count in range(10):
        publisher.publish("people/thing/cam", json.dumps({"count": count}).encode())
    wait_for(lambda: len(subscriber.messages) == 10, 10, what="10 messages")
    assert [m["count"] for m in subscriber.messages] == list(range(10))
    assert publisher.stats.sent == 10 and publisher.stats.dropped == 0
    subscriber.close()


def test_broker_down_at_start_then_up(mosquitto, publisher_factory):
    mosquitto.stop()
    publisher = publisher_factory(mosquitto.url, qos=1, queue_size=50)
    started = time.monotonic()
    for count in range(5):
        publisher.publish("t", json.dumps({"count": count}).encode())
    assert time.monotonic() - started < 0.1, "publish must never block on a missing broker"
    time.sleep(0.5)
    assert not publisher.healthy and publisher.stats.sent == 0
    mosquitto.start()
    subscriber = Subscriber(mosquitto.port)
    wait_for(lambda: publisher.stats.sent == 5, 10, what="queued messages delivered after the broker came up")
    publisher.publish("t", b'{"count": 5}')
    wait_for(lambda: len(subscriber.messages) >= 1, 5, what="a message after the outage")
    subscriber.close()


def test_broker_restart_mid_run_resumes(mosquitto, publisher_factory):
    subscriber = Subscriber(mosquitto.port)
    publisher = publisher_factory(mosquitto.url, qos=1)
    publisher.publish("t", b'{"count": 1}')
    wait_for(lambda: len(subscriber.messages) == 1, 5, what="first message")
    mosquitto.stop()
    wait_for(lambda: not publisher.healthy, 10, what="the publisher to notice the outage")
    for count in range(2, 5):
        publisher.publish("t", json.dumps({"count": count}).encode())
    mosquitto.start()
    wait_for(subscriber.client.is_connected, 10, what="subscriber reconnect")
    time.sleep(0.3)
    publisher.publish("t", b'{"count": 5}')
    wait_for(lambda: any(m["count"] == 5 for m in subscriber.messages), 15, what="messages after restart")
    received = {m["count"] for m in subscriber.messages}
    assert {1, 5} <= received
    assert publisher.stats.sent + publisher.stats.dropped >= 5
    subscriber.close()


def test_full_queue_drops_oldest_and_counts(mosquitto, publisher_factory):
    mosquitto.stop()
    publisher = publisher_factory(mosquitto.url, queue_size=3)
    for count in range(10):
        publisher.publish("t", json.dumps({"count": count}).encode())
    assert publisher.stats.dropped == 7
    with publisher._cond:  # hold the worker's retry until the subscriber listens
        mosquitto.start()
        subscriber = Subscriber(mosquitto.port)
    wait_for(lambda: publisher.stats.sent == 3, 10, what="the 3 newest messages")
    assert publisher.stats.dropped == 7
    wait_for(lambda: len(subscriber.messages) == 3, 5, what="the 3 newest messages at the subscriber")
    assert [m["count"] for m in subscriber.messages] == [7, 8, 9]
    subscriber.close()


def test_close_returns_promptly_while_broker_is_down(mosquitto, publisher_factory):
    mosquitto.stop()
    publisher = MqttPublisher(mosquitto.url)
    publisher.publish("t", b"{}")
    started = time.monotonic()
    publisher.close(timeout=1)
    assert time.monotonic() - started < 3
    assert publisher.stats.dropped == 1
    assert not publisher._thread.is_alive(), "the worker thread must end with close()"
