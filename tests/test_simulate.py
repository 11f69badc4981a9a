"""The simulated room: counts, determinism, physics, each anomaly kind as it claims, and the room presets."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tinyad.data.readings import write_parquet
from tinyad.config import ConfigError, load_dict
from tinyad.data.csvlog import IngestError
from tinyad.params import compose
from tinyad.data.simulate import SUBKINDS, TYPE_OF, inject_anomalies, minutes_to_readings, simulate, simulate_background

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
    for kind in SUBKINDS:
        want = round(getattr(anomalies, kind).per_day * anomalies.rate_scale * data.sim.days)
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
    # the configured durations and gaps (minutes; at 60 s one reading a minute)
    assert data.period_s == 60
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
    ramp = minutes_to_readings(cfg.ramp, data.period_s, least=0)
    for e in ctx:
        h = hr[e.start:e.stop]
        assert np.all((h >= cfg.hours[0]) | (h < cfg.hours[1])), "contextual event outside the night window"
        core = t[e.start + ramp:e.stop - ramp]
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
    for kind in SUBKINDS:
        raw["data"]["sim"]["anomalies"][kind]["per_day"] = 0.0
    table, events = simulate(load_dict(raw).data)
    assert events == [] and (table["label"] == 0).all() and (table["event_id"] == -1).all()


@pytest.mark.parametrize("scale", [0.0, 0.1, 2.0])
def test_rate_scale_makes_the_same_room_s_events_rarer_or_more_frequent(scale, default):
    data, table, events = default
    raw = raw_params()
    raw["data"]["source"] = "sim"
    raw["data"]["sim"]["anomalies"]["rate_scale"] = scale
    scaled = load_dict(raw).data
    t2, e2 = simulate(scaled)
    per_kind = lambda evs: {k: sum(e.kind == k for e in evs) for k in SUBKINDS}  # noqa: E731
    want = {k: round(getattr(data.sim.anomalies, k).per_day * scale * data.sim.days) for k in SUBKINDS}
    assert per_kind(e2) == want and per_kind(events) != want
    assert len(t2) == len(table) and ((t2["label"] == 1).sum() == 0) == (scale == 0)


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
    (("anomalies", "stuck", "duration"), [0.0, 10.0], r"data\.sim\.anomalies\.stuck\.duration: expected .* > 0"),
    (("anomalies", "dip", "temp_delta"), [-5.0, 2.0], r"data\.sim\.anomalies\.dip\.temp_delta: a dip goes down"),
    (("anomalies", "humidity", "temp_delta"), [1.0, 2.0], r"data\.sim\.anomalies\.humidity\.temp_delta"),
    (("anomalies", "noise", "std_c"), [1.5, 0.8], r"data\.sim\.anomalies\.noise\.std_c"),
    (("weekday_hours",), [[18.0, 6.0]], r"data\.sim\.weekday_hours"),
    (("hum_follow",), 1.5, r"data\.sim\.hum_follow"),
    (("anomalies", "rate_scale"), -0.5, r"data\.sim\.anomalies\.rate_scale"),
])
def test_bad_simulator_config_names_the_key(path, value, message):
    raw = copy.deepcopy(raw_params())
    node = raw["data"]["sim"]
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        load_dict(raw)


# ------------------------------------------------------------ the new kinds, exactly
def _inject_only(kind: str, **over):
    """The default background with events of one kind only: (background, injected, events)."""
    raw = raw_params()
    anomalies = raw["data"]["sim"]["anomalies"]
    for k in SUBKINDS:
        anomalies[k]["per_day"] = 0.0
    anomalies[kind].update({"per_day": 2.0, **over})
    data = load_dict(raw).data
    ts, temp, hum = simulate_background(data.sim, data.period_s, np.random.default_rng(1))
    out = inject_anomalies(ts, temp, hum, np.ones(len(ts), dtype=bool), data.sim.anomalies,
                           np.random.default_rng(2), data.period_s, data.sim.resolution)
    return (temp, hum), out, data.sim.anomalies


def test_dip_is_a_short_spike_down():
    (bg_t, bg_h), (t, h, label, atype, _, events), cfg = _inject_only("dip")
    lo, hi = cfg.dip.temp_delta
    assert events and all(e.kind == "dip" and e.anomaly_type == "point" for e in events)
    for e in events:
        assert 1 <= e.length <= 3 and lo <= e.temp_delta <= hi < 0
        d = t[e.start:e.stop] - bg_t[e.start:e.stop]
        assert np.all(np.abs(d - e.temp_delta) <= 0.051)
        assert np.array_equal(h[e.start:e.stop], bg_h[e.start:e.stop])
    assert np.array_equal(t[label == 0], bg_t[label == 0])


def test_humidity_event_moves_humidity_alone():
    (bg_t, bg_h), (t, h, label, atype, _, events), cfg = _inject_only("humidity")
    lo, hi = cfg.humidity.hum_delta
    assert events and all(e.anomaly_type == "point" for e in events)
    for e in events:
        assert 1 <= e.length <= 5 and lo <= e.hum_delta <= hi
        assert np.array_equal(t[e.start:e.stop], bg_t[e.start:e.stop])  # the temperature is untouched
        d = h[e.start:e.stop] - bg_h[e.start:e.stop]
        assert np.all(np.abs(d - e.hum_delta) <= 0.051)


def test_noise_grows_zero_mean_then_ends():
    (bg_t, bg_h), (t, h, label, atype, _, events), cfg = _inject_only("noise", duration=[300, 300])
    assert events and all(e.anomaly_type == "collective" and e.length == 300 for e in events)
    resid_t, resid_h = [], []
    for e in events:
        lo, hi = cfg.noise.std_c
        assert lo <= e.temp_delta <= hi and e.hum_delta == pytest.approx(cfg.noise.hum_factor * e.temp_delta)
        d = t[e.start:e.stop] - bg_t[e.start:e.stop]
        first, last = d[:60], d[-60:]
        assert np.std(first) < 0.35 * e.temp_delta  # the std ramps up from about 0 ...
        assert 0.55 * e.temp_delta < np.std(last) < 1.4 * e.temp_delta  # ... to about std_c at the end
        env = np.arange(1, 301) / 300
        resid_t.append(d / (e.temp_delta * env))
        resid_h.append((h[e.start:e.stop] - bg_h[e.start:e.stop]) / (e.hum_delta * env))
    z = np.concatenate(resid_t)[30:]
    assert abs(z.mean()) < 0.1 and 0.85 < z.std() < 1.15  # zero-mean Gaussian, sd as documented
    assert 0.8 < np.concatenate(resid_h)[30:].std() < 1.2
    assert np.array_equal(t[label == 0], bg_t[label == 0])  # and it ends with the event


def test_humidity_events_need_a_humidity_sensor():
    raw = raw_params()
    raw["data"]["sim"]["humidity"] = False
    raw["data"]["sim"]["anomalies"]["humidity"]["per_day"] = 1.0
    with pytest.raises(IngestError, match=r"data\.sim\.anomalies\.humidity: .* no humidity"):
        simulate(load_dict(raw).data)


def test_temperature_only_sensor_has_no_humidity_and_no_humidity_fault():
    table, events = simulate(data_cfg(humidity=False))
    assert table["humidity"].isna().all()
    default, _ = simulate(data_cfg())
    # the same room: the temperature is read exactly as with a humidity sensor
    same = (table["fault"] == "") & (default["fault"] == "")
    assert same.mean() > 0.99
    assert np.array_equal(table.loc[same, "temperature"], default.loc[same, "temperature"])


def test_durations_are_minutes_at_any_period():
    # the default room at 5-minute sampling: the same events in minutes, counted in fewer readings
    raw = raw_params()
    raw["data"]["source"] = "sim"
    raw["data"]["period_s"] = 300
    data = load_dict(raw).data
    table, events = simulate(data)
    a = data.sim.anomalies
    assert len(table) == round(data.sim.days * 86400 / 300)
    for e in events:
        cfg = getattr(a, e.kind)
        lo = minutes_to_readings(cfg.duration[0], 300)
        hi = max(lo, minutes_to_readings(cfg.duration[1], 300))
        if e.kind == "rise":
            lo, hi = lo + round(cfg.recovery * lo), hi + round(cfg.recovery * hi)
        assert lo <= e.length <= hi, e
    gap = minutes_to_readings(a.min_gap, 300, least=0)
    spans = sorted((e.start, e.stop) for e in events)
    assert gap == 12 and all(b[0] - a_[1] >= gap for a_, b in zip(spans, spans[1:]))
    assert minutes_to_readings(2, 3600) == 1 and minutes_to_readings(0, 60, least=0) == 0


# -------------------------------------------------------------------- room presets
PRESETS = ["home", "office", "server_room", "greenhouse", "temp_only", "hourly", "hires"]
CONF = ROOT / "conf"


def preset_file(name: str) -> dict:
    return yaml.safe_load((CONF / "data" / f"{name}.yaml").read_text())


def room_band(name: str) -> dict:
    """The alarm band the room's user sets: the preset's thresholds, else conf/config.yaml's."""
    band = dict(yaml.safe_load((CONF / "config.yaml").read_text())["thresholds"])
    band.update(preset_file(name).get("thresholds", {}))
    return band


def _self_first() -> bool:
    """True when conf/config.yaml merges its own values before its groups (a preset can then set thresholds)."""
    defaults = yaml.safe_load((CONF / "config.yaml").read_text())["defaults"]
    return defaults.index("_self_") < next(i for i, d in enumerate(defaults) if isinstance(d, dict) and "data" in d)


_composed: dict = {}


def composed(name: str, tmp: Path, *overrides: str):
    key = (name, overrides)
    if key not in _composed:
        out = tmp / f"{name}{len(_composed)}.yaml"
        compose([f"data={name}", *overrides], conf_dir=CONF, out=out)
        raw = yaml.safe_load(out.read_text())
        cfg = load_dict(raw, source=f"data={name}")
        table, events = simulate(cfg.data)
        _composed[key] = (raw, cfg, table, events)
    return _composed[key]


@pytest.fixture(scope="module")
def ptmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("presets")


def expected_kinds(cfg) -> set[str]:
    return {k for k in SUBKINDS if k != "humidity" or cfg.data.sim.humidity}


def test_presets_are_listed_and_documented():
    on_disk = {p.stem for p in (CONF / "data").glob("*.yaml")} - {"sim", "uci", "uci_inject", "recorded", "home_assistant",
                                                                       "influxdb"}
    assert on_disk == set(PRESETS)
    doc = (ROOT / "docs" / "rooms.md").read_text()
    for name in PRESETS:
        text = (CONF / "data" / f"{name}.yaml").read_text()
        assert text.startswith("# @package _global_\n"), name
        assert f"data={name}" in text and f"`{name}`" in doc, name


@pytest.mark.parametrize("name", PRESETS)
def test_preset_composes_and_simulates_every_kind_in_every_split(name, ptmp):
    raw, cfg, table, events = composed(name, ptmp)
    assert cfg.data.source == "sim"
    assert len(table) == round(cfg.data.sim.days * 86400 / cfg.data.period_s) < 60_000
    kinds = expected_kinds(cfg)
    counts = {k: sum(e.kind == k for e in events) for k in SUBKINDS}
    assert {k for k, c in counts.items() if c} == kinds, counts
    assert {TYPE_OF[e.kind] for e in events} == {"point", "contextual", "collective"}
    # realistic rates: one to a few events a week (fortnight, hourly) of each kind, not ~2 a day
    weeks = cfg.data.sim.days / 7.0
    for k in kinds:
        assert 0.25 <= counts[k] / weeks <= 4.0, (k, counts[k] / weeks)
    # every fifth of the series (so train, validation and test) holds every anomaly type
    n = len(table)
    for q in range(5):
        lo, hi = q * n // 5, (q + 1) * n // 5
        assert {TYPE_OF[e.kind] for e in events if lo <= e.start < hi} == {TYPE_OF[k] for k in kinds}, (name, q)
    # labels as the table contract says
    for e in events:
        rows = table.iloc[e.start:e.stop]
        assert (rows["anomaly_type"] == TYPE_OF[e.kind]).all() and (rows["event_id"] == e.event_id).all()
    # realistic: a few per cent of the readings inside events (the default budget is 1 %)
    assert 0.01 < table["label"].mean() < 0.05, table["label"].mean()


@pytest.mark.parametrize("name", PRESETS)
def test_alarm_band_never_fires_on_normal_rows(name, ptmp):
    _, cfg, table, _ = composed(name, ptmp)
    band = room_band(name)
    ok = normal_rows(table)
    t = table["temperature"].to_numpy()[ok]
    lo, hi = band["temp_alarm"]
    assert lo <= t.min() and t.max() <= hi, (name, t.min(), t.max(), band)
    h = table["humidity"].to_numpy()[ok]
    if cfg.data.sim.humidity:
        lo, hi = band["hum_alarm"]
        assert lo <= h.min() and h.max() <= hi, (name, h.min(), h.max(), band)
    else:
        assert np.isnan(table["humidity"]).all()
    # and the band is the room's, not a blanket one: the normal readings use a good part of it
    assert (t.max() - t.min()) > 0.15 * (band["temp_alarm"][1] - band["temp_alarm"][0])


@pytest.mark.xfail(not _self_first(), strict=True,
                   reason="conf/config.yaml merges its own `thresholds`/`features` after the data group "
                          "(`_self_` last in its defaults), so a preset's global keys are overridden: "
                          "move `_self_` to the top of its defaults list")
@pytest.mark.parametrize("name", [p for p in PRESETS if "thresholds" in preset_file(p)] + ["uci"])
def test_preset_band_and_features_reach_params(name, ptmp):
    out = ptmp / f"band-{name}.yaml"
    compose([f"data={name}"], conf_dir=CONF, out=out)
    cfg = load_dict(yaml.safe_load(out.read_text()))
    band = room_band(name)
    assert cfg.thresholds.temp_alarm == band["temp_alarm"] and cfg.thresholds.hum_alarm == band["hum_alarm"]
    for key, value in preset_file(name).get("features", {}).items():
        assert getattr(cfg.features, key) == value


def test_uci_still_reads_the_real_log(ptmp):
    for name, source in (("uci", "csv"), ("uci_inject", "csv+inject")):
        out = ptmp / f"{name}.yaml"
        compose([f"data={name}"], conf_dir=CONF, out=out)
        cfg = load_dict(yaml.safe_load(out.read_text()))
        assert cfg.data.source == source and cfg.data.csv.timestamp_col == "Date"
        assert cfg.data.csv.paths == ["../shared/datasets/uci-occupancy/occupancy_data*.txt"]
        assert cfg.data.inject.seed == 11 and cfg.data.sim == load_dict(raw_params()).data.sim


def test_office_follows_its_schedule(ptmp):
    _, cfg, table, _ = composed("office", ptmp)
    ok = normal_rows(table)
    ts = pd.DatetimeIndex(table["timestamp"])
    hr, dow = hours(ts), np.asarray(ts.day_of_week)
    t = table["temperature"].to_numpy()
    work = t[ok & (dow < 5) & (hr >= 10) & (hr < 16)]
    sunday = t[ok & (dow == 6) & (hr >= 10) & (hr < 16)]
    night = t[ok & (dow < 5) & (hr >= 4) & (hr < 5)]
    sim = cfg.data.sim
    assert abs(np.median(work) - sim.base_temp_c) < 0.8
    assert np.median(work) - np.median(sunday) > 0.8 * sim.setback_c  # the weekend setback, nearly reached
    assert 1.0 < np.median(work) - np.median(night) < sim.setback_c  # cooled overnight, not all the way
    h = table["humidity"].to_numpy()
    assert np.median(h[ok & (dow == 6)]) > np.median(h[ok & (dow < 5) & (hr >= 10) & (hr < 16)])  # cooler air, damper


def test_greenhouse_swings_wide_and_humid(ptmp):
    _, _, table, _ = composed("greenhouse", ptmp)
    ok = normal_rows(table)
    t, h = table["temperature"].to_numpy()[ok], table["humidity"].to_numpy()[ok]
    assert np.percentile(t, 2) < 14 and np.percentile(t, 98) > 28
    assert np.percentile(h, 2) > 48 and np.percentile(h, 98) < 92 and np.percentile(h, 98) - np.percentile(h, 2) > 25


def test_hires_reads_in_hundredths(ptmp):
    _, cfg, table, _ = composed("hires", ptmp)
    x = table["temperature"].dropna().to_numpy()
    assert cfg.data.sim.resolution == 0.01
    assert np.allclose(np.round(x * 100), x * 100, atol=1e-6) and (np.round(x * 10) != x * 10).mean() > 0.8
    # at this resolution normal readings almost never repeat
    ok = normal_rows(table)
    same = (x[1:] == x[:-1])[ok[~table["temperature"].isna().to_numpy()][1:]]
    assert same.mean() < 0.3


@pytest.mark.parametrize("name", ["home", "server_room", "greenhouse"])
def test_same_preset_at_60_and_300_s_has_the_same_minutes(name, ptmp):
    """Durations in time: the preset's events last as many minutes at 1-minute and 5-minute sampling."""
    fixed = {"point": 3, "dip": 3, "humidity": 5, "contextual": 90, "rise": 60, "stuck": 180, "noise": 240}
    over = [f"data.sim.anomalies.{k}.duration=[{m},{m}]" for k, m in fixed.items()]
    lengths = {}
    for period in (60, 300):
        _, cfg, table, events = composed(name, ptmp, f"data.period_s={period}")
        a = cfg.data.sim.anomalies
        for e in events:  # as configured, in minutes, within one reading
            lo, hi = getattr(a, e.kind).duration
            if e.kind == "rise":
                lo, hi = lo * (1 + a.rise.recovery), hi * (1 + a.rise.recovery)
            assert lo - period / 60 <= e.length * period / 60 <= hi + period / 60, (period, e)
        _, cfg, _, events = composed(name, ptmp, f"data.period_s={period}", *over)
        lengths[period] = {k: {e.length * period / 60 for e in events if e.kind == k} for k in fixed}
    for k in expected_kinds(cfg):
        (m60,), (m300,) = lengths[60][k], lengths[300][k]  # one length each (fixed duration)
        assert abs(m60 - m300) <= 5, (k, m60, m300)  # equal within one reading of 5 min


def test_the_simulator_states_its_own_anomalous_share(tmp_path):
    """conf/data/sim.yaml sets cluster.contamination to the share of readings the
    default simulator puts inside events: the statement matches what it simulates."""
    import os

    import yaml

    from tinyad.config import load_dict
    from tinyad.params import compose

    root = Path(__file__).resolve().parents[1]
    cwd = os.getcwd()
    os.chdir(root)
    try:
        text = compose(["data=sim"], conf_dir=root / "conf", out=tmp_path / "params.yaml")
    finally:
        os.chdir(cwd)
    cfg = load_dict(yaml.safe_load(text))
    table, _ = simulate(cfg.data)
    share = float((table["label"] == 1).mean())
    assert share == pytest.approx(cfg.cluster.contamination, rel=0.2), share
    # the room presets keep the default budget of conf/config.yaml
    default = yaml.safe_load((root / "conf" / "config.yaml").read_text())["cluster"]["contamination"]
    assert default == 0.01 and cfg.cluster.contamination != default
