"""The test bed itself: a stopped nucleus leaves no process, cgroup or socket behind."""

from __future__ import annotations

from pathlib import Path

from lite_bed import running_nucleus
from nucleus import RUN_DIR
from support import wait_for

NAME, VERSION = "com.example.Sleeper", "1.0.0"


def running(pid: int) -> bool:
    """Alive and not a zombie (orphans go to PID 1, which in a container may never reap them)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_stop_kills_everything_and_removes_the_cgroup(nucleus_bin):
    recipe = {"RecipeFormatVersion": "2020-01-25", "ComponentName": NAME, "ComponentVersion": VERSION,
              "Manifests": [{"Platform": {"os": "linux", "runtime": "*"},
                             "Lifecycle": {"Run": "sleep 600 & sleep 600; wait"}}]}
    with running_nucleus(nucleus_bin, {NAME: {"version": VERSION, "componentType": "GENERIC"}}) as nucleus:
        component = nucleus.run_component(NAME, VERSION, recipe)
        procs = component.cgroup / "cgroup.procs"
        wait_for(lambda: len(procs.read_text().split()) >= 3, 10, what="the step and its two children")
        pids = [int(pid) for pid in procs.read_text().split()]
        daemons = [process.pid for process in nucleus.processes.values()]
        cgroup = component.cgroup
    assert not cgroup.exists(), "the component's cgroup is removed"
    alive = [pid for pid in pids + daemons if running(pid)]
    assert not alive, f"processes left running: {alive}"
    assert not [entry for entry in RUN_DIR.iterdir() if entry.is_socket()], "no daemon socket is left"
