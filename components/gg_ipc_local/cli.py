"""``gg-ipc-local``: serve Greengrass IPC on a Unix socket and print the variables a component needs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import shlex
import signal
import sys
import tempfile
from collections.abc import Sequence

import yaml

from gg_ipc_local.recipe import Recipe, RecipeError
from gg_ipc_local.secret_store import SecretStore
from gg_ipc_local.server import LocalIpcServer
from gg_ipc_local.sinks import JsonLinesSink, MqttSink, Sink
from gg_ipc_local.spool import DEFAULT_SPOOL_BYTES

SOCKET_ENV = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"
TOKEN_ENV = "SVCUID"
THING_ENV = "AWS_IOT_THING_NAME"

log = logging.getLogger("gg_ipc_local")


def component_environment(server: LocalIpcServer, token: str, thing_name: str) -> dict[str, str]:
    """What the nucleus would set in the component's environment for IPC."""
    return {SOCKET_ENV: os.path.abspath(server.socket_path), TOKEN_ENV: token, THING_ENV: thing_name}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gg-ipc-local",
        description="Development and test stand-in for the Greengrass nucleus IPC socket (not a nucleus "
        "replacement): serves one component's PublishToIoTCore, PublishToTopic, SubscribeToTopic, "
        "GetConfiguration, SubscribeToConfigurationUpdate, UpdateConfiguration, "
        "SubscribeToValidateConfigurationUpdates, SendConfigurationValidityReport, UpdateState and "
        "GetSecretValue, enforcing the recipe's accessControl and the 128 KB IoT Core payload limit, and "
        "spooling QoS 1 publishes while the MQTT broker is down, as the Java nucleus does. Prints the "
        "environment to export so the component runs unmodified against it.",
    )
    parser.add_argument("--recipe", required=True, metavar="FILE",
                        help="component recipe (YAML/JSON): name, DefaultConfiguration, accessControl")
    parser.add_argument("--config", metavar="FILE",
                        help="YAML/JSON mapping merged over the recipe's DefaultConfiguration; on SIGHUP it is "
                        "read again and merged as a deployment would (validated by the component first)")
    parser.add_argument("--socket", metavar="PATH",
                        default=os.path.join(tempfile.gettempdir(), f"gg-ipc-local-{os.getuid()}.socket"),
                        help="Unix socket to listen on (default: %(default)s)")
    parser.add_argument("--token", metavar="SVCUID",
                        help="auth token clients must present (default: random; fix it to restart the "
                        "server under running components)")
    parser.add_argument("--thing-name", default="local-thing", help="value of {iot:thingName} (default: %(default)s)")
    parser.add_argument("--interpolate-component-configuration", action="store_true",
                        help="resolve recipe variables such as {iot:thingName} in accessControl, as a nucleus with "
                        "interpolateComponentConfiguration: true does (the nucleus default, and ours, is false)")
    parser.add_argument("--secrets", metavar="FILE",
                        help='JSON file {"<secret ARN>": {"SecretString": "..."}} served by GetSecretValue')
    parser.add_argument("--spool-bytes", type=int, default=DEFAULT_SPOOL_BYTES, metavar="N",
                        help="QoS 1 payload bytes kept while the MQTT broker is down (default: %(default)s, "
                        "the Java nucleus's spooler maxSizeInBytes)")
    parser.add_argument("--mqtt", metavar="mqtt://HOST:PORT", help="forward PublishToIoTCore to this broker")
    parser.add_argument("--jsonl", metavar="FILE", help="append PublishToIoTCore messages to this JSON-lines file")
    parser.add_argument("--env-file", metavar="FILE", help="also write the export lines to this file (mode 600)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def load_overrides(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RecipeError(f"cannot read configuration {path}: {exc}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"configuration {path} must be a mapping")
    return data


async def serve(args: argparse.Namespace) -> None:
    recipe = Recipe.load(args.recipe, args.thing_name, interpolate=args.interpolate_component_configuration)
    overrides = load_overrides(args.config) if args.config else None
    secrets_store = SecretStore.load(args.secrets) if args.secrets else None
    sinks: list[Sink] = []
    if args.mqtt:
        sinks.append(MqttSink(args.mqtt))
    if args.jsonl:
        sinks.append(JsonLinesSink(args.jsonl))
    if not sinks:
        log.warning("no --mqtt or --jsonl: PublishToIoTCore messages are discarded")
    token = args.token or secrets.token_urlsafe(24)
    server = LocalIpcServer(args.socket, token, recipe, configuration=overrides, sinks=sinks,
                            secrets=secrets_store, spool_bytes=args.spool_bytes)
    await server.start_serving()
    exports = "".join(f"export {k}={shlex.quote(v)}\n"
                      for k, v in component_environment(server, token, args.thing_name).items())
    if args.env_file:
        fd = os.open(args.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(exports)
    sys.stdout.write(f"# run {recipe.component_name} against gg-ipc-local with:\n{exports}")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, server.request_stop)
    if args.config:
        loop.add_signal_handler(signal.SIGHUP, lambda: _track(loop.create_task(redeploy(server, args.config))))
    await server.wait_stopped()


_redeployments: set[asyncio.Task] = set()


def _track(task: asyncio.Task) -> None:
    _redeployments.add(task)  # a reference, so the task is not collected mid-flight
    task.add_done_callback(_redeployments.discard)


async def redeploy(server: LocalIpcServer, path: str) -> None:
    """SIGHUP: deploy the configuration file again; the outcome is logged like a deployment's status."""
    try:
        merge = load_overrides(path)
    except RecipeError as exc:
        log.error("deployment not started: %s", exc)
        return
    result = await server.deployments.deploy(merge)
    if result.succeeded:
        log.info("deployment %s of %s: SUCCEEDED", result.deployment_id, path)
    else:
        log.error("deployment %s of %s: %s: %s", result.deployment_id, path, result.status, result.message)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args))
    except RecipeError as exc:
        print(f"gg-ipc-local: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gg-ipc-local: error: cannot serve on {args.socket}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
