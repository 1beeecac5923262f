"""Occupancy analytics above the tracks, lines and zones of ``tracking``: areas counted at their doors,
scheduled resets in local time, dwell time per zone and threshold events (docs/content/how-to/analytics.md).

Each feature is a small module with its own frozen config; ``hook.Analytics`` builds them from Settings
and is the process-wide service (areas may span cameras) whose ``create_hooks`` rides along each camera.
"""
