"""The simulated room: counts, determinism, physics, and each anomaly kind as it claims."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from stages.ingest import write_parquet
from tinyad.config import ConfigError, load_dict
from tinyad.csvlog import IngestError
from tinyad.simulate import TYPE_OF, simulate

ROOT = Path(__file__).resolve().parents[1]


def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def data_cfg(**sim_over):
    raw = raw_params()
    raw["data"]["source"] = "sim"
    raw["data"]["sim"].update(sim_over)
    return load_dict(raw).data


@pytest.fixture(scope="module")
def default():
    data = data_cfg()
    table, events = simulate(data)
    return data, table, events


def hours(ts) -> np.ndarray:
    ts = pd.DatetimeIndex(ts)
    return ((ts - ts.normalize()).total_seconds() / 3600.0).to_numpy()


def normal_rows(table: pd.DataFrame) -> np.ndarray:
    return ((table["label"] == 0) & (table["fault"] == "")).to_numpy()


def test_table_follows_the_contract(default):
    data, table, _ = default
    assert list(table.columns) == ["timestamp", "temperature", "humidity", "fault", "label", "anomaly_type",
                                   "event_id"]
    assert str(table["timestamp"].dtype) == "datetime64[ns]"
    assert table["label"].dtype == np.int8 and table["event_id"].dtype == np.int32
    n = round(data.sim.days * 86400 / data.period_s)
    assert len(table) == n
    assert (table["timestamp"].diff().dropna() == pd.Timedelta(seconds=data.period_s)).all()
    assert table["timestamp"].iloc[0] == pd.Timestamp(data.sim.start)
    assert set(table["fault"]) <= {"", "missing", "nan", "dht_error", "impossible"}
    assert set(table["anomaly_type"]) <= {"none", "point", "contextual", "collective"}
    assert set(table["label"]) <= {0, 1}


def test_event_counts_are_exactly_per_day_times_days(default):
    data, table, events = default
    anomalies = data.sim.anomalies
    for kind in ("point", "contextual", "rise", "stuck"):
        want = round(getattr(anomalies, kind).per_day * data.sim.days)
        assert sum(e.kind == kind for e in events) == want, kind
    assert [e.event_id for e in events] == list(range(len(events)))
    # every row of every event carries its label, type and id; nothing else is labelled
    labelled = np.zeros(len(table), dtype=bool)
    for e in events:
        rows = table.iloc[e.start:e.stop]
        assert (rows["label"] == 1).all() and (rows["event_id"] == e.event_id).all()
        assert (rows["anomaly_type"] == TYPE_OF[e.kind]).all()
        assert (rows["fault"] == "").all()  # no drop or fault inside an event
        labelled[e.start:e.stop] = True
    assert ((table["label"] == 1).to_numpy() == labelled).all()
    assert ((table["event_id"] >= 0).to_numpy() == labelled).all()
    # the configured durations and gaps
    for e in events:
        cfg = getattr(anomalies, e.kind)
        lo, hi = cfg.duration
        if e.kind == "rise":
            lo, hi = lo + round(cfg.recovery * lo), hi + round(cfg.recovery * hi)
        assert lo <= e.length <= hi, e
    starts = sorted((e.start, e.stop) for e in events)
    assert all(b[0] - a[1] >= anomalies.min_gap for a, b in zip(starts, starts[1:]))


def test_every_fifth_of_the_series_holds_every_kind(default):
    # the chronological splits (train / val / test) each see all kinds
    _, table, events = default
    n = len(table)
    for q in range(5):
        lo, hi = q * n // 5, (q + 1) * n // 5
        kinds = {e.kind for e in events if lo <= e.start < hi}
        assert kinds == {"point", "contextual", "rise", "stuck"}, (q, kinds)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path, default):
    data, table, _ = default
    write_parquet(table, tmp_path / "a.parquet")
    again, _ = simulate(data_cfg())
    write_parquet(again, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    other, _ = simulate(data_cfg(seed=data.sim.seed + 1))
    write_parquet(other, tmp_path / "c.parquet")
    assert (tmp_path / "a.parquet").read_bytes() != (tmp_path / "c.parquet").read_bytes()
    assert not np.array_equal(table["temperature"].to_numpy(), other["temperature"].to_numpy(), equal_nan=True)
    back = pd.read_parquet(tmp_path / "a.parquet")
    pd.testing.assert_frame_equal(back, table)


def test_normal_room_is_physically_sane(default):
    data, table, _ = default
    ok = normal_rows(table)
    t = table["temperature"].to_numpy()[ok]
    h = table["humidity"].to_numpy()[ok]
    assert abs(t.mean() - data.sim.base_temp_c) < 0.2
    assert abs(h.mean() - data.sim.base_humidity) < 1.5
    # the day/night cycle: warm afternoons, cool nights, within the documented band
    hr = hours(table["timestamp"])[ok]
    afternoon, night = t[(hr >= 14) & (hr < 16)], t[(hr >= 2) & (hr < 4)]
    amp = data.sim.day_amplitude_c
    assert afternoon.mean() - night.mean() == pytest.approx(2 * amp, abs=0.3)
    assert t.min() > data.sim.base_temp_c - amp - 1.0 and t.max() < data.sim.base_temp_c + amp + 1.0
    # warmer air reads drier: humidity follows temperature the other way
    assert np.corrcoef(t, h)[0, 1] < -0.7
    # 0.1 resolution
    for x in (table["temperature"].dropna(), table["humidity"].dropna()):
        assert np.allclose(x * 10, np.round(x * 10), atol=1e-6)
        assert (x.round(1) == x).all()


def test_normal_readings_always_jitter(default):
    # no 30 consecutive normal readings hold one value (that is the stuck sensor's tell)
    _, table, _ = default
    t = table["temperature"].to_numpy()
    ok = normal_rows(table)
    same = np.concatenate([[False], (t[1:] == t[:-1]) & ok[1:] & ok[:-1]])
    run = longest = 0
    for s in same:
        run = run + 1 if s else 0
        longest = max(longest, run)
    assert longest < 12


def test_drops_and_faults_are_emitted_flagged_and_nan(default):
    data, table, _ = default
    n = len(table)
    counts = table["fault"].value_counts()
    p = data.sim.drop_rate
    assert abs(counts["missing"] - p * n) < 4 * np.sqrt(n * p) + 1
    for kind in ("nan", "dht_error", "impossible"):
        assert counts.get(kind, 0) >= 1, kind
    faulty = table["fault"] != ""
    assert table.loc[faulty, ["temperature", "humidity"]].isna().all().all()
    assert table.loc[~faulty, ["temperature", "humidity"]].notna().all().all()
    none, _ = simulate(data_cfg(drop_rate=0.0, fault_rate=0.0))
    assert (none["fault"] == "").all()


def test_point_anomalies_are_short_spikes(default):
    data, table, events = default
    t = table["temperature"].to_numpy()
    lo, hi = data.sim.anomalies.point.temp_delta
    for e in (e for e in events if e.kind == "point"):
        assert 1 <= e.length <= 3
        spike = t[e.start:e.stop]
        before = t[e.start - 5:e.start]
        assert np.all(spike - np.nanmedian(before) > lo - 0.6)
        assert np.all(spike - np.nanmedian(before) < hi + 0.6)
        assert lo <= e.temp_delta <= hi


def test_contextual_is_a_daytime_value_at_night(default):
    data, table, events = default
    cfg = data.sim.anomalies.contextual
    t = table["temperature"].to_numpy()
    hr = hours(table["timestamp"])
    ok = normal_rows(table)
    day = t[ok & (hr >= 12) & (hr < 18)]
    night = t[ok & ((hr >= cfg.hours[0]) | (hr < cfg.hours[1]))]
    ctx = [e for e in events if e.kind == "contextual"]
    assert ctx
    for e in ctx:
        h = hr[e.start:e.stop]
        assert np.all((h >= cfg.hours[0]) | (h < cfg.hours[1])), "contextual event outside the night window"
        core = t[e.start + cfg.ramp:e.stop - cfg.ramp]
        # fine by day: inside the normal afternoon range ...
        assert np.percentile(day, 1) <= np.median(core) <= np.percentile(day, 99.9)
        # ... wrong at night: well above anything normal at night
        assert core.min() > night.max() + 0.5
    assert np.percentile(night, 99.9) + 1.5 < np.mean([np.median(t[e.start:e.stop]) for e in ctx])


def test_rise_is_slow_and_plausible(default):
    data, table, events = default
    cfg = data.sim.anomalies.rise
    t = table["temperature"].to_numpy()
    rises = [e for e in events if e.kind == "rise"]
    assert rises
    for e in rises:
        dur = round(e.length / (1 + cfg.recovery))
        start = np.median(t[e.start - 10:e.start])
        peak = np.median(t[e.start + dur - 5:e.start + dur])
        gain = peak - start
        assert gain > cfg.temp_delta[0] - 1.0  # the room's own cycle moves meanwhile
        rate = gain / (dur * data.period_s / 3600.0)
        assert 0.7 < rate < 3.0, rate  # deg C per hour: about 1-2
        # no single reading is out of a plausible indoor range
        assert np.all((t[e.start:e.stop] > 18.0) & (t[e.start:e.stop] < 32.0))
        # and it is much more than the room's own change over 30 minutes
        assert t[e.start + 45] - t[e.start + 15] > 0.4


def test_stuck_sensor_repeats_one_reading_exactly(default):
    _, table, events = default
    t = table["temperature"].to_numpy()
    h = table["humidity"].to_numpy()
    stuck = [e for e in events if e.kind == "stuck"]
    assert stuck
    for e in stuck:
        assert np.all(t[e.start:e.stop] == t[e.start - 1])
        assert np.all(h[e.start:e.stop] == h[e.start - 1])
        assert t[e.start] == t[e.start] and e.length >= 30


def test_anomaly_kinds_can_be_switched_off():
    raw = raw_params()
    raw["data"]["source"] = "sim"
    for kind in ("point", "contextual", "rise", "stuck"):
        raw["data"]["sim"]["anomalies"][kind]["per_day"] = 0.0
    table, events = simulate(load_dict(raw).data)
    assert events == [] and (table["label"] == 0).all() and (table["event_id"] == -1).all()


def test_too_many_events_is_a_clear_error():
    raw = raw_params()
    raw["data"]["sim"]["days"] = 1.0
    raw["data"]["sim"]["anomalies"]["stuck"]["per_day"] = 20.0
    with pytest.raises(IngestError, match=r"data\.sim\.anomalies\.stuck: cannot place event"):
        simulate(load_dict(raw).data)


@pytest.mark.parametrize("path,value,message", [
    (("anomalies", "point", "duration"), [3, 1], r"data\.sim\.anomalies\.point\.duration: expected \[low, high\]"),
    (("anomalies", "contextual", "hours"), [23.0, 25.0], r"data\.sim\.anomalies\.contextual\.hours"),
    (("anomalies", "rise", "per_day"), -1.0, r"data\.sim\.anomalies\.rise\.per_day"),
    (("drop_rate",), 0.9, r"data\.sim\.drop_rate"),
    (("hvac_period_min",), [30.0, 15.0], r"data\.sim\.hvac_period_min"),
])
def test_bad_simulator_config_names_the_key(path, value, message):
    raw = copy.deepcopy(raw_params())
    node = raw["data"]["sim"]
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        load_dict(raw)
