"""One interface for every transport, and a queued base for those that can go away.

Detection must never wait on a network: ``publish`` only enqueues. A transport that
loses its connection keeps at most ``queue_size`` messages, dropping (and counting) the
oldest, and reconnects with capped exponential backoff in its own thread.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from count_people.comms.backoff import Backoff
from count_people.config import Settings


class MessageRejected(Exception):
    """The transport is fine but refuses this one message (too large, not authorised)."""


class Refused(Exception):
    """The far side refuses this client for a reason reconnecting cannot fix (credentials, access rules): the
    publisher stops with one logged line instead of reconnecting forever."""


class DestinationUnavailable(Exception):
    """The transport is fine but cannot deliver now (the nucleus is offline from IoT Core): the message stays
    at the head of the queue and is retried with backoff; it is not a rejection."""


@dataclass
class PublishStats:
    """Counters every publisher keeps; read by the stats line and metrics."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0


class Publisher(ABC):
    """Sends one encoded message to a topic."""

    def __init__(self) -> None:
        self.stats = PublishStats()

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> Publisher:
        """The publisher that ``settings.publish`` and its companion keys describe."""

    @abstractmethod
    def publish(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        """Hand a message over without blocking the caller; ``qos``: this message's QoS instead of the
        configured one (threshold events ask for 1, analytics/events.py)."""

    def close(self, timeout: float = 2.0) -> None:  # noqa: B027 - optional hook
        """Flush what can be flushed within ``timeout`` seconds and release the transport."""

    @property
    def healthy(self) -> bool:
        """False while the transport is known to be unable to deliver."""
        return True


class QueuedPublisher(Publisher):
    """Bounded queue drained by a worker thread that (re)connects with backoff.

    Subclasses implement ``connect``, ``send`` and ``disconnect``; any exception from them
    is a connection loss: the message in hand is retried after reconnecting.
    """

    log = logging.getLogger("count_people.comms")

    def __init__(self, description: str, queue_size: int, backoff: Backoff | None = None) -> None:
        super().__init__()
        self.description = description
        self.backoff = backoff or Backoff()
        self._queue: collections.deque[tuple[str, bytes, int | None]] = collections.deque()
        self._queue_size = queue_size
        self._cond = threading.Condition()
        self._closing = False
        self._connected = False
        self._unavailable_since: float | None = None
        #: Retries of a message the far side cannot take yet: a local call, so capped low to resume soon after.
        self.retry_backoff = Backoff(first=0.5, cap=5.0)
        self._reasons_logged: set[str] = set()
        self._thread = threading.Thread(target=self._run, name=f"publisher:{description}", daemon=True)
        self._thread.start()

    @abstractmethod
    def connect(self) -> None:
        """Open the transport; raise on failure."""

    @abstractmethod
    def send(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        """Deliver one message (at ``qos``, None: the configured QoS); raise MessageRejected for this message
        alone, anything else when the connection is lost."""

    @abstractmethod
    def disconnect(self) -> None:
        """Close the transport; must not raise."""

    @property
    def healthy(self) -> bool:
        return self._connected and self._unavailable_since is None

    def refusal(self, topic: str, payload: bytes) -> str | None:
        """Why the far side would refuse this message whenever it is sent (e.g. too large), or None: such a
        message is counted as failed and never queued, so it cannot block the ones behind it."""
        return None

    def publish(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        refusal = self.refusal(topic, payload)
        if refusal:
            self._rejected(topic, refusal)
            return
        with self._cond:
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self.stats.dropped += 1
                if self.stats.dropped == 1 or self.stats.dropped % 100 == 0:
                    self.log.warning("%s: queue full, %d message(s) dropped so far",
                                     self.description, self.stats.dropped)
            self._queue.append((topic, payload, qos))
            self._cond.notify()

    def close(self, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue and self._connected and time.monotonic() < deadline:
                self._cond.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            self._closing = True
            left = len(self._queue)
            self._cond.notify_all()
        self._thread.join(max(0.0, deadline - time.monotonic()) + 0.5)
        if left:
            self.stats.dropped += left
            self.log.warning("%s: %d unsent message(s) dropped at shutdown", self.description, left)

    def _run(self) -> None:
        while not self._closing:
            if not self._connected and not self._try_connect():
                continue
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing:
                    break
                topic, payload, qos = self._queue[0]
            try:
                self.send(topic, payload, qos)
            except DestinationUnavailable as exc:
                self._wait_for_destination(exc)
                continue
            except MessageRejected as exc:
                self._rejected(topic, str(exc))
                self._pop_sent(payload)
                continue
            except Exception as exc:  # any failure of the transport means: reconnect, after a backoff step
                self.stats.failed += 1
                delay = self.backoff.next_delay()
                self.log.warning("%s: send failed (%s); reconnecting in %.1f s", self.description, exc, delay)
                self._drop_connection()
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, timeout=delay)
                continue
            self.stats.sent += 1
            self.backoff.reset()  # here, not at connect: a link that connects but cannot send still backs off
            self._pop_sent(payload)
            self._destination_back()
        self._drop_connection()

    def _rejected(self, topic: str, reason: str) -> None:
        """Count a message refused for good; log once per reason (the count is in stats and metrics)."""
        with self._cond:  # the caller's thread and the worker both reject
            self.stats.failed += 1
            first = reason not in self._reasons_logged
            self._reasons_logged.add(reason)
        if first:
            self.log.warning("%s: message to %s rejected (%d so far): %s", self.description, topic,
                             self.stats.failed, reason)

    def _wait_for_destination(self, exc: DestinationUnavailable) -> None:
        """Keep the message queued and wait one backoff step; log the outage once, not per retry."""
        if self._unavailable_since is None:
            self._unavailable_since = time.monotonic()
            self.log.warning("%s: cannot deliver (%s); keeping up to %d message(s) queued and retrying with backoff",
                             self.description, exc, self._queue_size)
        delay = self.retry_backoff.next_delay()
        self.log.debug("%s: still unavailable (%s); retry %d in %.1f s", self.description, exc,
                       self.retry_backoff.attempt, delay)
        with self._cond:
            self._cond.wait_for(lambda: self._closing, timeout=delay)

    def _destination_back(self) -> None:
        if self._unavailable_since is not None:
            self.log.info("%s: delivering again after %.1f s unavailable (%d dropped so far)", self.description,
                          time.monotonic() - self._unavailable_since, self.stats.dropped)
            self._unavailable_since = None
            self.retry_backoff.reset()

    def _pop_sent(self, payload: bytes) -> None:
        with self._cond:
            if self._queue and self._queue[0][1] is payload:  # unless overflow already dropped it
                self._queue.popleft()
            self._cond.notify_all()

    def _try_connect(self) -> bool:
        try:
            self.connect()
        except Refused as exc:
            self.log.error("%s: refused (%s); not retrying: fix the credentials or access rules, then restart",
                           self.description, exc)
            with self._cond:
                self._closing = True
            return False
        except Exception as exc:
            delay = self.backoff.next_delay()
            self.log.warning("%s: cannot connect (%s); retry %d in %.1f s",
                             self.description, exc, self.backoff.attempt, delay)
            with self._cond:
                self._cond.wait_for(lambda: self._closing, timeout=delay)
            return False
        if self.backoff.attempt:
            self.log.info("%s: connected after %d retries", self.description, self.backoff.attempt)
        else:
            self.log.info("%s: connected", self.description)
        self._connected = True
        return True

    def _drop_connection(self) -> None:
        if self._connected:
            self._connected = False
            self.disconnect()
