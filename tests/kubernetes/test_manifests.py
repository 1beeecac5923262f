"""docker/kubernetes: valid against the Kubernetes API schemas (offline), and every name in them real.

The manifests name images, ports, environment variables, Secrets and configuration files that the code,
the Dockerfiles and docker/monitoring define; ``problems`` finds each name that no longer exists there, so
a renamed setting or port fails here instead of in someone's cluster.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from count_people.config import load_settings
from count_people.errors import UserError
from count_people.observability.server import PUBLIC_PATHS
from frame_handoff import DEFAULT_FRAME_DIR, DEFAULT_FRAME_PATH, RUNNING, STOPPED, status_path
from ggctl.project import COUNTER, GRABBER
from gst_grabber.config import ConfigError, load_config
from gst_grabber.status import GrabberStatus, write_atomic
from gst_grabber.supervisor import build_parser_with_cameras

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "content" / "how-to" / "kubernetes.md"
MANIFESTS = ROOT / "docker" / "kubernetes"
COMPOSE = "docker/compose.yaml"
#: The oldest Kubernetes release the manifests are for (every field used is GA there).
KUBERNETES_VERSION = "1.27.0"
#: Containers running an image built here, and the folder of its Dockerfile.
BUILT = {"grabber": GRABBER.folder, "counter": COUNTER.folder, "emulator": "emulator"}
#: Environment variables that hold credentials: only ever from a Secret.
SECRET_ENV = re.compile(r"TOKEN|PASSWORD|SECRET|RTSP_URL")
#: Values in place of a Secret's, to run the code's own parsing over a container's environment.
SECRET_STAND_INS = {"GRABBER_RTSP_URL": "rtsp://user:password@emulator:8554/cam1"}

Doc = dict[str, Any]


def load_manifests() -> list[Doc]:
    return [doc for path in sorted(MANIFESTS.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def containers(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(pod spec, container) of every workload."""
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        for container in (pod or {}).get("containers", []):
            yield pod, container


def container(docs: list[Doc], name: str) -> tuple[Doc, Doc]:
    (found,) = [(pod, c) for pod, c in containers(docs) if c["name"] == name]
    return found


def service_ports(docs: list[Doc]) -> dict[str, set[int]]:
    return {d["metadata"]["name"]: {p["port"] for p in d["spec"]["ports"]} for d in docs if d["kind"] == "Service"}


def environment(item: Doc) -> dict[str, str]:
    """A container's environment as the code sees it: literal values, a stand-in for each Secret's."""
    return {e["name"]: e["value"] if "value" in e else SECRET_STAND_INS.get(e["name"], "stand-in")
            for e in item.get("env", [])}


def built_images() -> dict[str, str]:
    """Dockerfile folder -> the image name its header's ``docker build -t NAME`` gives it."""
    return {path.parent.name: match.group(1) for path in (ROOT / "docker").glob("*/Dockerfile")
            if (match := re.search(r"docker build .*-t (\S+)", path.read_text()))}


def compose() -> Doc:
    return yaml.safe_load((ROOT / COMPOSE).read_text())


def image_problems(docs: list[Doc]) -> list[str]:
    built, third_party = built_images(), {s["image"] for s in compose()["services"].values() if "image" in s}
    found = []
    for _, item in containers(docs):
        name, image = item["name"], item["image"]
        if name in BUILT:
            expected = built.get(BUILT[name])
            if image.split(":")[0] != expected:
                found.append(f"{name}: image {image} is not {expected}, what docker/{BUILT[name]}/Dockerfile builds")
        elif image not in third_party:
            found.append(f"{name}: image {image} is not one {COMPOSE} runs ({', '.join(sorted(third_party))})")
    return found


def counter_problems(docs: list[Doc]) -> list[str]:
    """The counter's environment through the counter's own loader, and its ports and frame folder."""
    pod, item = container(docs, "counter")
    env = environment(item)
    try:
        settings = load_settings({}, environ=env)
    except UserError as exc:
        return [f"counter: {exc}"]
    found = []
    if settings.http_port not in {p["containerPort"] for p in item["ports"]}:
        found.append(f"counter: http_port {settings.http_port} is not a containerPort")
    frames = mounts(pod, item, "frames")
    if str(Path(settings.source).parent) not in frames or not all(m.get("readOnly") for m in frames.values()):
        found.append(f"counter: the frame file {settings.source} is not on the read-only frames volume")
    services = service_ports(docs)
    for key in ("publish", "influx_url"):
        url = urlsplit(getattr(settings, key))
        if url.hostname not in services or url.port not in services[url.hostname]:
            found.append(f"counter: {key} {url.hostname}:{url.port} is no Service port")
    return found


def grabber_problems(docs: list[Doc]) -> list[str]:
    """Each GRABBER_* variable is one ``gst-grabber --help`` documents, and its value parses."""
    pod, item = container(docs, "grabber")
    env = environment(item)
    documented = set(re.findall(r"GRABBER_[A-Z_]+", build_parser_with_cameras().format_help()))
    found = [f"grabber: {name} is no gst-grabber setting" for name in env if name not in documented]
    try:
        config = load_config([], env)
    except ConfigError as exc:
        return [*found, f"grabber: {exc}"]
    if str(config.output_dir) not in mounts(pod, item, "frames"):
        found.append(f"grabber: output_dir {config.output_dir} is not on the frames volume")
    return found


def mounts(pod: Doc, item: Doc, volume: str) -> dict[str, Doc]:
    """Mount path -> mount of ``volume`` in ``item``, if the Pod's volume is RAM-backed (the frame tmpfs)."""
    (spec,) = [v for v in pod["volumes"] if v["name"] == volume]
    if spec.get("emptyDir", {}).get("medium") != "Memory":
        return {}
    return {m["mountPath"]: m for m in item["volumeMounts"] if m["name"] == volume}


def secret_problems(docs: list[Doc]) -> list[str]:
    """Credentials only from Secrets, and every Secret the manifests use created by the Kubernetes how-to page."""
    guide = GUIDE.read_text()
    found = []
    for _, item in containers(docs):
        for env in item.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if SECRET_ENV.search(env["name"]) and ref is None:
                found.append(f"{item['name']}: {env['name']} must come from a Secret (secretKeyRef)")
            if ref and not re.search(rf"create secret generic {ref['name']}\b[^\n]*--from-literal={ref['key']}=",
                                     guide):
                found.append(f"{item['name']}: Secret {ref['name']} key {ref['key']} is not in {GUIDE.name}")
    return found


def config_problems(docs: list[Doc]) -> list[str]:
    """ConfigMaps are made from docker/monitoring's files; Prometheus' targets are Services with that port."""
    found = []
    for pod, _ in containers(docs):
        for volume in pod.get("volumes", []):
            for key in (item["key"] for item in volume.get("configMap", {}).get("items", [])):
                if not (ROOT / "docker" / "monitoring" / key).is_file():
                    found.append(f"ConfigMap {volume['configMap']['name']}: no docker/monitoring/{key} to make it from")
    services = service_ports(docs)
    prometheus = yaml.safe_load((ROOT / "docker" / "monitoring" / "prometheus.yml").read_text())
    jobs = [*prometheus["scrape_configs"], *prometheus["alerting"]["alertmanagers"]]
    for target in (t for job in jobs for config in job["static_configs"] for t in config["targets"]):
        host, _, port = target.partition(":")
        if host != "localhost" and int(port) not in services.get(host, set()):
            found.append(f"prometheus.yml target {target} is no Service port")
    return found


def problems(docs: list[Doc]) -> list[str]:
    return [*image_problems(docs), *counter_problems(docs), *grabber_problems(docs), *secret_problems(docs),
            *config_problems(docs)]


@pytest.fixture
def docs() -> list[Doc]:
    return load_manifests()


def test_every_manifest_validates_offline_against_the_kubernetes_schemas(docs):
    assert {d["kind"] for d in docs} >= {"Deployment", "DaemonSet", "Service", "PersistentVolumeClaim"}
    for doc in docs:  # strict: an unknown (misspelt) field fails too; the schemas ship with the package
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    doctored = copy.deepcopy(docs[0])
    doctored["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(doctored, KUBERNETES_VERSION, strict=True)


def test_every_image_port_env_key_secret_and_config_file_exists(docs):
    assert problems(docs) == []
    assert built_images()[GRABBER.folder] == GRABBER.key, "the grabber image is the one ggctl builds"
    assert {name for _, c in containers(docs) for name in [c["name"]]} >= {*BUILT, "prometheus", "influxdb",
                                                                          "node-exporter", "cadvisor"}


@pytest.mark.parametrize("doctor, problem", [
    (lambda d: container(d, "counter")[1]["env"].append({"name": "COUNT_PEOPLE_NOT_A_KEY", "value": "1"}),
     "COUNT_PEOPLE_NOT_A_KEY"),  # in the loader's own words, which name the key
    (lambda d: container(d, "counter")[1]["env"].append({"name": "COUNT_PEOPLE_HTTP_PORT", "value": "8001"}),
     "counter: http_port 8001 is not a containerPort"),
    (lambda d: container(d, "grabber")[1]["env"].append({"name": "GRABBER_MAX_FRAMES", "value": "5"}),
     "grabber: GRABBER_MAX_FRAMES is no gst-grabber setting"),
    (lambda d: container(d, "grabber")[1]["env"].append({"name": "GRABBER_OUTPUT_DIR", "value": "/data"}),
     "grabber: output_dir /data is not on the frames volume"),
    (lambda d: container(d, "prometheus")[1].update(image="prom/prometheus:v9"),
     "prometheus: image prom/prometheus:v9 is not one docker/compose.yaml runs"),
    (lambda d: container(d, "counter")[1].update(image="people-counter:latest"),
     "counter: image people-counter:latest is not count-people"),
    (lambda d: container(d, "counter")[1]["env"].append({"name": "COUNT_PEOPLE_HTTP_TOKEN", "value": "x"}),
     "counter: COUNT_PEOPLE_HTTP_TOKEN must come from a Secret"),
    (lambda d: [s["spec"]["ports"][0].update(port=9101) for s in d
                if s["kind"] == "Service" and s["metadata"]["name"] == "node-exporter"],
     "prometheus.yml target node-exporter:9100 is no Service port"),
])
def test_a_name_that_does_not_exist_is_found(docs, doctor, problem):
    """The check itself can fail: one doctored name each, as a rename in the code would leave it."""
    doctor(docs)
    assert any(problem.lower() in found.lower() for found in problems(docs)), problems(docs)


def test_counter_probes_ask_healthz_on_its_http_port(docs):
    _, item = container(docs, "counter")
    probes = [item[k]["httpGet"] for k in ("startupProbe", "readinessProbe", "livenessProbe")]
    assert all(p["path"] == "/healthz" and p["port"] == "http" for p in probes)
    assert "/healthz" in PUBLIC_PATHS, "the probes carry no live-view token"


def test_grabber_probe_reads_the_status_file_the_grabber_writes(docs, tmp_path):
    """The exec probe, run as written, on status files of the real writer: fresh passes, stale or stopped fails."""
    _, item = container(docs, "grabber")
    command = item["livenessProbe"]["exec"]["command"]
    path = str(status_path(DEFAULT_FRAME_PATH))
    assert command[:2] == ["python3", "-c"] and path in command[2] and DEFAULT_FRAME_DIR == "/tmp/data"
    status_file = tmp_path / "frame.status.json"
    probe = [sys.executable, "-c", command[2].replace(path, str(status_file))]

    def exit_code(state: str, age_s: float) -> int:
        status = GrabberStatus(camera="rtsp://camera/stream", frame_path=DEFAULT_FRAME_PATH, state=state)
        write_atomic(status_file, status.to_json(now=time.time() - age_s))
        return subprocess.run(probe, capture_output=True, timeout=30).returncode

    assert exit_code(RUNNING, 1) == 0
    assert exit_code(RUNNING, 60) == 1, "a grabber that stopped writing its heartbeat"
    assert exit_code(STOPPED, 1) == 1
