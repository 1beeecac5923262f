"""The counting loops: one camera's (``camera.CountingLoop``) and the process's, several cameras sharing
one model (``scheduler.MultiCameraLoop``)."""

from count_people.loop.camera import CountingLoop, FrameTiming
from count_people.loop.scheduler import MultiCameraLoop

__all__ = ["CountingLoop", "FrameTiming", "MultiCameraLoop"]
