"""Reading real logs: the UCI occupancy files as they are, units, faults, resampling, errors."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tinyad.config import CsvConfig, load_dict
from tinyad.data.csvlog import IngestError, read_log, read_logs, resolve_paths, to_grid

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "ingest"
UCI_DIR = ROOT.parent / "shared" / "datasets" / "uci-occupancy"
# README of the shared folder: rows and first/last timestamp of each file
UCI_FILES = {
    "occupancy_datatraining.txt": (8143, "2015-02-04 17:51:00", "2015-02-10 09:33:00"),
    "occupancy_datatest.txt": (2665, "2015-02-02 14:19:00", "2015-02-04 10:43:00"),
    "occupancy_datatest2.txt": (9752, "2015-02-11 14:48:00", "2015-02-18 09:19:00"),
}


def uci_cfg(**over) -> CsvConfig:
    """The CSV section of conf/data/uci.yaml, with overrides."""
    raw = yaml.safe_load((ROOT / "conf" / "data" / "uci.yaml").read_text())["data"]["csv"]  # a global-package option
    raw.update(over)
    return CsvConfig(**raw)


def csv_cfg(**over) -> CsvConfig:
    base = dict(paths=[], timestamp_col="timestamp", temperature_col="temperature", humidity_col="humidity",
                label_col="", temperature_unit="C", timestamp_format="", delimiter=",", resolution=0.1)
    base.update(over)
    return CsvConfig(**base)


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- the real UCI logs
@pytest.mark.parametrize("name", sorted(UCI_FILES))
def test_each_uci_file_reads_as_documented(name):
    rows, first, last = UCI_FILES[name]
    df = read_log(UCI_DIR / name, uci_cfg())
    assert len(df) == rows
    assert df["timestamp"].min() == pd.Timestamp(first)
    assert df["timestamp"].max() == pd.Timestamp(last)
    assert (df["fault"] == "").all()
    assert df["line"].iloc[0] == 2 and df["line"].iloc[-1] == rows + 1


def test_uci_configuration_reads_all_three_files_onto_one_minute_grid():
    cfg = uci_cfg()
    table, stats = read_logs(cfg, 60, root=ROOT)
    assert [Path(f).name for f in stats["files"]] == sorted(UCI_FILES)
    assert stats["readings_read"] == sum(r for r, _, _ in UCI_FILES.values())
    # 17:51:59 is the 17:52 reading: every reading finds its own minute
    assert stats["duplicates"] == 0 and stats["merged"] == 0
    start, end = pd.Timestamp("2015-02-02 14:19:00"), pd.Timestamp("2015-02-18 09:19:00")
    assert table["timestamp"].iloc[0] == start and table["timestamp"].iloc[-1] == end
    assert len(table) == (end - start) // pd.Timedelta(minutes=1) + 1
    assert (table["timestamp"].diff().dropna() == pd.Timedelta(minutes=1)).all()
    valid = table["fault"] == ""
    assert valid.sum() == stats["readings_read"]
    # no sensor faults; the only missing periods are the two gaps between the files
    assert set(table["fault"]) == {"", "missing"}
    missing = (table["fault"] == "missing").to_numpy()
    assert int(np.sum(missing & ~np.concatenate([[False], missing[:-1]]))) == 2
    gap_times = table.loc[missing, "timestamp"]
    assert gap_times.min() > pd.Timestamp("2015-02-04 10:43:00")
    assert gap_times.max() < pd.Timestamp("2015-02-11 14:48:00")
    # values as in the README, rounded to the DHT22's 0.1 step
    t = table.loc[valid, "temperature"]
    h = table.loc[valid, "humidity"]
    assert t.min() == pytest.approx(19.0) and t.max() == pytest.approx(24.4)
    assert h.min() == pytest.approx(16.7) and h.max() == pytest.approx(39.5)
    assert np.allclose(t * 10, np.round(t * 10))
    assert (table["label"] == -1).all() and (table["anomaly_type"] == "unknown").all()
    assert (table["event_id"] == -1).all()


def test_relative_glob_resolves_against_the_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the project root: TINYAD_ROOT names it
    monkeypatch.setenv("TINYAD_ROOT", str(ROOT))
    paths = resolve_paths(["../shared/datasets/uci-occupancy/occupancy_data*.txt"])
    assert [p.name for p in paths] == sorted(UCI_FILES)


def test_uci_excerpt_with_a_second_early_clock():
    table, stats = read_logs(uci_cfg(paths=[str(FIXTURES / "uci_excerpt.csv")]), 60)
    assert stats["readings_read"] == 40
    ts = table["timestamp"]
    assert ts.iloc[0] == pd.Timestamp("2015-02-04 17:51:00")
    assert ts.iloc[1] == pd.Timestamp("2015-02-04 17:52:00")  # read at 17:51:59
    assert table["temperature"].iloc[0] == pytest.approx(23.2)  # 23.18 rounded to the 0.1 step
    assert abs(table["temperature"].iloc[1] - 23.15) <= 0.05 + 1e-9
    assert (table["fault"] == "").sum() == 40


# ------------------------------------------------------- units, faults, resampling
def test_fahrenheit_log_with_faults_duplicates_gap_and_labels():
    cfg = csv_cfg(paths=[str(FIXTURES / "fahrenheit_faults.csv")], timestamp_col="when", temperature_col="temp_f",
                  humidity_col="rh", label_col="truth", temperature_unit="F",
                  timestamp_format="%d/%m/%Y %H:%M:%S", delimiter=";")
    table, stats = read_logs(cfg, 60)
    assert len(table) == 11  # 00:00 .. 00:10
    assert stats["duplicates"] == 1
    by_min = table.set_index(table["timestamp"].dt.minute)
    assert by_min.loc[0, "temperature"] == pytest.approx(20.0)  # 68 F
    assert by_min.loc[1, "temperature"] == pytest.approx(20.2)  # the later 00:01 line wins
    assert by_min.loc[1, "humidity"] == pytest.approx(40.5)
    assert by_min.loc[2, "temperature"] == pytest.approx(20.0)  # the unsorted line
    assert by_min.loc[9, "temperature"] == pytest.approx(25.0)  # 77 F
    faults = dict(zip(by_min.index, by_min["fault"]))
    assert faults[4] == "nan" and faults[5] == "dht_error" and faults[6] == "impossible"
    assert faults[7] == faults[8] == "missing"
    assert [faults[m] for m in (0, 1, 2, 3, 9, 10)] == [""] * 6
    bad = table["fault"] != ""
    assert table.loc[bad, ["temperature", "humidity"]].isna().all().all()
    assert table.loc[~bad, ["temperature", "humidity"]].notna().all().all()
    assert list(table["label"]) == [0, 0, 0, 1, 0, 0, 0, -1, -1, 1, 1]
    assert by_min.loc[3, "anomaly_type"] == "point" and by_min.loc[9, "anomaly_type"] == "unknown"
    assert list(table["event_id"]) == [-1, -1, -1, 0, -1, -1, -1, -1, -1, 1, 1]


def test_dht_error_value_is_checked_before_unit_conversion(tmp_path):
    path = write(tmp_path, "timestamp,temperature,humidity\n2026-01-01 00:00,-999,40\n2026-01-01 00:01,-40,40\n")
    table, _ = read_logs(csv_cfg(paths=[str(path)], temperature_unit="F"), 60)
    assert list(table["fault"]) == ["dht_error", ""]
    assert table["temperature"].iloc[1] == pytest.approx(-40.0)  # -40 F == -40 C


@pytest.mark.parametrize("temp,hum,fault", [
    ("80.1", "50", "impossible"), ("-40.1", "50", "impossible"), ("20", "100.1", "impossible"),
    ("20", "-0.1", "impossible"), ("inf", "50", "impossible"), ("NaN", "50", "nan"), ("20", "", "nan"),
    ("20", "-999", "dht_error"), ("80", "100", ""), ("-40", "0", ""),
])
def test_physical_range_and_error_values(tmp_path, temp, hum, fault):
    path = write(tmp_path, f"timestamp,temperature,humidity\n2026-01-01T00:00:00,{temp},{hum}\n")
    table, _ = read_logs(csv_cfg(paths=[str(path)]), 60)
    assert table["fault"].iloc[0] == fault
    assert np.isnan(table["temperature"].iloc[0]) == (fault != "")


def test_temperature_only_log_has_nan_humidity_without_fault(tmp_path):
    path = write(tmp_path, "t,temp\n2026-01-01 00:00:00,21.04\n2026-01-01 00:01:00,21.26\n")
    table, _ = read_logs(csv_cfg(paths=[str(path)], timestamp_col="t", temperature_col="temp", humidity_col=""), 60)
    assert list(table["fault"]) == ["", ""]
    assert table["humidity"].isna().all()
    assert list(table["temperature"]) == [21.0, 21.3]


def test_resampling_keeps_the_reading_nearest_to_each_grid_point():
    raw = pd.DataFrame({
        "timestamp": pd.to_datetime(["2026-01-01 00:00:05", "2026-01-01 00:00:50", "2026-01-01 00:01:20",
                                     "2026-01-01 00:05:00", "2026-01-01 00:04:58"]),
        "temperature": [20.0, 21.0, 22.0, 25.0, 24.0], "humidity": [40.0] * 5, "fault": [""] * 5,
        "label": [-1] * 5, "anomaly_type": ["unknown"] * 5, "line": [2, 3, 4, 5, 6], "file": "x",
    })
    table, stats = to_grid(raw, 60)
    # 00:00:05 -> 00:00; 00:00:50 and 00:01:20 -> 00:01 (00:00:50 is nearer); 00:04:58 and 00:05:00 -> 00:05
    assert list(table["timestamp"].dt.strftime("%H:%M")) == ["00:00", "00:01", "00:02", "00:03", "00:04", "00:05"]
    assert list(table["temperature"].fillna(-1)) == [20.0, 21.0, -1, -1, -1, 25.0]
    assert list(table["fault"]) == ["", "", "missing", "missing", "missing", ""]
    assert stats["merged"] == 2 and stats["duplicates"] == 0


def test_five_minute_grid(tmp_path):
    lines = "".join(f"2026-01-01 00:{m:02d}:00,{20 + m / 10:.1f},40\n" for m in range(0, 30))
    path = write(tmp_path, "timestamp,temperature,humidity\n" + lines)
    table, stats = read_logs(csv_cfg(paths=[str(path)]), 300)
    # 00:28 and 00:29 are nearer to 00:30 than to 00:25: a seventh row, holding 00:29
    assert len(table) == 7 and stats["merged"] == 23
    assert list(table["temperature"]) == pytest.approx([20.0, 20.5, 21.0, 21.5, 22.0, 22.5, 22.9])


# ------------------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match=r"nope\.csv: file not found"):
        read_logs(csv_cfg(paths=[str(tmp_path / "nope.csv")]), 60)


def test_pattern_matching_nothing(tmp_path):
    with pytest.raises(IngestError, match=r"no file matches this pattern"):
        read_logs(csv_cfg(paths=[str(tmp_path / "*.csv")]), 60)


@pytest.mark.parametrize("text,why", [("", "empty file"), ("\n\n", "empty file"),
                                      ("timestamp,temperature,humidity\n", "a header but no data lines")])
def test_empty_file(tmp_path, text, why):
    path = write(tmp_path, text)
    with pytest.raises(IngestError) as err:
        read_logs(csv_cfg(paths=[str(path)]), 60)
    assert str(path) in str(err.value) and why in str(err.value)


def test_missing_column_lists_the_columns_present(tmp_path):
    path = write(tmp_path, "time,temperature,humidity\n2026-01-01 00:00,20,40\n")
    with pytest.raises(IngestError) as err:
        read_logs(csv_cfg(paths=[str(path)]), 60)
    msg = str(err.value)
    assert str(path) in msg and "'timestamp'" in msg and "data.csv.timestamp_col" in msg
    assert "['time', 'temperature', 'humidity']" in msg


def test_non_numeric_cell_names_file_line_and_column(tmp_path):
    path = write(tmp_path, "timestamp,temperature,humidity\n2026-01-01 00:00,20,40\n\n"
                           "2026-01-01 00:01,20.5,4O.2\n")
    with pytest.raises(IngestError) as err:
        read_logs(csv_cfg(paths=[str(path)]), 60)
    msg = str(err.value)
    assert f"{path}: line 4, column 'humidity'" in msg  # the blank line 3 counts
    assert "expected a number" in msg and "'4O.2'" in msg


def test_unparseable_timestamp_names_file_and_line(tmp_path):
    path = write(tmp_path, "timestamp,temperature,humidity\n2026-01-01 00:00,20,40\n2026-13-01 00:01,20,40\n")
    with pytest.raises(IngestError) as err:
        read_logs(csv_cfg(paths=[str(path)]), 60)
    msg = str(err.value)
    assert f"{path}: line 3, column 'timestamp'" in msg and "'2026-13-01 00:01'" in msg
    assert "ISO 8601" in msg


def test_timestamp_not_in_the_configured_format(tmp_path):
    path = write(tmp_path, "timestamp,temperature,humidity\n01/02/2026 10:00,20,40\n2026-02-01 10:01,20,40\n")
    with pytest.raises(IngestError, match=r"line 3, column 'timestamp'.*format '%d/%m/%Y %H:%M'"):
        read_logs(csv_cfg(paths=[str(path)], timestamp_format="%d/%m/%Y %H:%M"), 60)


def test_short_line_and_bad_label(tmp_path):
    path = write(tmp_path, "timestamp,temperature,humidity\n2026-01-01 00:00,20\n")
    with pytest.raises(IngestError, match=r"line 2: expected 3 fields"):
        read_logs(csv_cfg(paths=[str(path)]), 60)
    path = write(tmp_path, "timestamp,temperature,humidity,y\n2026-01-01 00:00,20,40,maybe\n", "l.csv")
    with pytest.raises(IngestError, match=r"l\.csv: line 2, column 'y': expected a label 0/1"):
        read_logs(csv_cfg(paths=[str(path)], label_col="y"), 60)


def test_csv_config_is_checked():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    bad = copy.deepcopy(raw)
    bad["data"]["csv"]["temperature_unit"] = "K"
    with pytest.raises(ValueError, match=r"data\.csv\.temperature_unit: expected one of \['C', 'F'\]"):
        load_dict(bad)
    bad = copy.deepcopy(raw)
    bad["data"]["source"] = "csv"
    bad["data"]["csv"]["paths"] = []
    with pytest.raises(ValueError, match=r"data\.csv\.paths"):
        load_dict(bad)


# ---------------------------------------------------------------- on-change logs
def _periodic(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    """A periodic log's rows (read_log's columns) of a steady room at 0.1 steps: many repeats,
    a labelled event, and a failed read."""
    rng = np.random.default_rng(seed)
    temp = np.round(22.0 + np.cumsum(rng.choice([-0.1, 0.0, 0.0, 0.0, 0.1], n)), 1)
    hum = np.round(40.0 + np.cumsum(rng.choice([-0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1], n)), 1)
    fault = np.full(n, "", dtype=object)
    fault[300] = "nan"
    temp[300] = hum[300] = np.nan
    label = np.zeros(n, dtype=np.int8)
    label[400:420] = 1
    return pd.DataFrame({
        "timestamp": pd.date_range("2026-01-05", periods=n, freq="1min"), "temperature": temp, "humidity": hum,
        "fault": fault, "label": label, "anomaly_type": np.where(label == 1, "collective", "none"),
        "line": np.arange(2, n + 2), "file": "x",
    })


def test_an_on_change_log_read_with_a_hold_is_the_periodic_log(tmp_path):
    """benchmarks/on_change.py's logger writes the periodic table on change; read back with a
    hold, the file is the periodic table again, and without it its silent periods are missing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("on_change_benchmark", ROOT / "benchmarks" / "on_change.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    periodic, _ = to_grid(_periodic(), 60, 0.1, has_labels=True)
    lines = bench.on_change_log(periodic, 0.1, humidity=True, labels=True)
    assert len(lines) < 0.6 * len(periodic)  # a steady room: most periods have no line
    path = tmp_path / "log.csv"
    lines.to_csv(path, index=False)
    held, stats = read_logs(csv_cfg(paths=[str(path)], label_col="label", hold_min=60), 60)
    pd.testing.assert_frame_equal(held, periodic)
    assert stats["held"] == len(periodic) - len(lines) and stats["warnings"] == []
    bare, stats = read_logs(csv_cfg(paths=[str(path)], label_col="label"), 60)
    assert stats["held"] == 0 and (bare["fault"] == "missing").sum() == len(periodic) - len(lines)
    assert any("an on-change log" in w for w in stats["warnings"])


def test_the_hold_ends_after_hold_periods_and_at_a_failed_read():
    stamps = pd.to_datetime(["2026-01-05 00:00", "2026-01-05 00:10", "2026-01-05 00:12", "2026-01-05 00:20"])
    raw = pd.DataFrame({"timestamp": stamps, "temperature": [21.0, np.nan, 22.0, 23.0],
                        "humidity": [40.0, np.nan, 41.0, 42.0], "fault": ["", "nan", "", ""], "label": [-1] * 4,
                        "anomaly_type": ["unknown"] * 4, "line": [2, 3, 4, 5], "file": "x"})
    table, stats = to_grid(raw, 60, hold=3)
    fault = list(table["fault"])
    # 00:01-00:03 repeat 21.0; 00:04-00:09 are missing (silent too long); after the failed read at 00:10, 00:11
    # is missing (nothing valid to repeat); 00:13-00:15 repeat 22.0, 00:16-00:19 missing
    assert fault[1:4] == [""] * 3 and list(table["temperature"].iloc[1:4]) == [21.0] * 3
    assert fault[4:10] == ["missing"] * 6 and fault[10:12] == ["nan", "missing"]
    assert fault[13:16] == [""] * 3 and fault[16:20] == ["missing"] * 4
    assert stats["held"] == 6


def test_hold_min_is_minutes_and_a_negative_one_is_refused():
    from tinyad.config import ConfigError

    with pytest.raises(ConfigError, match=r"data.csv.hold_min: expected a value in \[0.0, 10080.0\], got -5"):
        csv_cfg(hold_min=-5)


def test_a_home_assistant_history_export_reads_as_one_reading_a_period(tmp_path):
    text = ("entity_id,state,last_changed\n"
            "sensor.room_temperature,21.5,2026-01-05T08:00:00.000Z\n"
            "sensor.room_humidity,40,2026-01-05T08:00:00.000Z\n"
            "light.desk,on,2026-01-05T08:01:00.000Z\n"
            "sensor.room_temperature,21.6,2026-01-05T08:03:00.000Z\n"
            "sensor.room_humidity,unavailable,2026-01-05T08:05:00.000Z\n"
            "sensor.room_humidity,41,2026-01-05T08:06:00.000Z\n"
            "sensor.room_temperature,21.7,2026-01-05T08:20:00.000Z\n")
    path = write(tmp_path, text)
    cfg = csv_cfg(paths=[str(path)], timestamp_col="last_changed", temperature_col="sensor.room_temperature",
                  humidity_col="sensor.room_humidity", entity_col="entity_id", value_col="state", hold_min=10,
                  timezone="Europe/Berlin")
    table, stats = read_logs(cfg, 60)
    assert table["timestamp"].iloc[0] == pd.Timestamp("2026-01-05 09:00") and len(table) == 21  # local time
    temp, hum, fault = (table[c].tolist() for c in ("temperature", "humidity", "fault"))
    assert temp[:5] == [21.5] * 3 + [21.6] * 2 and hum[:5] == [40.0] * 5 and fault[:5] == [""] * 5
    assert fault[5] == "nan"  # unavailable: a failed read, and the hold does not cross it
    # a value stands for at most 10 minutes after its own line: the temperature of 08:03 until 08:13
    assert temp[6:14] == [21.6] * 8 and hum[6:14] == [41.0] * 8 and fault[6:14] == [""] * 8
    assert fault[14:20] == ["missing"] * 6
    # 08:20: the temperature changes, but the humidity's last line (08:06) is older than the hold:
    # no reading of the room there (missing, not a failed read)
    assert temp[20] != temp[20] and fault[20] == "missing"
    assert stats["warnings"] == [] and stats["duplicates"] == 1  # both entities at 08:00: one reading
    # an entity named in the config that the log does not hold is refused, listing those it holds
    with pytest.raises(IngestError, match=r"log.csv: column 'entity_id': no line of the entity "
                                          r"'sensor.kitchen_temperature' \(data.csv.temperature_col\); "
                                          r"entities present: \['light.desk', 'sensor.room_humidity'"):
        read_logs(dataclasses.replace(cfg, temperature_col="sensor.kitchen_temperature"), 60)


def test_note_lines_are_skipped_with_data_csv_comment_and_a_repeated_header_always(tmp_path):
    text = ("# logger v2, room 3\n"
            "timestamp,temperature,humidity\n"
            "2026-01-05 08:00:00,21.5,40.0\n"
            "# battery replaced\n"
            "2026-01-05 08:01:00,21.6,40.1\n"
            "timestamp,temperature,humidity\n"  # a second file appended to the first
            "2026-01-05 08:02:00,21.7,40.2\n")
    path = write(tmp_path, text)
    with pytest.raises(IngestError, match=r"log.csv: line 1: column 'timestamp' \(data.csv.timestamp_col\) not found; "
                                          r"columns present: \['# logger v2', 'room 3'\] \(delimiter ','\); a note line\? "
                                          r"set data.csv.comment: '#'$"):
        read_log(path, csv_cfg())
    log = read_log(path, csv_cfg(comment="#"))
    assert log["temperature"].tolist() == [21.5, 21.6, 21.7] and log["line"].tolist() == [3, 5, 7]
    # a note line inside a log read without the key is no reading: refused at its line, not skipped
    with pytest.raises(IngestError, match=r"log.csv: line 3: expected 3 fields \(','-separated, as in the header\), "
                                          r"got 1: '# battery replaced'"):
        read_log(write(tmp_path, text.split("\n", 1)[1]), csv_cfg())


def test_a_quote_in_a_note_line_does_not_swallow_the_readings_after_it(tmp_path):
    text = ('# moved to "office\ntimestamp,temperature,humidity\n2026-01-05 08:00:00,21.5,40.0\n'
            '  # door open, "draught\n2026-01-05 08:01:00,21.6,40.1\n"2026-01-05 08:02:00",21.7,40.2\n')
    log = read_log(write(tmp_path, text), csv_cfg(comment="#"))
    assert log["temperature"].tolist() == [21.5, 21.6, 21.7] and log["line"].tolist() == [3, 5, 6]


def test_joined_files_with_byte_order_marks_and_a_note_after_the_header_without_the_key(tmp_path):
    one = "timestamp,temperature,humidity\n2026-01-05 08:00:00,21.5,40.0\n"
    two = "timestamp,temperature,humidity\n2026-01-05 08:01:00,21.6,40.1\n"
    path = tmp_path / "joined.csv"
    path.write_bytes(one.encode("utf-8-sig") + two.encode("utf-8-sig"))  # `cat a.csv b.csv`
    assert read_log(path, csv_cfg())["temperature"].tolist() == [21.5, 21.6]
    with pytest.raises(IngestError, match=r"log.csv: line 3: expected 3 fields .* got 1: '# battery replaced'; "
                                          r"a note line\? set data.csv.comment: '#'$"):
        read_log(write(tmp_path, one + "# battery replaced\n"), csv_cfg())


def test_a_sensor_reporting_twice_in_one_timestamp_now_and_then_is_read_the_last_value_kept(tmp_path):
    times = pd.date_range("2026-01-05 08:00", periods=200, freq="30s")
    rows = [f"sensor.t,{21 + 0.1 * (i % 7):.1f},{t:%Y-%m-%dT%H:%M:%S}Z" for i, t in enumerate(times)]
    rows.insert(50, rows[49].replace(",21.", ",25.", 1))  # one double report of 200 lines
    rows.insert(20, rows[19].split(",")[0] + ",unavailable," + rows[19].split(",")[2])  # and a failed read beside one
    text = "entity_id,state,last_changed\n" + "\n".join(rows) + "\n"
    cfg = csv_cfg(paths=[str(write(tmp_path, text))], timestamp_col="last_changed", temperature_col="sensor.t",
                  humidity_col="", entity_col="entity_id", value_col="state", hold_min=2, timezone="UTC")
    table, stats = read_logs(cfg, 30)
    assert stats["duplicates"] == 2 and (table["temperature"] == 25.0).sum() == 1


def test_a_note_mark_inside_a_quoted_field_and_notes_after_a_byte_order_mark(tmp_path):
    text = ('timestamp,temperature,humidity,remark\n2026-01-05 08:00:00,21.5,40.0,"door\n# open"\n'
            '2026-01-05 08:01:00,21.6,40.1,\n2026-01-05 08:02:00,21.7,40.2,\n')
    log = read_log(write(tmp_path, text), csv_cfg(comment="#"))  # the "# open" line is the field's, no note
    assert log["temperature"].tolist() == [21.5, 21.6, 21.7] and log["line"].tolist() == [3, 4, 5]
    one = "# device a\ntimestamp,temperature,humidity\n2026-01-05 08:00:00,21.5,40.0\n"
    two = "# device b\ntimestamp,temperature,humidity\n2026-01-05 08:01:00,21.6,40.1\n"
    path = tmp_path / "joined.csv"
    path.write_bytes(one.encode("utf-8-sig") + two.encode("utf-8-sig"))
    assert read_log(path, csv_cfg(comment="#"))["temperature"].tolist() == [21.5, 21.6]


@pytest.mark.parametrize("comment", ["# ", "a,b"])
def test_a_comment_with_spaces_or_the_delimiter_is_refused(comment):
    from tinyad.config import ConfigError

    with pytest.raises(ConfigError, match=r"data.csv.comment: expected the text a note line starts with"):
        csv_cfg(comment=comment)


def test_an_influxdb_annotated_csv_reads_as_the_room_logged_every_minute(tmp_path):
    """Two tables (one per field), each after its annotations and with its own header line."""
    from tests.helpers.readings import influxdb_export

    text, readings = influxdb_export(minutes=30)
    cfg = csv_cfg(paths=[str(write(tmp_path, text))], comment="#", timestamp_col="_time", entity_col="_field",
                  value_col="_value", hold_min=2, timezone="UTC")
    table, stats = read_logs(cfg, 60)
    assert (table["fault"] == "").all() and stats["warnings"] == []
    np.testing.assert_array_equal(table["timestamp"], readings["timestamp"])
    np.testing.assert_array_equal(table[["temperature", "humidity"]].to_numpy(),
                                  readings[["temperature", "humidity"]].to_numpy())


def _repeats_some(figures: dict) -> bool:
    """More than a handful of the pairs repeat (a periodic logger's sign, alone)."""
    return figures["repeats"] > 0.01 * figures["pairs"]


def test_a_long_log_s_on_change_figures_count_each_entity_s_own_lines(tmp_path):
    """plausibility.on_change on a long log: the steps and the repeats of each entity's own
    lines (a Home Assistant export repeats none; a periodic export, InfluxDB's, does)."""
    from tests.helpers.readings import home_assistant_export, influxdb_export
    from tinyad.data.plausibility import on_change, periodic

    text, _, _ = home_assistant_export(outage=False)
    cfg = csv_cfg(timestamp_col="last_changed", temperature_col="sensor.room_temperature",
                  humidity_col="sensor.room_humidity", entity_col="entity_id", value_col="state", hold_min=120)
    lines = text.splitlines()[1:]
    got = on_change(read_log(write(tmp_path, text), cfg), cfg, 60)
    own = [ln for ln in lines if ln.startswith("sensor.room_")]
    assert got["repeats"] == 0 and got["pairs"] == len(own) - 2  # one step fewer than lines, per entity
    text, readings = influxdb_export(minutes=600)
    cfg = csv_cfg(comment="#", timestamp_col="_time", entity_col="_field", value_col="_value", hold_min=2)
    raw = read_log(write(tmp_path, text, "influx.csv"), cfg)
    got = on_change(raw, cfg, 60)
    want = sum(int((np.diff(readings[c].to_numpy()) == 0).sum()) for c in ("temperature", "humidity"))
    assert got["pairs"] == 2 * (len(readings) - 1) and got["repeats"] == want > 0 and got["step_s"] == 60.0
    # the figure's use: a periodic writer held for far more than a few periods is warned about, once held less not
    from tinyad.data.plausibility import PERIODIC_HOLD_PERIODS, change_figures, check_log

    # an on-change export of a finer sensor than the resolution repeats once rounded, but is no
    # periodic logger: its steady periods have no line (no warning on its two-hour hold)
    text, _, _ = home_assistant_export(outage=False, decimals=2)
    fine = csv_cfg(timestamp_col="last_changed", temperature_col="sensor.room_temperature",
                   humidity_col="sensor.room_humidity", entity_col="entity_id", value_col="state", hold_min=120)
    fine_raw = read_log(write(tmp_path, text, "fine.csv"), fine)
    assert _repeats_some(change_figures(fine_raw, fine, 60)) and not periodic(change_figures(fine_raw, fine, 60))
    assert not any("a logger that writes every period" in w for w in check_log(fine_raw, fine, period_s=60))
    long_hold = dataclasses.replace(cfg, hold_min=120)
    assert periodic(got) and any("a logger that writes every period" in w for w in check_log(raw, long_hold, period_s=60))
    short = dataclasses.replace(cfg, hold_min=PERIODIC_HOLD_PERIODS)
    assert not any("a logger that writes every period" in w for w in check_log(raw, short, period_s=60))


def test_an_export_of_several_rooms_is_refused_mixed_and_reads_one_room_with_data_csv_sensor(tmp_path):
    from tests.helpers.readings import influxdb_export

    text, office = influxdb_export(minutes=30, rooms=("office", "lab"))
    path = write(tmp_path, text)
    cfg = csv_cfg(paths=[str(path)], comment="#", timestamp_col="_time", entity_col="_field", value_col="_value",
                  hold_min=2, timezone="UTC")
    with pytest.raises(IngestError, match=r"log.csv: lines 5 and 69: the entity 'temperature' \('_field'\) has two "
                                          r"values at '2026-01-05T00:00:00Z' \(.+ and .+\), and so at 30 of its 30 "
                                          r"times: two sensors' series\? keep one with data.csv.sensor_col .* and "
                                          r"data.csv.sensor$"):
        read_logs(cfg, 60)
    table, stats = read_logs(dataclasses.replace(cfg, sensor_col="room", sensor="office"), 60)
    np.testing.assert_array_equal(table[["temperature", "humidity"]].to_numpy(),
                                  office[["temperature", "humidity"]].to_numpy())
    assert stats["skipped_lines"] == {"notes": 3, "repeated_headers": 3, "other_sensors": 60, "other_entities": 0}
    with pytest.raises(IngestError, match=r"log.csv: column 'room': no line of the sensor 'kitchen' \(data.csv.sensor\); "
                                          r"sensors present: \['lab', 'office'\]"):
        read_logs(dataclasses.replace(cfg, sensor_col="room", sensor="kitchen"), 60)
    # three rooms: the times that clash are counted once each
    text, _ = influxdb_export(minutes=30, rooms=("office", "lab", "kitchen"))
    with pytest.raises(IngestError, match=r"has two values at .*, and so at 30 of its 30 times"):
        read_logs(dataclasses.replace(cfg, paths=[str(write(tmp_path, text, "three.csv"))]), 60)


def test_a_wide_log_of_several_sensors_reads_the_one_named(tmp_path):
    text = ("timestamp,mote,temperature,humidity\n"
            "2026-01-05 08:00:10,1,21.5,40.0\n"
            "2026-01-05 08:00:40,2,25.0,30.0\n"
            "2026-01-05 08:01:05,1,21.6,40.1\n"
            "2026-01-05 08:01:30,2,oops,30.0\n"  # another sensor's line: skipped, not parsed
            "2026-01-05 08:02:12, 1 ,21.7,40.2\n")
    log = read_log(write(tmp_path, text), csv_cfg(sensor_col="mote", sensor="1"))
    assert log["temperature"].tolist() == [21.5, 21.6, 21.7] and log["line"].tolist() == [2, 4, 6]


@pytest.mark.parametrize("over", [dict(sensor_col="mote"), dict(sensor="1"), dict(sensor_col="mote", sensor=" ")])
def test_a_sensor_column_without_its_sensor_or_the_reverse_is_refused(over):
    from tinyad.config import ConfigError

    with pytest.raises(ConfigError, match=r"data.csv.sensor_col, data.csv.sensor: a log of several sensors names both"):
        csv_cfg(**over)


def test_a_long_log_has_no_reading_before_both_entities_have_reported(tmp_path):
    text = ("entity_id,state,last_changed\n"
            "sensor.t,21.0,2026-01-05 08:00:00\n"
            "sensor.h,40,2026-01-05 08:02:00\n"
            "sensor.t,21.1,2026-01-05 08:03:00\n")
    cfg = csv_cfg(paths=[str(write(tmp_path, text))], timestamp_col="last_changed", temperature_col="sensor.t",
                  humidity_col="sensor.h", entity_col="entity_id", value_col="state", hold_min=30)
    table, _ = read_logs(cfg, 60)
    # 08:00 and 08:01: no humidity yet, so no reading of the room (missing, not a failed read)
    assert list(table["fault"]) == ["missing", "missing", "", ""]
    assert list(table["temperature"].iloc[2:]) == [21.0, 21.1] and list(table["humidity"].iloc[2:]) == [40.0, 40.0]


def test_the_hold_is_minutes_counted_in_periods_at_any_period(tmp_path):
    """At a 5-minute period, hold_min 12 holds two periods (12 minutes, rounded to periods)."""
    lines = ["2026-01-05 00:00:00,21.0,40.0", "2026-01-05 00:30:00,21.5,40.0", "2026-01-05 00:35:00,21.6,40.0"]
    path = write(tmp_path, "timestamp,temperature,humidity\n" + "\n".join(lines) + "\n")
    table, stats = read_logs(csv_cfg(paths=[str(path)], hold_min=12), 300)
    assert list(table["fault"]) == ["", "", "", "missing", "missing", "missing", "", ""]
    assert list(table["temperature"].iloc[:3]) == [21.0] * 3 and stats["held"] == 2


def test_a_long_log_needs_its_value_column_and_a_hold():
    from tinyad.config import ConfigError

    with pytest.raises(ConfigError, match="data.csv.entity_col, data.csv.value_col: a long log"):
        csv_cfg(entity_col="entity_id", hold_min=120)
    with pytest.raises(ConfigError, match="data.csv.hold_min: a long log"):
        csv_cfg(entity_col="entity_id", value_col="state")
