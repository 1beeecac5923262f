"""Extension point for features that ride along the counting loop (tracking, metrics, live view).

A hook sees every processed frame twice: ``annotate`` may add fields to the message before
it is encoded and published; ``observe`` sees the published result. Hooks run on the
detection thread, so they must be quick and never block on I/O (hand work to a thread).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from count_people.comms.base import Publisher
from count_people.config import Settings
from count_people.detectors.base import Detection, Detector
from count_people.frames.base import Frame, FrameSource


class FrameHook:
    """No-op defaults; override what the feature needs."""

    def annotate(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        """Add fields to ``message`` before it is published."""

    def observe(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        """React to a published message."""

    def reconfigure(self, settings: Settings) -> None:
        """Settings changed live; raise UserError to reject the update."""

    def close(self) -> None:
        """Release resources at shutdown."""


class LoopState(Protocol):
    """What a hook may read of the counting loop that runs it (at any time, from any thread)."""

    settings: Settings
    detector: Detector
    source: FrameSource
    publisher: Publisher
    frames_processed: int
    frames_overtaken: int


#: Builds a feature's hooks for a loop (``Analytics.create_hooks``, ``Observability.create_hooks``; see ``cli.run``).
HookFactory = Callable[[LoopState], Sequence[FrameHook]]
