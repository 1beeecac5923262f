"""Tracking across frames, counting line crossings and zone occupancy (see ``hook.py``)."""
