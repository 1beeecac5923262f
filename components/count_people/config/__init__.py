"""The counter's configuration: the schema (``settings``), the counter's kinds of value (``values``), the
guarded loader (``loader``) and the files generated from the schema (``generate``)."""

from count_people.config.loader import (
    ENV_PREFIX,
    configuration_errors,
    load_settings,
    read_config_file,
)
from count_people.config.settings import (
    DEPRECATED_FRAME_KEYS,
    FIELDS,
    GREENGRASS_KEYS,
    SECRET_KEYS,
    SECTIONS,
    Greengrass,
    Part,
    Settings,
    keys_rebuilding,
    open_sections,
    part_of,
)
from count_people.config.values import IOT_CORE_MAX_PAYLOAD_BYTES, ResetTime, Secret, events_topic

__all__ = [
    "DEPRECATED_FRAME_KEYS",
    "ENV_PREFIX",
    "FIELDS",
    "GREENGRASS_KEYS",
    "IOT_CORE_MAX_PAYLOAD_BYTES",
    "SECRET_KEYS",
    "SECTIONS",
    "Greengrass",
    "Part",
    "ResetTime",
    "Secret",
    "Settings",
    "configuration_errors",
    "events_topic",
    "keys_rebuilding",
    "load_settings",
    "open_sections",
    "part_of",
    "read_config_file",
]
