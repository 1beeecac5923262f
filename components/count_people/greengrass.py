"""Running as a Greengrass component: configuration from the nucleus, live updates, component state.

The component configuration uses the same keys as the config file; it sits between the
environment and the flags (flags in the recipe's run command win). Updates arrive through
SubscribeToConfigurationUpdate and go through ``CountingLoop.reconfigure``: an invalid one is
logged and rejected while the old configuration keeps running. If the nucleus goes away
the link reconnects with backoff, re-reads the configuration and subscribes again.
A deployment's proposed configuration is validated first (SubscribeToValidateConfigurationUpdates): an
invalid one is refused with the same one-line reason the CLI prints, so the deployment fails instead of
the component. Validation reads no secret: the Java nucleus asks before it merges (aws-greengrass-nucleus v2.18.2
src/main/java/com/aws/greengrass/deployment/DeploymentConfigMerger.java:151, merge at :229), so the accessControl
in force is the old one (authorization/AuthorizationHandler.java:148-199 reloads it on the merge) and a
GetSecretValue on a newly granted ARN would be refused, failing the deployment. A secret ARN is checked for
its shape only and read once the update has landed; if that read fails the counter keeps running with the
token it had (or without), says so once in the log and in ``notices`` (/healthz), and tries again with backoff.
Publishing has its own connection (comms/ipc.py), so a slow update never delays messages.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from frame_handoff.keys import SECRET_ARN

from count_people.comms.backoff import Backoff
from count_people.comms.ipc import SEND_TIMEOUT_S, connect_ipc, greengrass_environment, rejection, require_ipc
from count_people.config import GREENGRASS_KEYS, SECRET_KEYS, Settings, load_settings
from count_people.errors import UserError

log = logging.getLogger("count_people.greengrass")

START_ATTEMPTS = 4
#: How often the configuration thread looks whether a secret needs reading again.
SECRET_LOOK_S = 1.0


class GreengrassComponent:
    """The counter's configuration and state link to the nucleus."""

    def __init__(self, flags: Mapping[str, Any], config_file: str | None = None,
                 environ: Mapping[str, str] | None = None, backoff: Backoff | None = None) -> None:
        self._flags = {k: v for k, v in flags.items() if v is not None}
        self._config_file = config_file
        self._environ = dict(os.environ if environ is None else environ)
        self.socket_path, _ = require_ipc(self._environ)
        self.backoff = backoff or Backoff()
        self._client: Any = None
        self._counter: Any = None
        self._lock = threading.Lock()  # one configuration change at a time
        self._wake = threading.Event()  # stop requested, or the update stream closed
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._validation_warned = False
        self._secrets: dict[str, str] = {}  # key -> the last value read
        #: Secrets that could not be read after an update (key -> one-line reason), for /healthz.
        self.secret_problems: dict[str, str] = {}
        self.secret_backoff = Backoff(first=1.0, cap=60.0)

    @classmethod
    def from_environment(cls, flags: Mapping[str, Any], config_file: str | None = None,
                         environ: Mapping[str, str] | None = None) -> GreengrassComponent | None:
        """A component link when the nucleus' IPC variables are set, else None (plain CLI run)."""
        return cls(flags, config_file, environ) if greengrass_environment(environ) else None

    # -- configuration ---------------------------------------------------------------------------

    def initial_settings(self) -> Settings:
        """Connect and read the configuration; UserError when the nucleus stays unreachable or it is invalid."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._client = connect_ipc(self._environ)
                break
            except UserError:
                raise
            except Exception as exc:
                if attempt == START_ATTEMPTS:
                    raise UserError(f"cannot connect to Greengrass IPC at {self.socket_path}: {exc}") from None
                delay = self.backoff.next_delay()
                log.warning("cannot connect to Greengrass IPC (%s); retry %d in %.1f s", exc, attempt, delay)
                threading.Event().wait(delay)
        self.backoff.reset()
        return self._settings(strict=True)

    def _settings(self, strict: bool = False) -> Settings:
        """Current Settings from the nucleus' configuration of this component (UserError if invalid); ``strict``:
        an unreadable secret is a UserError too, else the last value read stands in for it."""
        response = self._client.get_configuration_async(key_path=[]).result(SEND_TIMEOUT_S)
        configuration = response.value or {}
        shadowed = sorted((set(configuration) - GREENGRASS_KEYS) & set(self._flags))
        if shadowed:
            log.warning("command-line flags override the component configuration of: %s", ", ".join(shadowed))
        return self._settings_from(configuration, read_secrets=True, strict=strict)

    def _settings_from(self, configuration: Mapping[str, Any], read_secrets: bool = False,
                       strict: bool = False) -> Settings:
        """Settings from a whole component configuration (the nucleus' or a deployment's proposal); secrets are
        read only with ``read_secrets`` (a configuration in force, never a proposal)."""
        counter_keys = {k: v for k, v in configuration.items() if k not in GREENGRASS_KEYS}
        for key, target in SECRET_KEYS.items():
            arn = configuration.get(key)  # a Greengrass key: not among counter_keys
            if not arn:
                self.secret_problems.pop(key, None)
                continue
            if not SECRET_ARN.fullmatch(str(arn)):
                raise UserError(f"{key}: {str(arn)!r} is not a Secrets Manager secret ARN "
                                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME); copy the secret's ARN")
            if read_secrets:
                counter_keys[target] = self._read_secret(str(arn), key, strict)
        return load_settings(self._flags, self._environ, self._config_file, greengrass=counter_keys)

    def _read_secret(self, arn: str, key: str, strict: bool) -> str:
        """The secret's value; when it cannot be read and not ``strict``, the last value read (or none), the
        reason kept in ``secret_problems`` and logged once."""
        try:
            value = self._secret(arn, key)
        except UserError as exc:
            if strict:
                raise
            if self.secret_problems.get(key) != str(exc):
                log.error("%s; the counter keeps running with %s and retries", exc,
                          "the token it had" if key in self._secrets else f"no {SECRET_KEYS[key]}")
            self.secret_problems[key] = str(exc)
            return self._secrets.get(key, "")
        if self.secret_problems.pop(key, None):
            log.info("%s: read %s after all", key, arn)
            self.secret_backoff.reset()
        self._secrets[key] = value
        return value

    def _secret(self, arn: str, key: str) -> str:
        """The secret's value from the nucleus (aws.greengrass.SecretManager): it never sits in configuration."""
        try:
            response = self._client.get_secret_value_async(secret_id=arn).result(SEND_TIMEOUT_S)
        except Exception as exc:
            reason = rejection(exc) or f"{type(exc).__name__}: {exc}"
            raise UserError(
                f"{key}: cannot read {arn} with GetSecretValue ({reason}); deploy aws.greengrass.SecretManager with "
                f"this ARN in its cloudSecrets (ggctl deploy does), or on nucleus lite, which has no secret manager, "
                f"set {SECRET_KEYS[key]} in the component configuration instead") from None
        return response.secret_value.secret_string or ""

    def validation_error(self, configuration: Mapping[str, Any]) -> str | None:
        """None when a proposed configuration is valid, else the one-line reason the CLI would print. A failure of
        the check itself refuses too: without a report the deployment would only time out, saying nothing."""
        try:
            self._settings_from(configuration)  # secrets are read after the merge, under the new accessControl
        except UserError as exc:
            return str(exc)
        except Exception as exc:
            log.exception("validating a proposed configuration failed")
            return " ".join(f"cannot validate the configuration: {type(exc).__name__}: {exc}".split())[:500]
        return None

    def _on_validate(self, event: Any) -> None:
        """Answer a deployment's validation request, so an invalid merge fails the deployment, not the component
        (SubscribeToValidateConfigurationUpdates; the nucleus waits for this report before it merges)."""
        from awsiot.greengrasscoreipc.model import ConfigurationValidityReport

        update = event.validate_configuration_update_event
        reason = self.validation_error(update.configuration or {})
        if reason:
            log.error("deployment %s refused: %s", update.deployment_id, reason)
        report = ConfigurationValidityReport(status="REJECTED" if reason else "ACCEPTED",
                                             deployment_id=update.deployment_id, message=reason or "valid")
        try:
            self._client.send_configuration_validity_report_async(
                configuration_validity_report=report).result(SEND_TIMEOUT_S)
        except Exception as exc:  # the deployment then times out and fails; say why here
            log.warning("cannot send the validity report of deployment %s: %s", update.deployment_id, exc)

    def _subscribe_to_validation(self) -> None:
        """Optional: a nucleus without validation (e.g. an old one) only loses the early refusal."""
        try:
            self._client.subscribe_to_validate_configuration_updates_async(
                on_stream_event=self._on_validate, on_stream_error=lambda _error: True,
            )[0].result(SEND_TIMEOUT_S)
        except Exception as exc:
            if not self._validation_warned:
                self._validation_warned = True
                log.warning("this nucleus does not validate configuration for us (%s); an invalid deployment "
                            "is refused when applied instead", exc)

    def apply_configuration(self) -> set[str]:
        """Re-read the configuration and reconfigure the counter; an invalid one is logged and rejected."""
        with self._lock:
            try:
                return self._counter.reconfigure(self._settings())
            except UserError as exc:
                log.error("configuration update rejected, the previous configuration keeps running: %s", exc)
            except Exception as exc:  # link lost mid-read: the reconnect re-applies
                log.warning("cannot read the component configuration: %s", exc)
            return set()

    # -- following updates -----------------------------------------------------------------------

    def follow(self, counter: Any) -> None:
        """Apply configuration updates to ``counter`` from now on and report RUNNING."""
        self._counter = counter
        self._thread = threading.Thread(target=self._follow, name="greengrass-config", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stopping:
            try:
                if self._client is None:
                    self._client = connect_ipc(self._environ)
                    log.info("reconnected to Greengrass IPC")
                self._wake.clear()
                self._client.subscribe_to_configuration_update_async(
                    key_path=[], on_stream_event=lambda _event: self.apply_configuration(),
                    on_stream_error=lambda _error: True, on_stream_closed=self._wake.set,
                )[0].result(SEND_TIMEOUT_S)
                self._subscribe_to_validation()
                self.apply_configuration()  # changes made before subscribing, or while the link was down
                self.report_state("RUNNING")
                self.backoff.reset()
                while not self._wake.wait(self._secret_retry_delay()):
                    if self.secret_problems:  # unreadable so far: the grant or the secret may land just after
                        self.apply_configuration()
            except Exception as exc:  # the nucleus went away or refused: retry with backoff
                log.warning("Greengrass configuration link failed (%s)", exc)
            if self._stopping:
                break
            self._close_client()
            delay = self.backoff.next_delay()
            log.warning("Greengrass configuration link lost; reconnecting in %.1f s", delay)
            self._wake.clear()
            self._wake.wait(delay)

    def _secret_retry_delay(self) -> float:
        """Seconds until the next read of a secret that failed (backoff), or the next look for one."""
        return self.secret_backoff.next_delay() if self.secret_problems else SECRET_LOOK_S

    def notices(self) -> list[str]:
        """What the operator should know but restarting would not fix: unreadable secrets."""
        return list(self.secret_problems.values())

    def report_state(self, state: str) -> None:
        """UpdateState RUNNING or ERRORED, for the console; failures only logged."""
        client = self._client
        if client is None:
            return
        try:
            client.update_state_async(state=state).result(SEND_TIMEOUT_S)
            log.info("reported component state %s", state)
        except Exception as exc:
            log.warning("cannot report component state %s: %s", state, exc)

    def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close(executor_wait=False)
            except Exception as exc:
                log.debug("closing the IPC client failed: %s", exc)

    def close(self, errored: bool = False) -> None:
        """Stop following updates; report ERRORED first when the counter failed."""
        if errored:
            self.report_state("ERRORED")
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(SEND_TIMEOUT_S)
        self._close_client()

    def run(self, counter: Any, stop: threading.Event) -> int:
        """``counter.run(stop)`` while following configuration updates."""
        self.follow(counter)
        errored = True
        try:
            result = counter.run(stop)
            errored = False
            return result
        finally:
            self.close(errored=errored)
