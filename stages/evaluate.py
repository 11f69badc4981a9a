"""Stage ``evaluate``: the models and the baselines on the held-out test split.

    python -m stages.evaluate --params params.yaml \\
        --dataset data/processed/dataset.parquet --scaler models/scaler.json \\
        --model models/model.keras --tflite models/model_int8.tflite --quant models/quant.json \\
        --metrics metrics/evaluate.json --plots plots/evaluate

Reads the params sections ``features``, ``thresholds``, ``cluster``, ``alerts`` and
``evaluate``.  Decision threshold: ``decision_threshold(quant, cfg)``, the calibrated
``decision.threshold`` of quant.json when the quantize stage wrote one, else
``alerts.decision_threshold`` (used by every model detector and the drift table; a
``decision.code`` that is not that threshold's int8 code is a warning).  Detectors,
all scored on the valid rows of the ``test`` split:

* ``keras_float``: the float Keras model, probability > the decision threshold;
* ``int8_litert``: the int8 model in ``ai_edge_litert`` (reference kernels), inputs
  quantized with ``tinyad.features.quantize_input`` and decided with
  ``tinyad.features.decide`` exactly as the device does;
* ``int8_tflm``: the same int8 model in the TensorFlow Lite Micro interpreter, one
  reading at a time (batch 1, as on the device);
* ``device``: ``int8_tflm`` OR the seed's rule, through the alert logic;
* baselines (``tinyad/baselines.py``): ``thresholds`` (the seed's rule),
  ``kmeans_distance``, ``isolation_forest`` and ``ecod`` (PyOD's ECOD, contamination
  ``evaluate.ecod_contamination`` if set, else ``evaluate.isolation_forest_contamination``),
  fitted on the valid train rows.

Headline (``headline`` in the metrics, the top of ``summary.md``, the stage's output):
for the device and each baseline, from its alert state (``alert_sequence``) over the
test period (first to last timestamp plus one period, the period being the median
timestamp step): alerts raised (rising edges) a day and a week, the share of valid
readings flagged (alert on), the longest alert in readings and minutes; with ground
truth also false alarm events a week, events caught and F1 by anomaly type.  Budgets:
``alerts.max_false_alarms_per_week`` (default 1.0) and ``cluster.contamination``
(default 0.01); ``budget_warnings`` puts any breach in ``warnings`` (metrics), at the
top of ``summary.md`` and on stderr (``evaluate: warning: ...``).

Truth: the ground-truth ``label`` where the data has one (``ground_truth`` 1).  When
every test row has ``label == -1`` (a real log without labels, ``ground_truth`` 0)
nothing is scored as detection quality: no accuracy, precision, recall, F1 or PR-AUC
anywhere in the metrics or the summary.  Each detector gets its alert figures and,
under ``diagnostic_vs_pseudo_labels``, how closely it imitates the K-means
pseudo-labels (agreement, overlap, the runs of pseudo-anomalous rows alerted on),
labelled as the imitation it is.  The drift table then gives the device's alerts a
week, flagged share and agreement with its undrifted decisions instead of F1.

With ground truth, per reading: accuracy, precision, recall, F1, PR-AUC (average
precision of the detector's score), confusion matrix, recall/precision/F1 by anomaly
type (F1 on rows normal or of that type), agreement with the pseudo-labels.  Per
event: the detector's decisions go through the alert logic (``alert_sequence``: the
device's state machine of ``tinyad/alerts.py`` when that module exists, else the
per-reading decisions), the alert state is held over invalid readings (the device
skips them), and ``tinyad.metrics.event_scores`` counts caught events, false alarm
events per day of test data and the detection delay in readings.

Latency (``tinyad/latency.py``): median and p95 microseconds per batch-1 inference on
this host, ``evaluate.latency_runs`` timed calls after ``max(10, runs // 10)``
warm-up calls, for the Keras model (direct call), LiteRT and TFLM.  Memory: the
.tflite size, the minimum TFLM arena (bisection over ``arena_size``) and the arena
total TFLM's recording allocator reports.  The generated C's sizes are not read
here: ``codegen`` runs after this stage in the DAG, so ``metrics/codegen.json``
would be an undeclared, possibly stale input; they are in that file (``dvc metrics
show``) and reach the MLflow run as ``codegen.*``.

Writes ``metrics/evaluate.json`` (nested dicts of numbers; the method strings under
``method``, the warning strings in ``warnings``) and under ``plots/evaluate/``:
``confusion.png``, ``pr_curve.csv`` (recall, precision, threshold of the int8 model,
for ``dvc plots``; header only without ground truth), ``pr_curve.png``,
``timeline.png`` (test split, anomalies shaded, alerts marked), ``events.png`` (a
close-up of the first event of each type; without ground truth, of the device's
longest alerts), ``alerts.png`` (the whole test period: temperature and humidity with
the device's alert spans, every detector's alerts, alerts raised each day) and
``summary.md`` (warnings, headline, then the comparison table or the diagnostic).

Drift and noise (``drift_table``, params ``drift``): for each kind and size of
``tinyad.drift.apply_drift``, the test split's raw readings are degraded (over the
test span), the features recomputed on the whole series (so the first test windows
are full), scaled with the train scaler, quantized and run through the int8 model in
LiteRT (batch; its codes equal TFLM's, see ``agreement``), ORed with the seed rule
and put through the alert logic as for ``device``; then F1 by anomaly type (per
reading, as above; without ground truth: alerts a week, flagged share, agreement with
the undrifted decisions), once on the raw readings and once with the baseline
correction of ``tinyad.drift`` applied before the features (the reference levels
fitted on the train split).  Writes ``drift.md``, ``drift.csv`` (kind, size, remedy,
type, f1; without ground truth kind, size, remedy and those figures), ``drift.png``
and the ``drift`` section of the metrics.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad import metrics as M
from tinyad.calibration import device_alerts
from tinyad.baselines import EcodBaseline, IsolationForestBaseline, KMeansDistance, ThresholdRule
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
    output_code_threshold,
    quantize_input,
    uses_humidity,
)
from tinyad.io import atomic_path, read_json, write_json, write_text

MODELS = ("keras_float", "int8_litert", "int8_tflm", "device")
BASELINES = ("thresholds", "kmeans_distance", "isolation_forest", "ecod")
HEADLINE_DETECTORS = ("device", *BASELINES)
# per-reading scores that mean something only against ground truth: never reported
# against the pseudo-labels (with ground_truth 0 no key of the metrics has these names)
TRUTH_ONLY_KEYS = ("accuracy", "precision", "recall", "f1", "pr_auc")
FAR_ABOVE = 3.0  # a flagged share "far above" the contamination budget: more than this times it
LABELS = {
    "keras_float": "Keras float",
    "int8_litert": "int8, LiteRT",
    "int8_tflm": "int8, TFLM",
    "device": "device: int8 TFLM + seed rules",
    "thresholds": "seed thresholds",
    "kmeans_distance": "K-means distance",
    "isolation_forest": "IsolationForest",
    "ecod": "ECOD (PyOD)",
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


# ------------------------------------------- decision threshold and budgets
def decision_threshold(quant: dict[str, Any], cfg: Config) -> float:
    """The model's decision threshold (a probability): the calibrated one of quant.json
    (``quant["decision"]["threshold"]``, written by the quantize stage) when present,
    else ``alerts.decision_threshold``."""
    dec = quant.get("decision") if isinstance(quant, dict) else None
    if isinstance(dec, dict) and dec.get("threshold") is not None:
        thr = dec["threshold"]
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not (math.isfinite(thr) and 0.0 <= thr <= 1.0):
            raise ValueError(f"quant.json: decision.threshold must be a probability in [0, 1], got {thr!r}")
        return float(thr)
    return float(cfg.alerts.decision_threshold)


def threshold_source(quant: dict[str, Any]) -> str:
    dec = quant.get("decision") if isinstance(quant, dict) else None
    if isinstance(dec, dict) and dec.get("threshold") is not None:
        return "quant.json decision.threshold (calibrated by quantize)"
    return "alerts.decision_threshold"


def decision_code_warnings(quant: dict[str, Any], threshold: float) -> list[str]:
    """quant.json's ``decision.code`` (the device's int8 comparison) must be the code of its threshold."""
    dec = quant.get("decision") if isinstance(quant, dict) else None
    if not isinstance(dec, dict) or dec.get("code") is None:
        return []
    code = output_code_threshold(quant, threshold)
    if int(dec["code"]) != code:
        return [
            f"quant.json: decision.code {int(dec['code'])} is not the int8 code of decision.threshold {threshold:g} "
            f"(the smallest code above it is {code}); evaluate decides with the threshold (q_out >= {code})"
        ]
    return []


def ecod_contamination(cfg: Config) -> float:
    """ECOD's contamination: ``evaluate.ecod_contamination`` when the params have it, else the IsolationForest's."""
    return float(getattr(cfg.evaluate, "ecod_contamination", cfg.evaluate.isolation_forest_contamination))


def budgets(cfg: Config) -> dict[str, float]:
    """The false-alarm budget (alerts a week) and the contamination budget (share of readings flagged)."""
    return {
        "max_false_alarms_per_week": float(getattr(cfg.alerts, "max_false_alarms_per_week", 1.0)),
        "contamination": float(getattr(cfg.cluster, "contamination", 0.01)),
    }


# ------------------------------------------------------------ alert figures
def median_period_s(timestamps: Any) -> float:
    """The reading period: the median step between consecutive timestamps (60 s for fewer than 2)."""
    ts = pd.DatetimeIndex(timestamps).to_numpy()
    if len(ts) < 2:
        return 60.0
    return float(np.median(np.diff(ts)) / np.timedelta64(1, "s"))


def period_days(timestamps: Any, period_s: float) -> float:
    """Days a log covers: first to last timestamp plus one reading period."""
    ts = pd.DatetimeIndex(timestamps).to_numpy()
    if len(ts) == 0:
        return 0.0
    return float((ts[-1] - ts[0]) / np.timedelta64(1, "s") + period_s) / 86400.0


def alert_figures(alert: Any, valid: Any, timestamps: Any, period_s: float, days: float) -> dict[str, Any]:
    """What an alert sequence means to the person it pages, without any labels.

    ``alert`` (the alert state after each row, from ``alert_sequence``), ``valid`` and
    ``timestamps`` are per row in time order.  An alert is a rising edge of the state
    (one that is on at the first row counts).  Returns the alerts, their rate a day
    and a week over ``days``, the valid readings flagged (alert on) and their share,
    and the longest alert in readings (rows from raised to cleared) and in minutes
    (from its first reading to one period after its last).
    """
    a = np.asarray(alert, dtype=bool)
    v = np.asarray(valid, dtype=bool)
    ts = pd.DatetimeIndex(timestamps).to_numpy()
    if not (len(a) == len(v) == len(ts)):
        raise ValueError(f"alert_figures: alert {len(a)}, valid {len(v)}, timestamps {len(ts)} rows differ")
    if not days > 0:
        raise ValueError(f"alert_figures: days must be > 0, got {days}")
    spans = M.runs(a)
    readings = [b - s for s, b in spans]
    minutes = [float((ts[b - 1] - ts[s]) / np.timedelta64(1, "s") + period_s) / 60.0 for s, b in spans]
    n_valid = int(v.sum())
    flagged = int((a & v).sum())
    return {
        "alerts": len(spans),
        "alerts_per_day": len(spans) / days,
        "alerts_per_week": 7.0 * len(spans) / days,
        "flagged_readings": flagged,
        "flagged_share": flagged / n_valid if n_valid else 0.0,
        "longest_alert_readings": int(max(readings)) if readings else 0,
        "longest_alert_minutes": float(max(minutes)) if minutes else 0.0,
    }


def alerts_by_day(alert: Any, timestamps: Any) -> pd.Series:
    """Alerts raised (rising edges) on each calendar day of the timestamps, days without any as 0."""
    a = np.asarray(alert, dtype=bool)
    ts = pd.DatetimeIndex(timestamps)
    days = ts.normalize()
    if len(ts) == 0:
        return pd.Series(dtype=np.int64)
    starts = np.array([s for s, _ in M.runs(a)], dtype=np.int64)
    index = pd.date_range(days.min(), days.max(), freq="D")
    counts = pd.Series(1, index=days[starts]).groupby(level=0).sum() if len(starts) else pd.Series(dtype=np.int64)
    return counts.reindex(index, fill_value=0).astype(np.int64)


def budget_warnings(figures: dict[str, Any], budget: dict[str, float], ground: bool) -> list[str]:
    """Warnings when the device's figures break the budgets (``budgets``).

    With ground truth: its false alarm events a week against
    ``max_false_alarms_per_week``.  Without: every alert may be false, so its alerts a
    week against that budget, and the share of valid readings it flags against
    ``contamination`` ("far above" beyond ``FAR_ABOVE`` times it).
    """
    out: list[str] = []
    max_week = budget["max_false_alarms_per_week"]
    if ground:
        rate = float(figures["false_alarms_per_week"])
        if rate > max_week:
            out.append(f"the device raises {rate:.2f} false alarm events a week, over the false-alarm budget of "
                       f"{max_week:g} a week (alerts.max_false_alarms_per_week)")
        return out
    rate = float(figures["alerts_per_week"])
    if rate > max_week:
        out.append(f"the device raises {rate:.2f} alerts a week on a log without labels (any of them may be false), "
                   f"over the false-alarm budget of {max_week:g} a week (alerts.max_false_alarms_per_week)")
    share, cont = float(figures["flagged_share"]), budget["contamination"]
    if share > FAR_ABOVE * cont:
        out.append(f"the device flags {share:.2%} of the valid readings, far above (more than {FAR_ABOVE:g}x) the "
                   f"contamination budget of {cont:.2%} (cluster.contamination)")
    elif share > cont:
        out.append(f"the device flags {share:.2%} of the valid readings, above the contamination budget of "
                   f"{cont:.2%} (cluster.contamination)")
    return out


def budget_flags(figures: dict[str, Any], budget: dict[str, float], ground: bool) -> dict[str, Any]:
    """The budget checks of ``budget_warnings`` as numbers (0/1; None where not checked), for the MLflow run."""
    if ground:
        return {
            "device_over_false_alarm_budget": int(figures["false_alarms_per_week"] > budget["max_false_alarms_per_week"]),
            "device_over_contamination_budget": None,
            "device_far_above_contamination_budget": None,
        }
    share = figures["flagged_share"]
    return {
        "device_over_false_alarm_budget": int(figures["alerts_per_week"] > budget["max_false_alarms_per_week"]),
        "device_over_contamination_budget": int(share > budget["contamination"]),
        "device_far_above_contamination_budget": int(share > FAR_ABOVE * budget["contamination"]),
    }


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
    from tinyad.latency import tflm_codes

    return tflm_codes(tflite, q_in)


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
    """Per-reading and per-event scores against ground truth (``truth_valid`` on the valid rows)."""
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


def pseudo_label_agreement(decision: np.ndarray, alerts: np.ndarray, pseudo_valid: np.ndarray,
                           events: dict[str, Any]) -> dict[str, Any]:
    """How closely a detector imitates the K-means pseudo-labels: a diagnostic, not detection quality.

    ``decision`` and ``pseudo_valid`` on the valid test rows, ``alerts`` and the
    pseudo-anomaly runs (``events``) on all test rows.  Figures: the share of readings
    where the decision equals the pseudo-label, the share of pseudo-anomalous readings
    flagged, the share of flagged readings that are pseudo-anomalous, their overlap
    (Dice coefficient), the counts, and the runs of pseudo-anomalous readings alerted on.
    """
    known = pseudo_valid >= 0
    p = pseudo_valid[known] == 1
    d = np.asarray(decision, dtype=bool)[known]
    c = M.confusion(p, d)
    ev = M.event_scores(alerts, events["event_id"], events["normal"], events["type"], events["days"])
    ratio = lambda a, b: float(a) / float(b) if b else 0.0  # noqa: E731
    return {
        "agreement": ratio(c["tp"] + c["tn"], len(p)),
        "pseudo_anomalous_flagged": ratio(c["tp"], c["tp"] + c["fn"]),
        "flagged_pseudo_anomalous": ratio(c["tp"], c["tp"] + c["fp"]),
        "dice_overlap": ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]),
        "confusion": c,
        "pseudo_runs": ev["events"],
        "pseudo_runs_alerted": ev["caught"],
        "alerts_outside_pseudo_runs": ev["false_alarm_events"],
    }


def headline_figures(result: dict[str, Any], ground: bool, days: float) -> dict[str, Any]:
    """A detector's headline: its alert figures, plus (with ground truth) false alarms, events caught, F1."""
    out = dict(result["alerts"])
    if ground:
        ev = result["events"]
        out["false_alarm_events"] = ev["false_alarm_events"]
        out["false_alarms_per_week"] = 7.0 * ev["false_alarm_events"] / days
        out["events"] = ev["events"]
        out["events_caught"] = ev["caught"]
        out["events_caught_share"] = ev["recall"]
        out["f1"] = result["f1"]
        out["f1_by_type"] = {t: v["f1"] for t, v in result.get("by_type", {}).items()}
    return out


def headline_of(result: dict[str, Any], ground: bool, days: float, period_s: float, threshold: float,
                budget: dict[str, float]) -> tuple[dict[str, Any], list[str]]:
    """The ``headline`` section (device and baselines) and the budget warnings."""
    head: dict[str, Any] = {
        "ground_truth": int(ground),
        "test_days": float(days),
        "period_s": float(period_s),
        "decision_threshold": float(threshold),
    }
    for name in HEADLINE_DETECTORS:
        if name in result:
            head[name] = headline_figures(result[name], ground, days)
    warnings = budget_warnings(head["device"], budget, ground)
    head["budgets"] = {**budget, **budget_flags(head["device"], budget, ground), "warnings": len(warnings)}
    return head, warnings


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
    thr = decision_threshold(quant, cfg)

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
    ecod = EcodBaseline(ecod_contamination(cfg)).fit(X_train)
    det["ecod"] = Detection(ecod.score(X_test), ecod.decision(X_test))

    # --- truth and events
    truth, ground = truth_of(test)
    truth_valid = truth[valid_in_test]
    pseudo_valid = test["pseudo_label"].to_numpy(dtype=np.int64)[valid_in_test]
    atype = test["anomaly_type"].astype(str).to_numpy()
    ts = pd.DatetimeIndex(test["timestamp"])
    if period_s is None:
        period_s = median_period_s(ts)
    if not period_s > 0:
        raise ValueError(f"dataset: the test rows' timestamps do not increase (median step {period_s} s)")
    days = period_days(ts, period_s)
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
        alerts, alert_method = alert_sequence(on_rows, rule_rows, valid_in_test, device_alerts(quant, cfg.alerts))
        test[f"alert_{name}"] = alerts
        figures = alert_figures(alerts, valid_in_test, ts, period_s, days)
        if ground:
            result[name] = score_detector(d, alerts, truth_valid, pseudo_valid, atype[valid_in_test], events, ground)
            result[name]["alerts"] = figures
        else:
            result[name] = {
                "alerts": figures,
                "alert_rows": int(alerts.sum()),
                "diagnostic_vs_pseudo_labels": pseudo_label_agreement(d.decision, alerts, pseudo_valid, events),
            }

    budget = budgets(cfg)
    headline, warnings = headline_of(result, ground, days, period_s, thr, budget)
    warnings = decision_code_warnings(quant, thr) + warnings
    data: dict[str, Any] = {
        "test_rows": int(len(test)),
        "test_valid_rows": int(valid_in_test.sum()),
        "test_days": float(days),
        "period_s": float(period_s),
    }
    if ground:
        data["test_anomalous_rows"] = int((truth_valid == 1).sum())
        data["events"] = int(len(np.unique(event_id[event_id >= 0])))
        data["events_by_type"] = {t: int(len(np.unique(event_id[(event_id >= 0) & (atype == t)]))) for t in M.ANOMALY_TYPES}
    else:
        data["pseudo_anomalous_rows"] = int((truth_valid == 1).sum())
        data["pseudo_runs"] = int(len(np.unique(event_id[event_id >= 0])))
    method = {
        "truth": "ground-truth label" if ground else (
            "none: label is -1 on every test row; detectors are described by their alerts (headline), and "
            "diagnostic_vs_pseudo_labels is the imitation of the K-means pseudo-labels, not detection quality"
        ),
        "alerts": alert_method,
        "decision_threshold": f"{thr:g} from {threshold_source(quant)}",
        "headline": (
            "alert: a rising edge of the alert state (alert_sequence); rates over the test period, first to last "
            "timestamp plus one period; flagged share: valid readings with the alert on; longest alert: readings from "
            "raised to cleared, minutes from its first reading to one period after its last"
        ),
        "budgets": (
            "device alerts a week (without labels) or false alarm events a week (with) against "
            f"alerts.max_false_alarms_per_week; without labels, flagged share against cluster.contamination "
            f"(far above: more than {FAR_ABOVE:g}x)"
        ),
        "ecod": (
            f"pyod.models.ecod.ECOD(contamination={ecod_contamination(cfg):g}) fitted on the valid train rows' scaled "
            "features; each test row scored against the train rows alone (PyOD's score of a one-row batch)"
        ),
    }
    if ground:
        method["pr_auc"] = "average precision of the detector's score (step interpolation)"
        method["events"] = (
            "caught: any alerting reading inside the event; false alarm event: a maximal run of alerting "
            "normal readings; alert state held over invalid readings; delay: readings from event start to first alert"
        )
    metrics: dict[str, Any] = {
        "ground_truth": int(ground),
        "headline": headline,
        "warnings": warnings,
        "data": data,
        **result,
        "agreement": {
            "int8_tflm_vs_litert_codes": float((q_tflm == q_lite).mean()),
            "int8_tflm_vs_litert_max_code_diff": int(np.abs(q_tflm.astype(int) - q_lite.astype(int)).max()),
            "int8_vs_float_decisions": float((det["int8_litert"].decision == det["keras_float"].decision).mean()),
            "int8_vs_float_max_prob_diff": float(np.abs(det["int8_litert"].score - prob).max()),
        },
        "method": method,
    }
    return EvalResult(metrics=metrics, test=test, detections=det, truth=truth_valid, extras={"q_in": q_in, "X_test": X_test})


# ------------------------------------------------------------- drift, noise
DRIFT_TYPES = (*M.ANOMALY_TYPES, "all")


def _device_decisions(readings: pd.DataFrame, test_mask: np.ndarray, scaler: Scaler, cfg: Config, tflite: bytes,
                      quant: dict[str, Any], threshold: float) -> dict[str, np.ndarray]:
    """The device on these readings: per test row validity, model and rule decisions, alert state."""
    X, valid = compute_features(readings, cfg.features)
    rows = np.flatnonzero(test_mask & valid)
    valid_in_test = valid[test_mask]
    q_in = quantize_input(scaler.transform(X[rows]), quant["input"]["scale"], quant["input"]["zero_point"])
    model = decide(run_litert(tflite, q_in), quant, threshold)
    temp = readings["temperature"].to_numpy(dtype=np.float64)[rows]
    hum = readings["humidity"].to_numpy(dtype=np.float64)[rows]
    rule = ThresholdRule(cfg.thresholds, use_humidity=cfg.features.use_humidity).decision(temp, hum)
    n = int(test_mask.sum())
    on_rows, rule_rows = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    on_rows[valid_in_test] = model
    rule_rows[valid_in_test] = rule
    alerts, _ = alert_sequence(on_rows, rule_rows, valid_in_test, device_alerts(quant, cfg.alerts))
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
    out["events_caught"] = float(ev["recall"])
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
    period_s = median_period_s(ts)
    if ground:
        event_id, ev_type = test["event_id"].to_numpy(dtype=np.int64), atype
    else:
        event_id, ev_type = pseudo_events(truth), np.where(truth == 1, "unknown", "none")
    events = {"event_id": event_id, "normal": truth == 0, "type": ev_type, "days": period_days(ts, period_s)}
    thr = decision_threshold(quant, cfg)
    d = cfg.drift
    use_hum = uses_humidity(cfg.features)
    runs: dict[tuple, dict[str, np.ndarray]] = {}

    def run_of(key: tuple, r: pd.DataFrame) -> dict[str, np.ndarray]:
        if key not in runs:
            runs[key] = _device_decisions(r, test_mask, scaler, cfg, tflite, quant, thr)
        return runs[key]

    undrifted = run_of(("", 0.0, False), readings)
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
            "Device = int8 model (LiteRT, codes equal to TFLM) OR the seed rule, per reading; " + remedy_text
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
            "OR the seed rule through the alert logic; " + remedy_text
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
                    vals = " | ".join(_fmt(c.get(t)) for t in DRIFT_TYPES)
                    lines.append(f"| {kind} | {size} | {yes} | {vals} | "
                                 f"{_fmt(c['events_caught'])} | {_fmt(c['false_alarms_per_day'], 2)} |")
                else:
                    lines.append(f"| {kind} | {size} | {yes} | {_fmt(c['alerts_per_week'], 2)} | "
                                 f"{_pct(c['flagged_share'])} | {_pct(c['agreement_with_undrifted'])} |")
    lines += ["", "Sizes: " + "; ".join(f"{k}: {v}" for k, v in DRIFT_UNITS.items()) + "."]
    return "\n".join(lines) + "\n"


def write_drift(drift: dict[str, Any], cfg: Config, plots: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.mkdir(parents=True, exist_ok=True)
    long = drift_long(drift["table"])
    ground = bool(drift.get("ground_truth", 1))
    with atomic_path(plots / "drift.csv") as tmp:
        long.to_csv(tmp, index=False)
    write_text(plots / "drift.md", drift_markdown(drift, cfg))
    kinds = list(drift["table"])
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    colors = {**TYPE_COLORS, "all": "black"}
    for ax, kind in zip(axes[0], kinds):
        sub = long[long["kind"] == kind]
        if ground:
            for t in DRIFT_TYPES:
                for remedy, ls in ((False, "-"), (True, "--")):
                    s = sub[(sub["type"] == t) & (sub["remedy"] == remedy)].sort_values("size")
                    if len(s):
                        ax.plot(s["size"], s["f1"], ls=ls, marker="o", ms=3, color=colors.get(t, "gray"),
                                label=f"{t}{' + remedy' if remedy else ''}")
            ax.set_ylabel("F1 (device, per reading)")
            ax.set_ylim(0, 1.02)
        else:
            for remedy, ls in ((False, "-"), (True, "--")):
                s = sub[sub["remedy"] == remedy].sort_values("size")
                if len(s):
                    ax.plot(s["size"], s["alerts_per_week"], ls=ls, marker="o", ms=3, color="tab:red",
                            label=f"alerts/week{' + remedy' if remedy else ''}")
            budget = budgets(cfg)["max_false_alarms_per_week"]
            ax.axhline(budget, color="gray", ls=":", lw=1, label="false-alarm budget")
            ax.set_ylabel("device alerts per week")
            ax.set_ylim(bottom=0)
        ax.set_title(kind)
        ax.set_xlabel(DRIFT_UNITS.get(kind, "size"))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle("F1 against drift size: solid = raw readings, dashed = baseline correction" if ground else
                 "Device alerts per week against drift size (no ground truth): solid = raw, dashed = baseline correction")
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
    """summary.md: warnings, the headline (alerts as the person on call sees them), then with
    ground truth the comparison table (best value of each column in bold) or without it
    the diagnostic agreement with the pseudo-labels; the cost tables."""
    ground = bool(metrics.get("ground_truth"))
    lines = ["# Evaluation on the test split" + ("" if ground else ": NO ground truth"), ""]
    lines += warnings_markdown(metrics.get("warnings", []))
    lines += headline_markdown(metrics)
    lines += comparison_markdown(metrics, model) if ground else diagnostic_markdown(metrics)
    if "latency_us" in metrics:
        lines += ["", "| interpreter | median us | p95 us |", "|---|---:|---:|"]
        for k, v in metrics["latency_us"].items():
            lines.append(f"| {k} | {_fmt(v['median'], 1)} | {_fmt(v['p95'], 1)} |")
    if "memory" in metrics:
        lines += ["", "| memory | bytes |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in metrics["memory"].items()]
    return "\n".join(lines) + "\n"


def warnings_markdown(warnings: list[str]) -> list[str]:
    return [f"> **Warning:** {w}" for w in warnings] + ([""] if warnings else [])


def _pct(v: Any, digits: int = 2) -> str:
    return "n/a" if v is None else f"{100.0 * float(v):.{digits}f}%"


def headline_markdown(metrics: dict[str, Any]) -> list[str]:
    """The headline table: the device and each baseline."""
    head = metrics.get("headline", {})
    ground = bool(metrics.get("ground_truth"))
    data = metrics.get("data", {})
    method = metrics.get("method", {})
    b = head.get("budgets", {})
    names = [n for n in HEADLINE_DETECTORS if n in head]
    lines = ["## Headline", ""]
    if not ground:
        lines += [
            "**No ground truth**: every `label` of the test split is -1, so no figure on this page measures "
            "detection quality. What can be said is what each detector would do on this log: the alerts it raises "
            "and how much of the time it is alerting.",
            "",
        ]
    lines += [
        f"Test period: {_fmt(head.get('test_days'), 2)} days, {data.get('test_valid_rows')} valid readings of "
        f"{data.get('test_rows')} (one every {_fmt(head.get('period_s'), 0)} s). Decision threshold "
        f"{method.get('decision_threshold', _fmt(head.get('decision_threshold')))}. "
        f"Alerts: {method.get('alerts', '')}.",
        "",
    ]
    cols: list[tuple[str, str, Any]] = [("alerts", "alerts", str), ("alerts_per_day", "alerts/day", lambda v: _fmt(v, 2)),
                                        ("alerts_per_week", "alerts/week", lambda v: _fmt(v, 2))]
    if ground:
        cols += [("false_alarms_per_week", "false alarm events/week", lambda v: _fmt(v, 2)),
                 ("events_caught", "events caught", None),
                 ("f1_by_type.point", "F1 point", _fmt), ("f1_by_type.contextual", "F1 contextual", _fmt),
                 ("f1_by_type.collective", "F1 collective", _fmt)]
    cols += [("flagged_share", "flagged share", _pct), ("longest_alert_minutes", "longest alert (min)", lambda v: _fmt(v, 0)),
             ("longest_alert_readings", "longest alert (readings)", str)]
    lines += ["| detector | " + " | ".join(c[1] for c in cols) + " |", "|---|" + "---:|" * len(cols)]
    for n in names:
        h = head[n]
        cells = []
        for key, _, fmt in cols:
            if key == "events_caught":
                cells.append(f"{h['events_caught']}/{h['events']}")
                continue
            v = _get(h, key)
            cells.append("n/a" if v is None else fmt(v))
        label = f"**{LABELS.get(n, n)}**" if n == "device" else LABELS.get(n, n)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if b:
        lines += [
            "",
            f"Budgets: at most {_fmt(b.get('max_false_alarms_per_week'), 2)} false alarms a week "
            f"(`alerts.max_false_alarms_per_week`)"
            + ("; without labels every alert counts against it" if not ground else "")
            + (f"; at most {_pct(b.get('contamination'))} of the readings flagged (`cluster.contamination`)" if not ground else "")
            + ". An alert is a rising edge of the alert state; flagged share: valid readings with the alert on.",
        ]
    return lines + [""]


def diagnostic_markdown(metrics: dict[str, Any]) -> list[str]:
    """Without ground truth: agreement with the pseudo-labels, labelled as what it is."""
    names = [n for n in (*MODELS, *BASELINES) if n in metrics and "diagnostic_vs_pseudo_labels" in metrics[n]]
    data = metrics.get("data", {})
    lines = [
        "## Diagnostic: agreement with the K-means pseudo-labels",
        "",
        "**Imitation of the K-means labels, not detection quality.** The model was trained on these pseudo-labels "
        "(cluster stage), so agreeing with them says how faithfully it imitates K-means, not whether it finds "
        f"anomalies. {data.get('pseudo_anomalous_rows')} valid test readings are pseudo-anomalous, in "
        f"{data.get('pseudo_runs')} runs.",
        "",
        "| detector | agreement | pseudo-anomalous readings flagged | flags on pseudo-anomalous readings | "
        "overlap (Dice) | pseudo-anomaly runs alerted | alerts outside them |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        g = metrics[n]["diagnostic_vs_pseudo_labels"]
        lines.append(
            f"| {LABELS.get(n, n)} | {_pct(g['agreement'])} | {_pct(g['pseudo_anomalous_flagged'])} | "
            f"{_pct(g['flagged_pseudo_anomalous'])} | {_fmt(g['dice_overlap'])} | "
            f"{g['pseudo_runs_alerted']}/{g['pseudo_runs']} | {g['alerts_outside_pseudo_runs']} |"
        )
    return lines


def comparison_markdown(metrics: dict[str, Any], model: str = "int8_tflm") -> list[str]:
    """With ground truth: the comparison table (best value of each column in bold) and the wins/losses."""
    names = [n for n in (*MODELS, *BASELINES) if n in metrics]
    cols = [c for c in TABLE_COLUMNS if any(_get(metrics[n], c[0]) is not None for n in names)]
    data = metrics.get("data", {})
    lines = [
        "## All detectors against the ground-truth labels",
        "",
        f"Scored against ground-truth labels: {data.get('test_valid_rows')} valid readings of {data.get('test_rows')} "
        f"({_fmt(data.get('test_days'), 2)} days), {data.get('events')} anomaly events.",
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
    return lines


def write_plots(res: EvalResult, plots: Path, model: str = "int8_tflm") -> None:
    """confusion.png, pr_curve.csv/.png, timeline.png, events.png and alerts.png (fixed paths).

    Without ground truth the confusion matrices are against the pseudo-labels and
    titled as the imitation they measure, the precision-recall curve is not drawn
    (pr_curve.csv holds its header only) and the close-ups are the device's longest
    alerts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.mkdir(parents=True, exist_ok=True)
    m = res.metrics
    ground = bool(m["ground_truth"])
    known = res.truth >= 0
    y = res.truth[known] == 1

    # PR curve data for DVC (the int8 model: what the device runs); none without ground truth
    curve = M.pr_curve(y, res.detections["int8_litert"].score[known]) if ground else {"recall": [], "precision": [], "threshold": []}
    with atomic_path(plots / "pr_curve.csv") as tmp:
        pd.DataFrame({"recall": curve["recall"], "precision": curve["precision"], "threshold": curve["threshold"]}).to_csv(tmp, index=False)

    # confusion matrices
    names = [n for n in (*MODELS, *BASELINES) if n in res.detections]
    n_cols = (len(names) + 1) // 2
    fig, axes = plt.subplots(2, n_cols, figsize=(3.7 * n_cols, 7), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, n in zip(axes.ravel(), names):
        c = m[n]["confusion"] if ground else m[n]["diagnostic_vs_pseudo_labels"]["confusion"]
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
        ax.set_ylabel("true" if ground else "K-means pseudo-label")
        sub = f"F1 {m[n]['f1']:.3f}" if ground else f"agreement {m[n]['diagnostic_vs_pseudo_labels']['agreement']:.1%}"
        ax.set_title(f"{LABELS.get(n, n)}\n{sub}", fontsize=10)
    fig.suptitle("Confusion matrices, test split (ground truth)" if ground else
                 "Decisions against the K-means pseudo-labels (NO ground truth): imitation of the K-means labels, "
                 "not detection quality")
    fig.tight_layout()
    _savefig(fig, plots / "confusion.png")

    # PR curves of every detector
    fig, ax = plt.subplots(figsize=(7, 5.5))
    if ground:
        for n in names:
            cv = M.pr_curve(y, res.detections[n].score[known])
            if not len(cv["recall"]):
                continue
            # point k's precision holds over the recall interval (r_{k-1}, r_k]: the area is the AP
            ax.step(np.r_[0.0, cv["recall"]], np.r_[cv["precision"][0], cv["precision"]], where="pre", label=f"{LABELS.get(n, n)} (AP {m[n]['pr_auc']:.3f})",
                    lw=2 if n == model else 1.2, ls="-" if n in MODELS else "--")
        ax.legend(loc="lower left", fontsize=9)
        ax.set_title("Precision-recall, test split (per reading)")
    else:
        ax.text(0.5, 0.5, "No ground truth on this log:\nno precision-recall curve.\nSee alerts.png and summary.md.",
                ha="center", va="center", fontsize=12, transform=ax.transAxes)
        ax.set_title("Precision-recall: not measurable without labels")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _savefig(fig, plots / "pr_curve.png")

    _timeline(res, plots / "timeline.png", model, plt)
    _event_closeups(res, plots / "events.png", model, plt)
    _alerts_plot(res, plots / "alerts.png", plt)


TYPE_COLORS = {"point": "tab:red", "contextual": "tab:purple", "collective": "tab:orange", "unknown": "tab:gray"}
DETECTOR_COLORS = {"device": "tab:red", "thresholds": "tab:blue", "kmeans_distance": "tab:green",
                   "isolation_forest": "tab:olive", "ecod": "tab:cyan"}


def _shade_events(ax, test: pd.DataFrame, ground: bool, truth_rows: np.ndarray) -> None:
    """Shade the true anomalies by type (without ground truth: the pseudo-anomalies, gray);
    very short ones get a minimum visible width."""
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
    lanes = [n for n in ("device", model, *BASELINES) if f"alert_{n}" in test]
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
    if ground:
        e = res.metrics[model]["events"]
        lane_ax.set_title(
            f"Test split: true anomalies shaded, alerts marked.  {LABELS[model]}: {e['caught']}/{e['events']} events caught, "
            f"{e['false_alarms_per_day']:.2f} false alarms/day"
        )
    else:
        h = res.metrics["headline"]["device"]
        lane_ax.set_title(
            f"Test split, NO ground truth: K-means pseudo-anomalies shaded gray, alerts marked.  {LABELS['device']}: "
            f"{h['alerts_per_week']:.2f} alerts/week, {h['flagged_share']:.2%} of readings flagged"
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
    if ground:
        handles = [Patch(color=c, alpha=0.4, label=f"{k} anomaly (true)") for k, c in TYPE_COLORS.items() if k != "unknown"]
    else:
        handles = [Patch(color=TYPE_COLORS["unknown"], alpha=0.4, label="K-means pseudo-anomaly (not ground truth)")]
    handles.append(Patch(color="red", label="alert (device / model)"))
    handles.append(Patch(color="tab:blue", label="alert (baseline)"))
    fig.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=8, frameon=False)
    axes[-1].set_xlabel("time")
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _savefig(fig, path)


def _event_closeups(res: EvalResult, path: Path, model: str, plt) -> None:
    """The first event of each type (or the first few), two hours either side; without
    ground truth, the device's longest alerts (up to four, in time order)."""
    test = res.test
    ground = bool(res.metrics["ground_truth"])
    kinds = test["anomaly_type"].astype(str).to_numpy()
    if ground:
        ev = test["event_id"].to_numpy(dtype=np.int64)
        alert = test[f"alert_{model}"].to_numpy(dtype=bool)
        alert_label = LABELS[model]
    else:
        # the spans the person on call would look at: the device's alerts
        alert = test["alert_device"].to_numpy(dtype=bool)
        alert_label = LABELS["device"]
        spans = sorted(M.runs(alert), key=lambda r: r[0] - r[1])[:4]
        ev = np.full(len(test), -1, dtype=np.int64)
        for i, (a, b) in enumerate(sorted(spans)):
            ev[a:b] = i
    picks: list[int] = []
    seen: set[str] = set()
    for e in pd.unique(ev[ev >= 0]):
        k = kinds[ev == e][0] if ground else f"alert {e}"
        if k not in seen:
            seen.add(k)
            picks.append(int(e))
    for e in pd.unique(ev[ev >= 0]):
        if len(picks) >= 4:
            break
        if int(e) not in picks:
            picks.append(int(e))
    n = max(len(picks), 1)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.8), squeeze=False)
    ts = test["timestamp"].to_numpy()
    temp = test["temperature"].to_numpy(dtype=float)
    step = np.median(np.diff(ts)) if len(ts) > 1 else np.timedelta64(60, "s")
    pad = int(np.timedelta64(2, "h") / step) if step > np.timedelta64(0, "s") else 120
    for ax, e in zip(axes[0], picks):
        rows = np.flatnonzero(ev == e)
        a, b = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, len(test))
        sel = np.arange(a, b)[alert[a:b]]
        if ground:
            k = kinds[rows[0]]
            ax.axvspan(ts[rows[0]], ts[rows[-1]] + step, color=TYPE_COLORS.get(k, "gray"), alpha=0.25, lw=0, label=f"{k} anomaly")
            hits = rows[alert[rows]]
            delay = f"delay {hits[0] - rows[0]} readings" if len(hits) else "missed"
            title = f"event {e}: {k}, {len(rows)} readings, {delay}"
        else:
            minutes = float((ts[rows[-1]] - ts[rows[0]] + step) / np.timedelta64(1, "m"))
            title = f"device alert from {pd.Timestamp(ts[rows[0]]):%m-%d %H:%M}: {len(rows)} readings, {minutes:.0f} min"
        ax.plot(ts[a:b], temp[a:b], color="black", lw=0.9, label="temperature")
        ax.scatter(ts[sel], temp[sel], color="red", s=14, zorder=3, label=f"alert ({alert_label})")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("deg C")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.2)
    if not picks:
        axes[0, 0].text(0.5, 0.5, "no anomaly event in the test split" if ground else "the device raised no alert",
                        ha="center", va="center")
    fig.tight_layout()
    _savefig(fig, path)


def _alerts_plot(res: EvalResult, path: Path, plt) -> None:
    """The whole test period: temperature and humidity with the device's alert spans, the
    baselines' alerts as lanes, and the alerts raised each day (bars, with the budget)."""
    import matplotlib.dates as mdates

    test = res.test
    m = res.metrics
    ts = test["timestamp"].to_numpy()
    has_hum = np.isfinite(test["humidity"].to_numpy(dtype=float)).any()
    names = [n for n in HEADLINE_DETECTORS if f"alert_{n}" in test]
    step = np.median(np.diff(ts)) if len(ts) > 1 else np.timedelta64(60, "s")
    heights = [3.0] + ([2.0] if has_hum else []) + [0.4 * len(names), 2.6]
    fig, axes = plt.subplots(len(heights), 1, figsize=(16, sum(heights) + 1.8), gridspec_kw={"height_ratios": heights})
    device = test["alert_device"].to_numpy(dtype=bool)
    series = [("temperature", "temperature (deg C)", "black")] + ([("humidity", "humidity (%RH)", "tab:blue")] if has_hum else [])
    for ax, (col, label, color) in zip(axes, series):
        for a, b in M.runs(device):
            ax.axvspan(ts[a], ts[b - 1] + step, color="red", alpha=0.25, lw=0)
        ax.plot(ts, test[col], color=color, lw=0.6)
        ax.set_ylabel(label)
        ax.grid(alpha=0.2)
    lane_ax = axes[len(series)]
    for i, n in enumerate(reversed(names)):
        alert = test[f"alert_{n}"].to_numpy(dtype=bool)
        spans = [(mdates.date2num(ts[a]), mdates.date2num(ts[b - 1] + step) - mdates.date2num(ts[a])) for a, b in M.runs(alert)]
        lane_ax.broken_barh(spans, (i + 0.15, 0.7), color=DETECTOR_COLORS.get(n, "gray"))
    lane_ax.set_yticks([i + 0.5 for i in range(len(names))], [LABELS[n] for n in reversed(names)], fontsize=8)
    lane_ax.set_ylim(0, len(names))
    for ax in axes[: len(series) + 1]:
        ax.set_xlim(ts[0], ts[-1] + step)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    for ax in axes[: len(series)]:
        ax.tick_params(labelbottom=False)
    # alerts raised each day, one bar a detector
    bar_ax = axes[-1]
    counts = {n: alerts_by_day(test[f"alert_{n}"].to_numpy(dtype=bool), ts) for n in names}
    days = counts[names[0]].index
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(days))
    for i, n in enumerate(names):
        bar_ax.bar(x + (i - (len(names) - 1) / 2) * width, counts[n].to_numpy(), width=width,
                   color=DETECTOR_COLORS.get(n, "gray"), label=LABELS[n])
    budget = m.get("headline", {}).get("budgets", {}).get("max_false_alarms_per_week")
    if budget is not None:
        bar_ax.axhline(budget / 7.0, color="gray", ls=":", lw=1.2, label=f"false-alarm budget ({budget:g}/week)")
    bar_ax.set_xticks(x, [f"{d:%m-%d}" for d in days], fontsize=7, rotation=45 if len(days) > 14 else 0)
    bar_ax.set_ylabel("alerts raised")
    bar_ax.set_xlabel("day")
    bar_ax.grid(alpha=0.2, axis="y")
    bar_ax.legend(fontsize=7, ncol=len(names) + 1, loc="upper left")
    h = m["headline"]["device"]
    truth = "with ground truth" if m["ground_truth"] else "NO ground truth"
    fig.suptitle(
        f"Alerts over the test period ({m['headline']['test_days']:.2f} days, {truth}); device alert spans shaded red.  "
        f"{LABELS['device']}: {h['alerts']} alerts, {h['alerts_per_week']:.2f}/week, {h['flagged_share']:.2%} of readings "
        f"flagged, longest {h['longest_alert_minutes']:.0f} min"
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
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
    summary = summary_markdown(metrics)
    write_text(plots / "summary.md", summary)
    write_json(args.metrics, metrics)
    print(summary)
    for w in metrics["warnings"]:
        print(f"evaluate: warning: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "evaluate"))
