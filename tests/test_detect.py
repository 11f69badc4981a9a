"""`tinyad detect`: a new log through the trained int8 model exactly as the device would.

The equality tests use the session's ``pipeline`` (the default pipeline reproduced in
a copy of the work tree: its models, params and host firmware).  They replay a
simulated labelled log, the real UCI office log and a serial log recorded from the
host firmware, once through the Python reference (``--engine python``) and once
through the host firmware program, and compare every reading's score, decision and
alert state and the alerts table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.project import ARTIFACTS
from tinyad.config import load
from tinyad.tools import detect as D

ROOT = Path(__file__).resolve().parents[1]
UCI = ROOT.parent / "shared" / "datasets" / "uci-occupancy" / "occupancy_datatest.txt"


# ------------------------------------------------------------ without a model
def test_serial_log_lines_become_readings_and_faults(tmp_path):
    log = tmp_path / "session.log"
    log.write_text(
        "tinyad host simulator\n"
        '{"t":120,"event":"status","temp":24.1,"hum":40.0,"score":-128,"model":false,"threshold":false,"stuck":false,"alert":false}\n'
        '{"t":60,"event":"status","temp":24.0,"hum":null,"score":null,"model":false,"threshold":false,"stuck":false,"alert":false}\n'
        '{"t":180,"event":"fault","reason":"dht_error"}\n'
        '{"t":240,"event":"reading","temp":null,"hum":null,"reason":"nan"}\n'
    )
    assert D.is_serial_log(log)
    df = D.read_serial_log(log)
    assert list(D.seconds(df["timestamp"])) == [60, 120, 180, 240]
    assert df["fault"].tolist() == ["", "", "dht_error", "nan"]
    assert df["temperature"].iloc[1] == 24.1 and np.isnan(df["humidity"].iloc[0])


def test_a_broken_serial_line_names_the_file_and_line(tmp_path):
    log = tmp_path / "s.log"
    log.write_text('{"t":1,"event":"status","temp":1,"hum":1}\n{"t": 2, oops\n')
    with pytest.raises(ValueError, match=r"s\.log: line 2: not a JSON line"):
        D.read_serial_log(log)


def test_what_ingest_would_warn_about_a_csv_log_detect_warns_too(tmp_path, capsys):
    """A Unix-time log without data.csv.timezone is scored on UTC's time of day: said on stderr."""
    from tinyad.config import load

    cfg = load(ROOT / "params.yaml")
    t0 = int(pd.Timestamp("2026-01-05").timestamp())
    log = tmp_path / "log.csv"
    log.write_text("timestamp,temperature,humidity\n" + "".join(f"{t0 + 60 * i},24.0,40.0\n" for i in range(30)))
    csv = replace(cfg.data.csv, timestamp_col="timestamp", temperature_col="temperature", humidity_col="humidity",
                  timestamp_format="unix", timezone="")
    table = D.read_csv_log(log, replace(cfg, data=replace(cfg.data, csv=csv)))
    err = capsys.readouterr().err
    assert len(table) == 30 and err.startswith("tinyad detect: warning: ") and "set data.csv.timezone" in err


def test_one_room_of_an_export_of_several_is_read_with_sensor_col_and_sensor(tmp_path, capsys):
    """`tinyad detect --data-preset influxdb --sensor-col room --sensor office`: the office's lines
    only, as the room logged every minute; without them the two rooms are refused as mixed, a
    sensor without its column (or the reverse) is refused naming the flag and the mapping, and
    a fleet room refuses both."""
    from tinyad.data.csvlog import IngestError
    from tests.helpers.readings import influxdb_export

    text, office = influxdb_export(minutes=120, rooms=("office", "lab"))
    export = tmp_path / "influx.csv"
    export.write_text(text)
    cfg = load(ROOT / "params.yaml")
    table = D.read_csv_log(export, cfg, "influxdb", ("room", "office"))
    np.testing.assert_array_equal(table[["temperature", "humidity"]].to_numpy()[:len(office)],
                                  office[["temperature", "humidity"]].to_numpy())
    assert table.attrs == {"sensor_col": "room", "sensor": "office"}  # what the summary records
    # a mapping that names the office: --sensor alone reads the lab instead, through the mapping's column
    mapped = replace(cfg, data=replace(cfg.data, csv=replace(D.preset_csv("influxdb"), sensor_col="room",
                                                               sensor="office")))
    lab = D.read_csv_log(export, mapped, None, (None, "lab"))
    assert lab.attrs == {"sensor_col": "room", "sensor": "lab"} and len(lab) >= len(office)
    assert not np.array_equal(lab["temperature"].to_numpy()[:len(office)], office["temperature"].to_numpy())
    with pytest.raises(IngestError, match="two sensors' series"):
        D.read_csv_log(export, cfg, "influxdb")
    with pytest.raises(ValueError, match=r"^--sensor 'office' needs --sensor-col, the column naming each line's "
                                         r"sensor: conf/data/influxdb.yaml' data.csv.sensor_col is empty$"):
        D.read_csv_log(export, cfg, "influxdb", (None, "office"))
    with pytest.raises(ValueError, match=r"^--sensor-col 'room' needs --sensor, the one to read: "):
        D.read_csv_log(export, cfg, "influxdb", ("room", None))
    capsys.readouterr()
    # a fleet room reads its own sensor: refused in one line on the command line
    proc = subprocess.run([sys.executable, "-m", "tinyad", "detect", str(export), "--room", "office", "--sensor", "lab"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--room office: a fleet room reads its own sensor" in proc.stderr


def test_cli_reads_one_sensor_of_an_export_and_its_summary_says_which(pipeline, tmp_path):
    """`tinyad detect export --data-preset influxdb --sensor-col room --sensor office`: the office's
    readings only, in outputs/detect/<log>/office, and the summary names the sensor and its column."""
    from tests.helpers.readings import influxdb_export

    text, office = influxdb_export(minutes=240, rooms=("office", "lab"))
    export = tmp_path / "influx.csv"
    export.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "tinyad", "detect", str(export), "--data-preset", "influxdb",
                           "--sensor-col", "room", "--sensor", "office", "--engine", "python"],
                          cwd=pipeline.root, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    out = pipeline.root / "outputs" / "detect" / "influx" / "office"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sensor"] == "office" and summary["sensor_col"] == "room"
    assert summary["readings"] == len(office)
    read = pd.read_csv(out / "readings.csv")
    np.testing.assert_array_equal(read["temperature"].to_numpy(), office["temperature"].to_numpy())


def test_unknown_preset_lists_the_options():
    with pytest.raises(ValueError, match=r"--data-preset 'ucii'.*uci_inject"):
        D.preset_csv("ucii")


def test_missing_models_say_which_stage_to_run(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tinyad", "detect", str(UCI), "--models", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "dvc repro cluster" in proc.stderr, proc.stderr


# ------------------------------------------------------------ with the pipeline
@pytest.fixture(scope="module")
def device(pipeline):
    return D.Device.load(pipeline.path("params.yaml"), pipeline.path("models"))


@pytest.fixture(scope="module")
def program(pipeline):
    return pipeline.path(D.DEFAULT_PROGRAM)


def assert_same(a: D.Detection, b: D.Detection) -> None:
    cols = ["timestamp", "fault", "score", "model", "threshold", "stuck", "alert", "event", "raised_by"]
    pd.testing.assert_frame_equal(a.readings[cols], b.readings[cols])
    pd.testing.assert_frame_equal(a.alerts, b.alerts)
    assert a.summary == b.summary


@pytest.mark.slow
def test_simulated_labelled_log_equals_the_host_firmware(pipeline, device, program, tmp_path):
    readings = pd.read_parquet(pipeline.path("data/interim/readings.parquet"))
    last = readings[readings["timestamp"] >= readings["timestamp"].max() - pd.Timedelta(days=6)]
    log = tmp_path / "sim.csv"
    pd.DataFrame({
        "timestamp": last["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "temperature": last["temperature"], "humidity": last["humidity"], "anomaly": last["anomaly_type"],
    }).to_csv(log, index=False)
    cfg = replace(device.cfg, data=replace(device.cfg.data, csv=replace(device.cfg.data.csv, label_col="anomaly")))
    table = D.read_csv_log(log, cfg)
    py = D.detect(table, device, "python")
    fw = D.detect(table, device, "firmware", program)
    assert_same(py, fw)
    s = py.summary
    assert s["alerts"] >= 3 and s["labels"] == 1 and s["events"] >= 5
    assert 0.0 < s["device_f1"] <= 1.0 and s["events_caught"] >= 1
    # the alert states are those of evaluate's alert logic on the same decisions
    from tinyad.device.alerts import alert_active

    r = py.readings
    ok = (r["fault"] == "").to_numpy()
    instant = (r["score"].fillna(-129) >= device.rules.instant_q).to_numpy()
    raising = (r["score"].fillna(-129) >= device.rules.raise_q).to_numpy()
    assert (alert_active(r["model"], r["threshold"] | r["stuck"], ok, device.rules.consecutive,
                         device.rules.clear_after, instant, raising) == r["alert"].to_numpy()).all()
    assert device.rules.raise_q > device.rules.decision_q  # the calibrated hysteresis is what both replay
    assert device.rules.stuck_run > 0 and r["stuck"].any()  # the simulator's stuck sensors: the rule decides
    D.write_outputs(py, tmp_path / "out", log, device, "python", None)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(tmp_path / "out" / "detect.png", ARTIFACTS / "detect_sim.png")
    assert "F1 of the device's decisions" in (tmp_path / "out" / "summary.md").read_text()


@pytest.mark.slow
def test_cli_on_the_uci_log_writes_alerts_plot_and_summary_equal_to_the_firmware(pipeline, program, tmp_path):
    outs = {}
    for engine in D.ENGINES:
        out = tmp_path / engine
        proc = subprocess.run(
            [sys.executable, "-m", "tinyad", "detect", str(UCI), "--data-preset", "uci", "--engine", engine,
             "--program", str(program), "--out", str(out)],
            cwd=pipeline.root, capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, proc.stderr
        assert "sha256" in proc.stdout and "alerts" in proc.stdout
        outs[engine] = out
    a, b = (pd.read_csv(outs[e] / "alerts.csv") for e in D.ENGINES)
    pd.testing.assert_frame_equal(a, b)
    summary = json.loads((outs["python"] / "summary.json").read_text())
    assert summary["labels"] == 0 and "device_f1" not in summary
    assert summary["readings"] > 2000 and summary["days"] > 1.5
    md = (outs["python"] / "summary.md").read_text()
    assert "F1" not in md and "alerts a day" in md
    png = (outs["python"] / "detect.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "detect_uci.png").write_bytes(png)


@pytest.mark.slow
def test_a_recorded_serial_log_gives_the_alerts_of_its_csv(pipeline, device, program, tmp_path):
    table = D.read_csv_log(UCI, device.cfg, "uci")
    rows = D.device_rows(table)
    serial = subprocess.run([str(program), "--status-every", "1"], input=D.firmware_input(rows),
                            capture_output=True, text=True, check=True).stdout
    log = tmp_path / "session.log"
    log.write_text(serial)
    from_serial = D.detect(D.read_log(log, device.cfg), device, "python")
    from_csv = D.detect(table, device, "python")
    cols = ["score", "model", "threshold", "alert", "event"]
    pd.testing.assert_frame_equal(from_serial.readings[cols], from_csv.readings[cols])
    pd.testing.assert_frame_equal(from_serial.alerts.drop(columns="labelled_anomaly"),
                                  from_csv.alerts.drop(columns="labelled_anomaly"))


def test_a_home_assistant_export_replays_as_the_same_room_logged_every_minute(pipeline, device, tmp_path, capsys):
    """`tinyad detect --data-preset home_assistant`: the export, read with the two-hour hold, gives
    every reading's score and alert of the same readings logged every minute (UTC's wall clock
    both: the preset leaves data.csv.timezone to the user, and detect says so)."""
    from tests.helpers.readings import home_assistant_export

    text, readings, _ = home_assistant_export(minutes=2 * 1440, outage=False)  # (its outage: test_ingest.py)
    export = tmp_path / "export.csv"
    export.write_text(text)
    from_export = D.read_log(export, device.cfg, "home_assistant")
    assert "set data.csv.timezone" in capsys.readouterr().err
    every_minute = tmp_path / "every_minute.csv"
    readings.to_csv(every_minute, index=False, date_format="%Y-%m-%d %H:%M:%S")
    csv = replace(device.cfg.data.csv, timestamp_col="timestamp", time_col="", temperature_col="temperature",
                  humidity_col="humidity", label_col="", timestamp_format="", timezone="", temperature_unit="C",
                  delimiter=",", decimal=".", entity_col="", value_col="", hold_min=0.0)
    periodic = D.read_csv_log(every_minute, replace(device.cfg, data=replace(device.cfg.data, csv=csv)))
    n = len(from_export)
    assert n <= len(periodic)
    a = D.detect(from_export, device, "python").readings
    b = D.detect(periodic.iloc[:n].reset_index(drop=True), device, "python").readings
    cols = ["timestamp", "score", "model", "alert"]
    b = b.set_index("timestamp").loc[a["timestamp"]].reset_index()  # the periods the export has a reading for
    assert len(a) == n and (a["fault"] == "").all()  # without an outage, a reading every minute
    pd.testing.assert_frame_equal(a.loc[a["fault"] == "", cols].reset_index(drop=True),
                                  b.loc[a["fault"] == "", cols].reset_index(drop=True))
