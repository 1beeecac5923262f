"""Reads the tracking feature's ``lines`` and ``zones`` message fields generically, for every exporter.

Assumed shapes (coordinates normalised to 0..1; a count is ``n`` or ``{class: n}``):
``lines``: {name: {"points": [[x, y], [x, y]], "in": count, "out": count}}
``zones``: {name: {"polygon": [[x, y], ...], "occupancy": count}}
Entries of another shape are skipped, so exporters never fail on them.
"""

from __future__ import annotations

from typing import Any, Iterator


def per_class(value: Any) -> dict[str, float]:
    """``n`` or ``{class: n}`` as ``{class: n}``; class "" when the count is not split by class."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {"": value} if isinstance(value, (int, float)) and not isinstance(value, bool) else {}


def total(value: Any) -> float:
    return sum(per_class(value).values())


def _entries(message: dict[str, Any], field: str) -> Iterator[tuple[str, dict[str, Any]]]:
    regions = message.get(field)
    if isinstance(regions, dict):
        for name, data in regions.items():
            if isinstance(data, dict):
                yield str(name), data


def lines(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, data) of each line in the message."""
    return _entries(message, "lines")


def zones(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, data) of each zone in the message."""
    return _entries(message, "zones")


def line_totals(message: dict[str, Any]) -> Iterator[tuple[str, str, str, float]]:
    """(line, class, direction, total crossings) for every line, direction and class."""
    for name, data in lines(message):
        for direction in ("in", "out"):
            for label, n in per_class(data.get(direction)).items():
                yield name, label, direction, n


def zone_occupancy(message: dict[str, Any]) -> Iterator[tuple[str, str, float]]:
    """(zone, class, objects inside) for every zone and class."""
    for name, data in zones(message):
        for label, n in per_class(data.get("occupancy")).items():
            yield name, label, n
