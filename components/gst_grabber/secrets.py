"""Camera credentials from AWS Secrets Manager, read over Greengrass IPC (``GetSecretValue``) at start-up.

Why: with ``rtsp_secret_arn`` only the secret's ARN is configuration; the password never sits in the
deployment document, the recipe or the container's environment (``docker inspect``). The grabber asks the
nucleus for the value once, before any camera starts, and keeps it in memory: from then on it is a camera URL
with a password like one given in ``GRABBER_RTSP_URL`` (masked in logs and the status file; the pipeline
decides how the child process gets it).

The secret's value is either

- a JSON object ``{"username": "...", "password": "..."}``: combined with the configured camera URL
  (``GRABBER_RTSP_URL``), which must then hold no credentials of its own; or
- a whole camera URL ``rtsp://user:password@host:554/path`` (the shape Kinesis Video Streams' edge agent
  takes: StartEdgeConfigurationUpdate, ``MediaSourceConfig.MediaUriSecretArn``), with ``GRABBER_RTSP_URL``
  left empty.

In a Docker container the nucleus's IPC socket and the component's token reach the grabber as the Greengrass
developer guide describes ("Run a Docker container", section "Use interprocess communication in Docker
container components": the socket mounted, ``SVCUID`` and ``AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT``
passed with ``-e``); recipes/gst_grabber/recipe.yaml does so only when an ARN is configured.
Nucleus lite has no ``GetSecretValue``: the grabber then stops with one line and a non-zero exit. There the
same value can come from a file on the device instead (``GRABBER_RTSP_SECRET_FILE``, mode 0400 or 0600, owned by
the component user, put there when the device is set up): it is neither in a deployment nor in ``docker inspect``.
The AWS IoT Device SDK (``awsiot``) is imported only here and only when an ARN is set.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import time
from typing import Any, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

from gst_grabber.config import RTSP_URL, ConfigError, GrabberConfig
from gst_grabber.masking import mask_url

SECRET_ARN_ENV = "GRABBER_RTSP_SECRET_ARN"
SECRET_FILE_ENV = "GRABBER_RTSP_SECRET_FILE"
MAX_FILE_BYTES = 64 * 1024
SOCKET_ENV = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"
TOKEN_ENV = "SVCUID"
#: Each step is bounded, so a nucleus that never answers ends the start-up instead of hanging it.
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 10.0
CONNECT_ATTEMPTS = 3
_FORMATS = 'a JSON object {"username": ..., "password": ...} or a whole rtsp:// URL'
_LITE_HINT = ("deploy aws.greengrass.SecretManager with this ARN in its cloudSecrets (ggctl deploy does); "
              "nucleus lite has no GetSecretValue: there use rtsp_secret_file (a 0400 file on the device) or "
              "rtsp_url (stored in the deployment)")


class SecretError(ConfigError):
    """The camera secret cannot be read or used; the message never holds the secret's value."""


def url_with_secret(url: str, secret: str, origin: str) -> str:
    """The camera URL with the secret's credentials in it (percent-encoded), from either secret format."""
    text = secret.strip()
    if text.startswith("{"):
        try:
            fields = json.loads(text)
        except ValueError:
            fields = None
        if not isinstance(fields, dict) or not all(isinstance(fields.get(k), str) for k in ("username", "password")):
            raise SecretError(f"secret {origin}: a JSON value needs string fields username and password")
        return _insert_credentials(url, fields["username"], fields["password"], origin)
    if "://" not in text:
        raise SecretError(f"secret {origin}: the value must be {_FORMATS}")
    if url:
        raise SecretError(f"secret {origin} holds a whole camera URL and rtsp_url is set too ({mask_url(url)}): "
                          "leave rtsp_url empty, or store {\"username\", \"password\"} in the secret")
    try:
        return RTSP_URL(text)
    except ValueError as exc:
        raise SecretError(f"secret {origin}: the URL in it is invalid: {exc}") from None


def _insert_credentials(url: str, username: str, password: str, origin: str) -> str:
    if not url:
        raise SecretError(f"secret {origin} holds a username and password but no camera URL is set: set rtsp_url "
                          "(rtsp://host:554/path, without credentials)")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise SecretError(f"rtsp_url {mask_url(url)} holds credentials and secret {origin} provides them too: "
                          "remove user and password from rtsp_url")
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


def fetch_secret(arn: str, environ: Mapping[str, str]) -> str:
    """The secret string of ``arn`` from the nucleus, or SecretError with the reason and what to do."""
    socket_path, token = environ.get(SOCKET_ENV), environ.get(TOKEN_ENV)
    if not socket_path or not token:
        raise SecretError(f"{SECRET_ARN_ENV} needs Greengrass IPC ({SOCKET_ENV} and {TOKEN_ENV}, and the socket "
                          "mounted into the container): run the grabber from its Greengrass recipe, or export what "
                          "gg-ipc-local prints")
    try:
        import awsiot.greengrasscoreipc as ipc
        from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
    except ImportError:
        raise SecretError(f"{SECRET_ARN_ENV} needs the AWS IoT Device SDK: pip install awsiotsdk "
                          "(the grabber image has it)") from None
    client = GreengrassCoreIPCClientV2(client=_connect(ipc, socket_path, token))
    try:
        response = client.get_secret_value_async(secret_id=arn).result(REQUEST_TIMEOUT_S)
    except Exception as exc:
        raise SecretError(f"cannot read secret {arn} with GetSecretValue ({_reason(exc)}): {_LITE_HINT}") from None
    finally:
        client.close()
    value = response.secret_value
    if value is None or not value.secret_string:
        raise SecretError(f"secret {arn} has no string value (a binary secret?): store {_FORMATS}")
    return value.secret_string


def _connect(ipc: Any, socket_path: str, token: str) -> Any:
    """The SDK's connection, retried briefly: the nucleus may still be creating the socket."""
    attempt = 1
    while True:
        try:
            return ipc.connect(ipc_socket=socket_path, authtoken=token, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:
            if attempt == CONNECT_ATTEMPTS:
                raise SecretError(f"cannot connect to Greengrass IPC at {socket_path} to read the camera secret "
                                  f"({_reason(exc)}); is the socket mounted into the container?") from None
        time.sleep(attempt)
        attempt += 1


def _reason(exc: BaseException) -> str:
    """An SDK exception in a few words: the modelled error's name and message, or the transport failure."""
    message = getattr(exc, "message", None) or str(exc)
    return (f"{type(exc).__name__}: {message}" if message else type(exc).__name__).splitlines()[0][:200]


def read_secret_file(path: str) -> str:
    """The secret from a file that only its owner may read: a group- or world-readable one is refused, like ssh
    refuses such a key, because anyone able to read it has the camera."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SecretError(f"{SECRET_FILE_ENV}: cannot open {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
            raise SecretError(f"{SECRET_FILE_ENV}: {path} must be a regular file readable by its owner only "
                              f"(mode {stat.filemode(info.st_mode)}): chmod 400 {path}")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SecretError(f"{SECRET_FILE_ENV}: {path} is larger than {MAX_FILE_BYTES} bytes: store {_FORMATS}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{SECRET_FILE_ENV}: {path} is not UTF-8 text: store {_FORMATS}") from None


def with_secret(config: GrabberConfig, environ: Mapping[str, str]) -> GrabberConfig:
    """``config`` with the camera credentials of ``GRABBER_RTSP_SECRET_ARN`` (or ``GRABBER_RTSP_SECRET_FILE``) in
    its URL; unchanged without either."""
    arn, path = environ.get(SECRET_ARN_ENV, "").strip(), environ.get(SECRET_FILE_ENV, "").strip()
    if arn and path:
        raise SecretError(f"both {SECRET_ARN_ENV} and {SECRET_FILE_ENV} are set: use one (the file is for cores "
                          "without GetSecretValue, such as nucleus lite)")
    if arn:
        return dataclasses.replace(config, url=url_with_secret(config.url, fetch_secret(arn, environ), arn))
    if path:
        return dataclasses.replace(config, url=url_with_secret(config.url, read_secret_file(path), path))
    return config
