"""The monitoring stack's configs: a real Prometheus scraping a running counter, rules, compose, dashboards."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from count_people.observability.influx import MEASUREMENT_PREFIX, frame_points
from gst_grabber.status import GrabberStatus, write_atomic
from running_counter import CAMERA, RunningCounter
from support import REPO_ROOT, free_port, port_open, wait_for

MONITORING = REPO_ROOT / "docker" / "monitoring"
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
#: Metric name prefixes of exporters the stack runs beside the counter (node-exporter, cAdvisor).
EXTERNAL_PREFIXES = ("node_", "container_")


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (apt-get install prometheus; scripts/setup.sh does it)")
    return path


def test_alert_rules_pass_promtool():
    result = subprocess.run([tool("promtool"), "check", "rules", str(MONITORING / "alerts.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_config_accepts_the_stack():
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode:
        pytest.skip("no `docker compose` here (scripts/setup.sh installs docker-compose and its plugin shim)")
    result = subprocess.run([docker, "compose", "-f", str(REPO_ROOT / "docker/compose.yaml"), "config"],
                            capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"prometheus", "alertmanager", "node-exporter", "cadvisor", "influxdb", "grafana"} <= set(services)
    # Paths as compose resolves them (relative to docker/): every build and every mount of this repository exists.
    paths = [Path(s["build"]["context"]) / s["build"]["dockerfile"] for s in services.values() if "build" in s]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            paths += [Path(source)] if source.startswith(str(REPO_ROOT)) else []
    assert len(paths) > 3 and not [str(path) for path in paths if not path.exists()]


@pytest.mark.shared
def test_prometheus_scrapes_the_counter(tmp_path):
    """Prometheus from the Debian package, with the project's config pointed at a live counter."""
    binary = tool("prometheus")
    counter = RunningCounter(tmp_path)
    try:
        config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
        config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "1s"
        job = next(j for j in config["scrape_configs"] if j["job_name"] == "people-counter")
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{counter.port}"]
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
        port = free_port()
        with (tmp_path / "prometheus.log").open("wb") as log:
            prometheus = subprocess.Popen(
                [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
        try:
            wait_for(lambda: port_open(port), 60, 0.2, "Prometheus to listen")

            def query(expr: str) -> list:
                url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
                with urllib.request.urlopen(url, timeout=10) as response:
                    return json.load(response)["data"]["result"]

            series = wait_for(lambda: [r for r in query("people_counter_frames_processed_total")
                                       if float(r["value"][1]) > 0], 60, 0.5, "a scraped frame counter")
            assert series[0]["metric"]["camera"] == CAMERA and series[0]["metric"]["job"] == "people-counter"
            first = float(series[0]["value"][1])
            wait_for(lambda: float(query("people_counter_frames_processed_total")[0]["value"][1]) > first, 30, 0.5,
                     "the counter to grow between scrapes")
            rules = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=10))
            names = {r["name"] for group in rules["data"]["groups"] for r in group["rules"]}
            assert {"NoFrames", "LowFps", "PublishFailures"} <= names
        finally:
            prometheus.terminate()
            prometheus.wait(20)
    finally:
        counter.stop()


def dashboard_targets() -> list[dict]:
    assert DASHBOARDS, "no Grafana dashboards found"
    targets = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        targets += [t for panel in dashboard["panels"] for t in panel.get("targets", [])]
    return targets


@pytest.mark.shared
def test_dashboards_query_what_the_counter_emits(tmp_path):
    """Every metric a dashboard names is exposed by a running counter (with lines, zones, an InfluxDB
    writer and a grabber status file); every InfluxDB query reads what the writer produces."""
    grabber = GrabberStatus(camera="rtsp://cam", frame_path=str(tmp_path / "frame.jpg"), state="running",
                            last_frame_unix=time.time())
    write_atomic(tmp_path / "frame.status.json", grabber.to_json())
    counter = RunningCounter(tmp_path, "--influx-url", f"http://127.0.0.1:{free_port()}")
    try:
        wait_for(lambda: counter.value("people_counter_frames_processed_total"), 60, 0.2, "a processed frame")
        exposed = {name for name, _ in counter.metrics()}
        _, state = counter.get("/api/state")
    finally:
        counter.stop()
    points = frame_points({**json.loads(state), "thing_name": "t", "capture_time": 1.0})
    fields = {f.split("=")[0] for p in points for f in p.split(" ")[1].split(",")}
    tags = {t.split("=")[0] for p in points for t in p.split(" ")[0].split(",")[1:]}
    for target in dashboard_targets():
        if "expr" in target:
            names = set(re.findall(r"\b(?:people_counter|node|container)_\w+", target["expr"]))
            assert names, f"no metric in {target['expr']}"
            for name in names - exposed:
                assert name.startswith(EXTERNAL_PREFIXES), f"dashboard queries {name}; the counter does not expose it"
        else:
            query = target["query"]
            assert f'FROM "{MEASUREMENT_PREFIX}$camera"' in query, query
            for field in re.findall(r'(?:mean|max|last|min|sum)\("(\w+)"\)', query):
                assert field in fields, f"dashboard reads field {field!r}; the writer emits {sorted(fields)}"
            for tag in re.findall(r'"(\w+)" =~', query) + re.findall(r'GROUP BY time\(\$interval\)((?:, "\w+")*)',
                                                                    query)[0].replace('"', "").split(", ")[1:]:
                assert tag in tags, f"dashboard uses tag {tag!r}; the writer emits {sorted(tags)}"
