"""``people-counter doctor``: run every check against the counter's configured settings and print the table.

Exit status: 0 when no required check failed, 1 when one did, 2 for bad arguments or settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Callable

from count_people.config import ENV_PREFIX, Settings, load_settings
from count_people.errors import UserError
from gst_grabber.config import CODECS

from doctor import counter_checks, grabber_checks
from doctor.report import SKIPPED, Result, failed, table

FRAME_SUFFIXES = (".jpg", ".jpeg")


def _user(text: str) -> tuple[int, int]:
    uid, _, gid = text.partition(":")
    try:
        return int(uid), int(gid or 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected UID[:GID] as numbers, got {text!r}") from None


def frame_folder(settings: Settings) -> Path | None:
    """The grabber's output folder, when the counter reads a grabber frame file (not a video or image folder)."""
    source = Path(settings.source)
    return source.parent if source.suffix.lower() in FRAME_SUFFIXES else None


def _frames(args: argparse.Namespace, settings: Settings) -> list[Result]:
    folder = frame_folder(settings)
    if folder is None:
        return [Result("frames", "frame folder", SKIPPED, f"source {settings.source} is not a frame file")]
    return grabber_checks.frame_folder_checks(folder, args.grabber_user)


#: Name (for --skip) -> check; each returns its table rows.
CHECKS: dict[str, Callable[[argparse.Namespace, Settings], list[Result]]] = {
    "gstreamer": lambda args, _settings: grabber_checks.gstreamer_checks(args.codec),
    "docker": lambda _args, _settings: grabber_checks.docker_checks(os.environ),
    "frames": _frames,
    "python": lambda _args, settings: counter_checks.python_checks(settings),
    "model": lambda _args, settings: counter_checks.model_checks(settings),
    "greengrass": lambda _args, settings: counter_checks.greengrass_checks(os.environ, settings),
    "outputs": lambda _args, settings: counter_checks.output_checks(settings),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="people-counter doctor",
        description="Check this machine for what the grabber and the counter need; print a table with one fix "
        "per problem. Exit 1 when a required check fails.",
        epilog=f"The counter's settings come from --config and {ENV_PREFIX}* variables, as for count-people.",
    )
    parser.add_argument("--config", metavar="FILE", help=f"counter settings file (env {ENV_PREFIX}CONFIG)")
    parser.add_argument("--codec", choices=CODECS, default=os.environ.get("GRABBER_CODEC", "h264"),
                        help="the grabber's camera codec (env GRABBER_CODEC; default h264)")
    parser.add_argument("--grabber-user", type=_user, metavar="UID[:GID]",
                        help="who must be able to write the frame folder (default: ggc_user where it exists, "
                        "else the image's 10001:0)")
    parser.add_argument("--skip", action="append", choices=list(CHECKS), default=[],
                        help="leave a check out (repeatable), e.g. --skip docker where no engine is meant to run")
    return parser


def doctor(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings({}, config_file=args.config)
    results: list[Result] = []
    for name, check in CHECKS.items():
        if name in args.skip:
            results.append(Result(name, "(all)", SKIPPED, "--skip " + name))
        else:
            results.extend(check(args, settings))
    print(table(results))
    problems = failed(results)
    print(f"\n{len(problems)} problem(s)" if problems else "\nno problems found", flush=True)
    return 1 if problems else 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {"doctor": doctor}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: people-counter {{{','.join(COMMANDS)}}} [--help]", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except UserError as exc:
        print(f"people-counter {argv[0]}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
