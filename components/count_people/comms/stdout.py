"""Prints one JSON document per line, for local runs and piping into other tools."""

from __future__ import annotations

import sys
from typing import TextIO

from count_people.comms.base import Publisher
from count_people.config import Settings


class StdoutPublisher(Publisher):
    """Writes each payload as one line and flushes, so a pipe sees it at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stdout

    @classmethod
    def from_settings(cls, settings: Settings) -> StdoutPublisher:
        return cls()

    def publish(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        try:
            self.stream.write(payload.decode() + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # reader went away or stream closed
            self.stats.failed += 1
            return
        self.stats.sent += 1
