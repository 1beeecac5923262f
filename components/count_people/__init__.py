"""Edge people counter: reads the latest camera frame, detects people, publishes counts."""

__version__ = "0.1.0"
