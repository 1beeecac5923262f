"""The command-line prologue every ``count-people`` command shares: one flag per Settings key, then logging.

Below the commands (``cli``, ``evaluation``, ``benchmark``) so each builds its parser the same way
without importing another command.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Sequence

from count_people.config import DEPRECATED_FRAME_KEYS, ENV_PREFIX, Settings, load_settings


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per Settings key; None means 'not given' so lower-priority sources apply."""
    parser.add_argument("--config", metavar="FILE", help=f"YAML/JSON settings file (env {ENV_PREFIX}CONFIG)")
    defaults = Settings()
    for key in Settings.options():
        default = getattr(defaults, key.name)
        shown = ",".join(default) if isinstance(default, tuple) else default
        parser.add_argument(
            "--" + key.name.replace("_", "-"),
            dest=key.name,
            metavar=key.metadata["metavar"] or key.name.upper(),
            help=f"{key.metadata['help']} (default: {shown})",
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
    setup_logging(settings.log_level)
    return args, settings


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
