"""The ingest stage end to end: CLI, outputs, report, errors, the UCI log with and without injection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tinyad.data.readings import build_readings, ingest_report
from tinyad.cli import run_stage
from tinyad.stage import stage_main
from tinyad.config import load_dict
from tinyad.params import compose

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["timestamp", "temperature", "humidity", "fault", "label", "anomaly_type", "event_id"]


def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def write_params(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_main(tmp_path: Path, params: Path) -> tuple[int, Path]:
    """The stage in process, its user errors turned into exit status 2 as ``python -m stages.ingest`` does."""
    out = tmp_path / "out"
    argv = ["--params", str(params), "--out", str(out / "readings.parquet"),
            "--report", str(out / "ingest.json"), "--plots", str(out / "plots")]
    code = run_stage(lambda: stage_main("ingest")(argv), "ingest", quiet=False)
    return code, out


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ingest")
    raw = raw_params()
    raw["data"]["source"] = "sim"
    code, out = run_main(tmp, write_params(tmp, raw))
    return code, out, load_dict(raw).data


def test_stage_writes_table_report_and_plot(sim_run):
    code, out, data = sim_run
    assert code == 0
    table = pd.read_parquet(out / "readings.parquet")
    assert list(table.columns) == COLUMNS
    assert str(table["timestamp"].dtype) == "datetime64[ns]"
    assert table["label"].dtype == np.int8 and table["event_id"].dtype == np.int32
    assert table["timestamp"].is_monotonic_increasing
    report = json.loads((out / "ingest.json").read_text())
    # the report is computed from the table it describes
    assert report["rows"] == len(table)
    assert report["days"] == pytest.approx(data.sim.days)
    assert report["start"] == str(table["timestamp"].iloc[0])
    for kind in ("missing", "nan", "dht_error", "impossible"):
        assert report["faults"][kind] == int((table["fault"] == kind).sum())
    assert report["faults"]["total"] == int((table["fault"] != "").sum())
    assert report["missing"] == report["faults"]["missing"]
    for t in ("point", "contextual", "collective"):
        assert report["anomaly_rows"][t] == int(((table["label"] == 1) & (table["anomaly_type"] == t)).sum())
        assert report["events"][t] == table.loc[table["anomaly_type"] == t, "event_id"].nunique()
    a = data.sim.anomalies
    assert report["events"]["point"] == round(a.point.per_day * data.sim.days)
    assert report["events"]["collective"] == round(a.rise.per_day * data.sim.days) + round(
        a.stuck.per_day * data.sim.days)
    assert report["events"]["collective_stuck"] == round(a.stuck.per_day * data.sim.days)
    png = out / "plots" / "timeline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
    # nothing half-written left behind
    assert not [p for p in out.rglob("*.tmp")]


def test_stage_output_is_byte_identical_on_rerun(sim_run, tmp_path):
    _, out, _ = sim_run
    raw = raw_params()
    raw["data"]["source"] = "sim"
    code, again = run_main(tmp_path, write_params(tmp_path, raw))
    assert code == 0
    assert (again / "readings.parquet").read_bytes() == (out / "readings.parquet").read_bytes()
    assert (again / "ingest.json").read_bytes() == (out / "ingest.json").read_bytes()


def test_missing_log_exits_2_with_a_one_line_error(tmp_path, capsys):
    raw = raw_params()
    raw["data"]["source"] = "csv"
    raw["data"]["csv"]["paths"] = [str(tmp_path / "absent.csv")]
    code, out = run_main(tmp_path, write_params(tmp_path, raw))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ingest: error: ") and "absent.csv: file not found" in err
    assert "Traceback" not in err and not out.exists()


def test_bad_params_exit_2(tmp_path, capsys):
    raw = raw_params()
    raw["data"]["period_s"] = 0
    code, _ = run_main(tmp_path, write_params(tmp_path, raw))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("ingest: error: ") and "data.period_s" in err


def test_module_entry_point_runs_from_the_command_line(tmp_path):
    import subprocess
    import sys

    raw = raw_params()
    raw["data"]["source"] = "csv"
    raw["data"]["csv"]["paths"] = ["no/such/*.csv"]
    params = write_params(tmp_path, raw)
    proc = subprocess.run([sys.executable, "-m", "stages.ingest", "--params", str(params), "--out",
                           str(tmp_path / "r.parquet"), "--report", str(tmp_path / "r.json"), "--plots",
                           str(tmp_path / "p")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("ingest: error: ") and "no file matches this pattern" in proc.stderr


# ------------------------------------------------------------------ the UCI configs
@pytest.fixture(scope="module")
def uci_params(tmp_path_factory):
    """conf/data/uci*.yaml composed as `dvc exp run -S data=...` would."""
    tmp = tmp_path_factory.mktemp("uci")
    out = {}
    cwd = Path.cwd()
    try:
        import os

        os.chdir(ROOT)
        for group in ("uci", "uci_inject"):
            path = tmp / f"params_{group}.yaml"
            compose([f"data={group}"], conf_dir=ROOT / "conf", out=path)
            out[group] = path
    finally:
        os.chdir(cwd)
    return out


def test_uci_config_through_the_stage(uci_params, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # DVC runs stages from the project root
    code, out = run_main(tmp_path, uci_params["uci"])
    assert code == 0
    table = pd.read_parquet(out / "readings.parquet")
    report = json.loads((out / "ingest.json").read_text())
    assert report["source"] == "csv" and report["files"] == 3
    assert report["readings_read"] == 8143 + 2665 + 9752
    assert report["rows"] == len(table) == 22741
    assert report["faults"]["total"] == report["missing"] == 22741 - 20560
    assert report["gaps"] == 2
    assert report["labelled_rows"] == 0 and report["events"]["total"] == 0
    assert 20.0 < report["temperature"]["mean"] < 21.5


def test_semi_synthetic_injection_into_the_uci_log(uci_params, monkeypatch):
    monkeypatch.chdir(ROOT)
    from tinyad.config import load

    data = load(uci_params["uci_inject"]).data
    plain, _, _ = build_readings(load(uci_params["uci"]).data)
    table, events, stats = build_readings(data)
    days = len(table) * data.period_s / 86400.0
    a = data.inject.anomalies
    for kind in ("point", "contextual", "rise", "stuck"):
        assert sum(e.kind == kind for e in events) == round(getattr(a, kind).per_day * days), kind
    # background: the real readings, unchanged and labelled normal; missing stays missing
    inside = (table["event_id"] >= 0).to_numpy()
    pd.testing.assert_series_equal(table.loc[~inside, "temperature"], plain.loc[~inside, "temperature"])
    assert (table.loc[~inside, "label"] == 0).all() and (table.loc[~inside, "anomaly_type"] == "none").all()
    assert (table["fault"] == plain["fault"]).all()
    assert (table.loc[inside, "fault"] == "").all()
    # anomalies sized relative to this room (20-23 deg C), not to the simulated 24 deg C
    t, bg = table["temperature"].to_numpy(), plain["temperature"].to_numpy()
    hr = pd.DatetimeIndex(table["timestamp"]).hour.to_numpy()
    day_level = pd.Series(bg[plain["fault"] == ""]).groupby(hr[plain["fault"] == ""]).median().max()
    for e in events:
        sl = slice(e.start, e.stop)
        if e.kind in ("point", "dip"):
            assert np.allclose(t[sl] - bg[sl], e.temp_delta, atol=0.11)
        elif e.kind == "humidity":
            assert np.array_equal(t[sl], bg[sl])  # humidity alone moves
        elif e.kind == "noise":
            assert np.abs(t[sl] - bg[sl]).max() > 0.3  # a failing sensor: readings scatter
        elif e.kind == "contextual":
            assert np.all((hr[sl] >= 23) | (hr[sl] < 5))
            lift = data.inject.anomalies.contextual.min_lift
            want = max(day_level + e.temp_delta, np.median(bg[e.start - 10:e.start + 1]) + lift)
            assert abs(np.median(t[sl]) - want) < 0.5
            assert np.median(t[sl]) - np.median(bg[sl]) > lift - 0.5
        elif e.kind == "stuck":
            assert np.all(t[sl] == bg[e.start - 1])
        else:  # rise
            assert np.max(t[sl] - bg[sl]) == pytest.approx(e.temp_delta, abs=0.15)
    # seeded: same seed, same injection; another seed, other events
    again, events2, _ = build_readings(data)
    assert events2 == events and again.equals(table)
    data.inject.seed += 1
    other, events3, _ = build_readings(data)
    assert [e.start for e in events3] != [e.start for e in events]
    report = ingest_report(table, events, stats, data)
    assert report["events"]["total"] == len(events)
    assert report["anomaly_rows"]["total"] == int(inside.sum())


def test_injection_into_a_temperature_only_log(tmp_path):
    # a 4-day log in deg F without humidity, written from the simulator's clean room
    from tinyad.data.simulate import simulate_background

    raw = raw_params()
    data = load_dict(raw).data
    ts, temp, _ = simulate_background(data.sim, 60, np.random.default_rng(3))
    ts, temp = ts[: 4 * 1440], temp[: 4 * 1440]
    lines = [f"{t:%Y-%m-%d %H:%M:%S},{c * 9 / 5 + 32:.2f}" for t, c in zip(ts, temp)]
    path = tmp_path / "room.csv"
    path.write_text("time,temp_f\n" + "\n".join(lines) + "\n")
    raw["data"]["source"] = "csv+inject"
    raw["data"]["csv"].update(paths=[str(path)], timestamp_col="time", temperature_col="temp_f", humidity_col="",
                              temperature_unit="F")
    data = load_dict(raw).data
    table, events, _ = build_readings(data)
    assert len(table) == 4 * 1440 and (table["fault"] == "").all()
    assert table["humidity"].isna().all()
    assert np.allclose(table.loc[table["label"] == 0, "temperature"], temp[table["label"].to_numpy() == 0])
    a = data.inject.anomalies
    assert len(events) == sum(round(getattr(a, k).per_day * 4) for k in ("point", "contextual", "rise", "stuck"))
    assert set(table.loc[table["label"] == 1, "anomaly_type"]) == {"point", "contextual", "collective"}


# ------------------------------------------------ issue 13: no silent corruption
def ingest_csv(tmp_path: Path, capsys, content: str | bytes, **csv_over) -> tuple[int, Path, str, str]:
    """Run the stage on one CSV log with ``data.csv`` overrides: (exit code, out dir, stdout, stderr)."""
    log = tmp_path / "log.csv"
    if isinstance(content, bytes):
        log.write_bytes(content)
    else:
        log.write_text(content)
    raw = raw_params()
    raw["data"]["source"] = "csv"
    raw["data"]["csv"].update({"paths": [str(log)], "timestamp_format": ""} | csv_over)
    code, out = run_main(tmp_path, write_params(tmp_path, raw))
    cap = capsys.readouterr()
    return code, out, cap.out, cap.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ingest: error: ") and "Traceback" not in err, err
    return lines[0]


def minutes(start: str, n: int, tz: str | None = None, fmt: str = "%Y-%m-%d %H:%M:%S",
            temp: float = 24.0, hum: float = 40.0) -> str:
    idx = pd.date_range(start, periods=n, freq="1min", tz=tz)
    rows = [(t.isoformat() if fmt == "iso" else t.strftime(fmt)) + f",{temp},{hum}" for t in idx]
    return "timestamp,temperature,humidity\n" + "\n".join(rows) + "\n"


def test_a_row_with_an_extra_field_is_refused_naming_file_line_and_the_row(tmp_path, capsys):
    code, out, _, err = ingest_csv(tmp_path, capsys, "timestamp,temperature,humidity\n"
                                   "2026-01-05 00:00:00,24.0,40.0\n2026-01-05 00:01:00,24,1,40.0\n")
    line = one_line_error(err)
    assert code == 2 and not out.exists()
    assert "log.csv: line 3: expected 3 fields" in line and "got 4: '2026-01-05 00:01:00,24,1,40.0'" in line
    assert "data.csv.decimal" in line


def test_a_decimal_comma_log_reads_with_data_csv_decimal(tmp_path, capsys):
    text = "timestamp;temperature;humidity\n2026-01-05 00:00:00;24,5;40,1\n2026-01-05 00:01:00;24,6;40,2\n"
    code, out, _, err = ingest_csv(tmp_path, capsys, text, delimiter=";", decimal=",")
    assert code == 0, err
    table = pd.read_parquet(out / "readings.parquet")
    assert list(table["temperature"]) == [24.5, 24.6] and list(table["humidity"]) == [40.1, 40.2]
    # without the key, the same log is refused at its first cell, not misread
    code, _, _, err = ingest_csv(tmp_path, capsys, text, delimiter=";")
    assert code == 2 and "line 2, column 'temperature': expected a number, got '24,5'" in one_line_error(err)


def test_decimal_mark_and_delimiter_cannot_be_the_same():
    raw = raw_params()
    raw["data"]["csv"]["decimal"] = ","
    with pytest.raises(ValueError, match=r"data.csv.decimal: the decimal mark ',' is also data.csv.delimiter"):
        load_dict(raw)


def test_iso_log_across_the_autumn_change_needs_and_uses_data_csv_timezone(tmp_path, capsys):
    text = minutes("2025-10-26 00:00", 300, tz="Europe/Berlin", fmt="iso")  # 00:00+02:00 .. 03:59+01:00
    assert "2025-10-26T02:59:00+02:00" in text and "2025-10-26T02:00:00+01:00" in text
    code, _, _, err = ingest_csv(tmp_path, capsys, text)
    line = one_line_error(err)
    assert code == 2 and "line 182, column 'timestamp': the UTC offset changes from +02:00 to +01:00" in line
    assert "set data.csv.timezone" in line and "Mixed timezones" not in line
    code, out, stdout, err = ingest_csv(tmp_path, capsys, text, timezone="Europe/Berlin")
    assert code == 0, err
    table = pd.read_parquet(out / "readings.parquet")
    report = json.loads((out / "ingest.json").read_text())
    assert len(table) == 300 and (table["fault"] == "").all() and report["duplicates"] == 0
    local = pd.DatetimeIndex(table["timestamp"])
    assert local[0] == pd.Timestamp("2025-10-26 00:00") and local[-1] == pd.Timestamp("2025-10-26 03:59")
    assert (local == pd.Timestamp("2025-10-26 02:30")).sum() == 2  # both passes of the repeated hour
    tz = report["timezone"]
    assert tz["repeated_rows"] == 60 and tz["skipped_periods"] == 0 and len(tz["changes"]) == 1
    assert tz["changes"][0] == {"utc": "2025-10-26 01:00:00", "local_before": "2025-10-26 02:59:00",
                                "local_after": "2025-10-26 02:00:00", "offset_before": "+02:00",
                                "offset_after": "+01:00"}
    assert "time zone Europe/Berlin: 1 daylight-saving change(s); 60 rows of a repeated hour kept" in stdout
    assert "2025-10-26 02:59:00 +02:00 -> 2025-10-26 02:00:00 +01:00" in stdout


def test_offset_free_local_log_keeps_the_repeated_autumn_hour(tmp_path, capsys):
    text = minutes("2025-10-26 00:00", 300, tz="Europe/Berlin")  # wall clock: 02:00-02:59 twice
    code, _, _, err = ingest_csv(tmp_path, capsys, text)
    line = one_line_error(err)
    assert code == 2 and "line 182, column 'timestamp': the clock goes back from '2025-10-26 02:59:00' to " \
                         "'2025-10-26 02:00:00', as at a daylight-saving change" in line
    assert "set data.csv.timezone" in line
    code, out, _, err = ingest_csv(tmp_path, capsys, text, timezone="Europe/Berlin")
    assert code == 0, err
    report = json.loads((out / "ingest.json").read_text())
    assert report["rows"] == 300 and report["duplicates"] == 0 and report["merged"] == 0
    assert report["missing"] == 0 and report["timezone"]["repeated_rows"] == 60


def test_offset_free_local_log_across_the_spring_change_has_no_missing_hour(tmp_path, capsys):
    text = minutes("2025-03-30 00:00", 240, tz="Europe/Berlin")  # the wall clock jumps 01:59 -> 03:00
    code, out, _, err = ingest_csv(tmp_path, capsys, text)
    assert code == 0
    assert json.loads((out / "ingest.json").read_text())["faults"]["missing"] == 60  # without the zone: a gap
    code, out, stdout, err = ingest_csv(tmp_path, capsys, text, timezone="Europe/Berlin")
    assert code == 0, err
    report = json.loads((out / "ingest.json").read_text())
    assert report["rows"] == 240 and report["faults"]["missing"] == 0 and report["faults"]["total"] == 0
    assert report["timezone"]["skipped_periods"] == 60 and report["timezone"]["repeated_rows"] == 0
    assert "60 periods of a skipped hour not counted as missing" in stdout
    # a reading inside the skipped hour cannot come from a correct clock
    code, _, _, err = ingest_csv(tmp_path, capsys, "timestamp,temperature,humidity\n2025-03-30 02:30:00,24,40\n",
                                 timezone="Europe/Berlin")
    assert code == 2 and "line 2, column 'timestamp': '2025-03-30 02:30:00' does not exist in Europe/Berlin" \
        in one_line_error(err)


def test_an_unknown_time_zone_is_a_config_error(tmp_path, capsys):
    code, _, _, err = ingest_csv(tmp_path, capsys, minutes("2026-01-05", 3), timezone="Europe/Berlinn")
    assert code == 2 and "data.csv.timezone: 'Europe/Berlinn' is not an IANA time zone name" in one_line_error(err)


def test_a_fahrenheit_log_read_as_celsius_warns_with_the_key_to_set(tmp_path, capsys):
    code, out, _, err = ingest_csv(tmp_path, capsys, minutes("2026-01-05", 120, temp=75.2))
    assert code == 0
    warn = [ln for ln in err.splitlines() if ln.startswith("ingest: warning: ")]
    assert len(warn) == 1 and "the mean temperature is 75.2 deg C (read as deg C), outside 5-40 deg C" in warn[0]
    assert "as deg F it would be 24.0 deg C: a deg F log? set data.csv.temperature_unit: F" in warn[0]
    assert json.loads((out / "ingest.json").read_text())["warnings"] == [warn[0][len("ingest: warning: "):]]
    # read as F it is the seed's room, without a warning
    code, out, _, err = ingest_csv(tmp_path, capsys, minutes("2026-01-05", 120, temp=75.2), temperature_unit="F")
    assert code == 0 and "warning" not in err and json.loads((out / "ingest.json").read_text())["warnings"] == []


def test_a_log_whose_step_is_not_data_period_s_warns_with_the_value_to_set(tmp_path, capsys):
    every_2_min = minutes("2026-01-05", 240)
    every_2_min = "\n".join(every_2_min.splitlines()[:1] + every_2_min.splitlines()[1::2]) + "\n"
    code, out, _, err = ingest_csv(tmp_path, capsys, every_2_min)
    assert code == 0
    warn = [ln for ln in err.splitlines() if ln.startswith("ingest: warning: ")]
    assert len(warn) == 1 and "the readings come every 120 s (the median step between timestamps), but " \
                              "data.period_s is 60: about 50% of the grid's periods will be missing" in warn[0]
    assert warn[0].endswith("set data.period_s: 120")
    assert json.loads((out / "ingest.json").read_text())["faults"]["missing"] == 119  # what the warning explains
    seconds = "timestamp,temperature,humidity\n" + "".join(
        f"{t:%Y-%m-%d %H:%M:%S},24.0,40.0\n" for t in pd.date_range("2026-01-05", periods=240, freq="20s"))
    code, out, _, err = ingest_csv(tmp_path, capsys, seconds)
    assert code == 0 and "every 20 s" in err and "about 67% of the readings will be merged into a neighbour's period" in err
    assert "set data.period_s: 20" in err and json.loads((out / "ingest.json").read_text())["merged"] > 0
    # a clock that drifts by a second (the UCI logs) is the same period: no warning
    drift = "timestamp,temperature,humidity\n" + "".join(
        f"{t + pd.Timedelta(seconds=i % 2):%Y-%m-%d %H:%M:%S},24.0,40.0\n"
        for i, t in enumerate(pd.date_range("2026-01-05", periods=120, freq="1min")))
    code, _, _, err = ingest_csv(tmp_path, capsys, drift)
    assert code == 0 and "warning" not in err


def test_a_coarse_sensor_warns_and_a_fine_one_does_not(tmp_path, capsys):
    from tinyad.data.plausibility import COARSE_STEP_C, value_step

    def log(temps) -> str:
        idx = pd.date_range("2026-01-05", periods=len(temps), freq="1min")
        return "timestamp,temperature,humidity\n" + "".join(f"{t:%Y-%m-%d %H:%M:%S},{v:g},40.0\n" for t, v in zip(idx, temps))

    swing = 22.0 + 2.0 * np.sin(np.arange(240) / 20.0)  # a room's swing, 20-24 deg C
    whole = np.round(swing)  # a DHT11: whole degrees
    assert value_step(whole) == 1.0 and value_step(np.round(swing, 1)) == pytest.approx(0.1)
    assert value_step(np.array([24.0, 24.0, 25.0, np.nan])) is None  # too few readings to measure a step
    # a fine sensor's few outliers, each read once, do not outvote its own steps (an unweighted median would: 0.65)
    spiky = np.round(22.0 + 0.1 * np.sin(np.arange(240) / 7.0), 1)
    spiky[[40, 120, 200]] = [25.3, 26.8, 24.1]
    assert value_step(spiky) == pytest.approx(0.1) and value_step(np.r_[[24.0] * 238, 24.1, 27.0]) is None
    code, _, _, err = ingest_csv(tmp_path, capsys, log(whole))
    warn = [ln for ln in err.splitlines() if ln.startswith("ingest: warning: ")]
    assert code == 0 and len(warn) == 1
    assert "the temperatures come in steps of 1 deg C (the usual gap between neighbouring values), a coarse " \
           "sensor" in warn[0] and "docs/detection.md, 'A coarse sensor'" in warn[0]
    code, _, _, err = ingest_csv(tmp_path, capsys, log(spiky))
    assert code == 0 and "warning" not in err
    # a DHT11 in a still room reads two values only: still whole degrees
    code, _, _, err = ingest_csv(tmp_path, capsys, log(np.r_[[22.0] * 120, [23.0] * 120]))
    assert code == 0 and "steps of 1 deg C" in err
    # a deg F log in whole degrees is 0.56 deg C steps: coarse too
    code, _, _, err = ingest_csv(tmp_path, capsys, log(np.round(swing * 9 / 5 + 32)), temperature_unit="F")
    assert code == 0 and "steps of 0.555556 deg C" in err and COARSE_STEP_C <= 5 / 9
    # a DHT22's 0.1 steps: no warning; the same log rounded by the user to whole degrees: the warning says so
    code, _, _, err = ingest_csv(tmp_path, capsys, log(np.round(swing, 1)))
    assert code == 0 and "warning" not in err
    code, _, _, err = ingest_csv(tmp_path, capsys, log(np.round(swing, 1)), resolution=1.0)
    assert code == 0 and "the temperatures are rounded to data.csv.resolution 1, a coarse sensor" in err
    # however few values the log holds: rounding to whole degrees is coarse
    code, _, _, err = ingest_csv(tmp_path, capsys, minutes("2026-01-05", 240), resolution=1.0)
    assert code == 0 and "the temperatures are rounded to data.csv.resolution 1, a coarse sensor" in err


def test_a_celsius_log_read_as_fahrenheit_warns(tmp_path, capsys):
    code, _, _, err = ingest_csv(tmp_path, capsys, minutes("2026-01-05", 60, temp=24.0), temperature_unit="F")
    assert code == 0 and "a deg C log? set data.csv.temperature_unit: C" in err


def test_humidity_stuck_at_zero_is_an_error(tmp_path, capsys):
    code, out, _, err = ingest_csv(tmp_path, capsys, minutes("2026-01-05", 60, hum=0.0))
    line = one_line_error(err)
    assert code == 2 and not out.exists()
    assert "column 'humidity': 100% of the valid humidity readings are exactly 0 %RH" in line
    assert "data.csv.humidity_col" in line


def test_a_clock_far_in_the_past_is_an_error_naming_the_line(tmp_path, capsys):
    code, _, _, err = ingest_csv(tmp_path, capsys, minutes("1970-01-01 00:01", 30))
    line = one_line_error(err)
    assert code == 2 and "log.csv: line 2, column 'timestamp': the timestamp 1970-01-01 00:01:00 is before " \
                         "2000-01-01 (30 rows): the device's clock was not set" in line


def test_a_non_utf8_log_names_file_line_and_byte_and_reads_with_data_csv_encoding(tmp_path, capsys):
    content = "timestamp,temperature,humidity,note\n2026-01-05 00:00:00,24.0,40.0,ok\n" \
              "2026-01-05 00:01:00,24.1,40.0,22\xb0C\n".encode("latin-1")
    code, _, _, err = ingest_csv(tmp_path, capsys, content)
    line = one_line_error(err)
    assert code == 2 and "log.csv: line 3, byte 33 of the line: 0xb0 is not valid utf-8" in line
    assert "set data.csv.encoding" in line and "codec can't decode" not in line
    code, out, _, err = ingest_csv(tmp_path, capsys, content, encoding="latin-1")
    assert code == 0, err
    assert list(pd.read_parquet(out / "readings.parquet")["temperature"]) == [24.0, 24.1]
    code, _, _, err = ingest_csv(tmp_path, capsys, content, encoding="latin-9x")
    assert code == 2 and "data.csv.encoding: 'latin-9x' is not a known text encoding" in one_line_error(err)


def unix_log(start: str, n: int, scale: int = 1, fraction: str = "") -> str:
    t0 = int(pd.Timestamp(start).timestamp())  # naive start: UTC
    rows = [f"{(t0 + 60 * i) * scale}{fraction},24.0,40.0" for i in range(n)]
    return "timestamp,temperature,humidity\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("fmt, scale, fraction", [("unix", 1, ""), ("unix", 1, ".25"), ("unix_ms", 1000, ""),
                                                   ("unix_us", 10**6, ""), ("unix_ns", 10**9, "")])
def test_unix_timestamps_read_as_utc_and_in_the_room_s_zone(tmp_path, capsys, fmt, scale, fraction):
    text = unix_log("2026-01-05 00:00", 120, scale, fraction)
    code, out, stdout, err = ingest_csv(tmp_path, capsys, text, timestamp_format=fmt)
    assert code == 0, err
    ts = pd.DatetimeIndex(pd.read_parquet(out / "readings.parquet")["timestamp"])
    assert ts[0] == pd.Timestamp("2026-01-05 00:00") and len(ts) == 120  # UTC's wall clock (a fraction rounds to the grid)
    warned = json.loads((out / "ingest.json").read_text())["warnings"]
    assert len(warned) == 1 and "Unix time" in warned[0] and "set data.csv.timezone" in warned[0]
    code, out, _, err = ingest_csv(tmp_path, capsys, text, timestamp_format=fmt, timezone="Europe/Berlin")
    assert code == 0, err
    ts = pd.DatetimeIndex(pd.read_parquet(out / "readings.parquet")["timestamp"])
    assert ts[0] == pd.Timestamp("2026-01-05 01:00")  # Berlin in winter: UTC+1
    assert json.loads((out / "ingest.json").read_text())["warnings"] == []


def test_unix_timestamps_of_the_wrong_unit_or_not_numbers_name_the_line_and_the_key(tmp_path, capsys):
    seconds, millis = unix_log("2026-01-05", 30), unix_log("2026-01-05", 30, 1000)
    code, _, _, err = ingest_csv(tmp_path, capsys, millis, timestamp_format="unix")
    line = one_line_error(err)
    assert code == 2 and "line 2, column 'timestamp': timestamp '1767571200000' is not Unix time in seconds" in line
    assert line.endswith("set data.csv.timestamp_format: unix_ms")
    code, _, _, err = ingest_csv(tmp_path, capsys, seconds, timestamp_format="unix_ms")
    assert code == 2 and one_line_error(err).endswith("set data.csv.timestamp_format: unix")
    code, _, _, err = ingest_csv(tmp_path, capsys, seconds.replace("1767571260,", "12:01,"), timestamp_format="unix")
    assert code == 2 and "line 3, column 'timestamp': cannot parse timestamp '12:01' (expected Unix time in seconds" \
        in one_line_error(err)
    # nanoseconds (InfluxDB 1.x) read as milliseconds, microseconds throughout read as nanoseconds
    code, _, _, err = ingest_csv(tmp_path, capsys, unix_log("2026-01-05", 30, 10**9), timestamp_format="unix_ms")
    line = one_line_error(err)
    assert code == 2 and "timestamp '1767571200000000000' is not Unix time in milliseconds (it would be after the " \
        "year 5000); set data.csv.timestamp_format: unix_ns" in line
    code, _, _, err = ingest_csv(tmp_path, capsys, unix_log("2026-01-05", 30, 10**6), timestamp_format="unix_ns")
    assert code == 2 and "is not Unix time in nanoseconds (it would be before 1973); set data.csv.timestamp_format: " \
        "unix_us" in one_line_error(err)
    # the default (ISO 8601) names the Unix value of the key when the cells are numbers, by their size
    for scale, fmt, word in ((1, "unix", "seconds"), (1000, "unix_ms", "milliseconds"), (10**9, "unix_ns", "nanoseconds")):
        code, _, _, err = ingest_csv(tmp_path, capsys, unix_log("2026-01-05", 30, scale))
        assert code == 2 and one_line_error(err).endswith(
            f"set data.csv.timestamp_format: {fmt} (Unix time in {word}, by its size))")
    # a cell pandas reads as the year -5: the line, not a bare overflow
    code, _, _, err = ingest_csv(tmp_path, capsys, "timestamp,temperature,humidity\n2026-01-05 00:00:00,24,40\n-5,24,40\n")
    assert code == 2 and "line 3, column 'timestamp': timestamp '-5' is outside the years 1677-2262" in one_line_error(err)
    # ... and no Unix format for a number that is no time in any unit (a temperature in the timestamp's column)
    code, _, _, err = ingest_csv(tmp_path, capsys, "timestamp,temperature,humidity\n21.5,24.0,40.0\n")
    assert code == 2 and one_line_error(err).endswith("set data.csv.timestamp_format)")
    # a clock never set (milliseconds since boot) is no unit to switch to: the plausibility check says so
    code, _, _, err = ingest_csv(tmp_path, capsys, unix_log("1970-01-01", 30, 1000), timestamp_format="unix_ms")
    assert code == 2 and "the device's clock was not set" in one_line_error(err)
    # beyond the calendar pandas holds, either way: the line, not a bare overflow
    code, _, _, err = ingest_csv(tmp_path, capsys, seconds.replace("1767571260,", "-99999999999,"), timestamp_format="unix")
    assert code == 2 and "line 3, column 'timestamp': timestamp '-99999999999' is outside the years 1677-2262" \
        in one_line_error(err)
    # a clock never set stays the plausibility check's error, in Unix time too
    code, _, _, err = ingest_csv(tmp_path, capsys, unix_log("1970-01-02", 30), timestamp_format="unix")
    assert code == 2 and "the device's clock was not set" in one_line_error(err)


@pytest.mark.parametrize("suffix, warned", [("Z", True), ("+00:00", True), ("+01:00", False), ("", False)])
def test_an_iso_log_in_utc_without_data_csv_timezone_warns(tmp_path, capsys, suffix, warned):
    """A Z export (Home Assistant, InfluxDB) keeps UTC's wall clock, hours off the room's, as Unix time does."""
    rows = [f"{t:%Y-%m-%dT%H:%M:%S}{suffix},24.0,40.0" for t in pd.date_range("2026-01-05", periods=30, freq="1min")]
    code, out, _, err = ingest_csv(tmp_path, capsys, "timestamp,temperature,humidity\n" + "\n".join(rows) + "\n")
    assert code == 0, err
    warnings = json.loads((out / "ingest.json").read_text())["warnings"]
    utc = [w for w in warnings if "the timestamps are UTC" in w]
    assert len(utc) == int(warned) and all("set data.csv.timezone" in w for w in utc)
    assert pd.read_parquet(out / "readings.parquet")["timestamp"].iloc[0] == pd.Timestamp("2026-01-05")


def test_a_log_with_date_and_time_columns_reads_with_data_csv_time_col(tmp_path, capsys):
    """A logger's export in the UCI 'Room Occupancy Estimation' shape: Date, Time, then the readings."""
    idx = pd.date_range("2026-01-05 23:58", periods=30, freq="1min")
    text = "Date,Time,Temp,RH\n" + "".join(f"{t:%Y/%m/%d},{t:%H:%M:%S},24.0,40.0\n" for t in idx)
    cols = {"timestamp_col": "Date", "temperature_col": "Temp", "humidity_col": "RH"}
    code, out, _, err = ingest_csv(tmp_path, capsys, text, time_col="Time", timestamp_format="%Y/%m/%d %H:%M:%S", **cols)
    assert code == 0, err
    ts = pd.DatetimeIndex(pd.read_parquet(out / "readings.parquet")["timestamp"])
    assert list(ts) == list(idx)  # across midnight: the date column carries the day
    # without the key the date alone is refused, naming the line; a missing Time column names the key
    code, _, _, err = ingest_csv(tmp_path, capsys, text, timestamp_format="%Y/%m/%d %H:%M:%S", **cols)
    assert code == 2 and "line 2, column 'Date': cannot parse timestamp '2026/01/05'" in one_line_error(err)
    code, _, _, err = ingest_csv(tmp_path, capsys, text.replace("Time,", "Clock,", 1), time_col="Time", **cols)
    assert code == 2 and "data.csv.time_col" in one_line_error(err) and "'Time'" in one_line_error(err)
    code, _, _, err = ingest_csv(tmp_path, capsys, text.replace(",23:59:00,", ",23:5x:00,"), time_col="Time",
                                 timestamp_format="%Y/%m/%d %H:%M:%S", **cols)
    assert code == 2 and "line 3, column 'Date Time': cannot parse timestamp '2026/01/05 23:5x:00'" in one_line_error(err)


def test_an_on_change_log_warns_and_reads_with_data_csv_hold_min(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n = 1440  # a day of a steady room at 0.1 steps, temperature only
    temp = np.round(22.0 + np.cumsum(rng.choice([-0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1], n)), 1)
    idx = pd.date_range("2026-01-05", periods=n, freq="1min")
    keep = np.r_[True, temp[1:] != temp[:-1]]
    text = "timestamp,temperature\n" + "".join(f"{t:%Y-%m-%d %H:%M:%S},{v:.1f}\n" for t, v in zip(idx[keep], temp[keep]))
    code, out, _, err = ingest_csv(tmp_path, capsys, text, humidity_col="")
    assert code == 0, err
    warn = [ln for ln in err.splitlines() if ln.startswith("ingest: warning: ")]
    # one warning, the on-change one: not "set data.period_s" to the median step of a sparse log
    assert len(warn) == 1 and f"0 of {keep.sum() - 1} consecutive readings repeat the one before it" in warn[0]
    assert "an on-change log" in warn[0] and "set data.csv.hold_min" in warn[0]
    report = json.loads((out / "ingest.json").read_text())
    assert report["missing"] == np.flatnonzero(keep)[-1] + 1 - keep.sum() and report["held"] == 0
    code, out, _, err = ingest_csv(tmp_path, capsys, text, humidity_col="", hold_min=240)
    assert code == 0 and "warning" not in err
    report = json.loads((out / "ingest.json").read_text())
    assert report["missing"] == 0 and report["held"] == np.flatnonzero(keep)[-1] + 1 - keep.sum()
    table = pd.read_parquet(out / "readings.parquet")
    last = np.flatnonzero(keep)[-1]  # the log ends at its last change
    assert list(table["temperature"]) == list(temp[:last + 1])  # the periodic log, as the device reads it
    # a periodic log with dropouts repeats a steady room's readings: no warning
    gaps = rng.random(n) < 0.3
    periodic = "timestamp,temperature\n" + "".join(f"{t:%Y-%m-%d %H:%M:%S},{v:.1f}\n"
                                                   for t, v in zip(idx[~gaps], temp[~gaps]))
    code, _, _, err = ingest_csv(tmp_path, capsys, periodic, humidity_col="")
    assert code == 0 and "on-change" not in err


def test_a_hold_shorter_than_one_period_is_refused_naming_both_keys(tmp_path, capsys):
    code, _, _, err = ingest_csv(tmp_path, capsys, minutes("2026-01-05", 3), hold_min=0.4)
    assert code == 2 and "data.csv.hold_min: 0.4 minutes hold no period of data.period_s 60 s; expected 0 (no hold) " \
                          "or at least 1 minutes" in one_line_error(err)


def ingest_with_option(tmp_path: Path, monkeypatch, option: str, text: str) -> tuple[pd.DataFrame, dict]:
    """The stage on a user's export, with conf/data/<option>.yaml composed as `dvc exp run -S data=<option>`
    would, the file and the room's time zone (Europe/Berlin) set: (readings table, ingest report)."""
    log = tmp_path / f"{option}_export.csv"
    log.write_text(text)
    params = tmp_path / "params.yaml"
    monkeypatch.chdir(ROOT)
    compose([f"data={option}", f"data.csv.paths=['{log}']", "data.csv.timezone=Europe/Berlin"],
            conf_dir=ROOT / "conf", out=params)
    code, out = run_main(tmp_path, params)
    assert code == 0
    return pd.read_parquet(out / "readings.parquet"), json.loads((out / "ingest.json").read_text())


def test_the_home_assistant_option_reads_a_history_export_through_the_stage(tmp_path, monkeypatch):
    """conf/data/home_assistant.yaml, composed as `dvc exp run -S data=home_assistant` would, with
    the user's file and time zone: a day of a room on change, a lamp, an outage."""
    from tests.helpers.readings import home_assistant_export

    text, readings, outage = home_assistant_export()
    table, report = ingest_with_option(tmp_path, monkeypatch, "home_assistant", text)
    assert table["timestamp"].iloc[0] == pd.Timestamp("2026-01-05 01:00")  # local time
    assert report["warnings"] == [] and report["held"] > 0.3 * len(table)
    assert report["skipped_lines"]["other_entities"] == 1  # the desk lamp's line
    # the outage: from its minute to the temperature's next line there is no reading of the room
    # (a failed read at each line, missing between them), and nothing else failed
    at = int((outage - readings["timestamp"].iloc[0]) / pd.Timedelta(minutes=1))
    t_lines = [ln for ln in text.splitlines() if ln.startswith("sensor.room_temperature,") and "unavailable" not in ln]
    back = min(pd.Timestamp(ln.split(",")[2]).tz_localize(None) for ln in t_lines
               if pd.Timestamp(ln.split(",")[2]).tz_localize(None) > outage)
    until = int((back - readings["timestamp"].iloc[0]) / pd.Timedelta(minutes=1))
    fault = table["fault"].to_numpy()
    assert fault[at] == "nan" and set(fault[at:until]) <= {"nan", "missing"} and fault[until] == ""
    assert report["faults"]["nan"] == (fault[at:until] == "nan").sum() >= 1
    valid = (table["fault"] == "").to_numpy()
    assert valid.mean() > 0.95 and len(table) <= len(readings)
    got = table.loc[valid, ["temperature", "humidity"]].to_numpy()
    want = readings[["temperature", "humidity"]].to_numpy()[: len(table)][valid]
    np.testing.assert_array_equal(got, want)  # each reading the device would have read


def test_the_influxdb_option_reads_an_annotated_csv_through_the_stage(tmp_path, monkeypatch):
    """conf/data/influxdb.yaml, composed as `dvc exp run -S data=influxdb` would, with the user's
    file and time zone: a day of a room read every minute, one table per field."""
    from tests.helpers.readings import influxdb_export

    text, readings = influxdb_export()
    table, report = ingest_with_option(tmp_path, monkeypatch, "influxdb", text)
    # the option's two-hour hold suits an on-change writer; this export repeats like a periodic one
    assert len(report["warnings"]) == 1 and "consecutive readings repeat the one before it: a logger that writes " \
        "every period, not on change? data.csv.hold_min 120 repeats the last reading over up to 120 minutes of an " \
        "outage; set it to a few periods (e.g. 2)" in report["warnings"][0]
    assert (table["fault"] == "").all() and len(table) == len(readings)
    # the annotations and the second table's header hold no reading: counted, not silently dropped
    assert report["skipped_lines"] == {"notes": 3, "repeated_headers": 1, "other_sensors": 0, "other_entities": 0}
    assert table["timestamp"].iloc[0] == pd.Timestamp("2026-01-05 01:00")  # local time
    np.testing.assert_array_equal(table[["temperature", "humidity"]].to_numpy(),
                                  readings[["temperature", "humidity"]].to_numpy())
