"""Settings from their sources: defaults, a YAML/JSON file, environment, Greengrass configuration, flags.

Every value takes one path: a file through ``read_text_file`` (a regular file of bounded size: a FIFO or
device is refused, not read) and ``load_text`` (bounded depth, so a deeply nested value is one line, never a
RecursionError), then each key through its declaration in ``Settings.updated`` (the same guards for a value
that arrives already parsed, from Greengrass). Every bad value is one UserError line naming where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from frame_handoff.keys import keys, load_text, one_line, parse_key, read_text_file

from count_people.config.settings import DEPRECATED_FRAME_KEYS, FIELDS, GREENGRASS_KEYS, Greengrass, Settings
from count_people.config.values import events_topic, iot_core_topic_problem
from count_people.errors import UserError

ENV_PREFIX = "COUNT_PEOPLE_"


def read_config_file(path: str) -> dict[str, Any]:
    """Read a YAML or JSON mapping of settings (JSON is valid YAML)."""
    try:
        data = load_text(read_text_file(path))
    except ValueError as exc:
        raise UserError(f"config file {path!r}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {path!r} must hold a mapping of key: value")
    return data


def environment_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings given as COUNT_PEOPLE_<KEY> environment variables."""
    values = {}
    for var, value in environ.items():
        if var.startswith(ENV_PREFIX) and var != ENV_PREFIX + "CONFIG":
            name = var[len(ENV_PREFIX):].lower()
            if name not in FIELDS and name not in DEPRECATED_FRAME_KEYS:
                raise UserError(f"unknown environment variable {var}; valid keys: {', '.join(sorted(FIELDS))}")
            values[name] = value
    return values


def load_settings(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None, config_file: str | None = None,
    greengrass: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then the config file, then environment, then the Greengrass component configuration
    (given when running as a component, which also makes ``publish`` default to ipc), then flags:
    later sources win."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    settings = Settings() if greengrass is None else Settings(publish="ipc")
    if config_file:
        settings = settings.updated(read_config_file(config_file), origin=f"config file {config_file}")
    settings = settings.updated(environment_settings(environ), origin="environment")
    if greengrass is not None:
        settings = settings.updated(greengrass, origin="Greengrass configuration")
    settings = settings.updated({k: v for k, v in flags.items() if v is not None}, origin="command line")
    cameras = settings.camera_settings()  # every camera's values valid, no two on one frame file
    _check_doors(settings, cameras)
    if settings.publish == "ipc":
        _check_iot_core_topics(settings, cameras)
    return settings


def _check_doors(settings: Settings, cameras: list[Settings]) -> None:
    """Every door of an area is a line of a camera: a misspelt one would leave the area at 0 for ever."""
    lines = {(camera.camera_id, line.name) for camera in cameras for line in camera.lines}
    for area in settings.areas:
        for door in area.doors:
            if not any(name == door.line and door.camera in (None, camera) for camera, name in lines):
                where = f"{door.camera}/{door.line}" if door.camera else door.line
                raise UserError(f"areas: door {where!r} of area {area.name!r} is no counting line of "
                                f"{'camera ' + repr(door.camera) if door.camera else 'any camera'}; add it to lines "
                                "or fix the name")


def has_thresholds(settings: Settings, camera: Settings) -> bool:
    """Whether ``camera`` may publish threshold events: one of its zones, or an area, has a threshold."""
    return any(z.max_occupancy or z.max_dwell_s for z in camera.zones) or any(a.max_occupancy for a in settings.areas)


def _check_iot_core_topics(settings: Settings, cameras: list[Settings]) -> None:
    """Every camera's topic (and, with thresholds, its events topic), rendered with its ids, within AWS IoT Core's
    limits: the nucleus would refuse each message on it, so it is a configuration error at start-up (and a refused
    update), not one per message."""
    entries = [dict(entry) for entry in settings.cameras] or [{}]
    for index, (entry, camera) in enumerate(zip(entries, cameras)):
        topic = camera.topic.format(thing=camera.thing_name, camera=camera.camera_id)
        rendered = [topic, events_topic(topic)] if has_thresholds(settings, camera) else [topic]
        for text, problem in ((text, iot_core_topic_problem(text)) for text in rendered):
            if problem:
                key = f"cameras[{index}].topic" if "topic" in entry else "topic"
                what = "the topic" if text == topic else "the events topic (thresholds are set)"
                raise UserError(f"{key}: {camera.topic!r} gives {what} {text!r} for camera {camera.camera_id}, "
                                f"but {problem}; shorten the template, the thing name or the camera id")


def configuration_errors(configuration: Any, origin: str = "configuration") -> list[str]:
    """Every error of a component configuration (what the console's JSON box or a deployment merges), one line
    each, as the component would report them; empty when the counter would accept it."""
    if not isinstance(configuration, dict):
        return [f"{origin}: expected a mapping of key: value, got {type(configuration).__name__}"]
    errors, settings = [], Settings()
    for name, value in configuration.items():
        try:
            if name == "accessControl":
                if not isinstance(value, dict):
                    raise UserError(f"{origin}: bad value for accessControl: expected a mapping of policies")
            elif name in GREENGRASS_KEYS:
                own = next(f for f in keys(Greengrass) if f.name == name)
                try:
                    parse_key(own, value)
                except ValueError as exc:
                    raise UserError(f"{origin}: bad value for {name}: {one_line(exc)}") from None
            else:
                settings = settings.updated({name: value}, origin)
        except UserError as exc:
            errors.append(str(exc))
    if not errors:
        try:
            settings.camera_settings()
        except UserError as exc:
            errors.append(f"{origin}: {exc}")
    return errors
