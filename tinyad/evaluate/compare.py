"""The evaluation of ``stages/evaluate.py``: the models and the baselines on the test split.

``evaluate(dataset, scaler, cfg, keras_model, tflite, quant)`` is pure: the dataset,
the models and the params in, an ``EvalResult`` (metrics and per-row outputs) out.
The stage's docstring documents the detectors, the truth, the headline and the
scores; the int8 model runs through ``tinyad.device.runtime.Int8Runtime``, the scoring is
``tinyad/evaluate/scoring.py``.  TensorFlow is imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.evaluate import metrics as M
from tinyad.evaluate.baselines import EcodBaseline, IsolationForestBaseline, KMeansDistance, ThresholdRule
from tinyad.learn.calibration import (code_threshold, decision_threshold, device_alerts, instant_code, raise_code,
                                      short_history_warning)
from tinyad.device.alerts import absolute_rule
from tinyad.config import Config
from tinyad.device.features import Scaler, dataset_inputs, output_code_threshold
from tinyad.evaluate.metrics import MODELS, truth_of
from tinyad.device.runtime import Int8Runtime
from tinyad.evaluate.scoring import (
    FAR_ABOVE,
    Detection,
    alert_figures,
    alert_sequence,
    budgets,
    decision_code_warnings,
    events_of,
    headline_of,
    period_days,
    pseudo_label_agreement,
    score_detector,
    threshold_source,
)

TRUTH_ONLY_KEYS = ("accuracy", "precision", "recall", "f1", "pr_auc")


DATASET_COLUMNS = ("timestamp", "temperature", "humidity", "label", "anomaly_type", "event_id", "split", "valid", "pseudo_label")


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    test: pd.DataFrame  # the test rows, with one alert column per detector
    detections: dict[str, Detection]
    truth: np.ndarray  # on the valid test rows
    extras: dict[str, Any] = field(default_factory=dict)


def run_keras(model: Any, X: np.ndarray) -> np.ndarray:
    """Probabilities of the float model."""
    if len(X) == 0:
        return np.zeros(0)
    return np.asarray(model.predict(np.asarray(X, dtype=np.float32), batch_size=4096, verbose=0), dtype=np.float64).reshape(-1)


def ecod_contamination(cfg: Config) -> float:
    """ECOD's contamination: ``evaluate.ecod_contamination`` when the params have it, else the IsolationForest's."""
    return float(getattr(cfg.evaluate, "ecod_contamination", cfg.evaluate.isolation_forest_contamination))


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
    stamps = pd.DatetimeIndex(ds["timestamp"].iloc[test_rows])
    if stamps.hasnans:
        i = int(np.argmax(stamps.isna()))
        raise ValueError(f"dataset: test row {i} (dataset row {test_rows[i]}) has no timestamp; rerun ingest and "
                         "cluster (they stamp every reading)")
    if not (stamps.is_monotonic_increasing and stamps.is_unique):
        i = int(np.argmax(stamps[1:] <= stamps[:-1])) + 1
        raise ValueError(f"dataset: the test rows' timestamps do not increase: test row {i} (dataset row "
                         f"{test_rows[i]}, {stamps[i]}) follows {stamps[i - 1]}; rerun ingest and cluster (they "
                         "write the readings in time order)")
    X_test, rows_valid = dataset_inputs(ds, scaler, "test")
    if len(rows_valid) == 0:
        raise ValueError("dataset: the test split has no valid row to score")
    X_train, rows_train = dataset_inputs(ds, scaler, "train")
    test = ds.iloc[test_rows].reset_index(drop=True)
    valid_in_test = np.isin(test_rows, rows_valid)
    thr = decision_threshold(quant, cfg.alerts, lenient=True)
    inst_thr, _ = code_threshold(instant_code(quant, cfg.alerts), quant)  # 1.0: no instant code
    raise_q = raise_code(quant, cfg.alerts, lenient=True)  # the decision code itself: no hysteresis (None below)
    raise_thr = None if raise_q == output_code_threshold(quant, thr) else code_threshold(raise_q, quant)[0]
    runtime = Int8Runtime(tflite, quant)

    # --- models (each with its raising and instant decisions: the calibrated codes' probabilities)
    det: dict[str, Detection] = {}
    prob = run_keras(keras_model, X_test)
    det["keras_float"] = Detection(prob, prob > thr, prob > inst_thr, None if raise_thr is None else prob > raise_thr)
    q_in = runtime.quantize(X_test)
    q_lite, q_tflm = runtime.run(q_in, "litert"), runtime.run(q_in, "tflm")
    for name, q in (("int8_litert", q_lite), ("int8_tflm", q_tflm)):
        det[name] = Detection(runtime.probabilities(q), runtime.decide(q, thr), runtime.decide(q, inst_thr),
                              None if raise_thr is None else runtime.decide(q, raise_thr))

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
    ts = stamps  # the test rows' timestamps, checked above
    if period_s is None:
        period_s = M.median_period_s(ts)
    days = period_days(ts, period_s)
    events = events_of(test, truth, ground, days)
    event_id = events["event_id"]

    # the device: the int8 model (TFLM) OR the seed's rule OR the stuck-sensor rule (scaler.stuck_run)
    # through the alert logic; its score ranks every rule alarm above any model probability
    rule = det["thresholds"]
    absolute = absolute_rule(rule.decision, ds["run"].to_numpy(dtype=np.float64)[rows_valid] if "run" in ds else None,
                             scaler.stuck_run)
    det["device"] = Detection(
        np.where(rule.decision, 1.0 + np.clip(rule.score, 0.0, None), np.where(absolute, 1.0, det["int8_tflm"].score)),
        det["int8_tflm"].decision | absolute,
        det["int8_tflm"].instant,
        det["int8_tflm"].raising,
    )
    alert_method = ""
    result: dict[str, Any] = {}
    n_test = len(test)

    def on_test_rows(values: np.ndarray | None) -> np.ndarray:
        """Per-valid-row decisions spread over every test row (False where a reading is invalid)."""
        rows = np.zeros(n_test, dtype=bool)
        if values is not None:
            rows[valid_in_test] = values
        return rows

    for name, d in det.items():
        instant_rows = on_test_rows(d.instant)
        raising_rows = None if d.raising is None else on_test_rows(d.raising)
        # the model's decisions (on), and the absolute rules' (rule: the band, the stuck sensor)
        if name == "device":
            on_rows, rule_rows = on_test_rows(det["int8_tflm"].decision), on_test_rows(absolute)
        elif name == "thresholds":
            on_rows, rule_rows = on_test_rows(None), on_test_rows(d.decision)
        else:
            on_rows, rule_rows = on_test_rows(d.decision), on_test_rows(None)
        # the model's runs get the debounce calibrated with its threshold; the baselines the configured one
        logic = device_alerts(quant, cfg.alerts) if name in MODELS else cfg.alerts
        alerts, how = alert_sequence(on_rows, rule_rows, valid_in_test, logic, instant_rows, raising_rows)
        if name == "device":
            alert_method = how
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
    dec = quant.get("decision")
    short = short_history_warning(dec) if isinstance(dec, dict) and "history_weeks" in dec else None
    warnings = decision_code_warnings(quant, thr) + ([short] if short else []) + warnings
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
    return EvalResult(metrics=metrics, test=test, detections=det, truth=truth_valid,
                      extras={"q_in": q_in, "X_test": X_test, "valid_in_test": valid_in_test, "q_tflm": q_tflm})


def load_keras(path: str | Path) -> Any:
    import keras

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: Keras model not found (run the train stage)")
    return keras.models.load_model(p, compile=False)

