"""Alerts calibrated to a false-alarm budget that a user states in their own terms.

A probability threshold of 0.5 means nothing to a user; "at most one false alarm a
week" does.  ``calibrate_decision`` chooses the int8 decision code of the device
(anomalous when the model's output code ``q >= code``) on the *history* the
pipeline has, the train and validation splits, as follows:

1. The device is replayed over the history exactly as it runs: the model's int8
   codes (TensorFlow Lite Micro, the kernels the generated C equals) OR the seed's
   alarm rule, through the alert state machine of ``tinyad/alerts.py``
   (``alerts.consecutive`` / ``alerts.clear_after``), held over invalid readings.
2. An alerting reading is *explained* when a pseudo-anomalous reading lies within
   ``horizon`` readings of it inside the same alert (``horizon`` = the feature window
   plus ``alerts.clear_after``: features stay raised for a window after an event and
   the alert needs ``clear_after`` readings to clear; an early alert may lead the
   label by as much).  The labelling (``tinyad/labeling.py``) flags at most
   ``cluster.contamination`` of the history plus what the absolute-evidence
   policies (alarm band, stuck sensor) find, so what can be explained is bounded by
   what the user said to expect.  False alarms: an alert with no explained reading
   counts one; an alert that is explained somewhere counts one more for every
   ``horizon`` unexplained readings it holds (an alert that never clears would touch
   every event and otherwise count none).
3. Codes are tried from the least sensitive (127) downwards; the chosen code is the
   lowest one reached before the false alarms on the history first exceed
   ``alerts.max_false_alarms_per_week`` times the history's length in weeks.  (The
   count is not monotone in the code, two alerts can merge into one, so the scan
   stops at the first code over budget rather than picking any code within it.)
   If even code 127 is over budget (the alarm band alone raises more), the model
   never decides (code 128) and the report says so.

The chosen code, its probability, and the alert figures it reached on the train and
on the validation split go into ``models/quant.json`` (``decision``), the metrics
and ``tinyad_config.h``; ``decision_threshold(quant, alerts_cfg)`` is what every
consumer reads.

The module is pure (arrays in, dicts out); ``stages/quantize.py`` runs the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyad import metrics as M
from tinyad.alerts import NEVER, alert_active
from tinyad.config import AlertsConfig
from tinyad.features import dequantize_output, output_code_threshold

__all__ = ["calibrate_decision", "decision_threshold", "false_alarms", "history_alerts"]

SECONDS_PER_WEEK = 7 * 86400.0


def history_alerts(codes: np.ndarray, rule: np.ndarray, valid: np.ndarray, code: int,
                   alerts: AlertsConfig) -> np.ndarray:
    """Alert state after each row: model ``codes >= code`` OR ``rule``, held over invalid rows."""
    model = np.asarray(valid, dtype=bool) & (np.asarray(codes, dtype=np.int64) >= int(code))
    return alert_active(model, np.asarray(rule, dtype=bool), valid, alerts.consecutive, alerts.clear_after)


def false_alarms(alerts: np.ndarray, pseudo: np.ndarray, horizon: int) -> int:
    """False alarms of an alert sequence against the pseudo-labels (module docstring, step 2)."""
    alerts = np.asarray(alerts, dtype=bool)
    marks = np.flatnonzero(np.asarray(pseudo) == 1)
    horizon = max(int(horizon), 1)
    count = 0
    for a, b in M.runs(alerts):
        inside = marks[(marks >= a) & (marks < b)]
        if len(inside) == 0:
            count += 1
            continue
        rows = np.arange(a, b)
        j = np.clip(np.searchsorted(inside, rows), 1, len(inside)) - 1
        near = np.minimum(np.abs(rows - inside[j]), np.abs(rows - inside[np.minimum(j + 1, len(inside) - 1)]))
        count += int(np.ceil((near > horizon).sum() / horizon))
    return count


def _alert_figures(alerts: np.ndarray, pseudo: np.ndarray, valid: np.ndarray, seconds: float,
                   horizon: int) -> dict[str, Any]:
    raised = len(M.runs(alerts))
    weeks = seconds / SECONDS_PER_WEEK
    fa = false_alarms(alerts, pseudo, horizon)
    return {
        "alerts": raised,
        "alerts_per_week": raised / weeks,
        "false_alarms": fa,
        "false_alarms_per_week": fa / weeks,
        "flagged_share": float(alerts[valid].mean()) if valid.any() else 0.0,
        "weeks": weeks,
    }


def calibrate_decision(
    codes: np.ndarray,
    rule: np.ndarray,
    valid: np.ndarray,
    pseudo: np.ndarray,
    split: np.ndarray,
    period_s: float,
    alerts: AlertsConfig,
    quant: dict[str, Any],
    horizon: int,
) -> dict[str, Any]:
    """The decision code for the false-alarm budget (see the module docstring).

    Every argument is per history row in time order (train then val): ``codes`` the
    model's int8 output (any value where not ``valid``), ``rule`` the seed's alarm
    rule, ``valid`` scored rows, ``pseudo`` the pseudo-labels (1 anomalous),
    ``split`` "train"/"val".  Returns ``{"code", "threshold", "probability",
    "budget_per_week", "history": figures, "train": figures, "val": figures, ...}``.
    """
    codes = np.asarray(codes, dtype=np.int64)
    rule = np.asarray(rule, dtype=bool)
    valid = np.asarray(valid, dtype=bool)
    pseudo = np.asarray(pseudo, dtype=np.int64)
    split = np.asarray(split).astype(str)
    n = len(codes)
    for name, a in (("rule", rule), ("valid", valid), ("pseudo", pseudo), ("split", split)):
        if len(a) != n:
            raise ValueError(f"calibrate_decision: {name} has {len(a)} rows, codes {n}")
    if n == 0 or not valid.any():
        raise ValueError("calibrate_decision: no valid history row to calibrate on")
    seconds = n * float(period_s)
    budget = float(alerts.max_false_alarms_per_week) * seconds / SECONDS_PER_WEEK
    chosen, tried = NEVER, 0
    candidates = sorted({int(c) for c in np.unique(codes[valid])} | {127}, reverse=True)
    for c in candidates:
        fig = _alert_figures(history_alerts(codes, rule, valid, c, alerts), pseudo, valid, seconds, horizon)
        tried += 1
        if fig["false_alarms"] > budget:
            break
        chosen = c
    out: dict[str, Any] = {
        "code": int(chosen),
        "budget_per_week": float(alerts.max_false_alarms_per_week),
        "horizon_readings": int(horizon),
        "history_weeks": seconds / SECONDS_PER_WEEK,
        "codes_tried": tried,
        "method": (
            "lowest int8 code before the device's false alarms (alerts, or horizon-long stretches of "
            "them, with no pseudo-anomalous reading within the horizon) on train+val first exceed "
            "alerts.max_false_alarms_per_week; tinyad/calibration.py"
        ),
    }
    if chosen == NEVER:
        out["threshold"] = 1.0
        out["probability"] = None
        out["note"] = "even the least sensitive code is over budget: the alarm rule alone raises more alerts"
    else:
        hi = float(dequantize_output(np.array([chosen]), quant)[0])
        lo = float(dequantize_output(np.array([chosen - 1]), quant)[0]) if chosen > -128 else hi - 1e-9
        out["probability"] = hi
        out["threshold"] = max((lo + hi) / 2.0, 0.0)  # strictly between the codes: maps back to `chosen`
        if output_code_threshold(quant, out["threshold"]) != chosen:
            raise AssertionError(f"calibrate_decision: threshold {out['threshold']} does not map back to code {chosen}")
    alerts_on = history_alerts(codes, rule, valid, chosen, alerts)
    out["history"] = _alert_figures(alerts_on, pseudo, valid, seconds, horizon)
    for s in ("train", "val"):
        rows = split == s
        if rows.any():
            a = history_alerts(codes[rows], rule[rows], valid[rows], chosen, alerts)
            out[s] = _alert_figures(a, pseudo[rows], valid[rows], rows.sum() * float(period_s), horizon)
    return out


def decision_threshold(quant: dict[str, Any], alerts: AlertsConfig) -> float:
    """The probability threshold the device uses: the calibrated one when quant.json has it."""
    dec = quant.get("decision") if isinstance(quant, dict) else None
    if alerts.calibrate:
        if not dec or "threshold" not in dec:
            raise ValueError("quant.json: alerts.calibrate is true but it holds no 'decision'; rerun the quantize stage")
        return float(dec["threshold"])
    return float(alerts.decision_threshold)
