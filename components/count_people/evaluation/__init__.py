"""Counting accuracy against MOTChallenge ground truth (``count-people evaluate``)."""
