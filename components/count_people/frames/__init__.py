"""Frame sources: the grabber's latest-frame file, or a video file / image folder offline."""

from __future__ import annotations

from pathlib import Path

from count_people.config import Settings
from count_people.frames.base import Frame, FrameSource, decode_image
from count_people.frames.latest_file import LatestFrameFile
from count_people.frames.offline import VIDEO_SUFFIXES, ImageFolder, VideoFile

__all__ = ["Frame", "FrameSource", "ImageFolder", "LatestFrameFile", "VideoFile", "decode_image", "open_source"]


def open_source(settings: Settings) -> FrameSource:
    """A folder is read image by image, a video file frame by frame, anything else is the latest-frame file."""
    path = Path(settings.source)
    if path.is_dir():
        return ImageFolder(settings.source, settings.max_frame_pixels)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFile(settings.source)
    return LatestFrameFile(settings.source, settings.poll_interval, settings.max_frame_pixels)
