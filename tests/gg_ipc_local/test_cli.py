"""``gg-ipc-local`` as a user runs it: the printed environment works, bad input is a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys

from gg_ipc_support import connect_client, write_recipe


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
