"""Counts into a real InfluxDB 1.x (Debian's influxd): written, survive an outage with counted drops, queried back."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from count_people.config import Settings
from count_people.errors import UserError
from count_people.observability.influx import InfluxWriter, frame_points, measurement
from running_counter import CAMERA, RunningCounter
from support import free_port, wait_for

DB = "counts_test"


class Influxd:
    """influxd on free ports with its data under ``workdir``; stop and start keep the data."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("influxd")
        if not self.binary:
            pytest.skip("influxd is not installed (apt-get install influxdb; scripts/setup.sh does it)")
        self.port, self.workdir = free_port(), workdir
        self.config = workdir / "influxdb.conf"
        self.config.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{workdir}/meta"
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
""")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Influxd:
        with (self.workdir / "influxd.log").open("ab") as log:
            self.process = subprocess.Popen([self.binary, "run", "-config", str(self.config)], stdout=log, stderr=log)
        wait_for(self._ping, 60, 0.2, f"influxd on port {self.port}")
        return self

    def _ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                return response.status == 204
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def query(self, q: str) -> list[dict]:
        data = urllib.parse.urlencode({"db": DB, "q": q, "epoch": "ms"}).encode()
        with urllib.request.urlopen(f"{self.url}/query", data, timeout=10) as response:
            return json.load(response)["results"][0].get("series", [])


def test_line_protocol_escapes_and_types():
    message = {"camera_id": "gate 1,a", "thing_name": "dev=1", "capture_time": 1700000000.1234,
               "counts": {"person": 2},
               "lines": {"door": {"points": [[0, 0], [1, 1]], "in": {"person": 3}, "out": {"person": 1}}},
               "zones": {"hall": {"polygon": [[0, 0], [1, 0], [1, 1]], "occupancy": {"person": 1}}}}
    assert frame_points(message) == [
        r"counts_gate\ 1\,a,camera=gate\ 1\,a,class=person,thing=dev\=1 count=2i 1700000000123",
        r"counts_gate\ 1\,a,camera=gate\ 1\,a,class=person,line=door,thing=dev\=1 in=3i,out=1i 1700000000123",
        r"counts_gate\ 1\,a,camera=gate\ 1\,a,class=person,thing=dev\=1,zone=hall occupancy=1i 1700000000123",
    ]


def test_analytics_fields_become_points():
    """Dwell per zone, area occupancy and clamped exits, events (count_people/analytics)."""
    message = {"camera_id": "c", "thing_name": "t", "capture_time": 1700000000.0, "counts": {},
               "zones": {"hall": {"polygon": [[0, 0], [1, 0], [1, 1]], "occupancy": {"person": 1},
                                  "dwell": {"inside": 1, "longest_current_s": 42.5, "completed_s": [10.0, 2.5]}}},
               "areas": {"shop": {"occupancy": {"person": 3}, "clamped": {"person": 1}, "since": 1.0}},
               "events": [{"state": "raised", "rule": "max_dwell_s", "region": "zone", "name": "hall"}]}
    assert frame_points(message)[1:] == [
        "counts_c,camera=c,thing=t,zone=hall longest_visit_s=42.5,visits=2i,visits_s=12.5 1700000000000",
        "counts_c,area=shop,camera=c,class=person,thing=t occupancy=3i,clamped=1i 1700000000000",
        "counts_c,camera=c,name=hall,region=zone,rule=max_dwell_s,thing=t event=1i 1700000000000",
    ]


@pytest.mark.shared
def test_counts_survive_an_influxdb_outage(tmp_path):
    influx = Influxd(tmp_path).start()
    counter = None
    try:
        influx.query(f'CREATE DATABASE "{DB}"')
        counter = RunningCounter(tmp_path, "--influx-url", influx.url, "--influx-db", DB,
                                 "--influx-interval", "0.2", "--influx-buffer", "30")
        name = measurement(CAMERA)
        wait_for(lambda: influx.query(f'SELECT count("count") FROM "{name}"'), 60, 0.5, "points in InfluxDB")

        influx.stop()
        frames = counter.value("people_counter_frames_processed_total")
        wait_for(lambda: (counter.value("people_counter_influx_points_dropped_total") or 0) > 0, 60, 0.3,
                 "points dropped while InfluxDB is down")
        assert counter.value("people_counter_influx_write_failures_total") > 0
        assert counter.value("people_counter_influx_up") == 0
        assert counter.value("people_counter_frames_processed_total") > frames + 5, "detection must go on"
        assert counter.get("/healthz")[0] == 200, "InfluxDB being down is not a counter failure"

        written = counter.value("people_counter_influx_points_written_total")
        restarted_ms = time.time() * 1000
        influx.start()
        wait_for(lambda: counter.value("people_counter_influx_points_written_total") > written, 60, 0.3,
                 "writes to resume after InfluxDB restarted")
        assert counter.value("people_counter_influx_up") == 1
        wait_for(lambda: influx.query(f'SELECT count("count") FROM "{name}" WHERE time > {int(restarted_ms)}ms'),
                 30, 0.5, "points written after the restart")
        rows = influx.query(f'SELECT "count" FROM "{name}" WHERE "class" = \'person\'')[0]["values"]
        assert len(rows) > 10 and all(0 <= count <= 30 for _, count in rows)
        stamps = [stamp for stamp, _ in rows]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), "one point per frame, by capture time"
        zone = influx.query(f'SELECT last("occupancy") FROM "{name}" WHERE "zone" = \'left\'')
        line = influx.query(f'SELECT last("in"), last("out") FROM "{name}" WHERE "line" = \'middle\'')
        assert zone and line, "lines and zones are stored beside the counts"
    finally:
        if counter:
            counter.stop()
        influx.stop()


def test_influx_settings_are_validated_and_the_token_never_printed():
    settings = Settings().updated({"influx_url": "http://influx:8086/", "influx_token": "s3cret"})
    assert settings.influx_url == "http://influx:8086"
    assert "s3cret" not in repr(settings) and str(settings.influx_token) == "s3cret"
    with pytest.raises(UserError, match=r"^command line: bad value for influx_url: expected http\(s\)://"):
        Settings().updated({"influx_url": "influx:8086"}, origin="command line")
    writer = InfluxWriter(settings.updated({"influx_org": "acme", "influx_db": "counts"}))
    try:
        assert writer.endpoint == "http://influx:8086/api/v2/write?org=acme&bucket=counts&precision=ms"
        assert "s3cret" not in writer.description
    finally:
        writer.close(timeout=0.1)
