"""Closing the Greengrass IPC client prints nothing (issue 15, defect 10): the SDK used to print a RuntimeError
traceback for every open stream at each stop (SIGTERM under --publish ipc)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from gg_ipc_support import IpcServer
from support import REPO_ROOT

CLIENT = textwrap.dedent("""
    import time
    from count_people.comms.ipc import connect_ipc
    for _ in range(3):
        client = connect_ipc()
        client.subscribe_to_configuration_update(key_path=[], on_stream_event=lambda _event: None,
                                                 on_stream_error=lambda _error: True, on_stream_closed=lambda: None)
        client.close(executor_wait=False)
        time.sleep(0.3)  # the stream's closing callback arrives after close() returned
    print("closed 3")
""")


def test_closing_with_open_streams_prints_no_traceback(tmp_path):
    ipc = IpcServer(tmp_path, {"threshold": 0.5}).start()
    try:
        done = subprocess.run([sys.executable, "-c", CLIENT], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **ipc.env, "PYTHONPATH": str(REPO_ROOT / "components")})
    finally:
        ipc.close()
    assert done.returncode == 0 and done.stdout == "closed 3\n", done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "RuntimeError" not in done.stderr, done.stderr[-2000:]
