"""Counts to InfluxDB (1.x ``/write`` or 2.x ``/api/v2/write``) in line protocol, batched by a writer thread.

Detection only appends strings to a bounded buffer. The writer sends what accumulated every
``influx_interval`` seconds; while InfluxDB is away it retries with capped backoff, keeps at
most ``influx_buffer`` points (dropping and counting the oldest) and logs the drop count, so an
outage costs history, never frame rate. Works against a local ``influxd`` or the InfluxDB
Greengrass component on the device (2.x: set ``influx_org`` and a token, ``influx_db`` = bucket).

One measurement per camera, ``counts_<camera id>``, each point tagged with ``camera``, ``class`` and ``thing``
(the tag lets one query span cameras, the measurement keeps each camera's series apart):
``count`` per class and frame; ``in``/``out`` totals tagged ``line``; ``occupancy`` tagged ``zone``.
"""

from __future__ import annotations

import base64
import collections
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import unquote, urlencode, urlsplit

from count_people.comms.backoff import Backoff
from count_people.config import Part, Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.hooks import FrameHook
from count_people.observability import regions

log = logging.getLogger("count_people.influx")

MEASUREMENT_PREFIX = "counts_"
#: Points per HTTP request; InfluxDB recommends 5000-10000.
BATCH_POINTS = 5000
#: HTTP statuses that mean "this batch can never be written": drop it instead of retrying forever.
REJECTED = (400, 413, 422)


def measurement(camera_id: str) -> str:
    return MEASUREMENT_PREFIX + camera_id


def _escape(text: str, special: str) -> str:
    for char in "\\" + special:
        text = text.replace(char, "\\" + char)
    return text


def _tags(**tags: str) -> str:
    """``,k=v`` pairs, sorted as InfluxDB prefers; empty values are left out (they are invalid)."""
    return "".join(f",{k}={_escape(str(v), ', =')}" for k, v in sorted(tags.items()) if v != "")


def _number(value: float) -> str:
    return f"{value}i" if isinstance(value, int) else repr(float(value))


def frame_points(message: dict[str, Any]) -> list[str]:
    """The line-protocol points of one published message, at its capture time (ms)."""
    name = _escape(measurement(message["camera_id"]), ", ")
    common = {"camera": message["camera_id"], "thing": message.get("thing_name", "")}
    stamp = round(message["capture_time"] * 1000)
    points = [f"{name}{_tags(**common, **{'class': label})} count={_number(n)} {stamp}"
              for label, n in message["counts"].items()]
    totals: dict[tuple[str, str], dict[str, float]] = collections.defaultdict(dict)
    for line, label, direction, n in regions.line_totals(message):
        totals[line, label][direction] = n
    for (line, label), fields in totals.items():
        values = ",".join(f"{d}={_number(n)}" for d, n in sorted(fields.items()))
        points.append(f"{name}{_tags(**common, **{'class': label}, line=line)} {values} {stamp}")
    for zone, label, n in regions.zone_occupancy(message):
        points.append(f"{name}{_tags(**common, **{'class': label}, zone=zone)} occupancy={_number(n)} {stamp}")
    for zone, longest, completed in regions.zone_dwell(message):
        # Visits ended in this frame as a count and a sum (two points with one timestamp would overwrite).
        visits = f",visits={_number(len(completed))},visits_s={_number(float(sum(completed)))}" if completed else ""
        points.append(f"{name}{_tags(**common, zone=zone)} longest_visit_s={_number(float(longest))}{visits} {stamp}")
    clamped = {(area, label): n for area, label, n in regions.area_counts(message, "clamped")}
    for area, label, n in regions.area_counts(message, "occupancy"):
        points.append(f"{name}{_tags(**common, **{'class': label}, area=area)} occupancy={_number(n)},"
                      f"clamped={_number(clamped.get((area, label), 0))} {stamp}")
    for event in regions.events(message):
        tags = {k: str(event.get(k, "")) for k in ("region", "name", "rule")}
        points.append(f"{name}{_tags(**common, **tags)} event={_number(int(event.get('state') == 'raised'))} {stamp}")
    return points


@dataclass
class InfluxStats:
    written: int = 0  # points InfluxDB accepted
    dropped: int = 0  # points lost: buffer full, rejected batches, unsent at shutdown
    failures: int = 0  # failed write requests


class InfluxWriter:
    """Bounded point buffer drained by a thread; ``add`` never blocks."""

    def __init__(self, settings: Settings, backoff: Backoff | None = None, timeout: float = 5.0) -> None:
        url = urlsplit(settings.influx_url)
        # Credentials in the URL go into a basic-auth header: urllib does not take them from the URL, and the
        # endpoint (which errors may echo) then holds no password.
        base = url._replace(netloc=url.netloc.rpartition("@")[2]).geturl()
        if settings.influx_org:
            query = {"org": settings.influx_org, "bucket": settings.influx_db, "precision": "ms"}
            self.endpoint = f"{base}/api/v2/write?{urlencode(query)}"
        else:
            self.endpoint = f"{base}/write?{urlencode({'db': settings.influx_db, 'precision': 'ms'})}"
        self.description = f"InfluxDB {url.scheme}://{url.hostname}{f':{url.port}' if url.port else ''}"
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if settings.influx_token:
            self._headers["Authorization"] = f"Token {settings.influx_token}"
        elif url.username is not None:
            pair = f"{unquote(url.username)}:{unquote(url.password or '')}".encode()
            self._headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        self.capacity = settings.influx_buffer
        self.interval = settings.influx_interval
        self.timeout = timeout
        self.backoff = backoff or Backoff(first=0.5, cap=5.0)
        self.stats = InfluxStats()
        self.healthy = True
        self._buffer: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._thread.start()

    def add(self, points: Sequence[str]) -> None:
        with self._cond:
            self._buffer.extend(points)
            self._trim()

    def close(self, timeout: float = 2.0) -> None:
        """Flush once more (bounded by ``timeout``), then count what is left as dropped."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            left = len(self._buffer)
            self._buffer.clear()
        if left:
            self.stats.dropped += left
            log.warning("%s: %d unwritten point(s) dropped at shutdown", self.description, left)

    def _trim(self) -> None:
        excess = len(self._buffer) - self.capacity
        if excess > 0:
            for _ in range(excess):
                self._buffer.popleft()
            self._count_dropped(excess, "buffer full")

    def _count_dropped(self, n: int, why: str) -> None:
        before = self.stats.dropped
        self.stats.dropped += n
        if before == 0 or before // 1000 != self.stats.dropped // 1000:
            log.warning("%s: %s, %d point(s) dropped so far", self.description, why, self.stats.dropped)

    def _run(self) -> None:
        closing = False
        while not closing:
            with self._cond:
                self._cond.wait_for(lambda: self._closing, timeout=self.interval)
                closing = self._closing
            self._drain(final=closing)

    def _drain(self, final: bool) -> None:
        """Write everything buffered; on failure put the batch back and wait out the backoff."""
        while True:
            with self._cond:
                batch = [self._buffer.popleft() for _ in range(min(BATCH_POINTS, len(self._buffer)))]
            if not batch:
                return
            if self._write(batch):
                continue
            with self._cond:
                self._buffer.extendleft(reversed(batch))
                self._trim()
                if final or self._cond.wait_for(lambda: self._closing, timeout=self.backoff.next_delay()):
                    return

    def _write(self, batch: list[str]) -> bool:
        """True when the batch is done with (written, or rejected for good); False to retry it."""
        request = urllib.request.Request(self.endpoint, "\n".join(batch).encode(), self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                pass
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode(errors="replace").strip()
            if exc.code in REJECTED:
                self._count_dropped(len(batch), f"batch rejected (HTTP {exc.code}: {detail})")
                return True
            return self._failed(f"HTTP {exc.code}: {detail}")
        except (OSError, ValueError) as exc:
            return self._failed(str(getattr(exc, "reason", exc)))
        if not self.healthy:
            log.info("%s: writes resumed after %d failed attempt(s); %d point(s) dropped so far",
                     self.description, self.backoff.attempt, self.stats.dropped)
        self.healthy = True
        self.backoff.reset()
        self.stats.written += len(batch)
        return True

    def _failed(self, reason: str) -> bool:
        self.stats.failures += 1
        if self.healthy:
            log.warning("%s: write failed (%s); buffering up to %d points and retrying",
                        self.description, reason, self.capacity)
        self.healthy = False
        return False


class InfluxHook(FrameHook):
    """Adds each message's points to the writer; builds a new writer when its settings change."""

    def __init__(self, settings: Settings) -> None:
        self.writer: InfluxWriter | None = InfluxWriter(settings) if settings.influx_url else None
        self._settings = settings

    def observe(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.add(frame_points(message))

    def reconfigure(self, settings: Settings) -> None:
        if Part.INFLUX in self._settings.changed_parts(settings):
            old, self.writer = self.writer, InfluxWriter(settings) if settings.influx_url else None
            if old is not None:
                threading.Thread(target=old.close, daemon=True).start()
        self._settings = settings

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
