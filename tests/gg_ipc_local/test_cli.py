"""``gg-ipc-local`` as a user runs it: the printed environment works, bad input is a one-line error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from gg_ipc_support import TOKEN, connect_client, threshold_problem, validate_with, write_recipe
from support import wait_for


def test_bad_recipe_is_a_one_line_error(tmp_path):
    (tmp_path / "bad.yaml").write_text("not: [a recipe")
    done = subprocess.run([sys.executable, "-m", "gg_ipc_local", "--recipe", str(tmp_path / "bad.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("gg-ipc-local: error: recipe") and done.stderr.count("\n") == 1


def test_env_file_and_config_overrides(tmp_path):
    recipe = write_recipe(tmp_path, {"threshold": 0.5, "camera_id": "c1"})
    (tmp_path / "over.yaml").write_text("threshold: 0.7\n")
    socket_path = f"/tmp/ggipc-cli-{os.getpid()}.socket"
    server = subprocess.Popen([sys.executable, "-m", "gg_ipc_local", "--recipe", str(recipe), "--socket", socket_path,
                               "--config", str(tmp_path / "over.yaml"), "--env-file", str(tmp_path / "gg.env")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        printed = [server.stdout.readline() for _ in range(4)]
        assert printed[0].startswith("# run com.example.PeopleCounter")
        assert (tmp_path / "gg.env").read_text() == "".join(printed[1:])
        assert oct((tmp_path / "gg.env").stat().st_mode & 0o777) == "0o600"
        env = dict(line[len("export "):].strip().split("=", 1) for line in printed[1:])
        client = connect_client(env["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"], env["SVCUID"])
        assert client.get_configuration().value["threshold"] == 0.7
        assert client.get_configuration().value["camera_id"] == "c1"
        client.close()
    finally:
        server.terminate()
        assert server.wait(15) == 0
    assert not os.path.exists(socket_path), "the socket is removed on exit"


def test_sighup_deploys_the_config_file_again_after_validation(tmp_path):
    recipe = write_recipe(tmp_path, {"threshold": 0.5})
    config = tmp_path / "over.yaml"
    config.write_text("threshold: 0.6\n")
    socket_path = f"/tmp/ggipc-hup-{os.getpid()}.socket"
    server = subprocess.Popen([sys.executable, "-m", "gg_ipc_local", "--recipe", str(recipe), "--socket", socket_path,
                               "--token", TOKEN, "--config", str(config)],
                              stdout=subprocess.PIPE, stderr=(tmp_path / "server.log").open("wb"), text=True)
    try:
        server.stdout.readline()  # the server is up once it prints
        client = connect_client(socket_path, TOKEN)
        validate_with(client, threshold_problem)
        config.write_text("threshold: 2\n")
        server.send_signal(signal.SIGHUP)
        wait_for(lambda: "FAILED_NO_STATE_CHANGE" in (tmp_path / "server.log").read_text(), 10, what="the failure")
        assert "threshold must be in (0, 1], got 2" in (tmp_path / "server.log").read_text()
        assert client.get_configuration(key_path=["threshold"]).value == {"threshold": 0.6}
        config.write_text("threshold: 0.9\n")
        server.send_signal(signal.SIGHUP)
        wait_for(lambda: client.get_configuration(key_path=["threshold"]).value == {"threshold": 0.9}, 10,
                 what="the accepted deployment")
        client.close()
    finally:
        server.terminate()
        assert server.wait(15) == 0
