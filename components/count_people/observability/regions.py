"""Reads the tracking feature's ``lines`` and ``zones`` message fields generically, for every exporter.

Assumed shapes (coordinates normalised to 0..1; a count is ``n`` or ``{class: n}``):
``lines``: {name: {"points": [[x, y], [x, y]], "in": count, "out": count}}
``zones``: {name: {"polygon": [[x, y], ...], "occupancy": count, "dwell": {"longest_current_s": s, ...}}}
``areas``: {name: {"occupancy": count, "clamped": count}} and ``events``: [{"rule", "region", "name", "state"}]
(the analytics feature). Entries of another shape are skipped, so exporters never fail on them.
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


def areas(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, data) of each area in the message."""
    return _entries(message, "areas")


def area_counts(message: dict[str, Any], field: str) -> Iterator[tuple[str, str, float]]:
    """(area, class, n) of every area's ``field`` (occupancy, clamped) and class."""
    for name, data in areas(message):
        for label, n in per_class(data.get(field)).items():
            yield name, label, n


def zone_dwell(message: dict[str, Any]) -> Iterator[tuple[str, float, list[float]]]:
    """(zone, longest current visit s, visits completed in this frame s) of every zone with dwell time."""
    for name, data in zones(message):
        dwell = data.get("dwell")
        if isinstance(dwell, dict) and isinstance(dwell.get("longest_current_s"), (int, float)):
            completed = dwell.get("completed_s")
            yield name, dwell["longest_current_s"], [d for d in completed if isinstance(d, (int, float))] \
                if isinstance(completed, list) else []


def events(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each threshold event the message carries."""
    found = message.get("events")
    yield from (event for event in found if isinstance(event, dict)) if isinstance(found, list) else ()


def zone_occupancy(message: dict[str, Any]) -> Iterator[tuple[str, str, float]]:
    """(zone, class, objects inside) for every zone and class."""
    for name, data in zones(message):
        for label, n in per_class(data.get("occupancy")).items():
            yield name, label, n
