"""The generated C feature pipeline and config header (tinyad/codegen/features.py, device_config.py).

The C pipeline, compiled on the host with -ffp-contract=off and fed the valid raw
readings of a simulated log (drops, sensor faults, anomalies), must give exactly the
int8 input vectors (and the unscaled float64 features) that Python's
compute_features + Scaler + quantize_input give, for the default features, every
feature kind, temperature-only rooms, small and large windows, saturating codes,
exact rounding halves and a stuck sensor.  The config header must satisfy
firmware/lib/tinyad/tinyad_generated.h, and the firmware's decision comparison on
TINYAD_DECISION_Q must agree with tinyad.device.features.decide for every output code.
The generated C also compiles for the microcontroller ISAs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.cbuild import CROSS_TARGETS, require_tool, run_checked
from tests.helpers.cfeatures import (CFeatures, cross_compile_features, fit_scaler, python_codes, realistic_quant,
                                     write_generated)
from tinyad.device.alerts import AlertRules
from tinyad.codegen.cgen import BANNER, write_files as write_sources
from tinyad.codegen.device_config import generate_config_header
from tinyad.codegen.features import feature_pipeline_ram, generate_features_c
from tinyad.config import Config, load
from tinyad.device.features import (
    Scaler,
    compute_features,
    decide,
    feature_names,
    known_features,
    output_code_threshold,
    round_half_away,
)
from tinyad.data.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE_LIB = ROOT / "firmware" / "lib" / "tinyad"


@pytest.fixture(scope="module")
def base_cfg() -> Config:
    """params.yaml with a fixed decision threshold (these quant dicts carry no calibration)."""
    cfg = load(ROOT / "params.yaml")
    return dataclasses.replace(cfg, alerts=dataclasses.replace(cfg.alerts, calibrate=False))


@pytest.fixture(scope="module")
def readings(base_cfg) -> pd.DataFrame:
    """Three simulated days with many drops and faults, plus readings whose humidity
    alone is missing (valid only for temperature-only rooms)."""
    sim = dataclasses.replace(base_cfg.data.sim, days=3.0, drop_rate=0.02, fault_rate=0.01, seed=21)
    df, _ = simulate(dataclasses.replace(base_cfg.data, sim=sim))
    df = df.copy()
    rng = np.random.default_rng(5)
    ok = np.flatnonzero(df["fault"].astype(str).to_numpy() == "")
    hum_gone = rng.choice(ok, size=40, replace=False)
    df.loc[df.index[hum_gone], "humidity"] = np.nan
    return df


def with_features(cfg: Config, names=None, window=None, use_humidity=None) -> Config:
    f = cfg.features
    f = dataclasses.replace(
        f,
        names=list(names if names is not None else f.names),
        window_min=float(window * f.period_s / 60 if window is not None else f.window_min),
        min_readings=2 if window is not None else f.min_readings,
        use_humidity=bool(use_humidity if use_humidity is not None else f.use_humidity),
    )
    return dataclasses.replace(cfg, features=f)


def check_exact(tmp_path: Path, df: pd.DataFrame, cfg: Config, scaler: Scaler, quant: dict):
    """Generate, compile, run; assert C == Python exactly. Returns the Python codes."""
    write_generated(cfg, scaler, quant, tmp_path / "gen")
    c = CFeatures(tmp_path / "gen", tmp_path / "build")
    full, codes, x = c.run_frame(df, cfg)
    Xv, _, q_py = python_codes(df, cfg, scaler, quant)
    n = cfg.features.window
    assert not full[: n - 1].any(), "the C window reported full before N valid readings"
    assert full[n - 1:].all(), "the C window was not full from the N-th valid reading on"
    assert full.sum() == len(q_py) > 0
    np.testing.assert_array_equal(x[full], Xv)  # every float64 feature, bit for bit
    np.testing.assert_array_equal(codes[full], q_py)
    return q_py, c


ALL_KINDS = known_features()
# a 2-reading window holds one step: the jitter features (three steps at least) cannot be measured
ALL_BUT_JITTER = [n for n in ALL_KINDS if not n.endswith("_jitter")]


@pytest.mark.parametrize(
    "names, window, use_humidity",
    [
        (None, None, None),  # params.yaml as it is
        (ALL_KINDS, 30, True),
        (ALL_KINDS, 5, True),
        (ALL_KINDS, 120, True),
        (ALL_BUT_JITTER, 2, True),
        (ALL_KINDS, 30, False),  # temperature-only room: hum features dropped
        (["temp", "temp_std", "run", "tod_cos"], 7, False),
    ],
    ids=["default", "all-30", "all-5", "all-120", "all-2", "all-nohum", "temp-only-7"],
)
def test_c_pipeline_equals_python(tmp_path, base_cfg, readings, names, window, use_humidity):
    cfg = with_features(base_cfg, names, window, use_humidity)
    scaler = fit_scaler(readings, cfg)
    X, valid = compute_features(readings, cfg.features)
    quant = realistic_quant(scaler.transform(X[valid][: int(0.6 * valid.sum())]))
    q_py, c = check_exact(tmp_path, readings, cfg, scaler, quant)
    # the anomalies of val/test lie outside the train range: some codes saturate
    assert (q_py == 127).any() or (q_py == -128).any()
    # RAM: one int16 buffer per quantity read, plus the count
    assert c.state_bytes == feature_pipeline_ram(cfg.features)["state_bytes"]
    n_buf = 2 if any(nm.startswith("hum") or (nm == "run" and cfg.features.use_humidity)
                     for nm in feature_names(cfg.features)) else 1
    assert c.state_bytes == 2 * n_buf * cfg.features.window + 2


@pytest.mark.parametrize("period_s", [300, 3600])
def test_c_pipeline_equals_python_at_another_period_with_the_weekend(tmp_path, base_cfg, readings, period_s):
    """A 5-minute (or hourly) log over a weekend, the window and run cap converted from
    minutes, the weekend feature on: C equals Python bit for bit."""
    step = period_s // 60
    df = readings.iloc[::step].reset_index(drop=True).copy()
    df["timestamp"] = df["timestamp"] + pd.Timedelta(days=4)  # Friday to Sunday
    if period_s == 3600:  # enough hourly readings: repeat the three days' hours over three weeks
        df = pd.concat([df.assign(timestamp=df["timestamp"] + pd.Timedelta(days=7 * k)) for k in range(3)],
                       ignore_index=True)
    f = dataclasses.replace(base_cfg.features, names=[*base_cfg.features.names, "weekend"], period_s=period_s)
    cfg = dataclasses.replace(base_cfg, features=f, data=dataclasses.replace(base_cfg.data, period_s=period_s),
                              alerts=dataclasses.replace(base_cfg.alerts, period_s=period_s))
    assert cfg.features.window == max(cfg.features.min_readings, round(cfg.features.window_min * 60 / period_s))
    X, valid = compute_features(df, cfg.features)
    j = feature_names(cfg.features).index("weekend")
    assert set(X[valid, j]) == {0.0, 1.0}, "the log should cover weekdays and a weekend"
    scaler = fit_scaler(df, cfg)
    quant = realistic_quant(scaler.transform(X[valid][: int(0.6 * valid.sum())]))
    check_exact(tmp_path, df, cfg, scaler, quant)


def test_saturating_codes(tmp_path, base_cfg, readings):
    """Values far outside the scaler's range clamp to -128/127 exactly as Python."""
    cfg = with_features(base_cfg, ALL_KINDS, 30, True)
    names = feature_names(cfg.features)
    X, valid = compute_features(readings, cfg.features)
    med = np.median(X[valid], axis=0)
    scaler = Scaler(features=names, mean_=med, scale_=np.full(len(names), 1e-3))
    quant = {"input": {"scale": float(np.float32(0.0123)), "zero_point": 17},
             "output": {"scale": 1.0 / 256.0, "zero_point": -128}}
    q_py, _ = check_exact(tmp_path, readings, cfg, scaler, quant)
    assert (q_py == 127).mean() > 0.2 and (q_py == -128).mean() > 0.2


def test_rounding_halves(tmp_path, base_cfg, readings):
    """Scaled values landing exactly on k + 0.5 round away from zero in C as in Python."""
    cfg = with_features(base_cfg, ["temp_changes", "run", "temp_run", "temp_delta"], 30, True)
    names = feature_names(cfg.features)
    # integer counts minus 0.25, halved by the input scale 0.5: exact (2k - 0.5) halves;
    # temp_delta in tenths / 10 with mean 0.05: (d - 0.05) / 0.1 is near halves too
    scaler = Scaler(features=names, mean_=np.array([10.25, 3.25, 3.25, 0.05]), scale_=np.array([1.0, 1.0, 1.0, 1.0]))
    quant = {"input": {"scale": 0.5, "zero_point": -1}, "output": {"scale": 1.0 / 256.0, "zero_point": -128}}
    q_py, _ = check_exact(tmp_path, readings, cfg, scaler, quant)
    _, Xs, _ = python_codes(readings, cfg, scaler, quant)
    v = Xs / 0.5
    halves = np.abs(v - np.trunc(v)) == 0.5
    assert halves[:, :3].all(), "the test data should put the count features on exact halves"
    assert (v[:, :3] < 0).any() and (v[:, :3] > 0).any()
    assert (round_half_away(np.array([-2.5, 2.5])) == [-3.0, 3.0]).all()


def test_stuck_sensor_window(tmp_path, base_cfg):
    """A sensor repeating one value for longer than the window: zero spread, full runs."""
    n_rows = 400
    ts = pd.date_range("2026-01-05 22:00:00", periods=n_rows, freq="60s")
    rng = np.random.default_rng(3)
    temp = np.round(23.0 + np.cumsum(rng.normal(0, 0.05, n_rows)), 1)
    hum = np.round(40.0 + np.cumsum(rng.normal(0, 0.1, n_rows)), 1)
    temp[150:300] = temp[150]  # stuck: both quantities repeat exactly
    hum[150:300] = hum[150]
    fault = np.array([""] * n_rows, dtype=object)
    fault[[20, 21, 200, 350]] = "missing"
    temp[[20, 21, 200, 350]] = np.nan
    hum[[20, 21, 200, 350]] = np.nan
    df = pd.DataFrame({"timestamp": ts, "temperature": temp, "humidity": hum, "fault": fault})
    cfg = with_features(base_cfg, ALL_KINDS, 30, True)
    scaler = fit_scaler(df, cfg)
    X, valid = compute_features(df, cfg.features)
    quant = realistic_quant(scaler.transform(X[valid]))
    check_exact(tmp_path, df, cfg, scaler, quant)
    names = feature_names(cfg.features)
    Xv = X[valid]
    stuck = Xv[:, names.index("temp_std")] == 0.0
    assert stuck.sum() > 50
    assert (Xv[stuck][:, names.index("temp_range")] == 0).all()
    # the run of a sensor stuck longer than the window is capped at features.run_cap
    assert Xv[:, names.index("run")].max() == float(min(29, cfg.features.run_cap))


def _compile_and_run(tmp_path: Path, sources: list[Path], main_c: str, include: list[Path]) -> str:
    gcc = require_tool("gcc", "gcc")
    main = tmp_path / "main.c"
    main.write_text(main_c)
    exe = tmp_path / "prog"
    inc = [a for d in include for a in ("-I", str(d))]
    run_checked([gcc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-O2", *inc,
                 *map(str, sources), str(main), "-o", str(exe), "-lm"])
    return run_checked([str(exe)]).stdout


@pytest.mark.parametrize("threshold, out_scale, out_zp", [(0.5, 1.0 / 256.0, -128), (0.9, 0.00390625, -128),
                                                         (0.5, 0.0078125, 0), (0.999, 1.0 / 1024.0, -128)])
def test_config_header_satisfies_firmware(tmp_path, base_cfg, readings, threshold, out_scale, out_zp):
    """tinyad_generated.h accepts the header; its constants are the params' values; the
    firmware's model flag (tinyad_alerts.c: score >= decision_q) equals decide()."""
    cfg = dataclasses.replace(base_cfg, alerts=dataclasses.replace(base_cfg.alerts, decision_threshold=threshold))
    cfg = dataclasses.replace(cfg, firmware=dataclasses.replace(cfg.firmware, sleep="deep", dht_pin=13))
    scaler = fit_scaler(readings, cfg)
    scaler.stuck_run = 7  # the stuck rule's span (models/scaler.json) is TINYAD_STUCK_RUN
    quant = {"input": {"scale": 0.05, "zero_point": 3}, "output": {"scale": out_scale, "zero_point": out_zp}}
    gen = tmp_path / "gen"
    write_generated(cfg, scaler, quant, gen)
    (gen / "tinyad_model.h").write_text(f"/* {BANNER}: test stand-in, only for the include check */\n"
                                        '#include "tinyad_model_config.h"\n')
    main_c = r"""
#include <stdio.h>
#include "tinyad_generated.h"
#include "tinyad_alerts.h"
int main(void) {
    tinyad_alert_cfg_t cfg;
    tinyad_alert_state_t st;
    tinyad_alert_flags_t fl;
    tinyad_sample_t s;
    int code;
    cfg.consecutive = 1000; cfg.clear_after = 1000; cfg.decision_q = (int16_t)TINYAD_DECISION_Q;
    cfg.instant_q = (int16_t)TINYAD_INSTANT_Q; cfg.raise_q = (int16_t)TINYAD_RAISE_Q;
    cfg.temp_lo = TINYAD_TEMP_ALARM_LO; cfg.temp_hi = TINYAD_TEMP_ALARM_HI;
    cfg.hum_lo = TINYAD_HUM_ALARM_LO; cfg.hum_hi = TINYAD_HUM_ALARM_HI;
    cfg.stuck_run = TINYAD_STUCK_RUN; cfg.stuck_hum = TINYAD_USE_HUMIDITY;
    s.t = 0; s.second_of_week = 0; s.has_hum = 1;
    s.temp10 = (int16_t)((TINYAD_TEMP_ALARM_LO + TINYAD_TEMP_ALARM_HI) / 2);
    s.hum10 = (int16_t)((TINYAD_HUM_ALARM_LO + TINYAD_HUM_ALARM_HI) / 2);
    printf("%d %d %d %d %d %d %d %d %d %d %d %d %d %d %lu %d %d %d %d %d\n", TINYAD_N_INPUTS, TINYAD_N_OUTPUTS,
           TINYAD_WINDOW, TINYAD_PERIOD_S, TINYAD_DECISION_Q, TINYAD_TEMP_ALARM_LO, TINYAD_TEMP_ALARM_HI,
           TINYAD_HUM_ALARM_LO, TINYAD_HUM_ALARM_HI, TINYAD_ALERT_CONSECUTIVE, TINYAD_ALERT_CLEAR_AFTER,
           TINYAD_STATUS_EVERY, TINYAD_DHT_PIN, TINYAD_LED_PIN, (unsigned long)TINYAD_BAUD, TINYAD_USE_HUMIDITY,
           TINYAD_SLEEP_MODE, TINYAD_STUCK_RUN, TINYAD_INSTANT_Q, TINYAD_RAISE_Q);
    for (code = -128; code <= 127; ++code) {
        tinyad_alert_init(&st);
        tinyad_alert_step(&st, &cfg, &s, 1, code, &fl);
        putchar(fl.model ? '1' : '0');
    }
    putchar('\n');
    return 0;
}
"""
    out = _compile_and_run(tmp_path, [FIRMWARE_LIB / "tinyad_alerts.c"], main_c, [gen, FIRMWARE_LIB]).splitlines()
    got = [int(v) for v in out[0].split()]
    code = output_code_threshold(quant, threshold)
    rules = AlertRules.from_config(cfg.alerts, cfg.thresholds, code)
    fw = cfg.firmware
    assert got == [len(feature_names(cfg.features)), 1, cfg.features.window, cfg.data.period_s, code,
                   rules.temp_lo, rules.temp_hi, rules.hum_lo, rules.hum_hi, cfg.alerts.consecutive,
                   cfg.alerts.clear_after, fw.status_every, 13, fw.led_pin, fw.baud,
                   int(cfg.features.use_humidity), 2, 7, 128, code]
    codes = np.arange(-128, 128)
    np.testing.assert_array_equal(np.array([c == "1" for c in out[1]]), decide(codes, quant, threshold))
    # a different build flag for the sleep mode wins over the header's default
    assert "#ifndef TINYAD_SLEEP_MODE" in (gen / "tinyad_config.h").read_text()


def test_stale_mix_of_generated_files_is_refused(tmp_path, base_cfg, readings):
    """Features generated for another model (input count / zero point) stop the build."""
    scaler = fit_scaler(readings, base_cfg)
    quant = {"input": {"scale": 0.05, "zero_point": 3}, "output": {"scale": 1.0 / 256.0, "zero_point": -128}}
    gen = tmp_path / "gen"
    write_generated(base_cfg, scaler, quant, gen)
    other = dict(quant, input={"scale": 0.05, "zero_point": 4})
    write_sources(generate_features_c(base_cfg.features, scaler, other), gen)
    gcc = require_tool("gcc", "gcc")
    import subprocess

    proc = subprocess.run([gcc, "-std=c99", "-c", "-I", str(gen), "-I", str(FIRMWARE_LIB), str(gen / "tinyad_features.c"), "-o",
                           str(tmp_path / "f.o")], capture_output=True, text=True)
    assert proc.returncode != 0 and "zero point" in proc.stderr


def test_every_file_has_the_banner_and_bad_input_is_named(base_cfg, readings):
    scaler = fit_scaler(readings, base_cfg)
    quant = {"input": {"scale": 0.05, "zero_point": 0}, "output": {"scale": 1.0 / 256.0, "zero_point": -128}}
    files = generate_features_c(base_cfg.features, scaler, quant)
    files["tinyad_config.h"] = generate_config_header(base_cfg, scaler, quant)
    for name, text in files.items():
        assert text.startswith(f"/* {BANNER}"), name
    wrong = Scaler(features=list(reversed(scaler.features)), mean_=scaler.mean_, scale_=scaler.scale_)
    with pytest.raises(ValueError, match="scaler: fitted on features"):
        generate_features_c(base_cfg.features, wrong, quant)
    with pytest.raises(ValueError, match="quant"):
        generate_features_c(base_cfg.features, scaler, {"output": quant["output"]})
    with pytest.raises(ValueError, match="quant.input.scale"):
        generate_features_c(base_cfg.features, scaler, dict(quant, input={"scale": 0.0, "zero_point": 0}))
    with pytest.raises(ValueError, match="codegen.prefix"):
        generate_features_c(base_cfg.features, scaler, quant, prefix="9bad")


@pytest.mark.parametrize("target", sorted(CROSS_TARGETS))
@pytest.mark.parametrize("names", [None, ALL_KINDS], ids=["default", "all"])
def test_cross_compiles(tmp_path, base_cfg, readings, target, names):
    cfg = with_features(base_cfg, names, 30, True)
    scaler = fit_scaler(readings, cfg)
    quant = {"input": {"scale": 0.05, "zero_point": 0}, "output": {"scale": 1.0 / 256.0, "zero_point": -128}}
    write_generated(cfg, scaler, quant, tmp_path / "gen")
    sizes = cross_compile_features(target, tmp_path / "gen", tmp_path / f"features-{target}.o")
    assert sizes["text"] > 0 and sizes["data"] == 0 and sizes["bss"] == 0  # state lives in the caller's struct


@pytest.mark.slow
def test_host_firmware_scores_like_python(tmp_path, base_cfg, readings):
    """The real portable firmware (lib/tinyad + host simulator) built on the generated
    features, config and model: every valid reading of a log gets the score Python
    predicts (compute_features, Scaler, quantize_input, then the same int8 model)."""
    from tests.helpers.cbuild import CModel, make_mlp_tflite
    from tests.helpers.cfeatures import build_host_simulator, host_simulator_status, write_firmware_sources

    cfg = base_cfg
    names = feature_names(cfg.features)
    gen = tmp_path / "gen"
    tfl = make_mlp_tflite([len(names), 8, 1], "relu", 1, tmp_path / "m.tflite")
    scaler = fit_scaler(readings, cfg)
    quant = write_firmware_sources(tfl, cfg, scaler, gen)
    exe = build_host_simulator(gen, tmp_path / "sim")
    df = readings[readings["fault"].astype(str).isin(["", "missing", "nan"])]  # faults the device sees as NaN
    status = host_simulator_status(exe, df, tmp_path / "in.csv")
    c_scores = np.array([s["score"] for s in status if s["score"] is not None])
    _, _, q_in = python_codes(df, cfg, scaler, quant)
    py_scores = CModel(gen, build_dir=tmp_path / "cmodel").predict(q_in)[:, 0]
    assert len(c_scores) == len(py_scores) > 1000
    np.testing.assert_array_equal(c_scores, py_scores)
