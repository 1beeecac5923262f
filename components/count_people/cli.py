"""``count-people``: run the counter (default), or a subcommand such as ``evaluate``/``bench``."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from typing import Any, Callable, Sequence

from count_people import __version__
from count_people.config import ENV_PREFIX, Settings, load_settings
from count_people.errors import UserError

#: Features riding along the counting loop: "module:function" taking Settings, returning FrameHooks.
HOOK_FACTORIES: list[str] = ["count_people.tracking.hook:create_hooks"]

#: Subcommands besides the default ``run``: name -> "module:function" taking argv.
SUBCOMMANDS: dict[str, str] = {
    "evaluate": "count_people.evaluation.cli:main",
    "bench": "count_people.benchmark:main",
}

EPILOG = f"""\
Every option can also be set as {ENV_PREFIX}<OPTION> (e.g. {ENV_PREFIX}MAX_FPS=2) or as a key of the
YAML/JSON file given with --config (e.g. max_fps: 2); flags win over the environment, which wins
over the file. Messages are JSON documents, one per processed frame (schema in
count_people/schema/message.schema.json).
"""


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


def flags_from_args(args: argparse.Namespace) -> dict[str, Any]:
    return {key.name: getattr(args, key.name) for key in Settings.options()}


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


def build_parser() -> argparse.ArgumentParser:
    commands = "".join(f"\n  count-people {name} --help" for name in SUBCOMMANDS)
    parser = argparse.ArgumentParser(
        prog="count-people",
        description="Count people (or other classes) in the latest camera frame and publish one JSON "
        "message per frame." + (f"\n\nOther commands:{commands}" if commands else ""),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_settings_arguments(parser)
    return parser


def run(argv: Sequence[str]) -> int:
    from count_people.app import Counter
    from count_people.greengrass import GreengrassComponent
    from count_people.observability import create_hooks as create_observability_hooks

    args = build_parser().parse_args(argv)
    component = GreengrassComponent.from_environment(flags_from_args(args), args.config)
    settings = component.initial_settings() if component else settings_from_args(args)
    setup_logging(settings.log_level)
    hooks = []
    for factory in HOOK_FACTORIES:
        module_name, function_name = factory.split(":")
        hooks.extend(getattr(importlib.import_module(module_name), function_name)(settings))
    counter = Counter(settings, hooks=hooks)
    counter.hooks.extend(create_observability_hooks(counter))  # metrics, health, live view, InfluxDB
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if component is not None:  # follows configuration updates, reports component state
        return component.run(counter, stop)
    return counter.run(stop)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: Callable[[Sequence[str]], int] = run
    if argv and argv[0] in SUBCOMMANDS:
        module_name, function_name = SUBCOMMANDS[argv.pop(0)].split(":")
        command = getattr(importlib.import_module(module_name), function_name)
    try:
        return command(argv)
    except UserError as exc:
        print(f"count-people: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
