"""Tracking across frames, counting line crossings and zone occupancy (see ``hook.py``).

Kept free of imports so that ``config.py`` can use ``tracking.geometry`` without a cycle.
"""
