"""``count-people``: run the counter (default), or a subcommand such as ``evaluate``/``bench``.

The top of the package: the only module that wires features together. Its registry is
``SUBCOMMANDS``; the features riding along each camera's loop are the services built in ``run``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Callable, Sequence

from count_people import __version__
from count_people.analytics.hook import Analytics
from count_people.arguments import add_settings_arguments, flags_from_args, settings_from_args, setup_logging
from count_people.benchmark import main as bench_main
from count_people.config import ENV_PREFIX
from count_people.errors import UserError
from count_people.evaluation.calibrate import main as calibrate_main
from count_people.evaluation.cli import main as evaluate_main
from count_people.greengrass import GreengrassComponent
from count_people.loop import MultiCameraLoop
from count_people.observability.hub import Observability

#: Subcommands besides the default ``run``: name -> function taking argv.
SUBCOMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "evaluate": evaluate_main,
    "bench": bench_main,
    "calibrate": calibrate_main,
}

EPILOG = f"""\
Every option can also be set as {ENV_PREFIX}<OPTION> (e.g. {ENV_PREFIX}MAX_FPS=2) or as a key of the
YAML/JSON file given with --config (e.g. max_fps: 2); flags win over the environment, which wins
over the file. Messages are JSON documents, one per processed frame (schema in
count_people/schema/message.schema.json).
"""


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
    args = build_parser().parse_args(argv)
    component = GreengrassComponent.from_environment(flags_from_args(args), args.config)
    settings = component.initial_settings() if component else settings_from_args(args)
    setup_logging(settings)
    observability = Observability(settings, component.notices if component else list)
    # Each camera's hooks see a frame in this order: analytics (scheduled reset, tracking, areas, dwell, events),
    # then observability (metrics, health, live view, InfluxDB) from the one HTTP server of the process.
    analytics = Analytics(settings)
    loop = MultiCameraLoop(settings, (analytics.create_hooks, observability.create_hooks),
                           services=[analytics, observability])
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if component is not None:  # follows configuration updates, reports component state
        return component.run(loop, stop)
    return loop.run(stop)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = SUBCOMMANDS.get(argv[0], run) if argv else run
    if command is not run:
        argv.pop(0)
    try:
        return command(argv)
    except UserError as exc:
        print(f"count-people: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
