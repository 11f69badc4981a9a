"""Alerts calibrated to a false-alarm budget that a user states in their own terms.

A probability threshold of 0.5 means nothing to a user; "at most one false alarm a
week" does.  ``calibrate_decision`` chooses the int8 decision code of the device
(anomalous when the model's output code ``q >= code``) on the *history* the
pipeline has, the train and validation splits, as follows:

1. The device is replayed over the history exactly as it runs: the model's int8
   codes (TensorFlow Lite Micro, the kernels the generated C equals) OR the seed's
   alarm rule OR the stuck-sensor rule (``rule``: the device's absolute evidence,
   ``tinyad.learn.quantization.calibrate``, which raises at once), through the alert state machine of
   ``tinyad/device/alerts.py`` (``alerts.consecutive`` / ``alerts.clear_after_min``,
   ``AlertsConfig.clear_after`` readings), held over invalid readings.
2. An alerting reading is *explained* when a pseudo-anomalous reading lies within
   ``horizon`` readings of it, before, inside or after its alert (``horizon`` = the
   feature window plus the hold in readings, ``AlertsConfig.clear_after``: features
   stay raised for a window after an event, so an alert may start just after the last labelled reading, and
   the alert needs ``clear_after`` readings to clear; an early alert may lead the
   label by as much).  The labelling (``tinyad/data/labeling.py``) flags at most
   ``cluster.contamination`` of the history plus what the absolute-evidence
   policies (alarm band, stuck sensor) find, so what can be explained is bounded by
   what the user said to expect.  False alarms: an alert with no explained reading
   counts one; an alert that is explained somewhere counts one more for every
   ``horizon`` unexplained readings it holds (an alert that never clears would touch
   every event and otherwise count none).
3. Codes are tried from the least sensitive (127) downwards; the chosen code is the
   lowest one reached before the false alarms on the history first exceed what the
   budget allows there.  (The count is not monotone in the code, two alerts can merge
   into one, so the scan stops at the first code over budget rather than picking any
   code within it.)  The budget is a ceiling, and the history is one sample of the
   room: a count of exactly ``alerts.max_false_alarms_per_week`` times the history's
   weeks says the device's rate is about the budget, so the next weeks break it about
   half the time, and more often still because the model has seen the history.  So
   the count allowed is the largest ``k`` whose one-sided Poisson upper confidence
   bound at ``alerts.budget_confidence`` (``poisson_upper(k, confidence)``) is within
   the budget times the weeks: with 0.9 and a 4.7-week history, 1 false alarm where the
   budget alone allows 4.  A history too short for even ``k`` = 0 to bound the rate
   allows none, and the report's ``budget_false_alarms`` says so: the calibration then
   picks the most sensitive setting without a false alarm on the history, which new
   weeks break more often, and ``short_history_warning`` (printed by quantize, listed by
   evaluate) says how many weeks would bound it (``history_weeks_needed``: 2.3 at one a
   week and 0.9).
   ``alerts.budget_confidence: 0`` allows the budget times the weeks itself, rounded down.
   If even code 127 is over budget (the alarm band alone raises more), the model
   never decides (code 128) and the report says so.
4. The debounce (``alerts.consecutive``, anomalous readings in a row before an
   alert) is chosen too: steps 1-3 (and 5-6 below) run for every debounce from the configured
   ``alerts.consecutive`` down to 1, and the one whose alerts reach the most
   pseudo-anomalous events of the history wins (an event is a run of labelled
   readings, runs fewer than ``horizon`` apart merged; it is reached when the alert
   is on at one of its labelled readings, as evaluate counts an event caught).  Ties
   go to the debounce that reaches them sooner (the fewest readings from each
   event's start to its alert, summed), then to the one that alerts less on the
   history (fewer false alarms, then fewer readings under alert: with an instant
   code, a debounce of 2 at a lower code may alert more for the same events), then
   to the longer one.  A room whose
   events last one reading (a lone spike, an hourly log) then alerts on them; a
   room where single high readings are flicker keeps the longer debounce, since
   with one reading the budget is spent before the events are reached.  Where both
   reach every event, as when the labels run on for a few readings after a lone
   spike, the shorter one alerts on the spike itself, the longer one only after it.
   ``device_alerts(quant, alerts_cfg)`` is the alert logic every consumer runs.
5. With a debounce above 1, an *instant code* is chosen too: one reading whose code
   is at or above it raises the alert at once, as a reading past the alarm band
   does.  A lone spike is one reading; a debounce that keeps the room's flicker out
   would miss it, and a debounce of 1 would spend the budget on flicker at a code
   too high to reach the room's slower events.  The two tiers take both: after
   step 3 has chosen the code for debounce ``d`` >= 2 and step 6 its raise code,
   instant codes are tried from 127 down to the one above the raise code (at the
   raise code itself every raising reading would raise at once: a debounce of 1,
   which step 4 weighs anyway; a raise code of 127 leaves none to try), and the
   lowest one reached before the false alarms
   on the history first exceed the allowed count is kept (the same rule as step 3;
   128, never, when even 127 is over).  Step 4 then compares the debounces with
   their instant codes on.  ``instant_code(quant, alerts_cfg)`` is what every
   consumer reads (128 with a debounce of 1, where every anomalous reading raises
   at once anyway, and without calibration).
6. A *raise code* is chosen for each debounce too, before its instant code: the
   code a model reading must reach to raise an alert, while one at the decision code
   holds an alert already raised (hysteresis; ``raise_code(quant, alerts_cfg)``).  The
   scan of step 3 stops where the history's false alarms begin, so the decision code
   sits at the edge of what the history showed; a normal hour it did not show (a
   drier night, a warmer week) lands just above that edge more often than an event
   does.  Codes above the decision code are tried upwards while the alerts, raised at
   them and held at the decision code, still reach as many pseudo-anomalous events of
   the history within the allowed false alarms; the raise code is
   ``alerts.raise_margin`` of the way from the decision code to the highest such code
   (0: the decision code itself, no hysteresis).  Alerts raised at a higher code
   are later-starting parts of those raised at the decision code, so the events
   they reach and their false alarms only fall as it rises: the scan stops at the
   first code that loses an event.  Only the events reached are kept, not how soon:
   a raise code may alert a reading or two later into an event, which step 4's
   comparison of the debounces then weighs.  Every per-reading figure (the
   decision, int8/float agreement) stays at the decision code.

The chosen code, its debounce, its raise and instant codes, their probabilities, and the alert figures
they reached on the train and on the validation split go into ``models/quant.json``
(``decision``), the metrics and ``tinyad_config.h``; ``decision_threshold(quant,
alerts_cfg)`` is what every consumer reads.

The module is pure (arrays in, dicts out); ``tinyad.learn.quantization.calibrate`` runs the model.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.stats import chi2

from tinyad.evaluate import metrics as M
from tinyad.device.alerts import NEVER, AlertRules, alert_active
from tinyad.config import AlertsConfig
from tinyad.device.features import dequantize_output, output_code_threshold

__all__ = ["allowed_false_alarms", "calibrate_decision", "code_threshold", "decision_threshold", "device_alerts",
           "device_rules", "events_alerted", "false_alarms", "history_alerts", "history_weeks_needed", "instant_code",
           "poisson_upper", "raise_code", "short_history_warning"]

SECONDS_PER_WEEK = 7 * 86400.0


def poisson_upper(k: int | np.ndarray, confidence: float) -> float | np.ndarray:
    """The one-sided upper confidence bound, at ``confidence``, of a Poisson mean of which
    ``k`` events were counted (Garwood's exact bound: half the chi-squared quantile with
    2k + 2 degrees of freedom)."""
    return chi2.ppf(confidence, 2 * (np.asarray(k) + 1)) / 2.0


def history_weeks_needed(budget_per_week: float, confidence: float) -> float:
    """The weeks of history on which no false alarm bounds the rate within ``budget_per_week``
    at ``confidence`` (``poisson_upper(0, confidence) / budget``: 2.3 weeks at 1 a week and
    0.9); 0 with ``confidence`` 0 or no budget (nothing to bound)."""
    if confidence == 0 or budget_per_week <= 0:
        return 0.0
    return float(poisson_upper(0, confidence)) / float(budget_per_week)


def short_history_warning(decision: dict[str, Any]) -> str | None:
    """A warning when the calibration's history (``decision``: ``calibrate_decision``'s report) is
    too short for even no false alarm on it to bound the rate within the budget, else None."""
    budget, conf, weeks = (float(decision[k]) for k in ("budget_per_week", "budget_confidence", "history_weeks"))
    need = history_weeks_needed(budget, conf)
    if weeks >= need:
        return None
    chose = ("the model never decides (even its least sensitive code raised a false alarm there)"
             if int(decision.get("code", 0)) == NEVER else
             "the calibration chose the most sensitive setting without a false alarm there; expect more on new weeks")
    return (f"the train and validation history holds {weeks:.1f} weeks, too short to show that the device keeps to "
            f"{budget:g} false alarm(s) a week: at alerts.budget_confidence {conf:g}, even none on it bounds the rate "
            f"only to {float(poisson_upper(0, conf)) / weeks:.1f} a week, and {chose}; log at least {need:.1f} weeks "
            "of history (the train and validation splits) to bound it")


def allowed_false_alarms(budget: float, confidence: float) -> float:
    """The false alarms the calibration allows on a history whose budget is ``budget``
    (``alerts.max_false_alarms_per_week`` times its weeks): the largest count whose
    ``poisson_upper`` at ``confidence`` is within it, 0 when none is; ``confidence``
    0: ``budget`` itself, rounded down (module docstring, step 3)."""
    if confidence == 0:
        return float(math.floor(budget))
    ks = np.arange(int(math.floor(budget)) + 1)
    within = ks[poisson_upper(ks, confidence) <= budget]
    return float(within.max()) if len(within) else 0.0


def history_alerts(codes: np.ndarray, rule: np.ndarray, valid: np.ndarray, code: int,
                   alerts: AlertsConfig, instant: int = NEVER, raise_at: int | None = None) -> np.ndarray:
    """Alert state after each row: model ``codes >= code`` OR ``rule``, held over invalid rows;
    model readings raise an alert from ``raise_at`` (None: ``code``), and a code at or above
    ``instant`` raises at once (128: never)."""
    valid = np.asarray(valid, dtype=bool)
    codes = np.asarray(codes, dtype=np.int64)
    raising = None if raise_at is None else valid & (codes >= int(raise_at))
    return alert_active(valid & (codes >= int(code)), np.asarray(rule, dtype=bool), valid, alerts.consecutive,
                        alerts.clear_after, valid & (codes >= int(instant)), raising)


def false_alarms(alerts: np.ndarray, pseudo: np.ndarray, horizon: int) -> int:
    """False alarms of an alert sequence against the pseudo-labels (module docstring, step 2)."""
    alerts = np.asarray(alerts, dtype=bool)
    marks = np.flatnonzero(np.asarray(pseudo) == 1)
    horizon = max(int(horizon), 1)
    count = 0
    for a, b in M.runs(alerts):
        inside = marks[(marks >= a - horizon) & (marks < b + horizon)]
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
    """The history's alert figures: ``tinyad.evaluate.metrics.alert_counts`` (as the evaluation counts
    them) over ``seconds`` of history, plus the false alarms against the pseudo-labels."""
    counts = M.alert_counts(alerts, valid)
    raised = counts["alerts"]
    weeks = seconds / SECONDS_PER_WEEK
    fa = false_alarms(alerts, pseudo, horizon)
    return {
        "alerts": raised,
        "alerts_per_week": raised / weeks,
        "false_alarms": fa,
        "false_alarms_per_week": fa / weeks,
        "flagged_share": counts["flagged_share"],
        "weeks": weeks,
    }


def _candidates(codes: np.ndarray, valid: np.ndarray, floor: int) -> list[int]:
    """The codes worth trying from ``floor`` up: those the history's valid readings hold, and 127."""
    return sorted(c for c in {int(c) for c in np.unique(codes[valid])} | {127} if c >= floor)


def _scan(codes: np.ndarray, rule: np.ndarray, valid: np.ndarray, pseudo: np.ndarray,
          allowed: float, alerts: AlertsConfig, horizon: int, code: int | None = None,
          raise_at: int | None = None) -> tuple[int, int]:
    """Step 3 for one debounce (``code`` None): the chosen code and the number of codes tried
    (``allowed``: the false alarms the history may hold, ``allowed_false_alarms``); step 5
    with the decision ``code`` and its raise code ``raise_at``: the chosen instant code, tried
    from 127 down to ``raise_at + 1``."""
    chosen, tried = NEVER, 0
    floor = -128 if code is None else int(code if raise_at is None else raise_at) + 1
    for c in reversed(_candidates(codes, valid, floor)):
        on = (history_alerts(codes, rule, valid, c, alerts) if code is None
              else history_alerts(codes, rule, valid, code, alerts, instant=c, raise_at=raise_at))
        tried += 1
        if false_alarms(on, pseudo, horizon) > allowed:
            break
        chosen = c
    return chosen, tried


def _raise_scan(codes: np.ndarray, rule: np.ndarray, valid: np.ndarray, pseudo: np.ndarray,
                allowed: float, alerts: AlertsConfig, horizon: int, code: int) -> tuple[int, int]:
    """Step 6 for one debounce and its decision ``code``: the raise code (``alerts.raise_margin``
    of the way from ``code`` to the highest code, tried upwards, whose alerts still reach as
    many pseudo-anomalous events within ``allowed`` false alarms) and the number of codes tried."""
    if code >= 127 or alerts.raise_margin == 0:
        return int(code), 0
    reached = events_alerted(history_alerts(codes, rule, valid, code, alerts), pseudo, horizon)[0]
    top, tried = int(code), 0
    for c in _candidates(codes, valid, int(code) + 1):
        on = history_alerts(codes, rule, valid, code, alerts, raise_at=c)
        tried += 1
        if events_alerted(on, pseudo, horizon)[0] < reached or false_alarms(on, pseudo, horizon) > allowed:
            break
        top = c
    return int(code) + int(math.floor((top - int(code)) * float(alerts.raise_margin) + 0.5)), tried


def pseudo_event_spans(pseudo: np.ndarray, horizon: int) -> list[tuple[int, int]]:
    """The history's pseudo-anomalous events: runs of labelled rows, merged when fewer
    than ``horizon`` readings apart (one event whose labels flicker is one event)."""
    spans: list[tuple[int, int]] = []
    for a, b in M.runs(np.asarray(pseudo) == 1):
        if spans and a - spans[-1][1] < int(horizon):
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


def events_alerted(alerts: np.ndarray, pseudo: np.ndarray, horizon: int) -> tuple[int, int, int]:
    """(pseudo-anomalous events with the alert active on one of their labelled readings,
    all such events, the readings from each such event's start to its first alerting
    labelled reading, summed): step 4 of the module docstring.  An event is reached as
    evaluate catches one, by an alerting reading inside it, not by an alert raised
    after it ended."""
    alerts = np.asarray(alerts, dtype=bool)
    labelled = np.asarray(pseudo) == 1
    spans = pseudo_event_spans(pseudo, horizon)
    hit = delay = 0
    for a, b in spans:
        on = np.flatnonzero(alerts[a:b] & labelled[a:b])
        if len(on):
            hit, delay = hit + 1, delay + int(on[0])
    return hit, len(spans), delay


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
    """The decision code and debounce for the false-alarm budget (see the module docstring).

    Every argument is per history row in time order (train then val): ``codes`` the
    model's int8 output (any value where not ``valid``), ``rule`` the seed's alarm
    rule, ``valid`` scored rows, ``pseudo`` the pseudo-labels (1 anomalous),
    ``split`` "train"/"val".  Returns ``{"code", "consecutive", "threshold",
    "probability", "budget_per_week", "debounce": per debounce tried, "history":
    figures, "train": figures, "val": figures, "raise_code", "instant_code", ...}``.
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
    weeks = seconds / SECONDS_PER_WEEK
    allowed = allowed_false_alarms(float(alerts.max_false_alarms_per_week) * weeks, float(alerts.budget_confidence))
    longest = int(alerts.consecutive)
    consecutive, chosen, raised, instant, tried, best = longest, NEVER, NEVER, NEVER, 0, (-1, 0, 0, 0)
    tried_all: dict[str, dict[str, Any]] = {}
    for d in range(longest, 0, -1):  # longest first: a full tie keeps the longer debounce
        with_d = replace(alerts, consecutive=d)
        code, n_tried = _scan(codes, rule, valid, pseudo, allowed, with_d, horizon)
        tried += n_tried
        rcode, n_tried = _raise_scan(codes, rule, valid, pseudo, allowed, with_d, horizon, code)
        tried += n_tried
        inst = NEVER
        if d > 1 and rcode < 127:
            inst, n_tried = _scan(codes, rule, valid, pseudo, allowed, with_d, horizon, code=code, raise_at=rcode)
            tried += n_tried
        on = history_alerts(codes, rule, valid, code, with_d, inst, rcode)
        hit, n_events, delay = events_alerted(on, pseudo, horizon)
        fa = false_alarms(on, pseudo, horizon)
        flagged = int((on & valid).sum())
        tried_all[str(d)] = {"code": int(code), "raise_code": int(rcode), "instant_code": int(inst),
                             "pseudo_events_alerted": int(hit), "pseudo_events": int(n_events), "false_alarms": int(fa),
                             "delay_readings_sum": int(delay), "readings_alerted": flagged}
        if (hit, -delay, -fa, -flagged) > best:
            consecutive, chosen, raised, instant, best = d, code, rcode, inst, (hit, -delay, -fa, -flagged)
    alerts = replace(alerts, consecutive=consecutive)
    out: dict[str, Any] = {
        "code": int(chosen),
        "consecutive": int(consecutive),
        "raise_code": int(raised),
        "raise_margin": float(alerts.raise_margin),
        "instant_code": int(instant),
        "budget_per_week": float(alerts.max_false_alarms_per_week),
        "budget_confidence": float(alerts.budget_confidence),
        "budget_false_alarms": allowed,
        "horizon_readings": int(horizon),
        "history_weeks": weeks,
        "codes_tried": tried,
        "debounce": tried_all,
        "method": (
            "for each debounce alerts.consecutive..1, the lowest int8 code before the device's false alarms "
            "(alerts, or horizon-long stretches of them, with no pseudo-anomalous reading within the horizon) "
            "on train+val first exceed the count whose Poisson upper bound at alerts.budget_confidence is within "
            "alerts.max_false_alarms_per_week times its weeks; a raise code (model readings must reach it to raise "
            "an alert, the code holds one) alerts.raise_margin of the way up to the highest code raising on as many "
            "pseudo-anomalous events within that count; with a debounce above 1, the lowest instant code "
            "(one reading at or above it raises at once) by the same rule; then the debounce whose alerts reach "
            "the most pseudo-anomalous events on a labelled reading (ties: the one that reaches them sooner, "
            "then the one with fewer false alarms, then fewer readings under alert, then the longer one); "
            "tinyad/learn/calibration.py"
        ),
    }
    out["threshold"], out["probability"] = code_threshold(chosen, quant)
    out["raise_threshold"], out["raise_probability"] = code_threshold(raised, quant)
    out["instant_threshold"], out["instant_probability"] = code_threshold(instant, quant)
    if chosen == NEVER:
        out["note"] = "even the least sensitive code is over budget: the alarm rule alone raises more alerts"
    alerts_on = history_alerts(codes, rule, valid, chosen, alerts, instant, raised)
    out["history"] = _alert_figures(alerts_on, pseudo, valid, seconds, horizon)
    for s in ("train", "val"):
        rows = split == s
        if rows.any():
            a = history_alerts(codes[rows], rule[rows], valid[rows], chosen, alerts, instant, raised)
            out[s] = _alert_figures(a, pseudo[rows], valid[rows], rows.sum() * float(period_s), horizon)
    return out


def code_threshold(code: int, quant: dict[str, Any]) -> tuple[float, float | None]:
    """``(threshold, probability)`` of an int8 output code: a probability strictly between the
    code's and the one below (``output_code_threshold`` maps it back to ``code``) and the code's
    own; ``(1.0, None)`` for 128 (never)."""
    if code == NEVER:
        return 1.0, None
    hi = float(dequantize_output(np.array([code]), quant)[0])
    lo = float(dequantize_output(np.array([code - 1]), quant)[0]) if code > -128 else hi - 1e-9
    threshold = max((lo + hi) / 2.0, 0.0)
    if output_code_threshold(quant, threshold) != code:
        raise AssertionError(f"code_threshold: threshold {threshold} does not map back to code {code}")
    return threshold, hi


def instant_code(quant: dict[str, Any], alerts: AlertsConfig) -> int:
    """The code at or above which one reading raises the alert at once (module docstring, step 5):
    quant.json's calibrated ``decision.instant_code``; 128 (never) without calibration or with a
    quant.json from before it."""
    dec = quant.get("decision") if isinstance(quant, dict) else None
    if not (alerts.calibrate and isinstance(dec, dict) and dec.get("instant_code") is not None):
        return NEVER
    c, code = dec["instant_code"], dec.get("code")
    # 128 (never) goes with any code, 128 included: a model that never decides never raises at once
    if isinstance(c, bool) or not isinstance(c, int) or not (isinstance(code, int) and (code < c or c == NEVER) and c <= NEVER):
        raise ValueError(f"quant.json: decision.instant_code must be an integer above decision.code ({code!r}) "
                         f"up to 128, got {c!r}; rerun the quantize stage")
    return int(c)


def raise_code(quant: dict[str, Any], alerts: AlertsConfig, lenient: bool = False) -> int:
    """The code a model reading must reach to raise an alert (module docstring, step 6):
    quant.json's calibrated ``decision.raise_code``; the decision code itself (no hysteresis)
    without calibration or with a quant.json from before it.  ``lenient``: as for
    ``decision_threshold`` (the evaluation)."""
    dec = quant.get("decision") if isinstance(quant, dict) else None
    if not (alerts.calibrate and isinstance(dec, dict) and dec.get("raise_code") is not None):
        return int(output_code_threshold(quant, decision_threshold(quant, alerts, lenient)))
    r, code, inst = dec["raise_code"], dec.get("code"), instant_code(quant, alerts)
    # as instant_code, against decision.code (evaluate warns when the threshold's code differs from it)
    if isinstance(r, bool) or not isinstance(r, int) or not (isinstance(code, int) and code <= r <= inst):
        raise ValueError(f"quant.json: decision.raise_code must be an integer from decision.code ({code!r}) to "
                         f"decision.instant_code ({inst}), got {r!r}; rerun the quantize stage")
    return int(r)


def device_rules(quant: dict[str, Any], cfg: Any, stuck_run: int) -> AlertRules:
    """The alert rules the device runs (``tinyad_alert_cfg_t``): the params' alarm band and counts
    with quant.json's calibrated debounce, decision, raise and instant codes, and the stuck span
    (``Scaler.stuck_run``).  Codegen writes them into ``tinyad_config.h``; ``tinyad detect`` replays
    them."""
    code = output_code_threshold(quant, decision_threshold(quant, cfg.alerts))
    return AlertRules.from_config(device_alerts(quant, cfg.alerts), cfg.thresholds, code, stuck_run,
                                  cfg.features.use_humidity, instant_code(quant, cfg.alerts),
                                  raise_code(quant, cfg.alerts))


def device_alerts(quant: dict[str, Any], alerts: AlertsConfig) -> AlertsConfig:
    """The alert logic the device runs: ``alerts`` with the calibrated debounce when quant.json has it."""
    dec = quant.get("decision") if isinstance(quant, dict) else None
    if alerts.calibrate and isinstance(dec, dict) and dec.get("consecutive") is not None:
        d = dec["consecutive"]
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= alerts.consecutive:
            raise ValueError(f"quant.json: decision.consecutive must be an integer in 1..alerts.consecutive "
                             f"({alerts.consecutive}), got {d!r}; rerun the quantize stage")
        return replace(alerts, consecutive=d)
    return alerts


def decision_threshold(quant: dict[str, Any], alerts: AlertsConfig, lenient: bool = False) -> float:
    """The probability threshold the device uses: the calibrated one when quant.json has it.

    With ``alerts.calibrate`` quant.json must hold the calibrated ``decision.threshold``
    (codegen, ``tinyad.tools.detect``: the device runs it); without, ``alerts.decision_threshold``.
    ``lenient`` (the evaluation, which scores whatever quant.json it is given):
    ``decision.threshold`` whenever quant.json has one, else ``alerts.decision_threshold``.
    A ``decision.threshold`` that is not a probability in [0, 1] is an error.
    """
    dec = quant.get("decision") if isinstance(quant, dict) else None
    has = isinstance(dec, dict) and dec.get("threshold") is not None
    if has and (lenient or alerts.calibrate):
        thr = dec["threshold"]
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not (math.isfinite(thr) and 0.0 <= thr <= 1.0):
            raise ValueError(f"quant.json: decision.threshold must be a probability in [0, 1], got {thr!r}")
        return float(thr)
    if alerts.calibrate and not lenient:
        raise ValueError("quant.json: alerts.calibrate is true but it holds no 'decision'; rerun the quantize stage")
    return float(alerts.decision_threshold)
