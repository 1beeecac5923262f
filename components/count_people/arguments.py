"""The command-line prologue every ``count-people`` command shares: one flag per Settings key, then logging.

Below the commands (``cli``, ``evaluation``, ``benchmark``) so each builds its parser the same way
without importing another command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from frame_handoff.keys import keys

from count_people.config import DEPRECATED_FRAME_KEYS, ENV_PREFIX, SECTIONS, Part, Settings, load_settings, part_of
from count_people.config.generate import shown_default


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per Settings key, grouped by section, its help from the key's declaration; None means 'not
    given' so lower-priority sources apply."""
    parser.add_argument("--config", metavar="FILE", help=f"YAML/JSON settings file (env {ENV_PREFIX}CONFIG)")
    for section in SECTIONS:
        group = parser.add_argument_group(f"{section.NAME} ({ENV_PREFIX}<KEY>, or {section.NAME}: {{key: value}} in "
                                          "a file)", section.__doc__)
        for key in keys(section):
            kind = key.metadata["kind"]
            facts = [f"{kind.type} {kind.range}".strip(), f"default: {shown_default(key)}"]
            if part_of(key.name) is Part.RESTART:
                facts.append("read at start only")
            group.add_argument(
                "--" + key.name.replace("_", "-"),
                dest=key.name,
                metavar=key.metadata["metavar"] or key.name.upper(),
                help=f"{key.metadata['help']} ({'; '.join(facts)})".replace("%", "%%"),
            )
    for name in DEPRECATED_FRAME_KEYS:  # accepted, logged once, converted to seconds; not in --help
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=argparse.SUPPRESS)


def flags_from_args(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in [*(key.name for key in Settings.options()), *DEPRECATED_FRAME_KEYS]}


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(flags_from_args(args), config_file=args.config)


def parse_with_settings(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[argparse.Namespace, Settings]:
    """Parse a subcommand's arguments, load its Settings and set up logging at their level."""
    args = parser.parse_args(argv)
    settings = settings_from_args(args)
    setup_logging(settings)
    return args, settings


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, so a log service can filter on level, logger and message without parsing."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
