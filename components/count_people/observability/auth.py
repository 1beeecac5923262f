"""Who may see the live view: it shows the camera picture, so not anyone who can reach the port.

With ``http_token`` set, a request must carry it as ``Authorization: Bearer TOKEN`` or as the
password of HTTP basic auth (any user name: a browser asks for it on the 401). Without a token
the live view is served only when the server listens on loopback, where only this host can
connect. /metrics and /healthz carry numbers only and stay open (see ``server.PUBLIC_PATHS``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging

from count_people.config import Settings

log = logging.getLogger("count_people.http")

Refusal = tuple[tuple[int, str, bytes], dict[str, str]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LiveViewAuth:
    """Checks the Authorization header of a live-view request against ``settings.http_token``."""

    def __init__(self, settings: Settings) -> None:
        self._token = settings.http_token.encode()
        self._open = not self._token and is_loopback(settings.http_host)

    def log_policy(self, settings: Settings) -> None:
        """One line at start saying who may see the live view, so a 403 is never a mystery."""
        if not settings.live_view:
            return
        if self._token:
            log.info("live view needs the http_token (Bearer, or basic auth with it as password)")
        elif not self._open:
            log.warning("live view refused (403) on %s: set http_token, or http_host 127.0.0.1 to serve it on this "
                        "host only; /metrics and /healthz stay open", settings.http_host)

    def refusal(self, authorization: str) -> Refusal | None:
        """None when the request may proceed, else the response to send."""
        if self._open:
            return None
        if not self._token:
            return (403, "text/plain", b"live view off the loopback address needs http_token\n"), {}
        if self._presented(authorization):
            return None
        return ((401, "text/plain", b"live view needs the http_token\n"),
                {"WWW-Authenticate": 'Basic realm="people counter live view", charset="UTF-8"'})

    def _presented(self, authorization: str) -> bool:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer":
            given = credentials.strip().encode()
        elif scheme.lower() == "basic":
            try:
                given = base64.b64decode(credentials.strip(), validate=True).partition(b":")[2]
            except (binascii.Error, ValueError):
                return False
        else:
            return False
        return hmac.compare_digest(given, self._token)
