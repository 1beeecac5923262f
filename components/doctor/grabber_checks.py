"""What the grabber needs on this machine: GStreamer elements, a Docker engine it may use, and the frame folder."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

from gst_grabber.config import GrabberConfig
from gst_grabber.emulator import Emulator
from gst_grabber.pipeline import required_elements
from gst_grabber.preflight import (
    MissingElement,
    describe_missing,
    gst_inspect_exists,
    launch_elements,
    missing_elements,
)

from doctor.report import OK, PROBLEM, WARNING, Result

#: The image's own user (docker/gst_grabber/Dockerfile: useradd --uid 10001 --gid 0).
IMAGE_USER = (10001, 0)
#: Greengrass runs components as the nucleus's default user unless a deployment says otherwise
#: (https://docs.aws.amazon.com/greengrass/v2/APIReference/API_ComponentRunWith.html, posixUser); the
#: grabber's recipe passes that user to `docker run --user`. ggc_user is the installer's default.
COMPONENT_USER = "ggc_user"


def gstreamer_checks(codec: str) -> List[Result]:
    """The grabber's elements for ``codec`` are required; the emulator's (local testing only) give a warning."""
    try:
        exists = gst_inspect_exists()
    except MissingElement as exc:
        return [Result("grabber", "gstreamer", PROBLEM, str(exc).split(":")[0],
                       "sudo apt-get install gstreamer1.0-tools")]
    _player, test_pattern = Emulator.mount_descriptions("cam1", "test", "video/x-raw", 1000, 25)
    wanted = (
        ("grabber", f"gstreamer elements (codec {codec})", PROBLEM,
         required_elements(GrabberConfig(url="rtsp://camera/", codec=codec))),
        ("emulator", "gstreamer elements", WARNING, launch_elements(test_pattern)),
    )
    results = []
    for component, check, severity, elements in wanted:
        missing = missing_elements(elements, exists)
        if missing:
            message = describe_missing(missing)
            detail, _, fix = message.partition(": ")
            results.append(Result(component, check, severity, detail, "sudo " + fix))
        else:
            results.append(Result(component, check, OK, f"{len(elements)} elements found"))
    return results


def docker_checks(environ: Mapping[str, str]) -> List[Result]:
    """The grabber component runs its image with the docker CLI, as the component user."""
    if shutil.which("docker") is None:
        return [Result("grabber", "docker engine", PROBLEM, "docker CLI not installed",
                       "sudo apt-get install docker.io")]
    host = environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        answer = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], env=dict(environ),
                                capture_output=True, text=True, timeout=20)
        error = answer.stderr.strip().splitlines()[-1] if answer.returncode else ""
    except subprocess.TimeoutExpired:
        error = "no answer within 20 s"
    if error:
        said = "" if error.startswith("Cannot connect to the Docker daemon") else f": {error}"  # repeats the host
        engine = Result("grabber", "docker engine", PROBLEM, f"no engine answers at {host}{said}",
                        "sudo systemctl start docker (or set DOCKER_HOST to a running engine)")
    else:
        engine = Result("grabber", "docker engine", OK, f"Docker {answer.stdout.strip()} at {host}")
    return [engine, *_docker_group_results()]


def _docker_group_results() -> List[Result]:
    try:
        group = grp.getgrnam("docker")
    except KeyError:
        return [Result("grabber", "docker group", PROBLEM, "no docker group on this machine",
                       "sudo apt-get install docker.io")]
    results = []
    user = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        results.append(Result("grabber", "docker group", OK, "running as root"))
    elif group.gr_gid in os.getgroups():
        results.append(Result("grabber", "docker group", OK, f"{user} is in the docker group"))
    elif user in group.gr_mem:
        results.append(Result("grabber", "docker group", PROBLEM, f"{user} was added after this login",
                              "log out and in again (or run: newgrp docker)"))
    else:
        results.append(Result("grabber", "docker group", PROBLEM, f"{user} is not in the docker group",
                              f"sudo usermod -aG docker {user}, then log in again"))
    try:
        component = pwd.getpwnam(COMPONENT_USER)
    except KeyError:
        return results
    if component.pw_gid != group.gr_gid and COMPONENT_USER not in group.gr_mem:
        results.append(Result("grabber", "docker group", PROBLEM,
                              f"Greengrass user {COMPONENT_USER} is not in the docker group",
                              "sudo scripts/setup-frames-tmpfs.sh, then: sudo systemctl restart greengrass"))
    return results


def default_grabber_user() -> Tuple[int, int]:
    """The user the grabber's container writes frames as: the Greengrass component user where there is one."""
    try:
        component = pwd.getpwnam(COMPONENT_USER)
    except KeyError:
        return IMAGE_USER
    return component.pw_uid, component.pw_gid


def _mount_of(path: Path) -> Tuple[str, str]:
    """(mount point, file system type) holding ``path``: the longest mount point above it."""
    resolved = str(path.resolve())
    best = ("/", "unknown")
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            point = fields[1].replace("\\040", " ")
            inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[0]):
                best = (point, fields[2])
    return best


def _writable_by(info: os.stat_result, uid: int, gid: int) -> bool:
    if uid == 0:
        return True
    if info.st_uid == uid:
        needed = stat.S_IWUSR | stat.S_IXUSR
    elif info.st_gid == gid:
        needed = stat.S_IWGRP | stat.S_IXGRP
    else:
        needed = stat.S_IWOTH | stat.S_IXOTH
    return info.st_mode & needed == needed


def frame_folder_checks(folder: Path, user: Optional[Tuple[int, int]] = None) -> List[Result]:
    """The grabber writes the frame there and the counter reads it: a tmpfs keeps that off the SD card."""
    uid, gid = user or default_grabber_user()
    setup = f"sudo scripts/setup-frames-tmpfs.sh --dir {folder}"
    if not folder.is_dir():
        return [Result("frames", "folder exists", PROBLEM, f"{folder} does not exist", setup)]
    point, fstype = _mount_of(folder)
    info = folder.stat()
    results = [
        Result("frames", "folder exists", OK, str(folder)),
        Result("frames", "is a tmpfs", OK, f"tmpfs mounted at {point}") if fstype == "tmpfs" else
        Result("frames", "is a tmpfs", PROBLEM, f"{fstype} at {point}: frames would wear the disk", setup),
    ]
    owner = f"owner {info.st_uid}:{info.st_gid}, mode {info.st_mode & 0o7777:o}"
    if _writable_by(info, uid, gid):
        results.append(Result("frames", f"writable by uid {uid}", OK, owner))
    else:
        results.append(Result("frames", f"writable by uid {uid}", PROBLEM, owner,
                              f"sudo chown {uid}:{gid} {folder} (or {setup} --user <component user>)"))
    return results
