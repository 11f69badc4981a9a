"""Stage ``evaluate``: the models and the baselines on the held-out test split.

    python -m stages.evaluate --params params.yaml \\
        --dataset data/processed/dataset.parquet --scaler models/scaler.json \\
        --model models/model.keras --tflite models/model_int8.tflite --quant models/quant.json \\
        --metrics metrics/evaluate.json --plots plots/evaluate

Reads the params sections ``features``, ``thresholds``, ``cluster``, ``alerts`` and
``evaluate``.  Detectors, all scored on the valid rows of the ``test`` split:

* ``keras_float``: the float Keras model, probability > ``alerts.decision_threshold``;
* ``int8_litert``: the int8 model in ``ai_edge_litert`` (reference kernels), inputs
  quantized with ``tinyad.features.quantize_input`` and decided with
  ``tinyad.features.decide`` exactly as the device does;
* ``int8_tflm``: the same int8 model in the TensorFlow Lite Micro interpreter, one
  reading at a time (batch 1, as on the device);
* baselines (``tinyad/baselines.py``): ``thresholds`` (the seed's rule),
  ``kmeans_distance`` and ``isolation_forest``, fitted on the valid train rows.

Truth: the ground-truth ``label`` where the data has one.  When every test row has
``label == -1`` (a real log without labels) the detectors are scored against the
pseudo-labels instead, ``ground_truth`` is 0 in the metrics, and the "events" are
the runs of pseudo-anomalous rows.

Per reading: accuracy, precision, recall, F1, PR-AUC (average precision of the
detector's score), confusion matrix, recall/precision/F1 by anomaly type (F1 on rows
normal or of that type), agreement with the pseudo-labels.  Per event: the
detector's decisions go through the alert logic (``alert_sequence``: the device's
state machine of ``tinyad/alerts.py`` when that module exists, else the per-reading
decisions), the alert state is held over invalid readings (the device skips them),
and ``tinyad.metrics.event_scores`` counts caught events, false alarm events per day
of test data and the detection delay in readings.

Latency (``tinyad/latency.py``): median and p95 microseconds per batch-1 inference on
this host, ``evaluate.latency_runs`` timed calls after ``max(10, runs // 10)``
warm-up calls, for the Keras model (direct call), LiteRT and TFLM.  Memory: the
.tflite size, the minimum TFLM arena (bisection over ``arena_size``) and the arena
total TFLM's recording allocator reports.  The generated C's sizes are not read
here: ``codegen`` runs after this stage in the DAG, so ``metrics/codegen.json``
would be an undeclared, possibly stale input; they are in that file (``dvc metrics
show``) and reach the MLflow run as ``codegen.*``.

Writes ``metrics/evaluate.json`` (nested dicts of numbers; the method strings under
``method``) and under ``plots/evaluate/``: ``confusion.png``, ``pr_curve.csv``
(recall, precision, threshold of the int8 model, for ``dvc plots``),
``pr_curve.png``, ``timeline.png`` (test split, anomalies shaded, alerts marked),
``events.png`` (a close-up of the first event of each type) and ``summary.md`` (the
comparison table).

Drift and noise (``drift_table``, params ``drift``): for each kind and size of
``tinyad.drift.apply_drift``, the test split's raw readings are degraded (over the
test span), the features recomputed on the whole series (so the first test windows
are full), scaled with the train scaler, quantized and run through the int8 model in
LiteRT (batch; its codes equal TFLM's, see ``agreement``), ORed with the seed rule
and put through the alert logic as for ``device``; then F1 by anomaly type (per
reading, as above), once on the raw readings and once with the baseline correction
of ``tinyad.drift`` applied before the features (the reference levels fitted on the
train split).  Writes ``drift.md``, ``drift.csv`` (kind, size, remedy, type, f1),
``drift.png`` and the ``drift`` section of the metrics.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad import metrics as M
from tinyad.baselines import IsolationForestBaseline, KMeansDistance, ThresholdRule
from tinyad.config import AlertsConfig, Config, load
from tinyad.drift import KINDS as DRIFT_KINDS
from tinyad.drift import apply_drift, correct_readings, reference_levels
from tinyad.features import (
    Scaler,
    compute_features,
    dataset_inputs,
    decide,
    dequantize_output,
    feature_names,
    quantize_input,
    uses_humidity,
)
from tinyad.io import atomic_path, read_json, write_json, write_text

MODELS = ("keras_float", "int8_litert", "int8_tflm", "device")
BASELINES = ("thresholds", "kmeans_distance", "isolation_forest")
LABELS = {
    "keras_float": "Keras float",
    "int8_litert": "int8, LiteRT",
    "int8_tflm": "int8, TFLM",
    "device": "device: int8 TFLM + seed rules",
    "thresholds": "seed thresholds",
    "kmeans_distance": "K-means distance",
    "isolation_forest": "IsolationForest",
}
DATASET_COLUMNS = ("timestamp", "temperature", "humidity", "label", "anomaly_type", "event_id", "split", "valid", "pseudo_label")


@dataclass
class Detection:
    """One detector's output on the valid test rows (in time order)."""

    score: np.ndarray  # higher = more anomalous
    decision: np.ndarray  # bool


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    test: pd.DataFrame  # the test rows, with one alert column per detector
    detections: dict[str, Detection]
    truth: np.ndarray  # on the valid test rows
    extras: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------- alert hook
def alert_sequence(model: np.ndarray, rule: np.ndarray, valid: np.ndarray, cfg: AlertsConfig) -> tuple[np.ndarray, str]:
    """The alert state after each row of a time-ordered sequence.

    ``model`` and ``rule`` are the per-row outcomes of the model and of the seed's
    threshold rule (ignored where ``valid`` is False: the device skips those
    readings, and its alert state is held over them).  The device's state machine
    (``alerts.consecutive`` anomalous readings raise the alert, ``alerts.clear_after``
    normal ones clear it) is mirrored by ``tinyad.alerts.alert_active``; if that
    module is missing, the per-reading outcomes are the alerts (the hook to replace).
    Returns the alerts and a description of what was used.
    """
    model = np.asarray(model, dtype=bool)
    rule = np.asarray(rule, dtype=bool)
    valid = np.asarray(valid, dtype=bool)
    try:
        from tinyad.alerts import alert_active
    except ImportError:
        return hold_over_invalid((model | rule)[valid], valid), "per-reading decisions (tinyad/alerts.py absent)"
    out = np.asarray(alert_active(model, rule, valid, cfg.consecutive, cfg.clear_after), dtype=bool)
    if out.shape != valid.shape:
        raise ValueError(f"tinyad.alerts.alert_active: returned shape {out.shape} for {valid.shape} rows")
    return out, (
        f"tinyad.alerts.alert_active: the device's state machine, consecutive={cfg.consecutive}, "
        f"clear_after={cfg.clear_after}, state held over invalid readings"
    )


def hold_over_invalid(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Spread per-valid-row values onto all rows, holding the last one over invalid rows."""
    valid = np.asarray(valid, dtype=bool)
    vals = np.asarray(values, dtype=bool)
    if len(vals) != int(valid.sum()):
        raise ValueError(f"hold_over_invalid: {len(vals)} values for {int(valid.sum())} valid rows")
    if not valid.any():
        return np.zeros(len(valid), dtype=bool)
    pos = np.cumsum(valid) - 1  # index of the last valid row at or before each row
    return np.where(pos >= 0, vals[np.clip(pos, 0, None)], False)


# ------------------------------------------------------------------ detectors
def run_keras(model: Any, X: np.ndarray) -> np.ndarray:
    """Probabilities of the float model."""
    if len(X) == 0:
        return np.zeros(0)
    return np.asarray(model.predict(np.asarray(X, dtype=np.float32), batch_size=4096, verbose=0), dtype=np.float64).reshape(-1)


def run_litert(tflite: bytes, q_in: np.ndarray) -> np.ndarray:
    """int8 output codes of the LiteRT interpreter (reference kernels), one batch."""
    from tinyad.latency import litert_interpreter

    it = litert_interpreter(tflite)
    if len(q_in) == 0:
        return np.zeros(0, dtype=np.int8)
    inp = it.get_input_details()[0]
    it.resize_tensor_input(inp["index"], [len(q_in), q_in.shape[1]])
    it.allocate_tensors()
    it.set_tensor(inp["index"], np.asarray(q_in, dtype=np.int8))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1).astype(np.int8)


def run_tflm(tflite: bytes, q_in: np.ndarray) -> np.ndarray:
    """int8 output codes of the TFLite Micro interpreter, one reading at a time."""
    from tinyad.latency import tflm_interpreter

    it = tflm_interpreter(tflite)
    out = np.zeros(len(q_in), dtype=np.int8)
    for i in range(len(q_in)):
        it.set_input(np.asarray(q_in[i : i + 1], dtype=np.int8), 0)
        it.invoke()
        out[i] = np.asarray(it.get_output(0)).reshape(-1)[0]
    return out


def check_quant(tflite: bytes, quant: dict[str, Any], source: str) -> None:
    """quant.json must describe the .tflite it sits beside."""
    from tinyad.latency import litert_interpreter

    it = litert_interpreter(tflite)
    for key, det in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
        if det["dtype"] != np.int8:
            raise ValueError(f"{source}: the model's {key} is {det['dtype']}, expected int8")
        scale, zp = det["quantization"]
        try:
            q = quant[key]
            ok = np.isclose(float(q["scale"]), scale, rtol=1e-6) and int(q["zero_point"]) == int(zp)
        except (KeyError, TypeError):
            raise ValueError(f"{source}: expected {{'{key}': {{'scale': s, 'zero_point': z}}}}") from None
        if not ok:
            raise ValueError(f"{source}: {key} scale/zero_point {q} do not match the .tflite ({scale}, {zp})")


# -------------------------------------------------------------------- scoring
def truth_of(test: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """Per test row: 1 anomalous, 0 normal, -1 unknown; and whether it is ground truth."""
    label = test["label"].to_numpy(dtype=np.int64)
    if (label >= 0).any():
        return label, True
    return test["pseudo_label"].to_numpy(dtype=np.int64), False


def pseudo_events(truth: np.ndarray) -> np.ndarray:
    """Event ids for the runs of anomalous rows (used when there is no ground truth)."""
    ev = np.full(len(truth), -1, dtype=np.int64)
    for i, (a, b) in enumerate(M.runs(truth == 1)):
        ev[a:b] = i
    return ev


def score_detector(
    det: Detection,
    alerts: np.ndarray,
    truth_valid: np.ndarray,
    pseudo_valid: np.ndarray,
    type_valid: np.ndarray,
    events: dict[str, Any],
    with_types: bool,
) -> dict[str, Any]:
    known = truth_valid >= 0
    y = truth_valid[known] == 1
    out: dict[str, Any] = dict(M.binary_scores(y, det.decision[known]))
    out["pr_auc"] = M.pr_auc(y, det.score[known])
    out["pseudo_agreement"] = float((det.decision == (pseudo_valid == 1)).mean()) if len(det.decision) else 0.0
    out["alert_rows"] = int(alerts.sum())
    if with_types:
        out["by_type"] = M.scores_by_type(y, det.decision[known], type_valid[known])
    out["events"] = M.event_scores(alerts, events["event_id"], events["normal"], events["type"], events["days"])
    return out


def evaluate(
    dataset: pd.DataFrame,
    scaler: Scaler,
    cfg: Config,
    keras_model: Any,
    tflite: bytes,
    quant: dict[str, Any],
    period_s: float | None = None,
) -> EvalResult:
    """Pure: the dataset, the models and the params in; metrics and per-row outputs out."""
    missing = [c for c in DATASET_COLUMNS if c not in dataset.columns]
    if missing:
        raise ValueError(f"dataset: missing column(s) {missing}; expected the cluster stage's output (docs/architecture.md)")
    ds = dataset.reset_index(drop=True)
    test_rows = np.flatnonzero(ds["split"].astype(str).to_numpy() == "test")
    if len(test_rows) == 0:
        raise ValueError("dataset: no row has split == 'test'")
    X_test, rows_valid = dataset_inputs(ds, scaler, "test")
    if len(rows_valid) == 0:
        raise ValueError("dataset: the test split has no valid row to score")
    X_train, rows_train = dataset_inputs(ds, scaler, "train")
    test = ds.iloc[test_rows].reset_index(drop=True)
    valid_in_test = np.isin(test_rows, rows_valid)
    thr = cfg.alerts.decision_threshold

    # --- models
    det: dict[str, Detection] = {}
    prob = run_keras(keras_model, X_test)
    det["keras_float"] = Detection(prob, prob > thr)
    q_in = quantize_input(X_test, quant["input"]["scale"], quant["input"]["zero_point"])
    q_lite = run_litert(tflite, q_in)
    det["int8_litert"] = Detection(dequantize_output(q_lite, quant), decide(q_lite, quant, thr))
    q_tflm = run_tflm(tflite, q_in)
    det["int8_tflm"] = Detection(dequantize_output(q_tflm, quant), decide(q_tflm, quant, thr))

    # --- baselines
    use_hum = cfg.features.use_humidity
    temp_all = ds["temperature"].to_numpy(dtype=np.float64)
    hum_all = ds["humidity"].to_numpy(dtype=np.float64)
    rule = ThresholdRule(cfg.thresholds, use_humidity=use_hum)
    det["thresholds"] = Detection(rule.score(temp_all[rows_valid], hum_all[rows_valid]), rule.decision(temp_all[rows_valid], hum_all[rows_valid]))
    km = KMeansDistance(cfg.cluster, cfg.thresholds, use_humidity=use_hum).fit(X_train, temp_all[rows_train], hum_all[rows_train])
    det["kmeans_distance"] = Detection(km.score(X_test), km.decision(X_test))
    iso = IsolationForestBaseline(cfg.evaluate).fit(X_train)
    det["isolation_forest"] = Detection(iso.score(X_test), iso.decision(X_test))

    # --- truth and events
    truth, ground = truth_of(test)
    truth_valid = truth[valid_in_test]
    pseudo_valid = test["pseudo_label"].to_numpy(dtype=np.int64)[valid_in_test]
    atype = test["anomaly_type"].astype(str).to_numpy()
    ts = pd.DatetimeIndex(test["timestamp"])
    if period_s is None:
        period_s = float(np.median(np.diff(ts.to_numpy())) / np.timedelta64(1, "s")) if len(ts) > 1 else 60.0
    if not period_s > 0:
        raise ValueError(f"dataset: the test rows' timestamps do not increase (median step {period_s} s)")
    days = len(test) * period_s / 86400.0
    if ground:
        event_id = test["event_id"].to_numpy(dtype=np.int64)
        ev_type = atype
    else:
        event_id = pseudo_events(truth)
        ev_type = np.where(truth == 1, "unknown", "none")
    events = {"event_id": event_id, "normal": truth == 0, "type": ev_type, "days": days}

    # the device: the int8 model (TFLM) OR the seed's rule through the alert logic;
    # its score ranks every rule alarm above any model probability
    rule = det["thresholds"]
    det["device"] = Detection(
        np.where(rule.decision, 1.0 + np.clip(rule.score, 0.0, None), det["int8_tflm"].score),
        det["int8_tflm"].decision | rule.decision,
    )
    alert_method = ""
    result: dict[str, Any] = {}
    n_test = len(test)
    for name, d in det.items():
        on_rows = np.zeros(n_test, dtype=bool)
        rule_rows = np.zeros(n_test, dtype=bool)
        if name == "device":
            on_rows[valid_in_test] = det["int8_tflm"].decision
            rule_rows[valid_in_test] = rule.decision
        elif name == "thresholds":
            rule_rows[valid_in_test] = d.decision
        else:
            on_rows[valid_in_test] = d.decision
        alerts, alert_method = alert_sequence(on_rows, rule_rows, valid_in_test, cfg.alerts)
        test[f"alert_{name}"] = alerts
        result[name] = score_detector(d, alerts, truth_valid, pseudo_valid, atype[valid_in_test], events, ground)

    n_types = {t: int(len(np.unique(event_id[(event_id >= 0) & (atype == t)]))) for t in M.ANOMALY_TYPES} if ground else {}
    metrics: dict[str, Any] = {
        "ground_truth": int(ground),
        "data": {
            "test_rows": int(len(test)),
            "test_valid_rows": int(valid_in_test.sum()),
            "test_days": float(days),
            "test_anomalous_rows": int((truth_valid == 1).sum()),
            "events": int(len(np.unique(event_id[event_id >= 0]))),
            "events_by_type": n_types,
        },
        **result,
        "agreement": {
            "int8_tflm_vs_litert_codes": float((q_tflm == q_lite).mean()),
            "int8_tflm_vs_litert_max_code_diff": int(np.abs(q_tflm.astype(int) - q_lite.astype(int)).max()),
            "int8_vs_float_decisions": float((det["int8_litert"].decision == det["keras_float"].decision).mean()),
            "int8_vs_float_max_prob_diff": float(np.abs(det["int8_litert"].score - prob).max()),
        },
        "method": {
            "truth": "ground-truth label" if ground else "pseudo_label (no ground truth: label is -1 on every test row)",
            "alerts": alert_method,
            "pr_auc": "average precision of the detector's score (step interpolation)",
            "events": (
                "caught: any alerting reading inside the event; false alarm event: a maximal run of alerting "
                "normal readings; alert state held over invalid readings; delay: readings from event start to first alert"
            ),
        },
    }
    return EvalResult(metrics=metrics, test=test, detections=det, truth=truth_valid, extras={"q_in": q_in, "X_test": X_test})


# ------------------------------------------------------------- drift, noise
DRIFT_TYPES = (*M.ANOMALY_TYPES, "all")


def _device_scores(readings: pd.DataFrame, test_mask: np.ndarray, scaler: Scaler, cfg: Config, tflite: bytes,
                   quant: dict[str, Any], truth: np.ndarray, ground: bool, atype: np.ndarray,
                   events: dict[str, Any]) -> dict[str, float]:
    """F1 by type (per reading) and event figures of the device on these readings."""
    X, valid = compute_features(readings, cfg.features)
    rows = np.flatnonzero(test_mask & valid)
    valid_in_test = valid[test_mask]
    q_in = quantize_input(scaler.transform(X[rows]), quant["input"]["scale"], quant["input"]["zero_point"])
    model = decide(run_litert(tflite, q_in), quant, cfg.alerts.decision_threshold)
    temp = readings["temperature"].to_numpy(dtype=np.float64)[rows]
    hum = readings["humidity"].to_numpy(dtype=np.float64)[rows]
    rule = ThresholdRule(cfg.thresholds, use_humidity=cfg.features.use_humidity).decision(temp, hum)
    device = model | rule
    tv = truth[valid_in_test]
    known = tv >= 0
    y = tv[known] == 1
    out = {"all": float(M.binary_scores(y, device[known])["f1"])}
    if ground:
        for t, v in M.scores_by_type(y, device[known], atype[valid_in_test][known]).items():
            out[t] = float(v["f1"])
    n = int(test_mask.sum())
    on_rows, rule_rows = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    on_rows[valid_in_test] = model
    rule_rows[valid_in_test] = rule
    alerts, _ = alert_sequence(on_rows, rule_rows, valid_in_test, cfg.alerts)
    ev = M.event_scores(alerts, events["event_id"], events["normal"], events["type"], events["days"])
    out["events_caught"] = float(ev["recall"])
    out["false_alarms_per_day"] = float(ev["false_alarms_per_day"])
    return out


def drift_table(dataset: pd.DataFrame, scaler: Scaler, cfg: Config, tflite: bytes, quant: dict[str, Any]) -> dict[str, Any]:
    """``{kind: {size: {"raw": scores, "remedy": scores}}}`` for every size of ``cfg.drift``.

    Scores: ``f1`` by anomaly type and ``all`` (per reading, the device's decision:
    int8 model OR seed rule), ``events_caught`` and ``false_alarms_per_day`` (through
    the alert logic).  Size keys are strings (``"0.5"``).
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
    period_s = float(np.median(np.diff(test["timestamp"].to_numpy())) / np.timedelta64(1, "s")) if len(test) > 1 else 60.0
    if ground:
        event_id, ev_type = test["event_id"].to_numpy(dtype=np.int64), atype
    else:
        event_id, ev_type = pseudo_events(truth), np.where(truth == 1, "unknown", "none")
    events = {"event_id": event_id, "normal": truth == 0, "type": ev_type, "days": len(test) * period_s / 86400.0}
    d = cfg.drift
    use_hum = uses_humidity(cfg.features)
    cache: dict[tuple, dict[str, float]] = {}
    out: dict[str, Any] = {}
    for kind in DRIFT_KINDS:
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
                    cache[key] = _device_scores(r, test_mask, scaler, cfg, tflite, quant, truth, ground, atype, events)
                cell["remedy" if remedy else "raw"] = cache[key]
            out[kind][f"{size:g}"] = cell
    return {"table": out, "ref_temp10": ref[0], "ref_hum10": ref[1]}


DRIFT_UNITS = {"temp_drift": "deg C offset at the end", "noise": "deg C noise std at the end", "hum_offset": "%RH offset"}


def drift_long(table: dict[str, Any]) -> pd.DataFrame:
    """The table in long format: kind, size, remedy, type, f1."""
    rows = []
    for kind, sizes in table.items():
        for size, cell in sizes.items():
            for remedy in ("raw", "remedy"):
                for t in DRIFT_TYPES:
                    if t in cell[remedy]:
                        rows.append({"kind": kind, "size": float(size), "remedy": remedy == "remedy", "type": t, "f1": cell[remedy][t]})
    return pd.DataFrame(rows, columns=["kind", "size", "remedy", "type", "f1"])


def drift_markdown(drift: dict[str, Any], cfg: Config) -> str:
    table = drift["table"]
    d = cfg.drift
    lines = [
        "# Drift and noise: device F1 by anomaly type (test split)",
        "",
        "Device = int8 model (LiteRT, codes equal to TFLM) OR the seed rule, per reading; "
        "`raw` = drifted readings as they are, `remedy` = baseline correction before the features "
        f"(EMA over 2**{d.baseline_shift} readings, reference {drift['ref_temp10'] / 10:.1f} deg C / "
        f"{drift['ref_hum10'] / 10:.1f} %RH from the train split). Events and false alarms go through the alert logic.",
        "",
        "| kind | size | remedy | " + " | ".join(f"F1 {t}" for t in DRIFT_TYPES) + " | events caught | false alarms/day |",
        "|---|---:|---|" + "---:|" * (len(DRIFT_TYPES) + 2),
    ]
    for kind, sizes in table.items():
        for size, cell in sizes.items():
            for remedy in ("raw", "remedy"):
                c = cell[remedy]
                vals = " | ".join(_fmt(c.get(t)) for t in DRIFT_TYPES)
                lines.append(f"| {kind} | {size} | {'yes' if remedy == 'remedy' else 'no'} | {vals} | "
                             f"{_fmt(c['events_caught'])} | {_fmt(c['false_alarms_per_day'], 2)} |")
    lines += ["", "Sizes: " + "; ".join(f"{k}: {v}" for k, v in DRIFT_UNITS.items()) + "."]
    return "\n".join(lines) + "\n"


def write_drift(drift: dict[str, Any], cfg: Config, plots: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.mkdir(parents=True, exist_ok=True)
    long = drift_long(drift["table"])
    with atomic_path(plots / "drift.csv") as tmp:
        long.to_csv(tmp, index=False)
    write_text(plots / "drift.md", drift_markdown(drift, cfg))
    kinds = list(drift["table"])
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    colors = {**TYPE_COLORS, "all": "black"}
    for ax, kind in zip(axes[0], kinds):
        sub = long[long["kind"] == kind]
        for t in DRIFT_TYPES:
            for remedy, ls in ((False, "-"), (True, "--")):
                s = sub[(sub["type"] == t) & (sub["remedy"] == remedy)].sort_values("size")
                if len(s):
                    ax.plot(s["size"], s["f1"], ls=ls, marker="o", ms=3, color=colors.get(t, "gray"),
                            label=f"{t}{' + remedy' if remedy else ''}")
        ax.set_title(kind)
        ax.set_xlabel(DRIFT_UNITS.get(kind, "size"))
        ax.set_ylabel("F1 (device, per reading)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle("F1 against drift size: solid = raw readings, dashed = baseline correction")
    fig.tight_layout()
    _savefig(fig, plots / "drift.png")


# ---------------------------------------------------------- latency, memory
def measure_cost(keras_model: Any, tflite: bytes, X_test: np.ndarray, q_in: np.ndarray, runs: int) -> dict[str, Any]:
    """Latency (us per batch-1 inference) and memory of the three interpreters."""
    from tinyad import latency as L

    warmup = max(10, runs // 10)
    x = X_test[0] if len(X_test) else np.zeros(q_in.shape[1])
    q = q_in[0] if len(q_in) else np.zeros(q_in.shape[1], np.int8)
    lat = {
        "keras": L.time_calls(L.keras_call(keras_model, x), runs, warmup),
        "litert": L.time_calls(L.litert_call(tflite, q), runs, warmup),
        "tflm": L.time_calls(L.tflm_call(tflite, q), runs, warmup),
    }
    arena = L.tflm_arena_bytes(tflite)
    memory = {
        "tflite_bytes": len(tflite),
        "tflm_arena_bytes": arena["arena_bytes"],
        "tflm_arena_resolution_bytes": arena["resolution_bytes"],
        "tflm_arena_recorded_bytes": L.tflm_recorded_arena(tflite, arena["arena_bytes"] * 2),
    }
    method = {
        "latency": (
            f"in process on this host, time.perf_counter_ns around each of {runs} batch-1 calls after {warmup} "
            "warm-up calls; keras: model(x, training=False) on a prebuilt tensor; litert: ai_edge_litert "
            "Interpreter (BUILTIN_REF kernels) set_tensor+invoke+get_tensor; tflm: tflite_micro runtime "
            "set_input+invoke+get_output"
        ),
        "tflm_arena": (
            "minimum arena_size for which the tflite_micro interpreter builds and invokes, by bisection in child "
            f"processes (resolution {arena['resolution_bytes']} bytes); recorded: RecordingMicroAllocator total"
        ),
    }
    return {"latency_us": lat, "memory": memory, "method": method}


# ---------------------------------------------------------------- reporting
def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


TABLE_COLUMNS = [
    ("accuracy", "accuracy", True),
    ("precision", "precision", True),
    ("recall", "recall", True),
    ("f1", "F1", True),
    ("pr_auc", "PR-AUC", True),
    ("by_type.point.f1", "F1 point", True),
    ("by_type.contextual.f1", "F1 contextual", True),
    ("by_type.collective.f1", "F1 collective", True),
    ("events.recall", "events caught", True),
    ("events.false_alarms_per_day", "false alarms/day", False),
    ("events.median_delay_readings", "median delay (readings)", False),
]


def _get(d: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def summary_markdown(metrics: dict[str, Any], model: str = "int8_tflm") -> str:
    """The comparison table (best value of each column in bold) and the cost table."""
    names = [n for n in (*MODELS, *BASELINES) if n in metrics]
    cols = [c for c in TABLE_COLUMNS if any(_get(metrics[n], c[0]) is not None for n in names)]
    truth = "ground-truth labels" if metrics.get("ground_truth") else "pseudo-labels (NO ground truth available)"
    data = metrics.get("data", {})
    lines = [
        "# Evaluation on the test split",
        "",
        f"Scored against {truth}: {data.get('test_valid_rows')} valid readings of {data.get('test_rows')} "
        f"({_fmt(data.get('test_days'), 2)} days), {data.get('events')} anomaly events. "
        f"Alerts: {metrics.get('method', {}).get('alerts', '')}.",
        "",
        "| detector | " + " | ".join(c[1] for c in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    best = {}
    for key, _, higher in cols:
        vals = [_get(metrics[n], key) for n in names]
        vals = [v for v in vals if v is not None]
        best[key] = (max(vals) if higher else min(vals)) if vals else None
    for n in names:
        cells = []
        for key, _, _ in cols:
            v = _get(metrics[n], key)
            s = _fmt(v)
            cells.append(f"**{s}**" if v is not None and v == best[key] else s)
        lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    lines += ["", f"Where the device model ({LABELS.get(model, model)}) stands against each baseline:", ""]
    for b in BASELINES:
        if b not in metrics or model not in metrics:
            continue
        wins, losses = [], []
        for key, label, higher in cols:
            mv, bv = _get(metrics[model], key), _get(metrics[b], key)
            if mv is None or bv is None or mv == bv:
                continue
            (wins if (mv > bv) == higher else losses).append(label)
        lines.append(
            f"- vs {LABELS[b]}: better on {', '.join(wins) or 'nothing'}; worse on {', '.join(losses) or 'nothing'}."
        )
    if "latency_us" in metrics:
        lines += ["", "| interpreter | median us | p95 us |", "|---|---:|---:|"]
        for k, v in metrics["latency_us"].items():
            lines.append(f"| {k} | {_fmt(v['median'], 1)} | {_fmt(v['p95'], 1)} |")
    if "memory" in metrics:
        lines += ["", "| memory | bytes |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in metrics["memory"].items()]
    return "\n".join(lines) + "\n"


def write_plots(res: EvalResult, plots: Path, model: str = "int8_tflm") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.mkdir(parents=True, exist_ok=True)
    m = res.metrics
    known = res.truth >= 0
    y = res.truth[known] == 1

    # PR curve data for DVC (the int8 model: what the device runs)
    curve = M.pr_curve(y, res.detections["int8_litert"].score[known])
    with atomic_path(plots / "pr_curve.csv") as tmp:
        pd.DataFrame({"recall": curve["recall"], "precision": curve["precision"], "threshold": curve["threshold"]}).to_csv(tmp, index=False)

    # confusion matrices
    names = [n for n in (*MODELS, *BASELINES) if n in res.detections]
    n_cols = (len(names) + 1) // 2
    fig, axes = plt.subplots(2, n_cols, figsize=(3.7 * n_cols, 7), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, n in zip(axes.ravel(), names):
        c = m[n]["confusion"]
        mat = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
        rows = mat.sum(axis=1, keepdims=True)
        frac = np.divide(mat, rows, out=np.zeros_like(mat, dtype=float), where=rows > 0)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{mat[i, j]}\n{frac[i, j]:.1%}", ha="center", va="center",
                        color="white" if frac[i, j] > 0.5 else "black", fontsize=11)
        ax.set_xticks([0, 1], ["normal", "anomalous"])
        ax.set_yticks([0, 1], ["normal", "anomalous"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{LABELS.get(n, n)}\nF1 {m[n]['f1']:.3f}", fontsize=10)
    fig.suptitle("Confusion matrices, test split (" + ("ground truth" if m["ground_truth"] else "vs pseudo-labels") + ")")
    fig.tight_layout()
    _savefig(fig, plots / "confusion.png")

    # PR curves of every detector
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for n in names:
        cv = M.pr_curve(y, res.detections[n].score[known])
        if not len(cv["recall"]):
            continue
        # point k's precision holds over the recall interval (r_{k-1}, r_k]: the area is the AP
        ax.step(np.r_[0.0, cv["recall"]], np.r_[cv["precision"][0], cv["precision"]], where="pre", label=f"{LABELS.get(n, n)} (AP {m[n]['pr_auc']:.3f})",
                lw=2 if n == model else 1.2, ls="-" if n in MODELS else "--")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=9)
    ax.set_title("Precision-recall, test split (per reading)")
    fig.tight_layout()
    _savefig(fig, plots / "pr_curve.png")

    _timeline(res, plots / "timeline.png", model, plt)
    _event_closeups(res, plots / "events.png", model, plt)


TYPE_COLORS = {"point": "tab:red", "contextual": "tab:purple", "collective": "tab:orange", "unknown": "tab:gray"}


def _shade_events(ax, test: pd.DataFrame, ground: bool, truth_rows: np.ndarray) -> None:
    """Shade the true anomalies by type; very short ones get a minimum visible width."""
    ts = test["timestamp"].to_numpy()
    step = np.median(np.diff(ts)) if len(ts) > 1 else np.timedelta64(60, "s")
    min_width = (ts[-1] - ts[0]) / 300 if len(ts) > 1 else step
    kinds = test["anomaly_type"].astype(str).to_numpy() if ground else np.where(truth_rows == 1, "unknown", "none")
    for kind, color in TYPE_COLORS.items():
        for a, b in M.runs(kinds == kind):
            start, stop = ts[a], ts[b - 1] + step
            if stop - start < min_width:
                mid = start + (stop - start) / 2
                start, stop = mid - min_width / 2, mid + min_width / 2
            ax.axvspan(start, stop, color=color, alpha=0.3, lw=0)


def _timeline(res: EvalResult, path: Path, model: str, plt) -> None:
    """Alert lanes on top, then temperature and humidity with the true anomalies shaded."""
    import matplotlib.dates as mdates
    from matplotlib.patches import Patch

    test = res.test
    ts = test["timestamp"].to_numpy()
    ground = bool(res.metrics["ground_truth"])
    truth_rows, _ = truth_of(test)
    has_hum = np.isfinite(test["humidity"].to_numpy(dtype=float)).any()
    lanes = [n for n in ("device", model, "thresholds", "kmeans_distance", "isolation_forest") if f"alert_{n}" in test]
    lanes = list(dict.fromkeys(lanes))
    heights = [0.45 * len(lanes), 3.0] + ([2.0] if has_hum else [])
    fig, axes = plt.subplots(len(heights), 1, figsize=(16, sum(heights) + 1.6), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    step = np.median(np.diff(ts)) if len(ts) > 1 else np.timedelta64(60, "s")
    lane_ax = axes[0]
    _shade_events(lane_ax, test, ground, truth_rows)
    for i, n in enumerate(reversed(lanes)):
        alert = test[f"alert_{n}"].to_numpy(dtype=bool)
        spans = [(mdates.date2num(ts[a]), mdates.date2num(ts[b - 1] + step) - mdates.date2num(ts[a])) for a, b in M.runs(alert)]
        lane_ax.broken_barh(spans, (i + 0.15, 0.7), color="red" if n in (model, "device") else "tab:blue")
    lane_ax.set_yticks([i + 0.5 for i in range(len(lanes))], [f"{LABELS[n]} alerts" for n in reversed(lanes)], fontsize=8)
    lane_ax.set_ylim(0, len(lanes))
    e = res.metrics[model]["events"]
    lane_ax.set_title(
        f"Test split: true anomalies shaded, alerts marked.  {LABELS[model]}: {e['caught']}/{e['events']} events caught, "
        f"{e['false_alarms_per_day']:.2f} false alarms/day"
    )
    ax = axes[1]
    _shade_events(ax, test, ground, truth_rows)
    ax.plot(ts, test["temperature"], color="black", lw=0.6)
    ax.set_ylabel("temperature (deg C)")
    ax.grid(alpha=0.2)
    if has_hum:
        ax2 = axes[2]
        _shade_events(ax2, test, ground, truth_rows)
        ax2.plot(ts, test["humidity"], color="tab:blue", lw=0.6)
        ax2.set_ylabel("humidity (%RH)")
        ax2.grid(alpha=0.2)
    handles = [Patch(color=c, alpha=0.4, label=f"{k} anomaly (true)") for k, c in TYPE_COLORS.items() if (k != "unknown") == ground]
    handles.append(Patch(color="red", label="alert (device / model)"))
    handles.append(Patch(color="tab:blue", label="alert (baseline)"))
    fig.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=8, frameon=False)
    axes[-1].set_xlabel("time")
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _savefig(fig, path)


def _event_closeups(res: EvalResult, path: Path, model: str, plt) -> None:
    """The first event of each type (or the first few), two hours either side."""
    test = res.test
    ev = test["event_id"].to_numpy(dtype=np.int64) if res.metrics["ground_truth"] else pseudo_events(truth_of(test)[0])
    kinds = test["anomaly_type"].astype(str).to_numpy()
    picks: list[int] = []
    seen: set[str] = set()
    for e in pd.unique(ev[ev >= 0]):
        k = kinds[ev == e][0]
        if k not in seen:
            seen.add(k)
            picks.append(int(e))
    for e in pd.unique(ev[ev >= 0]):
        if len(picks) >= 4:
            break
        if int(e) not in picks:
            picks.append(int(e))
    if not picks:
        picks = []
    n = max(len(picks), 1)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.8), squeeze=False)
    ts = test["timestamp"].to_numpy()
    temp = test["temperature"].to_numpy(dtype=float)
    alert = test[f"alert_{model}"].to_numpy(dtype=bool)
    step = np.median(np.diff(ts)) if len(ts) > 1 else np.timedelta64(60, "s")
    pad = int(np.timedelta64(2, "h") / step) if step > np.timedelta64(0, "s") else 120
    for ax, e in zip(axes[0], picks):
        rows = np.flatnonzero(ev == e)
        a, b = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, len(test))
        k = kinds[rows[0]] if res.metrics["ground_truth"] else "unknown"
        ax.axvspan(ts[rows[0]], ts[rows[-1]] + step, color=TYPE_COLORS.get(k, "gray"), alpha=0.25, lw=0, label=f"{k} anomaly")
        ax.plot(ts[a:b], temp[a:b], color="black", lw=0.9, label="temperature")
        sel = np.arange(a, b)[alert[a:b]]
        ax.scatter(ts[sel], temp[sel], color="red", s=14, zorder=3, label=f"alert ({LABELS[model]})")
        hits = rows[alert[rows]]
        delay = f"delay {hits[0] - rows[0]} readings" if len(hits) else "missed"
        ax.set_title(f"event {e}: {k}, {len(rows)} readings, {delay}", fontsize=9)
        ax.set_ylabel("deg C")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.2)
    if not picks:
        axes[0, 0].text(0.5, 0.5, "no anomaly event in the test split", ha="center", va="center")
    fig.tight_layout()
    _savefig(fig, path)


def _savefig(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


# ---------------------------------------------------------------------- main
def load_keras(path: str | Path) -> Any:
    import keras

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: Keras model not found (run the train stage)")
    return keras.models.load_model(p, compile=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Evaluate the models and baselines on the test split.")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--scaler", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tflite", required=True)
    ap.add_argument("--quant", required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True)
    args = ap.parse_args(argv)

    cfg = load(args.params)
    scaler = Scaler.load(args.scaler)
    scaler.check_features(feature_names(cfg.features), source=args.scaler)
    dataset = pd.read_parquet(args.dataset)
    tflite = Path(args.tflite).read_bytes()
    quant = read_json(args.quant)
    check_quant(tflite, quant, args.quant)
    keras_model = load_keras(args.model)

    res = evaluate(dataset, scaler, cfg, keras_model, tflite, quant)
    cost = measure_cost(keras_model, tflite, res.extras["X_test"], res.extras["q_in"], cfg.evaluate.latency_runs)
    metrics = res.metrics
    metrics["latency_us"] = cost["latency_us"]
    metrics["memory"] = cost["memory"]
    metrics["method"].update(cost["method"])
    drift = drift_table(dataset, scaler, cfg, tflite, quant)
    metrics["drift"] = {"ref_temp10": drift["ref_temp10"], "ref_hum10": drift["ref_hum10"], **drift["table"]}

    plots = Path(args.plots)
    write_plots(res, plots)
    write_drift(drift, cfg, plots)
    write_text(plots / "summary.md", summary_markdown(metrics))
    write_json(args.metrics, metrics)
    print(summary_markdown(metrics))
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "evaluate"))
