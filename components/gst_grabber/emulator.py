"""RTSP camera emulator (``rtsp-emulator``): video files looped, or a test pattern, as H.264 RTSP.

Each source gets its own mount: ``/cam1``, ``/cam2``, ... in order, or a name of its own with
``--mount NAME=SOURCE`` (one per camera of a cameras list); 127.0.0.1 by default. A file is decoded
by a player pipeline that seeks back to the start at its end and hands raw frames to the RTSP side
through ``intervideosink``/``intervideosrc``; so the served stream never ends, keeps a steady frame
rate and its timestamps run on across loops. Needs GStreamer's GI bindings (extra ``grabber``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from gst_grabber.preflight import describe_missing, launch_elements, missing_elements

TEST_PATTERN = "test"
PASSWORD_ENV = "RTSP_EMULATOR_PASSWORD"


class EmulatorError(RuntimeError):
    """Bad source or a server that cannot start; the message is shown as one line."""


def _gi():
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as exc:
        raise EmulatorError(
            f"GStreamer GI bindings unavailable ({exc}); install the 'grabber' extra and gir1.2-gst-rtsp-server-1.0"
        ) from None
    Gst.init(None)
    return GLib, Gst, GstRtspServer


def _encoder(bitrate_kbps: int, fps: int) -> str:
    # Zero-latency, one keyframe per second: a (re)connecting client gets a picture within a second.
    return (
        f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate_kbps} key-int-max={fps} "
        "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
    )


class _FilePlayer:
    """Decodes one file in real time into an inter channel, looping forever."""

    def __init__(self, Gst, path: Path, channel: str, caps: str) -> None:
        self._Gst = Gst
        self.pipeline = Gst.parse_launch(self.description(path, channel, caps))
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::eos", self._on_eos)
        bus.connect("message::error", self._on_error)
        self.path = path
        self.error: str | None = None

    @staticmethod
    def description(path: Path, channel: str, caps: str) -> str:
        location = str(path).replace("\\", "\\\\").replace('"', '\\"')
        return (f'filesrc location="{location}" ! decodebin ! videoconvert ! videoscale ! videorate '
                f"! {caps} ! intervideosink channel={channel}")

    def start(self) -> None:
        if self.pipeline.set_state(self._Gst.State.PLAYING) == self._Gst.StateChangeReturn.FAILURE:
            raise EmulatorError(f"cannot play {self.path}")

    def _on_eos(self, _bus, _msg) -> None:
        self.pipeline.seek_simple(self._Gst.Format.TIME, self._Gst.SeekFlags.FLUSH, 0)

    def _on_error(self, _bus, msg) -> None:
        err, _debug = msg.parse_error()
        self.error = f"{self.path}: {err.message}"
        print(f"rtsp-emulator: error: {self.error}", file=sys.stderr, flush=True)


MOUNT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def named_sources(sources: Sequence[str], mounts: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(mount name, source) pairs: positional sources as cam1, cam2, ..., then each ``NAME=SOURCE``."""
    pairs = [(f"cam{index}", source) for index, source in enumerate(sources, start=1)]
    for text in mounts:
        name, sep, source = text.partition("=")
        if not sep or not MOUNT_NAME.match(name) or not source:
            raise EmulatorError(f"--mount {text!r}: expected NAME=SOURCE, NAME of letters, digits, '_', '.', '-'")
        pairs.append((name, source))
    names = [name for name, _source in pairs]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate:
        raise EmulatorError(f"mount /{duplicate} is given twice; give each source its own name")
    return pairs or [("cam1", TEST_PATTERN)]


class Emulator:
    """An RTSP server with one mount per (name, source); ``run`` blocks until ``stop`` or a signal."""

    def __init__(
        self,
        sources: Sequence[tuple[str, str]],
        host: str = "127.0.0.1",
        port: int = 8554,
        width: int = 640,
        height: int = 480,
        fps: int = 25,
        bitrate_kbps: int = 2000,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.GLib, self.Gst, GstRtspServer = _gi()
        self.host, self.port = host, port
        self.players: list[_FilePlayer] = []
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(host)
        self.server.set_service(str(port))
        caps = f"video/x-raw,format=I420,width={width},height={height},framerate={fps}/1"
        mounts = self.server.get_mount_points()
        self.paths: list[str] = []
        launches = [self.mount_descriptions(name, source, caps, bitrate_kbps, fps) for name, source in sources]
        self._preflight([text for pair in launches for text in pair if text])
        for (name, source), (player, launch) in zip(sources, launches):
            if player:
                self.players.append(_FilePlayer(self.Gst, Path(source), name, caps))
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(launch)
            factory.set_shared(True)
            mount = f"/{name}"
            if user:
                self._protect(GstRtspServer, factory, user)
            mounts.add_factory(mount, factory)
            self.paths.append(mount)
        if user:
            self._install_auth(GstRtspServer, user, password or "")
        self.loop = self.GLib.MainLoop()

    @staticmethod
    def mount_descriptions(
        name: str, source: str, caps: str, bitrate_kbps: int, fps: int
    ) -> tuple[str | None, str]:
        """(file player description or None, RTSP media description) of mount ``/<name>``."""
        player = None
        if source == TEST_PATTERN:
            head = f"videotestsrc is-live=true pattern=ball ! timeoverlay ! {caps}"
        else:
            path = Path(source)
            if not path.is_file():
                raise EmulatorError(f"video file not found: {source}")
            player = _FilePlayer.description(path, name, caps)
            head = f"intervideosrc channel={name} timeout=18446744073709551615 ! {caps}"
        queue = "queue max-size-buffers=2 leaky=downstream"
        return player, f"( {head} ! {queue} ! {_encoder(bitrate_kbps, fps)} )"

    def _preflight(self, descriptions: Sequence[str]) -> None:
        """Every element exists and every pipeline builds, before anything says "serving": otherwise
        clients would only ever get "503 Service Unavailable"."""
        elements = list(dict.fromkeys(e for text in descriptions for e in launch_elements(text)))
        missing = missing_elements(elements, lambda name: self.Gst.ElementFactory.find(name) is not None)
        if missing:
            raise EmulatorError(describe_missing(missing))
        for text in descriptions:
            try:
                self.Gst.parse_launch(text).set_state(self.Gst.State.NULL)
            except self.GLib.Error as exc:
                raise EmulatorError(f"cannot build pipeline {text!r}: {exc.message}") from None

    def _protect(self, GstRtspServer, factory, user: str) -> None:
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role(user, "media.factory.access", True)
        permissions.add_permission_for_role(user, "media.factory.construct", True)
        factory.set_permissions(permissions)

    def _install_auth(self, GstRtspServer, user: str, password: str) -> None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", user)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        self.server.set_auth(auth)

    def urls(self) -> list[str]:
        return [f"rtsp://{self.host}:{self.port}{path}" for path in self.paths]

    def run(self) -> None:
        for player in self.players:
            player.start()
        if self.server.attach(None) == 0:
            raise EmulatorError(f"cannot listen on {self.host}:{self.port} (port in use?)")
        for url in self.urls():
            print(f"rtsp-emulator: serving {url}", flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.GLib.unix_signal_add(self.GLib.PRIORITY_HIGH, sig, self.stop)
        self.loop.run()
        for player in self.players:
            player.pipeline.set_state(self.Gst.State.NULL)

    def stop(self) -> bool:
        self.loop.quit()
        return False


def _size(text: str) -> tuple:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtsp-emulator",
        description="Serve video files (looped) or a test pattern as H.264 RTSP cameras at /cam1, /cam2, ... "
        "or at names of their own (--mount).",
    )
    parser.add_argument("sources", nargs="*",
                        help=f"video files, or '{TEST_PATTERN}' for a moving test pattern (the default without "
                        "--mount), served at /cam1, /cam2, ...")
    parser.add_argument("--mount", action="append", default=[], metavar="NAME=SOURCE",
                        help="serve SOURCE (a video file or 'test') at /NAME, e.g. --mount entrance=door.mp4; "
                        "repeatable, one per camera")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8554, help="RTSP port (default 8554)")
    parser.add_argument("--size", type=_size, default=(640, 480), help="served WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--fps", type=int, default=25, help="served frame rate (default 25)")
    parser.add_argument("--bitrate-kbps", type=int, default=2000, help="H.264 bitrate (default 2000)")
    parser.add_argument("--user", help="require RTSP basic auth with this user; the password comes from the "
                        f"environment variable {PASSWORD_ENV} (never the command line, which ps shows)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    password = os.environ.get(PASSWORD_ENV, "")
    try:
        if args.user and not password:
            raise EmulatorError(f"--user {args.user} needs its password in the environment variable {PASSWORD_ENV}")
        emulator = Emulator(
            named_sources(args.sources, args.mount), host=args.host, port=args.port, width=args.size[0],
            height=args.size[1], fps=args.fps, bitrate_kbps=args.bitrate_kbps, user=args.user, password=password,
        )
        emulator.run()
    except EmulatorError as exc:
        print(f"rtsp-emulator: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
