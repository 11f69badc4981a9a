"""Drift and noise (tinyad/evaluate/drift.py), the baseline remedy and its C mirror, the drift table.

* ``apply_drift``: size 0 is the identity, the temperature offset at the last row is
  the size, faults/labels/timestamps are untouched, the same seed gives the same noise;
* ``baseline_correct`` equals ``firmware/lib/tinyad/tinyad_baseline.c`` (gcc -std=c99
  -Wall -Wextra -Werror) on a long simulated log with drift and faults, the faulty
  readings skipped as the device skips them;
* ``tinyad.evaluate.drift.drift_table`` on the hand-built room log the evaluate tests use (the
  ``workdir`` fixture, ``tests.helpers.readings.room_log``): a
  3 deg C calibration drift costs F1, the baseline correction wins most of it back.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyad.config import load
from tinyad.evaluate.drift import apply_drift
from tinyad.device.baseline import baseline_correct, correct_readings, reference_levels
from tinyad.device.features import to_tenths
from tinyad.data.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware" / "lib" / "tinyad"


@pytest.fixture(scope="module")
def sim_log() -> pd.DataFrame:
    cfg = load(ROOT / "params.yaml")
    data = replace(cfg.data, sim=replace(cfg.data.sim, days=4))
    out = simulate(data)
    return out[0] if isinstance(out, tuple) else out


def test_size_zero_is_the_identity(sim_log):
    for kind in ("temp_drift", "noise", "hum_offset"):
        out = apply_drift(sim_log, kind, 0.0, seed=1)
        pd.testing.assert_frame_equal(out, sim_log)


def test_temp_drift_reaches_size_at_the_end_and_keeps_faults(sim_log):
    out = apply_drift(sim_log, "temp_drift", 2.0, seed=0)
    ok = (sim_log["fault"] == "").to_numpy() & np.isfinite(sim_log["temperature"].to_numpy())
    diff = (out["temperature"] - sim_log["temperature"]).to_numpy()
    last = np.flatnonzero(ok)[-1]
    assert abs(diff[last] - 2.0) <= 0.05 + 1e-9
    assert abs(diff[np.flatnonzero(ok)[0]]) <= 0.05 + 1e-9
    assert np.all(np.diff(diff[ok][:: len(diff) // 20]) >= -0.1)  # grows with time
    bad = ~ok
    assert out["temperature"][bad].equals(sim_log["temperature"][bad])
    for col in ("timestamp", "fault", "label", "anomaly_type", "event_id", "humidity"):
        assert out[col].equals(sim_log[col]), col
    tenths = out["temperature"].to_numpy()[ok] * 10
    assert np.allclose(tenths, np.round(tenths))  # still the 0.1 resolution


def test_noise_is_seeded_and_grows(sim_log):
    a = apply_drift(sim_log, "noise", 1.0, seed=7)
    b = apply_drift(sim_log, "noise", 1.0, seed=7)
    c = apply_drift(sim_log, "noise", 1.0, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["temperature"].equals(c["temperature"])
    d = (a["temperature"] - sim_log["temperature"]).to_numpy()
    n = len(d)
    first, last = np.nanstd(d[: n // 10]), np.nanstd(d[-n // 10 :])
    assert first < 0.3 and 0.7 < last < 1.2
    dh = (a["humidity"] - sim_log["humidity"]).to_numpy()
    assert np.nanstd(dh[-n // 10 :]) > 2.0


def test_hum_offset_is_constant(sim_log):
    out = apply_drift(sim_log, "hum_offset", 5.0, seed=0)
    ok = (sim_log["fault"] == "").to_numpy() & np.isfinite(sim_log["humidity"].to_numpy())
    d = (out["humidity"] - sim_log["humidity"]).to_numpy()[ok]
    inside = (sim_log["humidity"].to_numpy()[ok] < 94.0)
    assert np.allclose(d[inside], 5.0, atol=1e-9)


def test_bad_arguments():
    df = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=3, freq="60s"),
                       "temperature": [20.0, 20.1, 20.2], "humidity": [40.0] * 3, "fault": [""] * 3})
    with pytest.raises(ValueError, match="kind"):
        apply_drift(df, "wobble", 1.0, 0)
    with pytest.raises(ValueError, match="size"):
        apply_drift(df, "noise", -1.0, 0)
    with pytest.raises(ValueError, match="column 'fault'"):
        apply_drift(df.drop(columns="fault"), "noise", 1.0, 0)


def test_remedy_removes_a_constant_offset():
    n = 20000
    x = np.full(n, 260, dtype=np.int64)  # 26.0 deg C, reference 24.0
    out = baseline_correct(x, np.ones(n, bool), 240, shift=8, frac_bits=12)
    assert out[0] == 260  # the baseline has not moved yet
    assert 240 < out[200] < 260  # half way after about 2**8 readings
    assert out[-1] == 240  # the baseline caught up: the offset is gone


DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "tinyad_baseline.h"
int main(int argc, char **argv)
{
    tinyad_baseline_t bl;
    long ref, x;
    int valid;
    if (argc != 4) return 2;
    tinyad_baseline_init(&bl, (int32_t)atol(argv[1]), atoi(argv[2]), atoi(argv[3]));
    (void)ref;
    while (scanf("%d %ld", &valid, &x) == 2) {
        if (valid) printf("%ld\n", (long)tinyad_baseline_step(&bl, (int32_t)x));
    }
    return 0;
}
"""


@pytest.mark.parametrize("shift, frac_bits", [(11, 16), (5, 3), (0, 1), (8, 24)])
def test_c_mirror_equals_python(sim_log, tmp_path, shift, frac_bits):
    drifted = apply_drift(sim_log, "temp_drift", 3.0, seed=0)
    drifted = apply_drift(drifted, "noise", 0.5, seed=1)
    temp = drifted["temperature"].to_numpy(dtype=float)
    ok = (drifted["fault"] == "").to_numpy() & np.isfinite(temp) & np.isfinite(drifted["humidity"].to_numpy(dtype=float))
    x10 = to_tenths(temp)
    x10[: len(x10) // 4] -= 400  # negative readings too (floor division of negatives)
    assert len(x10) > 5000 and (~ok).sum() > 0
    ref = -37
    (tmp_path / "drv.c").write_text(DRIVER)
    exe = tmp_path / "drv"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(FW),
                    str(tmp_path / "drv.c"), str(FW / "tinyad_baseline.c"), "-o", str(exe)], check=True)
    feed = "\n".join(f"{int(v)} {int(x)}" for v, x in zip(ok, x10)) + "\n"
    proc = subprocess.run([str(exe), str(ref), str(shift), str(frac_bits)], input=feed, capture_output=True, text=True, check=True)
    c_out = np.array(proc.stdout.split(), dtype=np.int64)
    py = baseline_correct(x10, ok, ref, shift, frac_bits)
    assert len(c_out) == int(ok.sum())
    assert np.array_equal(c_out, py[ok])
    assert np.array_equal(py[~ok], x10[~ok])  # skipped readings are left as they are
    assert (py[ok] != x10[ok]).any()


def test_correct_readings_follows_the_readings_table(sim_log):
    ref = reference_levels(sim_log)
    out = correct_readings(apply_drift(sim_log, "hum_offset", 8.0, seed=0), ref, 8, 16)
    tail = out["humidity"].to_numpy()[-500:]
    orig = sim_log["humidity"].to_numpy()[-500:]
    assert abs(np.nanmean(tail) - np.nanmean(orig)) < 2.0  # the 8 %RH offset is mostly removed
    assert out["fault"].equals(sim_log["fault"])


@pytest.mark.slow
def test_drift_table_drop_and_recovery(workdir, tmp_path):
    """On the evaluate tests' room log (``workdir``): F1 falls with a 3 deg C drift; the remedy recovers most of it."""
    import json

    from tinyad.evaluate.drift import drift_long, drift_markdown, drift_table, write_drift
    from tinyad.device.features import Scaler

    d = workdir
    cfg = load(d / "params.yaml")
    cfg = replace(cfg, drift=replace(cfg.drift, temp_drift=[0.0, 3.0], noise=[0.0], hum_offset=[0.0, 10.0], baseline_shift=8))
    scaler = Scaler.load(d / "scaler.json")
    ds = pd.read_parquet(d / "dataset.parquet")
    res = drift_table(ds, scaler, cfg, (d / "model_int8.tflite").read_bytes(), json.loads((d / "quant.json").read_text()))
    t = res["table"]["temp_drift"]
    assert t["3"]["raw"]["all"] < t["0"]["raw"]["all"] - 0.05
    assert t["3"]["remedy"]["all"] > t["3"]["raw"]["all"] + 0.05
    long = drift_long(res["table"])
    assert set(long.columns) == {"kind", "size", "remedy", "type", "f1"}
    assert set(long["type"]) >= {"point", "contextual", "collective", "all"}
    md = drift_markdown(res, cfg)
    assert "| temp_drift | 3 | yes |" in md
    write_drift(res, cfg, tmp_path / "plots")
    for name in ("drift.md", "drift.csv", "drift.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 0



@pytest.mark.slow
def test_host_firmware_with_the_remedy_scores_like_python(tmp_path):
    """The real portable firmware built with TINYAD_BASELINE_CORRECTION=1 on a drifted
    log: every valid reading gets the score Python predicts on the corrected readings
    (correct_readings, then compute_features, Scaler, quantize_input, the int8 model),
    and the status lines carry the corrected tenths."""
    from tests.helpers.cbuild import CModel, make_mlp_tflite
    from tests.helpers.cfeatures import build_host_simulator, host_simulator_status, python_codes, write_firmware_sources
    from tests.helpers.cfeatures import fit_scaler

    from tinyad.device.features import feature_names

    cfg = load(ROOT / "params.yaml")
    cfg = replace(cfg, alerts=replace(cfg.alerts, calibrate=False))  # a fixed threshold: this quant has no calibration
    sim = replace(cfg.data.sim, days=3.0, drop_rate=0.02, fault_rate=0.01, seed=21)
    df, _ = simulate(replace(cfg.data, sim=sim))
    df = apply_drift(df, "temp_drift", 3.0, seed=0)
    df = apply_drift(df, "hum_offset", 6.0, seed=0)
    df = df[df["fault"].astype(str).isin(["", "missing", "nan"])].reset_index(drop=True)  # faults the device sees as NaN
    ref, shift, frac = (231, 402), 9, 16
    gen = tmp_path / "gen"
    tfl = make_mlp_tflite([len(feature_names(cfg.features)), 8, 1], "relu", 1, tmp_path / "m.tflite")
    scaler = fit_scaler(df, cfg)
    quant = write_firmware_sources(tfl, cfg, scaler, gen)
    flags = ["-DTINYAD_BASELINE_CORRECTION=1", f"-DTINYAD_BASELINE_SHIFT={shift}", f"-DTINYAD_BASELINE_FRAC_BITS={frac}",
             f"-DTINYAD_BASELINE_REF_TEMP10={ref[0]}", f"-DTINYAD_BASELINE_REF_HUM10={ref[1]}"]
    exe = build_host_simulator(gen, tmp_path / "sim", flags)
    status = host_simulator_status(exe, df, tmp_path / "in.csv")
    corrected = correct_readings(df, ref, shift, frac, use_humidity=True)
    ok = (df["fault"] == "").to_numpy() & np.isfinite(df["temperature"].to_numpy()) & np.isfinite(df["humidity"].to_numpy())
    assert len(status) == int(ok.sum()) > 3000
    want_t = corrected["temperature"].to_numpy()[ok]
    got_t = np.array([s["temp"] for s in status], dtype=float)
    np.testing.assert_allclose(got_t, want_t, atol=1e-9)
    assert np.abs(want_t - df["temperature"].to_numpy()[ok]).max() > 0.5  # the correction did something
    c_scores = np.array([s["score"] for s in status if s["score"] is not None])
    _, _, q_in = python_codes(corrected, cfg, scaler, quant)
    py_scores = CModel(gen, build_dir=tmp_path / "cmodel").predict(q_in)[:, 0]
    assert len(c_scores) == len(py_scores) > 1000
    np.testing.assert_array_equal(c_scores, py_scores)
