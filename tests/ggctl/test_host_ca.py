"""The host's added CAs that `ggctl build` passes into the grabber's image build, and the one-line TLS cause."""

from __future__ import annotations

import base64
import dataclasses
import subprocess
from pathlib import Path

import pytest
from ggctl import build, host_ca
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER, load_components
from ggctl_support import ROOT


def pem(seed: bytes, kind: str = "CERTIFICATE") -> str:
    body = base64.b64encode(seed * 40).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"])


def test_reads_the_certificates_an_administrator_added_and_nothing_else(tmp_path: Path) -> None:
    debian, anchors = tmp_path / "ca-certificates", tmp_path / "anchors"
    (debian / "corp").mkdir(parents=True)
    anchors.mkdir()
    proxy, root, rhel = pem(b"proxy"), pem(b"root"), pem(b"rhel")
    (debian / "proxy.crt").write_text(f"{proxy}\n{pem(b'secret', 'PRIVATE KEY')}\n")  # a key beside it stays
    (debian / "corp" / "root.crt").write_text(root + "\r\n")  # subfolders count, as update-ca-certificates reads them
    (debian / "notes.pem").write_text(pem(b"ignored"))  # Debian's tool reads *.crt only
    (anchors / "rhel.pem").write_text(rhel)
    (anchors / "same.crt").write_text(proxy)  # the same CA in both places is passed once
    (anchors / "der.cer").write_bytes(b"\x30\x82")

    assert host_ca.host_certificates(debian, [anchors, tmp_path / "missing"]) == [root, proxy, rhel]
    assert host_ca.host_certificates(tmp_path / "none", []) == []


def test_the_build_argument_holds_them_unless_the_user_passed_one() -> None:
    certificates = [pem(b"a"), pem(b"b")]
    assert host_ca.with_host_certificates({"BASE_IMAGE": "x"}, certificates) == {
        "EXTRA_CA_CERTS": f"{certificates[0]}\n{certificates[1]}\n", "BASE_IMAGE": "x"}
    assert host_ca.with_host_certificates({"EXTRA_CA_CERTS": "mine"}, certificates) == {"EXTRA_CA_CERTS": "mine"}
    assert host_ca.with_host_certificates({"BASE_IMAGE": "x"}, []) == {"BASE_IMAGE": "x"}


PIP_OUTPUT = """\
Step 5/16 : RUN apt-get update && ... python3 -m pip install ... "awsiotsdk==${AWSIOTSDK_VERSION}"
WARNING: Retrying (Retry(total=0, ...)) after connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: \
CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:992)'))'
ERROR: Could not find a version that satisfies the requirement awsiotsdk==1.31.0 (from versions: none)
"""


@pytest.mark.parametrize(("host_cas", "passed"), [(True, 2), (False, 0)])
def test_a_tls_failure_in_the_image_build_is_one_line_naming_the_cause(tmp_path: Path, monkeypatch,
                                                                        host_cas: bool, passed: int) -> None:
    """ggctl build runs a docker that fails as pip does behind an intercepting proxy; the argv it got is checked."""
    bin_dir, argv = tmp_path / "bin", tmp_path / "argv"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        "#!/bin/sh\n[ \"$1\" = version ] && { echo 28.2.2; exit 0; }\n"
        f"printf '%s\\n' \"$@\" > {argv}\ncat <<'EOF'\n{PIP_OUTPUT}EOF\n"
        "echo \"The command '/bin/sh -c apt-get update' returned a non-zero code: 1\" >&2\nexit 1\n")
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(host_ca, "host_certificates", lambda: [pem(b"a"), pem(b"b")])
    grabber = load_components(ROOT)[GRABBER.key]
    options = build.BuildOptions(host_ca=host_cas)
    built, errors = build.build_all(ROOT, {GRABBER.key: grabber}, [grabber], tmp_path / "out", options,
                                    report=lambda line: None)
    assert built == []
    assert errors == [
        f"gst-grabber: docker build could not verify HTTPS inside the image (CERTIFICATE_VERIFY_FAILED; {passed} "
        f"extra CA certificate(s) passed in): if your network intercepts TLS, add its CA to "
        f"/usr/local/share/ca-certificates (ggctl passes those in unless --no-host-ca) or pass "
        f"--build-arg EXTRA_CA_CERTS=\"$(cat ca.pem)\""]
    assert ("EXTRA_CA_CERTS=-----BEGIN CERTIFICATE-----" in argv.read_text()) is host_cas


def test_the_counter_wheel_names_the_cause_when_pip_cannot_verify_the_index(monkeypatch) -> None:
    """pip older than 24.2 trusts only its own bundle: fetching setuptools for the wheel build then fails."""
    monkeypatch.setattr(build.subprocess, "run", lambda *args, **kwargs: subprocess.CompletedProcess(
        args, 1, "", "Could not fetch URL https://pypi.org/simple/setuptools/: There was a problem confirming the "
        "ssl certificate: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed\nERROR: No matching "
        "distribution found for setuptools>=64\n"))
    counter = dataclasses.replace(load_components(ROOT)[COUNTER.key], version="0.0.1-tls")  # not built before
    with pytest.raises(GgctlError) as error:
        build.build_wheel(ROOT, counter)
    assert str(error.value) == ("count_people: pip wheel could not verify HTTPS (CERTIFICATE_VERIFY_FAILED): if your "
                                "network intercepts TLS, use pip 24.2 or newer (it trusts the system's CAs) or set "
                                "PIP_CERT to a bundle with your CA")


def test_other_build_failures_keep_their_last_line() -> None:
    assert host_ca.tls_failure("E: Unable to locate package python3-pip\n") is None
    assert host_ca.tls_failure("Certificate verification failed: The certificate is NOT trusted.") == \
        "Certificate verification failed"
