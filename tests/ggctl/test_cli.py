"""The ggctl command line: help texts, and AWS failures as one-line errors with the fix (no tracebacks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.stub import Stubber
from ggctl import s3
from ggctl.aws import Aws
from ggctl.cli import main
from ggctl.errors import GgctlError
from ggctl.models import ModelFiles
from ggctl_support import REGION, ROOT

GGCTL = str(Path(sys.executable).with_name("ggctl"))


@pytest.mark.parametrize(("command", "expected"), [
    ([], ["--region", "--profile", "--s3-endpoint-url", "--greengrass-endpoint-url", "--dry-run", "--name",
          "--output", "build", "publish", "deploy", "status", "fetch-model"]),
    (["build"], ["COMPONENT", "count_people", "gst-grabber", "--bucket", "--build-arg", "--network", "--gdk",
                 "docker save", "--platform", "--secrets", "--model", "--params", "--labels", "--region"]),
    (["publish"], ["--bucket", "--bump", "SHA-256", "--output"]),
    (["deploy"], ["--target", "thing/NAME|thinggroup/NAME", "--config", "--version", "--deployment-name",
                  "keep every other component", "--dry-run"]),
    (["status"], ["--deployment-id", "--target", "every page"]),
    (["fetch-model"], ["NAME", "--to", ".params"]),
])
def test_help_of_every_command(command: list[str], expected: list[str]) -> None:
    result = subprocess.run([GGCTL, *command, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for word in expected:
        assert word in text, word


def run_cli(argv: list[str], capsys: pytest.CaptureFixture, aws: Aws | None = None) -> tuple[int, str]:
    code = main(["--root", str(ROOT), *argv], aws=aws)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_no_credentials(aws_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                        tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, err = run_cli(["--region", REGION, "--out", str(tmp_path), "deploy", "--target", "thing/x"], capsys)
    assert code == 1
    assert err.count("\n") == 1 and "no AWS credentials found" in err and "--profile" in err


def test_unknown_profile(aws_env: str, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, err = run_cli(["--profile", "nope", "--out", str(tmp_path), "status", "--deployment-id", "x"], capsys)
    assert code == 1 and err.count("\n") == 1 and "nope" in err and "--profile" in err


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("AccessDeniedException", 403, "access denied"),
    ("ThrottlingException", 429, "throttled by AWS after retries"),
    ("ExpiredTokenException", 403, "refresh them"),
])
def test_aws_errors_are_one_line(aws: Aws, capsys: pytest.CaptureFixture, tmp_path: Path, code: str, status: int,
                                 expected: str) -> None:
    with Stubber(aws.greengrass()) as stubber:
        stubber.add_client_error("get_deployment", code, http_status_code=status, service_message="nope")
        exit_code, err = run_cli(["--out", str(tmp_path), "status", "--deployment-id", "d-1"], capsys, aws)
    assert exit_code == 1 and err.count("\n") == 1
    assert err.startswith("ggctl: error: reading deployment d-1: ") and expected in err


def test_missing_bucket_on_real_s3(aws: Aws, tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"x")
    with pytest.raises(GgctlError, match="the bucket does not exist; run 'ggctl publish'"):
        s3.upload(aws.s3(), "pc-no-such-bucket", "k/a.bin", path, "sha", False, print)


def test_bucket_in_another_region_is_refused(aws: Aws, aws_env: str) -> None:
    other = Aws(region="us-west-2", s3_endpoint_url=aws_env)
    other.s3().create_bucket(Bucket="pc-oregon", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    with pytest.raises(GgctlError, match=f"bucket pc-oregon is in us-west-2, components are registered in {REGION}"):
        s3.ensure_bucket(aws.s3(), "pc-oregon", REGION, False, print)


def test_build_dry_run_and_unknown_component(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["--root", str(ROOT), "--out", str(tmp_path), "--dry-run", "build"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"would build com.example.gst-grabber 1.0.0: {tmp_path}/artifacts/com.example.gst-grabber/1.0.0",
                   f"would build com.example.count_people 1.0.0: {tmp_path}/artifacts/com.example.count_people/1.0.0"]
    assert not list(tmp_path.iterdir())
    code, err = run_cli(["--out", str(tmp_path), "build", "camera"], capsys)
    assert code == 1 and "unknown component camera; choose from gst-grabber, count_people" in err


def test_missing_docker_fails_the_grabber_only(capsys: pytest.CaptureFixture, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no docker CLI
    code, err = run_cli(["--out", str(tmp_path), "build"], capsys)
    assert code == 1
    assert err == "ggctl: error: gst-grabber: the docker CLI is not installed; install Docker to build the grabber " \
                  "image\n"
    assert (tmp_path / "artifacts/com.example.count_people/1.0.0/count_people.zip").is_file()
    assert not list((tmp_path / "artifacts/com.example.gst-grabber/1.0.0").iterdir())


def test_unreachable_docker_engine_fails_the_grabber_only(capsys: pytest.CaptureFixture, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    code, err = run_cli(["--out", str(tmp_path), "build"], capsys)
    assert code == 1 and err.startswith("ggctl: error: gst-grabber: no Docker engine answers (")
    assert err.count("\n") == 1 and "start dockerd or set DOCKER_HOST" in err
    assert (tmp_path / "artifacts/com.example.count_people/1.0.0/count_people.zip").is_file()


def test_options_after_the_subcommand_and_json_output(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["build", "--root", str(ROOT), "count_people", "--out", str(tmp_path), "--dry-run",
                 "--output", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"wouldBuild": [{"name": "com.example.count_people", "version": "1.0.0"}]}
    assert "would build" in captured.err  # progress on stderr, the document alone on stdout
    assert not list(tmp_path.iterdir())


def test_fetch_model_saves_the_pretrained_weights(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                                  tmp_path: Path) -> None:
    """The model zoo download is replaced by a params file the test makes; the rest is GluonCV's own code."""
    model_zoo = pytest.importorskip("gluoncv.model_zoo", reason="needs the mxnet extra (Python <= 3.11)")
    from count_people.detectors.gluoncv import save_untrained_params

    name = "ssd_512_resnet50_v1_voc"  # the counter's default model
    zoo_file = save_untrained_params(name, str(tmp_path / "zoo.params"))
    real_get_model = model_zoo.get_model
    requested = []

    def from_zoo(model: str, pretrained: bool = False, **kwargs):
        if model != name:  # the SSD's base network, which GluonCV builds through get_model too
            return real_get_model(model, pretrained=pretrained, **kwargs)
        requested.append((model, pretrained))
        net = real_get_model(model, pretrained=False, pretrained_base=False, **kwargs)
        net.load_parameters(zoo_file)
        return net

    monkeypatch.setattr(model_zoo, "get_model", from_zoo)
    target = tmp_path / "models" / "ssd.params"
    assert main(["fetch-model", name, "--to", str(target), "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"model": name, "params": str(target)}
    assert requested == [(name, True)]
    import mxnet as mx

    saved, original = mx.nd.load(str(target)), mx.nd.load(zoo_file)
    assert saved.keys() == original.keys()
    assert all((saved[key] == original[key]).asnumpy().all() for key in saved)
    # ggctl build packages it as the counter's params.
    assert ModelFiles(params=target).names() == {"params": "ssd.params"}

    def offline(model: str, pretrained: bool = False, **kwargs):
        raise OSError("Failed downloading url https://apache-mxnet.s3-accelerate.amazonaws.com/...")

    monkeypatch.setattr(model_zoo, "get_model", offline)
    code, err = run_cli(["fetch-model", name, "--to", str(tmp_path / "x.params")], capsys)
    assert code == 1 and "run fetch-model where the GluonCV model zoo is reachable" in err and err.count("\n") == 1
