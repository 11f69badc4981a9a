"""Sensor drift and noise, and a remedy that needs no retraining.

A pure, seeded function on a readings table (the interim columns of
docs/architecture.md: ``timestamp``, ``temperature``, ``humidity``, ``fault``, ...):

* ``apply_drift(readings_df, kind, size, seed) -> df``: a copy with one kind of
  degradation added over the table's span.  Labels, faults and timestamps are left
  as they are; a faulty or NaN reading stays exactly as it was.  Kinds:

  - ``temp_drift``: a calibration offset on temperature growing linearly with time
    from 0 at the first row to ``size`` deg C at the last;
  - ``noise``: extra Gaussian noise whose standard deviation grows linearly from 0
    to ``size`` deg C on temperature and ``HUM_NOISE_PER_DEG * size`` %RH on
    humidity (a DHT22's stated accuracy is +-0.5 deg C and +-2 %RH: ratio 4);
  - ``hum_offset``: a constant ``size`` %RH offset on humidity (clipped to 0..100).

  The result is re-rounded to the sensor's 0.1 resolution (halves away from zero).

* the remedy (``reference_levels``, ``baseline_correct``, ``correct_readings``) is
  the Python twin of ``firmware/lib/tinyad/tinyad_baseline.c`` and lives beside the
  other twins, in ``tinyad/device/baseline.py``; the experiment below runs it.

The drift experiment
--------------------
``drift_table(dataset, scaler, cfg, tflite, quant)`` runs the device (int8 model OR
the seed rule, through the alert logic) on the test split degraded by each kind and
size of ``cfg.drift``, raw and with the remedy; ``drift_long``, ``drift_markdown``
and ``write_drift`` are its report (``drift.csv``, ``drift.md``, ``drift.png``).  The
evaluate stage's docstring gives the method.

Run ``python -m tinyad.evaluate.drift --help`` to print a drifted copy of a readings file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.evaluate import metrics as M
from tinyad.learn.calibration import decision_threshold, device_alerts, instant_code, raise_code
from tinyad.config import Config
from tinyad.device.baseline import correct_readings, reference_levels
from tinyad.device.features import Scaler, compute_features, feature_names, round_half_away, uses_humidity
from tinyad.io import atomic_path, write_text
from tinyad.evaluate.report import fmt_pct, fmt_value
from tinyad.evaluate.metrics import truth_of
from tinyad.evaluate.scoring import alert_figures, alert_sequence, budgets, events_of, period_days

__all__ = ["HUM_NOISE_PER_DEG", "KINDS", "apply_drift", "drift_long", "drift_markdown", "drift_table", "write_drift"]

KINDS = ("temp_drift", "noise", "hum_offset")
HUM_NOISE_PER_DEG = 4.0  # %RH of humidity noise per deg C of temperature noise


def _ramp(ts: pd.Series) -> np.ndarray:
    """0 at the first timestamp, 1 at the last, linear in time."""
    t = pd.DatetimeIndex(ts).asi8.astype(np.float64)
    if len(t) < 2 or t[-1] == t[0]:
        return np.zeros(len(t))
    return (t - t[0]) / (t[-1] - t[0])


def _reround(x: np.ndarray) -> np.ndarray:
    return round_half_away(x * 10.0) / 10.0


def apply_drift(readings_df: pd.DataFrame, kind: str, size: float, seed: int) -> pd.DataFrame:
    """A copy of ``readings_df`` with drift or noise of ``kind`` and ``size`` added."""
    if kind not in KINDS:
        raise ValueError(f"apply_drift: kind {kind!r} unknown; expected one of {list(KINDS)}")
    if not np.isfinite(size) or size < 0:
        raise ValueError(f"apply_drift: size must be a finite number >= 0, got {size!r}")
    for col in ("timestamp", "temperature", "humidity", "fault"):
        if col not in readings_df.columns:
            raise ValueError(f"apply_drift: readings have no column {col!r}")
    df = readings_df.copy()
    if size == 0 or len(df) == 0:
        return df
    ok = df["fault"].astype(str).to_numpy() == ""
    temp = df["temperature"].to_numpy(dtype=np.float64).copy()
    hum = df["humidity"].to_numpy(dtype=np.float64).copy()
    t_ok = ok & np.isfinite(temp)
    h_ok = ok & np.isfinite(hum)
    ramp = _ramp(df["timestamp"])
    if kind == "temp_drift":
        temp[t_ok] = _reround(temp[t_ok] + size * ramp[t_ok])
    elif kind == "noise":
        rng = np.random.default_rng(seed)
        z_t = rng.standard_normal(len(df))
        z_h = rng.standard_normal(len(df))
        temp[t_ok] = _reround(temp[t_ok] + size * ramp[t_ok] * z_t[t_ok])
        hum[h_ok] = np.clip(_reround(hum[h_ok] + HUM_NOISE_PER_DEG * size * ramp[h_ok] * z_h[h_ok]), 0.0, 100.0)
    else:  # hum_offset
        hum[h_ok] = np.clip(_reround(hum[h_ok] + size), 0.0, 100.0)
    df["temperature"] = temp
    df["humidity"] = hum
    return df


# ------------------------------------------------------------ the experiment
DRIFT_TYPES = (*M.ANOMALY_TYPES, "all")


def _device_decisions(readings: pd.DataFrame, test_mask: np.ndarray, scaler: Scaler, cfg: Config, runtime: Any,
                      threshold: float) -> dict[str, np.ndarray]:
    """The device on these readings: per test row validity, model and rule decisions, alert state."""
    X, valid = compute_features(readings, cfg.features)
    rows = np.flatnonzero(test_mask & valid)
    valid_in_test = valid[test_mask]
    codes = runtime.codes(scaler.transform(X[rows]), "litert")
    model = runtime.decide(codes, threshold)
    temp = readings["temperature"].to_numpy(dtype=np.float64)[rows]
    hum = readings["humidity"].to_numpy(dtype=np.float64)[rows]
    from tinyad.device.alerts import absolute_rule
    from tinyad.evaluate.baselines import ThresholdRule

    band = ThresholdRule(cfg.thresholds, use_humidity=cfg.features.use_humidity).decision(temp, hum)
    names = feature_names(cfg.features)  # the stuck rule reads the drifted readings' own run feature
    rule = absolute_rule(band, X[rows, names.index("run")] if "run" in names else None, scaler.stuck_run)
    n = int(test_mask.sum())
    on_rows, rule_rows, instant_rows, raising_rows = (np.zeros(n, dtype=bool) for _ in range(4))
    on_rows[valid_in_test] = model
    rule_rows[valid_in_test] = rule
    instant_rows[valid_in_test] = codes >= instant_code(runtime.quant, cfg.alerts)
    raising_rows[valid_in_test] = codes >= raise_code(runtime.quant, cfg.alerts, lenient=True)
    alerts, _ = alert_sequence(on_rows, rule_rows, valid_in_test, device_alerts(runtime.quant, cfg.alerts), instant_rows,
                               raising_rows)
    return {"valid": valid_in_test, "model": on_rows, "rule": rule_rows, "device": on_rows | rule_rows, "alerts": alerts}


def _device_scores(run: dict[str, np.ndarray], truth: np.ndarray, ground: bool, atype: np.ndarray,
                   events: dict[str, Any], timestamps: Any, period_s: float,
                   reference: dict[str, np.ndarray] | None) -> dict[str, float]:
    """With ground truth: F1 by type (per reading) and event figures of the device on one drifted run.

    Without: its alerts a week, the share of valid readings it flags, and the share of
    readings (valid in both) whose decision is the one it takes on the undrifted
    readings (``reference``).
    """
    valid_in_test, device = run["valid"], run["device"]
    if not ground:
        figs = alert_figures(run["alerts"], valid_in_test, timestamps, period_s, events["days"])
        both = valid_in_test if reference is None else valid_in_test & reference["valid"]
        same = 1.0 if reference is None else float((device[both] == reference["device"][both]).mean()) if both.any() else 0.0
        return {"alerts_per_week": float(figs["alerts_per_week"]), "flagged_share": float(figs["flagged_share"]),
                "agreement_with_undrifted": same}
    tv = truth[valid_in_test]
    known = tv >= 0
    y = tv[known] == 1
    dv = device[valid_in_test][known]
    out = {"all": float(M.binary_scores(y, dv)["f1"])}
    for t, v in M.scores_by_type(y, dv, atype[valid_in_test][known]).items():
        out[t] = float(v["f1"])
    ev = M.event_scores(run["alerts"], events["event_id"], events["normal"], events["type"], events["days"])
    out["events_caught"] = None if ev["recall"] is None else float(ev["recall"])  # None: no event in the test split
    out["false_alarms_per_day"] = float(ev["false_alarms_per_day"])
    return out


def drift_table(dataset: pd.DataFrame, scaler: Scaler, cfg: Config, tflite: bytes, quant: dict[str, Any]) -> dict[str, Any]:
    """``{kind: {size: {"raw": scores, "remedy": scores}}}`` for every size of ``cfg.drift``.

    The device (int8 model OR seed rule, decided with ``decision_threshold``) on the
    drifted test split.  Scores with ground truth: ``f1`` by anomaly type and ``all``
    (per reading), ``events_caught`` and ``false_alarms_per_day`` (through the alert
    logic).  Without ground truth (no F1 against pseudo-labels): ``alerts_per_week``,
    ``flagged_share`` and ``agreement_with_undrifted``.  Size keys are strings
    (``"0.5"``); ``ground_truth`` says which.
    """
    ds = dataset.reset_index(drop=True)
    split = ds["split"].astype(str).to_numpy()
    test_mask = split == "test"
    if not test_mask.any():
        raise ValueError("dataset: no row has split == 'test'")
    readings = ds[["timestamp", "temperature", "humidity", "fault"]].copy()
    ref = reference_levels(readings[split == "train"])
    test = ds[test_mask].reset_index(drop=True)
    truth, ground = truth_of(test)
    atype = test["anomaly_type"].astype(str).to_numpy()
    ts = pd.DatetimeIndex(test["timestamp"])
    period_s = M.median_period_s(ts)
    events = events_of(test, truth, ground, period_days(ts, period_s))
    thr = decision_threshold(quant, cfg.alerts, lenient=True)
    from tinyad.device.runtime import Int8Runtime

    runtime = Int8Runtime(tflite, quant)
    d = cfg.drift
    use_hum = uses_humidity(cfg.features)
    runs: dict[tuple, dict[str, np.ndarray]] = {}

    def run_of(key: tuple, r: pd.DataFrame) -> dict[str, np.ndarray]:
        if key not in runs:
            runs[key] = _device_decisions(r, test_mask, scaler, cfg, runtime, thr)
        return runs[key]

    undrifted = run_of(("", 0.0, False), readings)
    cache: dict[tuple, dict[str, float]] = {}
    out: dict[str, Any] = {}
    for kind in KINDS:
        out[kind] = {}
        for size in getattr(d, kind):
            size = float(size)
            drifted = readings
            if size > 0:
                drifted = readings.copy()
                part = apply_drift(readings[test_mask], kind, size, d.seed)
                drifted.loc[test_mask, ["temperature", "humidity"]] = part[["temperature", "humidity"]].to_numpy()
            cell = {}
            for remedy in (False, True):
                key = (kind if size > 0 else "", size, remedy)
                if key not in cache:
                    r = correct_readings(drifted, ref, d.baseline_shift, d.baseline_frac_bits, use_hum) if remedy else drifted
                    cache[key] = _device_scores(run_of(key, r), truth, ground, atype, events, ts, period_s, undrifted)
                cell["remedy" if remedy else "raw"] = cache[key]
            out[kind][f"{size:g}"] = cell
    return {"table": out, "ref_temp10": ref[0], "ref_hum10": ref[1], "ground_truth": int(ground)}


DRIFT_UNITS = {"temp_drift": "deg C offset at the end", "noise": "deg C noise std at the end", "hum_offset": "%RH offset"}


DRIFT_UNLABELLED = ("alerts_per_week", "flagged_share", "agreement_with_undrifted")


def drift_long(table: dict[str, Any]) -> pd.DataFrame:
    """The table in long format: kind, size, remedy, type, f1 (with ground truth) or, without,
    kind, size, remedy and the unlabelled figures (``DRIFT_UNLABELLED``)."""
    rows = []
    unlabelled = any("alerts_per_week" in c[r] for sizes in table.values() for c in sizes.values() for r in ("raw", "remedy"))
    for kind, sizes in table.items():
        for size, cell in sizes.items():
            for remedy in ("raw", "remedy"):
                c = cell[remedy]
                if unlabelled:
                    rows.append({"kind": kind, "size": float(size), "remedy": remedy == "remedy",
                                 **{k: c[k] for k in DRIFT_UNLABELLED}})
                    continue
                for t in DRIFT_TYPES:
                    if t in c:
                        rows.append({"kind": kind, "size": float(size), "remedy": remedy == "remedy", "type": t, "f1": c[t]})
    cols = ["kind", "size", "remedy", *(DRIFT_UNLABELLED if unlabelled else ("type", "f1"))]
    return pd.DataFrame(rows, columns=cols)


def drift_markdown(drift: dict[str, Any], cfg: Config) -> str:
    table = drift["table"]
    d = cfg.drift
    ground = bool(drift.get("ground_truth", 1))
    remedy_text = (
        "`raw` = drifted readings as they are, `remedy` = baseline correction before the features "
        f"(EMA over 2**{d.baseline_shift} readings, reference {drift['ref_temp10'] / 10:.1f} deg C / "
        f"{drift['ref_hum10'] / 10:.1f} %RH from the train split)."
    )
    if ground:
        lines = [
            "# Drift and noise: device F1 by anomaly type (test split)",
            "",
            "Device = int8 model (LiteRT, codes equal to TFLM) OR the seed rule OR the stuck rule, per reading; " + remedy_text
            + " Events and false alarms go through the alert logic.",
            "",
            "| kind | size | remedy | " + " | ".join(f"F1 {t}" for t in DRIFT_TYPES) + " | events caught | false alarms/day |",
            "|---|---:|---|" + "---:|" * (len(DRIFT_TYPES) + 2),
        ]
    else:
        lines = [
            "# Drift and noise: the device's alerts (test split, no ground truth)",
            "",
            "No labels: what drift does here is change the alerts. Device = int8 model (LiteRT, codes equal to TFLM) "
            "OR the seed rule OR the stuck rule through the alert logic; " + remedy_text
            + " `same decisions` = share of the readings decided as on the undrifted readings.",
            "",
            "| kind | size | remedy | alerts/week | flagged share | same decisions |",
            "|---|---:|---|---:|---:|---:|",
        ]
    for kind, sizes in table.items():
        for size, cell in sizes.items():
            for remedy in ("raw", "remedy"):
                c = cell[remedy]
                yes = "yes" if remedy == "remedy" else "no"
                if ground:
                    vals = " | ".join(fmt_value(c.get(t)) for t in DRIFT_TYPES)
                    lines.append(f"| {kind} | {size} | {yes} | {vals} | "
                                 f"{fmt_value(c['events_caught'])} | {fmt_value(c['false_alarms_per_day'], 2)} |")
                else:
                    lines.append(f"| {kind} | {size} | {yes} | {fmt_value(c['alerts_per_week'], 2)} | "
                                 f"{fmt_pct(c['flagged_share'])} | {fmt_pct(c['agreement_with_undrifted'])} |")
    lines += ["", "Sizes: " + "; ".join(f"{k}: {v}" for k, v in DRIFT_UNITS.items()) + "."]
    return "\n".join(lines) + "\n"


def write_drift(drift: dict[str, Any], cfg: Config, plots: Path) -> None:
    """``drift.csv`` (``drift_long``), ``drift.md`` (``drift_markdown``) and ``drift.png`` under ``plots``."""
    from tinyad.evaluate.figures import drift_figure

    plots.mkdir(parents=True, exist_ok=True)
    long = drift_long(drift["table"])
    ground = bool(drift.get("ground_truth", 1))
    with atomic_path(plots / "drift.csv") as tmp:
        long.to_csv(tmp, index=False)
    write_text(plots / "drift.md", drift_markdown(drift, cfg))
    drift_figure(long, list(drift["table"]), ground, budgets(cfg)["max_false_alarms_per_week"], DRIFT_TYPES,
                 DRIFT_UNITS, plots / "drift.png")


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Print a drifted copy of a readings parquet file.")
    ap.add_argument("readings")
    ap.add_argument("--kind", choices=KINDS, default="temp_drift")
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", type=int, default=10)
    args = ap.parse_args(argv)
    df = apply_drift(pd.read_parquet(args.readings), args.kind, args.size, args.seed)
    print(df.tail(args.rows).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
