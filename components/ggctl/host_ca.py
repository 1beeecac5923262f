"""This host's added CA certificates, passed into the grabber's ``docker build`` so that pip inside trusts them.

Behind a TLS-intercepting proxy the host trusts the proxy because an administrator added its CA to the
distribution's folder for local CAs; a fresh image knows only Debian's bundle, so pip inside ``docker build``
fails with CERTIFICATE_VERIFY_FAILED. ggctl therefore passes the host's added CAs (PEM certificate blocks
only: a key that sits in the same file never leaves it) as the ``EXTRA_CA_CERTS`` build argument by default.
It is a build argument, not a BuildKit secret, because the legacy builder (Docker without buildx) has no
``RUN --mount``; the grabber uses it only in its pip stage, so neither the certificates nor the argument reach
the saved image or its history (CA certificates are public in any case).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

BUILD_ARG = "EXTRA_CA_CERTS"
#: Where administrators add CAs: Debian/Ubuntu/Alpine (update-ca-certificates reads **/*.crt),
#: RHEL/Fedora (update-ca-trust) and SUSE (update-ca-certificates) anchors.
DEBIAN_DIR = Path("/usr/local/share/ca-certificates")
ANCHOR_DIRS = (Path("/etc/pki/ca-trust/source/anchors"), Path("/etc/pki/trust/anchors"))
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----")
#: What pip, OpenSSL and apt print when a server's chain does not verify against the image's trust store.
_TLS_FAILURES = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "Certificate verification failed",
                 "SSLCertVerificationError")


def host_certificates(debian_dir: Path = DEBIAN_DIR, anchor_dirs: Sequence[Path] = ANCHOR_DIRS) -> list[str]:
    """The PEM certificates an administrator added on this host, each once, in file-name order.

    Debian's tool reads only ``*.crt`` (in subfolders too); anchors may be ``*.pem`` as well. DER files
    are left out (their text has no PEM block).
    """
    paths = sorted(debian_dir.rglob("*.crt")) if debian_dir.is_dir() else []
    for folder in anchor_dirs:
        if folder.is_dir():
            paths += sorted(path for path in folder.rglob("*") if path.suffix in (".crt", ".pem"))
    found: dict[str, None] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # unreadable by this user: update-ca-certificates (root) reads it, we cannot
        found.update(dict.fromkeys(block.replace("\r\n", "\n") for block in _PEM.findall(text)))
    return list(found)


def with_host_certificates(build_args: Mapping[str, str], certificates: Sequence[str]) -> dict[str, str]:
    """``build_args`` plus EXTRA_CA_CERTS with ``certificates``; one the user passed with --build-arg wins."""
    if not certificates or BUILD_ARG in build_args:
        return dict(build_args)
    return {BUILD_ARG: "\n".join(certificates) + "\n", **build_args}


def tls_failure(output: str) -> str | None:
    """The TLS verification error that ``output`` (of docker build or pip) reports, or None."""
    return next((marker for marker in _TLS_FAILURES if marker in output), None)


def image_tls_hint(marker: str, build_args: Mapping[str, str]) -> str:
    """One line: why the in-image download failed, and the fix."""
    passed = len(_PEM.findall(build_args.get(BUILD_ARG, "")))
    return (f"docker build could not verify HTTPS inside the image ({marker}; {passed} extra CA certificate(s) "
            f"passed in): if your network intercepts TLS, add its CA to {DEBIAN_DIR} (ggctl passes those in "
            f"unless --no-host-ca) or pass --build-arg {BUILD_ARG}=\"$(cat ca.pem)\"")
