"""``gst-launch-1.0`` without the camera's credentials on its command line.

gst-launch-1.0 takes every property from argv, where ``ps`` shows it to any user of the box. This
child parses the same description (``Gst.parse_launchv``), then sets the element named ``camera``'s
``user-id`` and ``user-pw`` (rtspsrc's credential properties) from its environment, which only its
owner and root can read. It runs until end of stream or an error, printed the way gst-launch
prints it (``ERROR: from element ...``, exit 1), and stops cleanly on SIGINT or SIGTERM (exit 0).
With ``-v`` it prints each ``last-message`` notification as gst-launch -v does (what the keyframe
probe's ``identity silent=false`` reports per buffer).

It talks to libgstreamer through ctypes: the grabber image stays standard-library Python with
GStreamer's own packages, no PyGObject.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Sequence

#: The child's environment variables holding the credentials (set by the runner, removed on reading).
USER_ENV = "GST_GRABBER_CAMERA_USER"
PASSWORD_ENV = "GST_GRABBER_CAMERA_PASSWORD"
#: The name the pipeline gives its rtspsrc (pipeline.py).
SOURCE_NAME = "camera"

_STATE_NULL, _STATE_PLAYING = 1, 4
_MESSAGE_EOS, _MESSAGE_ERROR = 1 << 0, 1 << 1
_POLL_NS = 100_000_000
_DEEP_NOTIFY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class _GError(ctypes.Structure):
    _fields_ = [("domain", ctypes.c_uint32), ("code", ctypes.c_int), ("message", ctypes.c_char_p)]


def _library(name: str, soname: str) -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library(name) or soname)


def _bind() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    gst, gobject = _library("gstreamer-1.0", "libgstreamer-1.0.so.0"), _library("gobject-2.0", "libgobject-2.0.so.0")
    pointer = ctypes.c_void_p
    gst.gst_parse_launchv.restype = pointer
    gst.gst_parse_launchv.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.POINTER(_GError))]
    gst.gst_bin_get_by_name.restype = pointer
    gst.gst_bin_get_by_name.argtypes = [pointer, ctypes.c_char_p]
    gst.gst_element_set_state.argtypes = [pointer, ctypes.c_int]
    gst.gst_element_get_bus.restype = pointer
    gst.gst_element_get_bus.argtypes = [pointer]
    gst.gst_bus_timed_pop_filtered.restype = pointer
    gst.gst_bus_timed_pop_filtered.argtypes = [pointer, ctypes.c_uint64, ctypes.c_int]
    gst.gst_message_get_structure.restype = pointer
    gst.gst_message_get_structure.argtypes = [pointer]
    gst.gst_message_parse_error.argtypes = [pointer, ctypes.POINTER(ctypes.POINTER(_GError)),
                                            ctypes.POINTER(ctypes.c_char_p)]
    gst.gst_mini_object_unref.argtypes = [pointer]
    gst.gst_object_unref.argtypes = [pointer]
    gst.gst_object_get_path_string.restype = pointer
    gst.gst_object_get_path_string.argtypes = [pointer]
    gobject.g_object_set.argtypes = None  # variadic: name, value, ..., NULL
    gobject.g_object_get.argtypes = None
    gobject.g_param_spec_get_name.restype = ctypes.c_char_p
    gobject.g_param_spec_get_name.argtypes = [pointer]
    gobject.g_signal_connect_data.argtypes = [pointer, ctypes.c_char_p, _DEEP_NOTIFY, pointer, pointer, ctypes.c_int]
    return gst, gobject


def _print_last_messages(gst: ctypes.CDLL, gobject: ctypes.CDLL, pipeline: int) -> object:
    """Print ``PATH: last-message = VALUE`` per notification; returns the callback, to be kept alive."""

    def notified(_pipeline: int, element: int, spec: int, _data: int) -> None:
        if gobject.g_param_spec_get_name(spec) != b"last-message":
            return
        value = ctypes.c_char_p()
        gobject.g_object_get(ctypes.c_void_p(element), b"last-message", ctypes.byref(value), None)
        path = ctypes.string_at(gst.gst_object_get_path_string(element)).decode(errors="replace")
        print(f"{path}: last-message = {(value.value or b'').decode(errors='replace')}", flush=True)

    callback = _DEEP_NOTIFY(notified)
    gobject.g_signal_connect_data(pipeline, b"deep-notify", callback, None, None, 0)
    return callback


def run(description: Sequence[str], user: str, password: str, verbose: bool = False) -> int:
    gst, gobject = _bind()
    gst.gst_init(None, None)
    argv = (ctypes.c_char_p * (len(description) + 1))(*[token.encode() for token in description], None)
    error = ctypes.POINTER(_GError)()
    pipeline = gst.gst_parse_launchv(argv, ctypes.byref(error))
    if error:
        print(f"ERROR: pipeline could not be constructed: {error.contents.message.decode(errors='replace')}.",
              flush=True)
        return 1
    source = gst.gst_bin_get_by_name(pipeline, SOURCE_NAME.encode())
    if source and user:
        gobject.g_object_set(ctypes.c_void_p(source), b"user-id", user.encode(), b"user-pw", password.encode(),
                             None)
    if source:
        gst.gst_object_unref(source)
    keep = _print_last_messages(gst, gobject, pipeline) if verbose else None  # noqa: F841 - held while running
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    bus = gst.gst_element_get_bus(pipeline)
    gst.gst_element_set_state(pipeline, _STATE_PLAYING)
    status = 0
    try:
        while not stopping:
            message = gst.gst_bus_timed_pop_filtered(bus, _POLL_NS, _MESSAGE_EOS | _MESSAGE_ERROR)
            if not message:
                continue
            if gst.gst_message_get_structure(message):  # an ERROR carries one, an EOS none
                status = _print_error(gst, message)
            gst.gst_mini_object_unref(message)
            break
    finally:
        gst.gst_element_set_state(pipeline, _STATE_NULL)
        gst.gst_object_unref(bus)
        gst.gst_object_unref(pipeline)
    return status


def _print_error(gst: ctypes.CDLL, message: int) -> int:
    error, debug = ctypes.POINTER(_GError)(), ctypes.c_char_p()
    gst.gst_message_parse_error(message, ctypes.byref(error), ctypes.byref(debug))
    text = error.contents.message.decode(errors="replace") if error else "unknown error"
    print(f"ERROR: from element {SOURCE_NAME}: {text}", flush=True)
    if debug.value:
        print(f"Additional debug info:\n{debug.value.decode(errors='replace')}", flush=True)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    description = list(sys.argv[1:] if argv is None else argv)
    verbose = description[:1] == ["-v"]
    user, password = os.environ.pop(USER_ENV, ""), os.environ.pop(PASSWORD_ENV, "")
    return run(description[1:] if verbose else description, user, password, verbose)


if __name__ == "__main__":
    sys.exit(main())
