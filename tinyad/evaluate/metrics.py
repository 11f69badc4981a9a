"""Detection metrics, per reading and per anomaly event (pure numpy, no I/O).

Per reading (rows where the truth is known)
-------------------------------------------
``confusion(y_true, y_pred)``
    ``{"tn", "fp", "fn", "tp"}`` of the anomalous (positive) class.
``binary_scores(y_true, y_pred)``
    accuracy, precision, recall, F1 of the positive class (0.0 where a ratio has a
    zero denominator) and the confusion counts.
``pr_curve(y_true, score)`` / ``pr_auc(y_true, score)``
    the precision-recall curve of a continuous score (one point a distinct score,
    highest first: "alarm when score >= t") and its area, computed as *average
    precision* ``AP = sum_k (R_k - R_{k-1}) P_k`` (step interpolation, the
    definition of scikit-learn's ``average_precision_score``; no trapezoids, which
    overstate the area of a precision-recall curve).
``scores_by_type(y_true, y_pred, anomaly_type)``
    for each anomaly type T: recall on the rows of type T, and precision/F1 on the
    rows that are normal or of type T (rows of other types left out), so a type's
    precision counts the false alarms on normal rows against the hits on T.

Per event (on the alert sequence of consecutive readings, in time order)
-----------------------------------------------------------------------
``event_scores(alert, event_id, normal, anomaly_type, days)``
    an anomaly event (all rows sharing an ``event_id`` >= 0) is *caught* when any of
    its rows raises an alert; its *detection delay* is the number of readings from
    the event's first row to its first alerting row (0 = alerted on the first
    reading).  A *false alarm event* is a maximal run of alerting rows (one alert,
    from raised to cleared) that holds normal rows (``normal`` True) and no row of
    any event: the hysteresis tail of an alert raised during an event is not a
    false alarm.  Their count is divided by ``days`` (the days of data the
    sequence covers).  Returns events total/caught, event
    recall (``None`` without an event: none caught of none is no share), recall by type,
    false alarm events and their rate a day, and the median
    and max detection delay over caught events (``None`` when none is caught).
``runs(mask)``
    the maximal runs of True as ``(start, stop)`` index pairs (stop exclusive).

Alert sequences and the test split
----------------------------------
``alert_counts(alert, valid)``
    alerts raised (rising edges), valid readings flagged (alert on) and their share:
    the figures the evaluation (``tinyad.evaluate.scoring.alert_figures``) and the calibration
    (``tinyad.learn.calibration``) both report.
``median_period_s(timestamps)``
    the reading period a log shows: the median step between its distinct
    timestamps in time order, in seconds (what ingest checks ``data.period_s``
    against, and what evaluate, the drift table and the figures count time with).
``alerts_by_day(alert, timestamps)`` / ``truth_of(test)``
    alerts raised each calendar day; the truth of the test rows (ground truth or the
    pseudo-labels).  ``MODELS``, ``BASELINES`` and ``LABELS`` name the detectors the
    evaluate stage scores.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

__all__ = [
    "ANOMALY_TYPES",
    "NO_ANOMALY",
    "UNKNOWN_TYPE",
    "binary_scores",
    "confusion",
    "event_scores",
    "pr_auc",
    "pr_curve",
    "runs",
    "scores_by_type",
]

# The one list of anomaly types (what a labelled anomalous reading's ``anomaly_type`` is);
# a normal reading's type is NO_ANOMALY and an anomaly of unknown type, or a reading
# without a label, has UNKNOWN_TYPE (tinyad.data.csvlog.LOG_ANOMALY_TYPES: the five together).
ANOMALY_TYPES = ("point", "contextual", "collective")
MODELS = ("keras_float", "int8_litert", "int8_tflm", "device")
BASELINES = ("thresholds", "kmeans_distance", "isolation_forest", "ecod")
HEADLINE_DETECTORS = ("device", *BASELINES)
LABELS = {
    "keras_float": "Keras float",
    "int8_litert": "int8, LiteRT",
    "int8_tflm": "int8, TFLM",
    "device": "device: int8 TFLM + alarm band + stuck rule",
    "thresholds": "seed thresholds",
    "kmeans_distance": "K-means distance",
    "isolation_forest": "IsolationForest",
    "ecod": "ECOD (PyOD)",
}
NO_ANOMALY = "none"
UNKNOWN_TYPE = "unknown"


def _bool(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr.astype(bool)


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays of different lengths: {lengths}")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def confusion(y_true: Any, y_pred: Any) -> dict[str, int]:
    """Counts of the anomalous class: true/false negatives and positives."""
    t, p = _bool(y_true, "y_true"), _bool(y_pred, "y_pred")
    _same_length(y_true=t, y_pred=p)
    return {
        "tn": int((~t & ~p).sum()),
        "fp": int((~t & p).sum()),
        "fn": int((t & ~p).sum()),
        "tp": int((t & p).sum()),
    }


def binary_scores(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 of the anomalous class, with the confusion."""
    c = confusion(y_true, y_pred)
    n = c["tn"] + c["fp"] + c["fn"] + c["tp"]
    precision = _ratio(c["tp"], c["tp"] + c["fp"])
    recall = _ratio(c["tp"], c["tp"] + c["fn"])
    return {
        "accuracy": _ratio(c["tp"] + c["tn"], n),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "confusion": c,
    }


def pr_curve(y_true: Any, score: Any) -> dict[str, np.ndarray]:
    """Precision and recall at every distinct score threshold, highest first.

    Point k alarms on the rows whose score is >= ``threshold[k]``.  Returns arrays
    ``precision``, ``recall``, ``threshold`` of equal length (empty when there are
    no rows).
    """
    t = _bool(y_true, "y_true")
    s = np.asarray(score, dtype=np.float64)
    _same_length(y_true=t, score=s)
    if not np.isfinite(s).all():
        raise ValueError("pr_curve: score has NaN/inf")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, t_sorted = s[order], t[order]
    last_of_value = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s_sorted) - 1] if len(s) else np.array([], int)
    tp = np.cumsum(t_sorted)[last_of_value]
    alarms = last_of_value + 1
    n_pos = int(t.sum())
    return {
        "precision": tp / alarms,
        "recall": tp / n_pos if n_pos else np.zeros(len(tp)),
        "threshold": s_sorted[last_of_value],
    }


def pr_auc(y_true: Any, score: Any) -> float:
    """Area under the precision-recall curve as average precision (0.0 without positives)."""
    curve = pr_curve(y_true, score)
    if not len(curve["recall"]) or curve["recall"][-1] == 0:
        return 0.0
    recall_steps = np.diff(np.r_[0.0, curve["recall"]])
    return float((recall_steps * curve["precision"]).sum())


def scores_by_type(
    y_true: Any, y_pred: Any, anomaly_type: Any, types: Iterable[str] = ANOMALY_TYPES
) -> dict[str, dict[str, float]]:
    """Recall on the rows of each type; precision and F1 on normal rows plus that type.

    Types absent from ``anomaly_type`` are left out of the result.
    """
    t, p = _bool(y_true, "y_true"), _bool(y_pred, "y_pred")
    kind = np.asarray(anomaly_type).astype(str)
    _same_length(y_true=t, y_pred=p, anomaly_type=kind)
    out: dict[str, dict[str, float]] = {}
    for name in types:
        of_type = t & (kind == name)
        if not of_type.any():
            continue
        rows = ~t | of_type
        s = binary_scores(t[rows], p[rows])
        out[name] = {"recall": s["recall"], "precision": s["precision"], "f1": s["f1"], "rows": int(of_type.sum())}
    return out


def runs(mask: Any) -> list[tuple[int, int]]:
    """Maximal runs of True as ``(start, stop)`` pairs, stop exclusive."""
    m = _bool(mask, "mask").astype(np.int8)
    edges = np.diff(np.r_[0, m, 0])
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def event_scores(
    alert: Any,
    event_id: Any,
    normal: Any,
    anomaly_type: Any,
    days: float,
    types: Iterable[str] = ANOMALY_TYPES,
) -> dict[str, Any]:
    """Event-level results of an alert sequence (see the module docstring).

    ``alert`` bool, ``event_id`` int (-1 outside events), ``normal`` bool (True on
    rows known to be normal) and ``anomaly_type`` str are per row in time order;
    ``days`` > 0 is the span of data the rows cover.
    """
    a = _bool(alert, "alert")
    ev = np.asarray(event_id).astype(np.int64)
    nm = _bool(normal, "normal")
    kind = np.asarray(anomaly_type).astype(str)
    _same_length(alert=a, event_id=ev, normal=nm, anomaly_type=kind)
    if not days > 0:
        raise ValueError(f"event_scores: days must be > 0, got {days}")
    caught_by_type: dict[str, list[bool]] = {}
    delays: list[int] = []
    ids = np.unique(ev[ev >= 0])
    for e in ids:
        rows = np.flatnonzero(ev == e)
        hits = rows[a[rows]]
        caught = len(hits) > 0
        if caught:
            delays.append(int(hits[0] - rows[0]))
        types_here = [k for k in np.unique(kind[rows]) if k not in (NO_ANOMALY, UNKNOWN_TYPE)]
        caught_by_type.setdefault(types_here[0] if types_here else UNKNOWN_TYPE, []).append(caught)
    n_caught = len(delays)
    in_event = ev >= 0
    false_alarms = sum(1 for lo, hi in runs(a) if nm[lo:hi].any() and not in_event[lo:hi].any())
    by_type = {
        name: {
            "events": len(caught_by_type[name]),
            "caught": int(sum(caught_by_type[name])),
            "recall": _ratio(sum(caught_by_type[name]), len(caught_by_type[name])),
        }
        for name in types
        if name in caught_by_type
    }
    return {
        "events": int(len(ids)),
        "caught": n_caught,
        "recall": _ratio(n_caught, len(ids)) if len(ids) else None,
        "by_type": by_type,
        "false_alarm_events": false_alarms,
        "false_alarms_per_day": false_alarms / float(days),
        "median_delay_readings": float(np.median(delays)) if delays else None,
        "max_delay_readings": int(max(delays)) if delays else None,
    }


def alert_counts(alert: Any, valid: Any) -> dict[str, Any]:
    """Alerts raised (rising edges; one on at the first row counts), the valid readings
    flagged (alert on) and their share of the valid readings."""
    a = np.asarray(alert, dtype=bool)
    v = np.asarray(valid, dtype=bool)
    n_valid = int(v.sum())
    flagged = int((a & v).sum())
    return {"alerts": len(runs(a)), "flagged_readings": flagged, "flagged_share": flagged / n_valid if n_valid else 0.0}


def median_period_s(timestamps: Any, default: float = 60.0) -> float:
    """The median step, in seconds, between the distinct timestamps in time order
    (duplicates dropped, any order, with or without a zone); ``default`` for fewer than 2."""
    import pandas as pd

    ts = np.unique(pd.DatetimeIndex(timestamps).to_numpy(dtype="datetime64[ns]"))  # sorted, distinct (zone: UTC)
    if len(ts) < 2:
        return float(default)
    return float(np.median(np.diff(ts)) / np.timedelta64(1, "s"))


def alerts_by_day(alert: Any, timestamps: Any):
    """Alerts raised (rising edges) on each calendar day of the timestamps, days without any as 0 (a pandas Series)."""
    import pandas as pd

    a = np.asarray(alert, dtype=bool)
    ts = pd.DatetimeIndex(timestamps)
    days = ts.normalize()
    if len(ts) == 0:
        return pd.Series(dtype=np.int64)
    starts = np.array([s for s, _ in runs(a)], dtype=np.int64)
    index = pd.date_range(days.min(), days.max(), freq="D")
    counts = pd.Series(1, index=days[starts]).groupby(level=0).sum() if len(starts) else pd.Series(dtype=np.int64)
    return counts.reindex(index, fill_value=0).astype(np.int64)


def truth_of(test: Any) -> tuple[np.ndarray, bool]:
    """Per test row: 1 anomalous, 0 normal, -1 unknown; and whether it is ground truth."""
    label = test["label"].to_numpy(dtype=np.int64)
    if (label >= 0).any():
        return label, True
    return test["pseudo_label"].to_numpy(dtype=np.int64), False

