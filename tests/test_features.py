"""Features, scaling, the int8 input/output arithmetic and the chronological split."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.helpers.project import ROOT
from tests.helpers.readings import synthetic_readings
from tinyad.config import ConfigError, FeaturesConfig, SplitConfig
from tinyad.device.features import (
    Scaler,
    compute_features,
    decide,
    dequantize_output,
    feature_names,
    known_features,
    output_code_threshold,
    quantize_input,
    round_half_away,
    second_of_week,
    split_labels,
    stuck_warning,
    tod_sin_cos,
    to_tenths,
)


def fcfg(names=None, window=5, use_humidity=True, run_cap=1000, period_s=60, jitter=1000) -> FeaturesConfig:
    """Window, cap and jitter steps in readings at one reading a minute (minutes = readings;
    the cap and the jitter steps are cut to the window)."""
    return FeaturesConfig(window_min=window * period_s / 60, names=list(names or known_features()),
                          use_humidity=use_humidity, stuck_min=run_cap * period_s / 60, min_readings=2,
                          jitter_min=jitter * period_s / 60, period_s=period_s)


def tiny_frame(temps, hums=None, start="2026-01-05 06:00:00", faults=None) -> pd.DataFrame:
    n = len(temps)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(start, periods=n, freq="60s"),
            "temperature": np.asarray(temps, dtype=float),
            "humidity": np.asarray(hums if hums is not None else [40.0] * n, dtype=float),
            "fault": pd.Series(faults or [""] * n, dtype="string"),
        }
    )


# ------------------------------------------------------------------ formulas
def test_window_features_match_their_definitions_on_a_hand_window():
    temps = [24.0, 24.3, 23.9, 24.1, 26.0]
    df = tiny_frame(temps, hums=[40.0, 41.0, 42.0, 43.0, 44.0])
    X, valid = compute_features(df, fcfg(window=5))
    assert valid.tolist() == [False] * 4 + [True]
    f = dict(zip(known_features(), X[-1]))
    t = np.array([240, 243, 239, 241, 260])
    assert f["temp"] == 26.0
    assert f["hum"] == 44.0
    assert f["temp_delta"] == pytest.approx(2.0)
    assert f["temp_slope"] == pytest.approx(np.polyfit(np.arange(5), t / 10.0, 1)[0], rel=1e-12)
    assert f["temp_std"] == pytest.approx(np.std(t / 10.0), rel=1e-12)
    assert f["temp_range"] == pytest.approx(2.1)
    assert f["temp_dev"] == pytest.approx(26.0 - np.mean(t / 10.0), rel=1e-12)
    s = np.sort(t)
    assert f["temp_iqr"] == pytest.approx((s[3] - s[1]) / 10.0)
    assert f["temp_mdelta"] == pytest.approx((260 - 240) / 10.0)  # m = 1: last minus first
    assert f["temp_changes"] == 4.0
    # steps 3, 4, 2, 19 (tenths): the two largest (19, 4) left out, the mean of the rest
    assert f["temp_jitter"] == (3 + 2) / (10.0 * 2)
    assert f["hum_jitter"] == (10 + 10) / (10.0 * 2)
    assert f["hum_slope"] == pytest.approx(1.0)
    sod = 6 * 3600 + 4 * 60
    assert (f["tod_sin"], f["tod_cos"]) == tuple(float(v[0]) for v in tod_sin_cos([sod]))
    assert f["tod_sin"] == pytest.approx(math.sin(2 * math.pi * sod / 86400), abs=2e-16)
    assert f["tod_cos"] == pytest.approx(math.cos(2 * math.pi * sod / 86400), abs=2e-16)


def test_tod_sin_cos_is_sin_and_cos_of_the_time_of_day_for_every_second():
    """libm-free: within 2e-16 of 80-bit long double sin/cos, on every quadrant and fold."""
    sod = np.arange(86400)
    s, c = tod_sin_cos(sod)
    ang = np.longdouble(2) * np.longdouble("3.14159265358979323846264338327950288") * sod.astype(np.longdouble) / 86400
    assert np.abs(s.astype(np.longdouble) - np.sin(ang)).max() < 2e-16
    assert np.abs(c.astype(np.longdouble) - np.cos(ang)).max() < 2e-16
    assert (s[0], c[0], s[21600], c[43200]) == (0.0, 1.0, 1.0, -1.0)
    # the next day and second_of_week's days give the same values
    s7, c7 = tod_sin_cos(sod + 5 * 86400)
    np.testing.assert_array_equal(s7, s)
    np.testing.assert_array_equal(c7, c)


def test_second_of_week_is_the_wall_clock_the_time_of_day_reads():
    """One local-time rule: the day of the week and the second of the day by the wall
    clock, before 1970 too, with fractions of a second dropped and a time zone read as
    its wall clock (the features' time of day is it modulo a day)."""
    rng = np.random.default_rng(7)
    ns = rng.integers(-10 * 365 * 86400, 60 * 365 * 86400, 2000) * 10**9 + rng.integers(0, 10**9, 2000)
    ts = pd.Series(pd.to_datetime(np.sort(ns)))
    t = pd.DatetimeIndex(ts)
    sow = second_of_week(ts)
    np.testing.assert_array_equal(sow // 86400, t.day_of_week.to_numpy())
    np.testing.assert_array_equal(sow % 86400, (t.hour * 3600 + t.minute * 60 + t.second).to_numpy())
    aware = pd.Series(pd.DatetimeIndex(ts).tz_localize("Europe/Lisbon", ambiguous="NaT", nonexistent="NaT"))
    ok = aware.notna().to_numpy()
    np.testing.assert_array_equal(second_of_week(aware[ok]), sow[ok])
    df = pd.DataFrame({"timestamp": ts, "temperature": 24.0, "humidity": 40.0,
                       "fault": pd.Series([""] * len(ts), dtype="string")})
    X, valid = compute_features(df, fcfg(["tod_sin", "tod_cos"], window=2))
    assert valid.sum() > 1900
    s, c = tod_sin_cos(sow % 86400)
    np.testing.assert_array_equal(X[valid, 0], s[valid])
    np.testing.assert_array_equal(X[valid, 1], c[valid])


def test_run_counts_exact_repeats_of_both_quantities_and_devup_only_rises():
    df = tiny_frame([24.0, 24.1, 24.1, 24.1, 24.1, 23.0], hums=[40.0, 40.0, 41.0, 41.0, 41.0, 41.0])
    names = ["temp_run", "hum_run", "run", "temp_dev", "temp_devup"]
    X, valid = compute_features(df, fcfg(names, window=5))
    assert valid.tolist() == [False] * 4 + [True, True]
    assert X[4, :3].tolist() == [3.0, 2.0, 2.0]  # joint run: humidity changed 2 readings ago
    assert X[5, :3].tolist() == [0.0, 3.0, 0.0]
    assert X[4, 3] == pytest.approx(0.02) and X[4, 4] == X[4, 3]
    assert X[5, 3] == pytest.approx(23.0 - 23.88) and X[5, 4] == 0.0
    X_t, _ = compute_features(df, fcfg(["run"], window=5, use_humidity=False))
    assert X_t[4, 0] == 3.0  # temperature only
    X_c, _ = compute_features(df, fcfg(["temp_run", "hum_run", "run"], window=5, run_cap=2))
    assert X_c[4].tolist() == [2.0, 2.0, 2.0]  # capped at features.run_cap


def test_stuck_sensor_has_zero_spread_and_no_changes():
    df = tiny_frame([25.3] * 8)
    X, valid = compute_features(df, fcfg(["temp_std", "temp_iqr", "temp_range", "temp_changes", "run"], window=6))
    assert valid.sum() == 3
    assert (X[valid, :4] == 0.0).all()
    assert X[valid, 4].tolist() == [5.0, 5.0, 5.0]  # capped at N-1


def test_invalid_readings_are_skipped_not_pushed_and_not_scored():
    temps = [24.0, 24.1, np.nan, 24.2, 24.3, 24.4, 99.0]
    faults = ["", "", "nan", "", "", "", "impossible"]
    df = tiny_frame(temps, faults=faults)
    X, valid = compute_features(df, fcfg(["temp", "temp_delta"], window=4))
    # row 2 is skipped, so the 4th valid reading is row 4 (24.0, 24.1, 24.2, 24.3)
    assert valid.tolist() == [False, False, False, False, True, True, False]
    assert X[4].tolist() == [24.3, pytest.approx(0.3)]
    assert X[5, 1] == pytest.approx(0.3)  # 24.1 .. 24.4: the skipped row is not in the window
    assert np.isnan(X[~valid]).all()


def test_humidity_nan_invalidates_the_row_only_when_humidity_is_used():
    df = tiny_frame([24.0] * 5, hums=[40.0, 40.0, np.nan, 40.0, 40.0])
    _, v_hum = compute_features(df, fcfg(["temp", "hum"], window=2))
    _, v_temp = compute_features(df, fcfg(["temp", "hum"], window=2, use_humidity=False))
    assert v_hum.tolist() == [False, True, False, True, True]  # row 3: buffer holds rows 1 and 3
    assert v_temp.tolist() == [False, True, True, True, True]


def test_use_humidity_false_drops_humidity_features_and_unknown_names_fail():
    assert feature_names(fcfg(["temp", "hum", "hum_std", "tod_sin"], use_humidity=False)) == ["temp", "tod_sin"]
    with pytest.raises(ConfigError, match=r"features.names\[1\].*'tmp'"):
        feature_names(fcfg(["temp", "tmp"]))


def test_tenths_round_half_away_from_zero():
    assert to_tenths(np.array([24.3, -0.05, 0.05, 12.25, np.nan])).tolist() == [243, -1, 1, 123, 0]
    assert round_half_away(np.array([0.5, -0.5, 1.5, 2.5, 0.49999999999999994, -2.5000001])).tolist() == [1, -1, 2, 3, 0, -3]


def test_unsorted_or_incomplete_readings_fail_clearly():
    df = tiny_frame([24.0, 24.1, 24.2])
    with pytest.raises(ValueError, match="missing column"):
        compute_features(df.drop(columns=["fault"]), fcfg(["temp"], window=2))
    with pytest.raises(ValueError, match="increase strictly; row 2"):
        compute_features(df.iloc[[0, 2, 1]].reset_index(drop=True), fcfg(["temp"], window=2))


# ------------------------------------------------------------------ scaling
def test_scaler_is_fitted_on_train_rows_only_and_round_trips_json():
    df = synthetic_readings(days=2)
    cfg = fcfg(["temp", "temp_std"], window=10)
    X, valid = compute_features(df, cfg)
    split = split_labels(len(df), SplitConfig(0.6, 0.2, 0.2))
    train = valid & (split == "train")
    sc = Scaler(features=["temp", "temp_std"]).fit(X[train])
    np.testing.assert_allclose(sc.mean_, X[train].mean(axis=0))
    np.testing.assert_allclose(sc.scale_, X[train].std(axis=0))
    assert not np.allclose(sc.mean_, X[valid].mean(axis=0))  # the test rows would change it
    Z = sc.transform(X[train])
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)
    back = Scaler.from_json(sc.to_json())
    assert back.features == sc.features
    np.testing.assert_array_equal(back.transform(X[valid]), sc.transform(X[valid]))


def test_scaler_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        Scaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="missing key 'scale'"):
        Scaler.from_json({"features": ["a"], "mean": [0.0]})
    sc = Scaler().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert sc.scale_.tolist() == [1.0, 1.0]  # constant feature: scale 1


def test_the_scaler_file_carries_the_stuck_span_and_refuses_a_bad_one(tmp_path):
    sc = Scaler(features=["temp", "run"]).fit(np.array([[24.0, 0.0], [25.0, 3.0]]))
    sc.stuck_run = 7
    assert Scaler.from_json(sc.to_json()).stuck_run == 7
    old = {k: v for k, v in sc.to_json().items() if k != "stuck_run"}
    assert Scaler.from_json(old).stuck_run == 0  # a file from before the rule: no stuck rule
    for bad in (-1, 1.5, True, "7", 70000):
        with pytest.raises(ValueError, match=r"models/scaler.json: stuck_run must be a whole number"):
            Scaler.from_json({**sc.to_json(), "stuck_run": bad}, source="models/scaler.json")
    with pytest.raises(ValueError, match="stuck_run is 7 but the features have no 'run'"):
        Scaler.from_json({"features": ["temp"], "mean": [0.0], "scale": [1.0], "stuck_run": 7})
    sc.check_stuck_run(7)
    # a stage refuses a scaler whose span the params' run cap no longer reaches (tinyad.stage.load_scaler)
    from tinyad.config import load
    from tinyad.stage import load_scaler

    cfg = load(ROOT / "params.yaml")
    names = feature_names(cfg.features)
    path = tmp_path / "scaler.json"
    fitted = {"features": names, "mean": [0.0] * len(names), "scale": [1.0] * len(names)}
    path.write_text(json.dumps({**fitted, "stuck_run": cfg.features.run_cap}))
    assert load_scaler(str(path), cfg).stuck_run == cfg.features.run_cap
    path.write_text(json.dumps({**fitted, "stuck_run": cfg.features.run_cap + 1}))
    with pytest.raises(ValueError, match=f"scaler.json: stuck_run {cfg.features.run_cap + 1} is beyond features.run_cap"):
        load_scaler(str(path), cfg)
    with pytest.raises(ValueError, match=r"models/scaler.json: stuck_run 7 is beyond features.run_cap 6"):
        sc.check_stuck_run(6, source="models/scaler.json")


# ------------------------------------------------------------------ int8
def test_quantize_input_rounds_half_away_and_clamps():
    x = np.array([0.25, -0.25, 0.75, 100.0, -100.0, 0.0])
    q = quantize_input(x, 0.5, 3)
    assert q.dtype == np.int8
    assert q.tolist() == [4, 2, 5, 127, -128, 3]  # 0.5 -> 1, -0.5 -> -1, 1.5 -> 2


def test_output_code_threshold_and_decide_agree_with_the_dequantized_probability():
    quant = {"input": {"scale": 0.1, "zero_point": 0}, "output": {"scale": 1 / 256, "zero_point": -128}}
    codes = np.arange(-128, 128)
    for thr in (0.0, 0.25, 0.5, 0.73, 0.999):
        c = output_code_threshold(quant, thr)
        np.testing.assert_array_equal(decide(codes, quant, thr), dequantize_output(codes, quant) > thr)
        assert (dequantize_output(np.array([c]), quant) > thr).all()
        assert not (dequantize_output(np.array([c - 1]), quant) > thr).any()
    assert output_code_threshold(quant, 0.5) == 1  # (1 + 128) / 256 > 0.5 = (0 + 128) / 256
    assert output_code_threshold(quant, 1.0) == 128  # nothing is above 1: never anomalous
    assert not decide(np.array([127]), quant, 1.0).any()


# ------------------------------------------------------------------ split
def test_split_is_chronological_with_the_configured_fractions():
    s = split_labels(100, SplitConfig(0.6, 0.2, 0.2))
    assert s[:60].tolist() == ["train"] * 60
    assert s[60:80].tolist() == ["val"] * 20
    assert s[80:].tolist() == ["test"] * 20


def test_time_split_leaks_nothing_into_training_features():
    """Changing every val/test reading leaves every train row's features unchanged."""
    df = synthetic_readings(days=2, seed=3)
    cfg = fcfg(window=30)
    split = split_labels(len(df), SplitConfig(0.5, 0.25, 0.25))
    X1, v1 = compute_features(df, cfg)
    future = split != "train"
    df2 = df.copy()
    df2.loc[future, "temperature"] = df2.loc[future, "temperature"] + 7.3
    df2.loc[future, "humidity"] = 60.0
    X2, v2 = compute_features(df2, cfg)
    train = split == "train"
    np.testing.assert_array_equal(v1[train], v2[train])
    np.testing.assert_array_equal(X1[train & v1], X2[train & v2])
    assert not np.allclose(X1[future & v1], X2[future & v2])  # the change did reach the later rows
    ts = df["timestamp"].to_numpy()
    assert ts[train].max() < ts[split == "val"].min() <= ts[split == "val"].max() < ts[split == "test"].min()


# ------------------------------------------------------- windows in time
def test_window_and_stuck_span_are_minutes_converted_with_the_period():
    f = FeaturesConfig(window_min=60, names=["temp", "temp_devup", "run", "hum_jitter"], use_humidity=True,
                       stuck_min=60, min_readings=6, jitter_min=10)
    for period, window, cap, steps in ((1, 3600, 3600 - 1, 600), (60, 60, 59, 10), (300, 12, 11, 5), (900, 6, 5, 5),
                                       (3600, 6, 5, 5)):
        g = dataclasses.replace(f).bind(period)
        assert (g.window, g.run_cap, g.jitter_steps) == (window, cap, steps), period
        assert g.window * period == max(60 * 60, 6 * period)  # the same hour, or 6 readings of a coarse log
    with pytest.raises(ConfigError, match="data.period_s 1 s is 7200 readings"):
        dataclasses.replace(f, window_min=120).bind(1)
    with pytest.raises(ConfigError, match="not bound"):
        _ = f.window
    # the jitter leaves out its two largest steps: fewer than three steps measure nothing
    with pytest.raises(ConfigError, match="jitter features need 3..2 steps in the 3-reading window, got 2"):
        dataclasses.replace(f, window_min=3, min_readings=2).bind(60)
    assert dataclasses.replace(f, window_min=3, min_readings=2, names=["temp"]).bind(60).window == 3


def test_a_stuck_span_longer_than_the_window_is_cut_and_said():
    f = FeaturesConfig(window_min=20, names=["temp", "run"], use_humidity=True, stuck_min=60, min_readings=6,
                       jitter_min=10)
    g = dataclasses.replace(f).bind(60)
    assert g.run_cap == 19  # the run features count inside the 20-reading window
    msg = stuck_warning(g)
    assert msg and "\n" not in msg
    assert "features.stuck_min: 60 min is 60 readings" in msg and "20-reading window" in msg
    assert "the stuck span is 19 readings" in msg
    # as long as the window (the default, 60 and 60), a coarse log's floor, or no run feature: nothing is said
    assert stuck_warning(dataclasses.replace(f, window_min=60).bind(60)) is None
    assert stuck_warning(dataclasses.replace(f).bind(3600)) is None  # 6 readings, a span of 5
    assert stuck_warning(dataclasses.replace(f, names=["temp", "temp_devup"]).bind(60)) is None
    assert stuck_warning(dataclasses.replace(f, names=["temp", "hum_run"]).bind(60)) is not None


def test_the_same_room_at_1_and_5_minutes_gives_the_same_features_in_time():
    """A room warming at 3 deg C an hour with a daily cycle, read every minute and every
    five: the window features describe the same hour.  The 1-minute window of 60
    readings spans 59 minutes between its ends, the 5-minute one of 12 readings 55, so
    the change over the window and the rise above its mean agree within 55/59 (7 %),
    plus the sensor's 0.1 rounding."""
    n = 24 * 60 * 2
    ts = pd.date_range("2026-01-09 00:00", periods=n, freq="1min")
    minutes = np.arange(n, dtype=np.float64)
    temp = 20.0 + 0.05 * (minutes % 240) + 0.8 * np.sin(2 * np.pi * minutes / 1440)
    df1 = pd.DataFrame({"timestamp": ts, "temperature": np.round(temp, 1), "humidity": 40.0, "fault": ""})
    df5 = df1.iloc[::5].reset_index(drop=True)
    names = ["temp", "temp_delta", "temp_devup", "tod_sin", "weekend"]
    f = FeaturesConfig(window_min=60, names=names, use_humidity=False, stuck_min=60, min_readings=6, jitter_min=10)
    X1, v1 = compute_features(df1, dataclasses.replace(f).bind(60))
    X5, v5 = compute_features(df5, dataclasses.replace(f).bind(300))
    at = df5["timestamp"][v5]
    rows1 = np.flatnonzero(df1["timestamp"].isin(at).to_numpy() & v1)
    X5v = X5[v5][np.isin(at, df1["timestamp"][rows1])]
    X1v = X1[rows1]
    assert len(X1v) == len(X5v) > 400
    # inside a rise (the ramp of 3 deg C/h): delta and devup in deg C, not per reading
    rising = X1v[:, 1] > 1.0
    assert rising.sum() > 100
    for j in (1, 2):
        ratio = X5v[rising, j] / X1v[rising, j]
        assert np.all((ratio > 0.85) & (ratio < 1.07)), (names[j], ratio.min(), ratio.max())
    np.testing.assert_array_equal(X1v[:, [0, 3, 4]], X5v[:, [0, 3, 4]])  # the reading, time of day, weekend
    assert set(X1v[:, 4]) == {0.0, 1.0}  # Friday and Saturday


def test_every_feature_has_a_label_in_words_and_units():
    """Plots name their axes with ``feature_label``: no feature may fall back to its bare name."""
    from tinyad.device.features import BASE_FEATURES, WINDOW_KINDS, feature_label

    names = list(BASE_FEATURES) + [f"{q}_{k}" for q in ("temp", "hum") for k in WINDOW_KINDS]
    labels = {n: feature_label(n) for n in names}
    assert all(label != name for name, label in labels.items()), [n for n, lab in labels.items() if lab == n]
    assert len(set(labels.values())) == len(labels)  # two features never read the same
    assert feature_label("temp_devup") == "temperature above its window mean (deg C)"
    assert feature_label("not_a_feature") == "not_a_feature"
