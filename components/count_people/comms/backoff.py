"""Capped exponential backoff, shared by every link that retries: publishers, Greengrass, InfluxDB."""

from __future__ import annotations


class Backoff:
    """Capped exponential delays: 0.5, 1, 2, ... up to ``cap`` seconds; reset on success."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap = first, cap
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * (2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
