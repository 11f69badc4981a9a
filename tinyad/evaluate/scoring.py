"""Scoring a detector on the test split: its alert state, what its alerts mean to the
person they page, the budgets, and the scores against the truth.

Moved out of ``stages/evaluate.py`` (its docstring gives the method); the drift
experiment (``tinyad/evaluate/drift.py``) scores the device on drifted readings with the same
functions.  Pure: arrays in, dicts out; no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tinyad.evaluate import metrics as M
from tinyad.config import AlertsConfig, Config
from tinyad.device.features import output_code_threshold
from tinyad.evaluate.metrics import HEADLINE_DETECTORS

FAR_ABOVE = 3.0  # a flagged share "far above" the contamination budget: more than this times it


@dataclass
class Detection:
    """One detector's output on the valid test rows (in time order)."""

    score: np.ndarray  # higher = more anomalous
    decision: np.ndarray  # bool
    instant: np.ndarray | None = None  # bool: decisions strong enough to raise at once (the model's instant code)
    raising: np.ndarray | None = None  # bool: decisions strong enough to raise an alert (the raise code; None: decision)


def alert_sequence(model: np.ndarray, rule: np.ndarray, valid: np.ndarray, cfg: AlertsConfig,
                   instant: np.ndarray | None = None, raising: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The alert state after each row of a time-ordered sequence.

    ``model`` and ``rule`` are the per-row outcomes of the model and of the device's
    absolute rules (ignored where ``valid`` is False: the device skips those
    readings, and its alert state is held over them); ``instant`` the model's rows at
    or above its instant code (None: none); ``raising`` the model's rows at or above its
    raise code (None: ``model``).  The device's state machine
    (``alerts.consecutive`` raising readings, or one ``rule`` or ``instant`` reading,
    raise the alert, anomalous ones hold it, ``alerts.clear_after_min`` of normal ones, ``clear_after``
    readings, clear it) is mirrored by ``tinyad.device.alerts.alert_active``; if that
    module is missing, the per-reading outcomes are the alerts (the hook to replace).
    Returns the alerts and a description of what was used.
    """
    model = np.asarray(model, dtype=bool)
    rule = np.asarray(rule, dtype=bool)
    valid = np.asarray(valid, dtype=bool)
    try:
        from tinyad.device.alerts import alert_active
    except ImportError:
        return hold_over_invalid((model | rule)[valid], valid), "per-reading decisions (tinyad/device/alerts.py absent)"
    out = np.asarray(alert_active(model, rule, valid, cfg.consecutive, cfg.clear_after, instant, raising), dtype=bool)
    if out.shape != valid.shape:
        raise ValueError(f"tinyad.device.alerts.alert_active: returned shape {out.shape} for {valid.shape} rows")
    return out, (
        f"tinyad.device.alerts.alert_active: the device's state machine, consecutive={cfg.consecutive}"
        f"{'' if raising is None else ' at the raise code, held at the decision code'}"
        f"{'' if instant is None or not np.any(instant) else ' (or one reading at the instant code)'}, "
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


def budgets(cfg: Config) -> dict[str, float]:
    """The false-alarm budget (alerts a week) and the contamination budget (share of readings flagged)."""
    return {
        "max_false_alarms_per_week": float(getattr(cfg.alerts, "max_false_alarms_per_week", 1.0)),
        "contamination": float(getattr(cfg.cluster, "contamination", 0.01)),
    }


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
    counts = M.alert_counts(a, v)
    return {
        "alerts": counts["alerts"],
        "alerts_per_day": counts["alerts"] / days,
        "alerts_per_week": 7.0 * counts["alerts"] / days,
        "flagged_readings": counts["flagged_readings"],
        "flagged_share": counts["flagged_share"],
        "longest_alert_readings": int(max(readings)) if readings else 0,
        "longest_alert_minutes": float(max(minutes)) if minutes else 0.0,
    }



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


def pseudo_events(truth: np.ndarray) -> np.ndarray:
    """Event ids for the runs of anomalous rows (used when there is no ground truth)."""
    ev = np.full(len(truth), -1, dtype=np.int64)
    for i, (a, b) in enumerate(M.runs(truth == 1)):
        ev[a:b] = i
    return ev



def events_of(test: pd.DataFrame, truth: np.ndarray, ground: bool, days: float) -> dict[str, Any]:
    """The events the alerts are scored against, per test row: with ground truth the
    labelled events (``event_id``, ``anomaly_type``), without it the runs of
    pseudo-anomalous rows (type ``unknown``); ``normal`` rows and the test ``days``."""
    if ground:
        event_id = test["event_id"].to_numpy(dtype=np.int64)
        ev_type = test["anomaly_type"].astype(str).to_numpy()
    else:
        event_id = pseudo_events(truth)
        ev_type = np.where(truth == 1, "unknown", "none")
    return {"event_id": event_id, "normal": truth == 0, "type": ev_type, "days": days}


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
        out["events_caught_share"] = ev["recall"]  # None without an event
        out["f1"] = result["f1"] if ev["events"] else None  # nothing to detect: no score (NO_EVENT_WARNING)
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
    if ground and not head["device"]["events"]:
        warnings.append(NO_EVENT_WARNING)
    return head, warnings


NO_EVENT_WARNING = ("the test split holds no labelled anomaly event: there was nothing to detect, so the headline "
                    "has no F1 and no share of events caught; read its false alarms a week (a longer log, or a "
                    "larger split.test, may hold an event)")

