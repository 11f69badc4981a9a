"""The device's alert logic in Python: the reference the firmware is tested against.

This mirrors, operation for operation, the portable C in ``firmware/lib/tinyad``:

* ``check_sample`` = ``tinyad_sample_check`` (tinyad_sample.c): a raw reading
  (floats as the sensor library reports them, and the read status) becomes integer
  tenths or a fault reason (``timeout``, ``dht_error``, ``nan``, ``impossible``);
* ``AlertState`` = ``tinyad_alert_step`` (tinyad_alerts.c): the model decision
  (``score >= decision_q``, ``score`` the int8 output code) OR the seed's threshold
  rules OR the stuck-sensor rule (``repeats >= stuck_run``: the reading repeats the
  ``stuck_run`` valid readings before it, ``stuck_run`` 0 never), ``consecutive``
  anomalous valid readings in a row raise the alert, and so does one reading that is
  evidence enough on its own (past the alarm band, stuck, or a model code at or above
  ``instant_q``, 128 never); ``clear_after`` normal ones in a row clear it; faulty
  readings never reach it.  To *raise* an alert the model's readings must reach
  ``raise_q`` (at or above ``decision_q``; the same code: no difference); an alert
  already raised is held by any reading at ``decision_q`` or above (hysteresis);
* ``firmware_lines`` = ``tinyad_app_step`` (tinyad_app.c) + ``tinyad_format_line``:
  the serial lines the firmware prints, as parsed JSON objects, so that a
  firmware-in-the-loop test compares them with the host simulator's output line by
  line, in either mode (``"alert"``; ``"log"``: a ``reading`` line for every
  reading in place of ``status`` and ``fault`` lines).  The schema is in
  ``firmware/README.md``.

Everything works on the same integers as the C code (readings in tenths, int8
codes), so the comparison is exact.  ``alert_active`` runs the state machine over
arrays of decisions for the evaluate stage.

Run ``python -m tinyad.device.alerts --help`` to replay a CSV of readings with given scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from tinyad.config import AlertsConfig, ThresholdsConfig

__all__ = [
    "MODES",
    "absolute_rule",
    "AlertRules",
    "AlertState",
    "FAULTS",
    "READ_ERROR",
    "READ_OK",
    "READ_TIMEOUT",
    "RawReading",
    "alert_active",
    "check_sample",
    "firmware_lines",
    "stuck_rule",
    "tenths",
]

# Read status of the hardware layer (TINYAD_READ_* in tinyad_sample.h).
READ_OK, READ_TIMEOUT, READ_ERROR = 0, 1, 2
FAULTS = ("timeout", "dht_error", "nan", "impossible")
MODES = ("alert", "log")  # firmware.mode; TINYAD_MODE_ALERT / TINYAD_MODE_LOG in tinyad_app.h

# DHT22 range and the error values of DHT libraries, in tenths (tinyad_sample.h).
TEMP10_MIN, TEMP10_MAX = -400, 800
HUM10_MIN, HUM10_MAX = 0, 1000
DHT_ERROR_VALUE10 = -9990  # -999.0
DHT_ALLONES_TEMP10 = -32767  # raw 0xFFFF read as temperature
DHT_ALLONES_HUM10 = 65535  # raw 0xFFFF read as humidity
ROUNDABLE = 100000.0  # |x| at or above this is impossible (never rounded)
NEVER = 128  # decision code meaning "the model never says anomalous"


def tenths(x: float) -> int:
    """``lround(x * 10.0)``: round half away from zero of the float64 product."""
    y = float(x) * 10.0
    t = math.trunc(y)
    return int(t + (math.copysign(1.0, y) if abs(y - t) >= 0.5 else 0.0))


@dataclass(frozen=True)
class RawReading:
    """One reading as the hardware layer hands it over (``tinyad_raw_t``)."""

    t: int  # seconds
    temp_c: float
    humidity: float
    status: int = READ_OK


def _quantity(x: float) -> tuple[str, int]:
    if not math.isfinite(x):
        return "nan", 0
    if not abs(x) < ROUNDABLE:
        return "impossible", 0
    return "", tenths(x)


def check_sample(temp_c: float, humidity: float, status: int = READ_OK,
                 use_humidity: bool = True) -> tuple[str, int, int | None]:
    """Validate one raw reading: ``(fault, temp10, hum10)``.

    ``fault`` is ``""`` for a valid reading, else one of ``FAULTS``.  ``hum10`` is
    ``None`` when humidity is not used and is not a valid number (the firmware then
    prints ``"hum": null``).  Same precedence as the C: read status, NaN, library
    error values, physical range.
    """
    if status == READ_TIMEOUT:
        return "timeout", 0, None
    if status != READ_OK:
        return "dht_error", 0, None
    tf, t10 = _quantity(float(temp_c))
    hf, h10 = _quantity(float(humidity))
    if tf == "nan" or (use_humidity and hf == "nan"):
        return "nan", 0, None
    if (tf == "" and t10 in (DHT_ERROR_VALUE10, DHT_ALLONES_TEMP10)) or (
        use_humidity and hf == "" and h10 in (DHT_ERROR_VALUE10, DHT_ALLONES_HUM10)
    ):
        return "dht_error", 0, None
    if tf != "" or not TEMP10_MIN <= t10 <= TEMP10_MAX:
        return "impossible", 0, None
    if hf != "" or not HUM10_MIN <= h10 <= HUM10_MAX:
        if use_humidity:
            return "impossible", 0, None
        return "", t10, None
    return "", t10, h10


def stuck_rule(repeats: np.ndarray | int, stuck_run: int) -> np.ndarray | bool:
    """The stuck-sensor rule: the reading repeats at least ``stuck_run`` readings before it
    (``repeats``: the ``run`` feature, or the device's uncapped count; ``stuck_run`` 0: never).
    The span is ``tinyad.data.labeling.PseudoLabeler.device_stuck_run``, carried in
    ``models/scaler.json``; while it is at most the run feature's cap, the capped feature
    and the uncapped count give the same answer."""
    if int(stuck_run) <= 0:
        return np.zeros(np.shape(repeats), dtype=bool) if np.ndim(repeats) else False
    return np.asarray(repeats) >= int(stuck_run) if np.ndim(repeats) else bool(repeats >= int(stuck_run))


def absolute_rule(band: np.ndarray, run: np.ndarray | None, stuck_run: int) -> np.ndarray:
    """The device's absolute evidence per reading, as ``tinyad_alert_step`` ORs it with the model:
    the seed's alarm ``band`` (``tinyad.evaluate.baselines.ThresholdRule``'s decision) OR
    ``stuck_rule`` on the ``run`` feature (span ``stuck_run``, models/scaler.json).  ``run``
    may be None only when ``stuck_run`` is 0."""
    band = np.asarray(band, dtype=bool)
    if not stuck_run:
        return band
    if run is None:
        raise ValueError(f"absolute_rule: the stuck span is {stuck_run} readings but there is no run feature")
    return band | stuck_rule(np.asarray(run, dtype=np.float64), stuck_run)


@dataclass(frozen=True)
class AlertRules:
    """``tinyad_alert_cfg_t``: counts, the int8 decision, raise and instant codes, alarm limits in
    tenths, the stuck span.  ``raise_q`` None is ``decision_q`` (no hysteresis)."""

    consecutive: int
    clear_after: int
    decision_q: int  # anomalous when score >= decision_q (128: never)
    temp_lo: int
    temp_hi: int
    hum_lo: int
    hum_hi: int
    stuck_run: int = 0  # repeats at or above which the sensor is stuck (0: never)
    stuck_hum: bool = True  # repeats compare humidity too (features.use_humidity)
    instant_q: int = NEVER  # one reading with score >= instant_q raises at once (128: never)
    raise_q: int | None = None  # an idle alert counts model readings with score >= raise_q (None: decision_q)

    def __post_init__(self) -> None:
        if self.raise_q is None:
            object.__setattr__(self, "raise_q", self.decision_q)
        if self.consecutive < 1 or self.clear_after < 1:
            raise ValueError(f"AlertRules: consecutive and clear_after must be >= 1, got {self}")
        if not -128 <= self.decision_q <= NEVER:
            raise ValueError(f"AlertRules.decision_q: expected an int8 code or 128, got {self.decision_q}")
        if not self.decision_q <= self.raise_q <= NEVER:
            raise ValueError(f"AlertRules.raise_q: expected a code from decision_q ({self.decision_q}) to 128, "
                             f"got {self.raise_q}")
        if not self.raise_q <= self.instant_q <= NEVER:
            raise ValueError(f"AlertRules.instant_q: expected a code from raise_q ({self.raise_q}) to 128, "
                             f"got {self.instant_q}")
        if not 0 <= self.stuck_run <= 0xFFFF:
            raise ValueError(f"AlertRules.stuck_run: expected 0..65535 readings, got {self.stuck_run}")

    @classmethod
    def from_config(cls, alerts: AlertsConfig, thresholds: ThresholdsConfig, decision_q: int,
                    stuck_run: int = 0, use_humidity: bool = True, instant_q: int = NEVER,
                    raise_q: int | None = None) -> "AlertRules":
        """From params (``alerts``, ``thresholds.temp_alarm/hum_alarm``, ``features.use_humidity``),
        the code ``tinyad.device.features.output_code_threshold(quant, alerts.decision_threshold)``,
        the stuck span (``Scaler.stuck_run``, models/scaler.json), the instant code
        (``tinyad.learn.calibration.instant_code``) and the raise code
        (``tinyad.learn.calibration.raise_code``; None: ``decision_q``)."""
        return cls(
            consecutive=int(alerts.consecutive),
            clear_after=int(alerts.clear_after),
            decision_q=int(decision_q),
            temp_lo=tenths(thresholds.temp_alarm[0]),
            temp_hi=tenths(thresholds.temp_alarm[1]),
            hum_lo=tenths(thresholds.hum_alarm[0]),
            hum_hi=tenths(thresholds.hum_alarm[1]),
            stuck_run=int(stuck_run),
            stuck_hum=bool(use_humidity),
            instant_q=int(instant_q),
            raise_q=None if raise_q is None else int(raise_q),
        )

    def model(self, score: int | None) -> bool:
        return score is not None and int(score) >= self.decision_q

    def raising(self, score: int | None) -> bool:
        return score is not None and int(score) >= self.raise_q

    def instant(self, score: int | None) -> bool:
        return score is not None and int(score) >= self.instant_q

    def threshold(self, temp10: int, hum10: int | None) -> bool:
        return (temp10 < self.temp_lo or temp10 > self.temp_hi
                or (hum10 is not None and (hum10 < self.hum_lo or hum10 > self.hum_hi)))

    def stuck(self, repeats: int) -> bool:
        return bool(stuck_rule(int(repeats), self.stuck_run))


@dataclass
class AlertState:
    """``tinyad_alert_state_t`` and ``tinyad_alert_step``; ``step`` returns the event."""

    consecutive: int
    clear_after: int
    active: bool = False
    run_model: bool = False
    run_threshold: bool = False
    run_stuck: bool = False
    anomalous_run: int = 0
    normal_run: int = 0
    last: tuple[int, int | None] | None = None  # the repeat count's part: kept when an alert clears
    repeats: int = 0

    def reset(self) -> None:
        """The alert's part (``reset_alert``); the repeat count stays."""
        self.active = self.run_model = self.run_threshold = self.run_stuck = False
        self.anomalous_run = self.normal_run = 0

    def count_repeat(self, temp10: int, hum10: int | None, stuck_hum: bool) -> int:
        """``count_repeat``: the valid readings just before this one that equal it (``hum10``
        compared when ``stuck_hum``; a reading without humidity counts as 0, as in C)."""
        h = (hum10 or 0) if stuck_hum else 0
        same = self.last is not None and self.last == (int(temp10), h)
        self.repeats = min(self.repeats + 1, 0xFFFF) if same else 0
        self.last = (int(temp10), h)
        return self.repeats

    def step(self, model: bool, threshold: bool, stuck: bool = False,
             instant: bool = False, raising: bool | None = None) -> tuple[str, bool, bool, bool]:
        """One valid reading's rule outcomes -> ``(event, model, threshold, stuck)``.

        ``raising``: the model's code is at or above the raise code (None: ``model``),
        what an idle alert counts; ``model`` (at or above the decision code) holds an
        active one.  ``instant``: the code is at or above the instant code (so
        ``raising`` is true too); with ``threshold`` or ``stuck`` it raises the alert
        without waiting for ``consecutive`` readings.  ``event`` is ``""``, ``"alert"``
        (then the flags are the rules of the run that raised it) or ``"clear"`` (then
        they are this reading's, i.e. false).
        """
        model, threshold, stuck = bool(model), bool(threshold), bool(stuck)
        raising = model if raising is None else bool(raising)
        anomalous = model or threshold or stuck
        at_once = bool(instant) or threshold or stuck
        if not self.active:
            if raising or threshold or stuck:
                self.anomalous_run = min(self.anomalous_run + 1, 0xFFFF)
                self.run_model |= raising
                self.run_threshold |= threshold
                self.run_stuck |= stuck
                if self.anomalous_run >= self.consecutive or at_once:
                    self.active = True
                    self.normal_run = 0
                    return "alert", self.run_model, self.run_threshold, self.run_stuck
            else:
                self.anomalous_run = 0
                self.run_model = self.run_threshold = self.run_stuck = False
            return "", model, threshold, stuck
        if anomalous:
            self.normal_run = 0
            return "", model, threshold, stuck
        self.normal_run = min(self.normal_run + 1, 0xFFFF)
        if self.normal_run >= self.clear_after:
            self.reset()
            return "clear", model, threshold, stuck
        return "", model, threshold, stuck


def alert_active(model: np.ndarray, threshold: np.ndarray, valid: np.ndarray,
                 consecutive: int, clear_after: int, instant: np.ndarray | None = None,
                 raising: np.ndarray | None = None) -> np.ndarray:
    """Whether the alert is on after each row (invalid rows leave it as it was).

    ``model``: the rows whose code is at or above the decision code (they hold an
    alert); ``raising``: those at or above the raise code (they raise one; None:
    ``model``); ``threshold``: the absolute evidence (``absolute_rule``), raising at
    once; ``instant``: the rows whose model code is at or above the instant code
    (None: none)."""
    state = AlertState(consecutive, clear_after)
    out = np.zeros(len(valid), dtype=bool)
    inst = np.zeros(len(valid), dtype=bool) if instant is None else np.asarray(instant, dtype=bool)
    rais = np.asarray(model, dtype=bool) if raising is None else np.asarray(raising, dtype=bool)
    for name, a in (("instant", inst), ("raising", rais)):
        if len(a) != len(valid):
            raise ValueError(f"alert_active: {len(a)} {name} flags for {len(valid)} rows")
    for i, (m, th, v, s, r) in enumerate(zip(model, threshold, valid, inst, rais)):
        if v:
            state.step(bool(m), bool(th), False, bool(s), bool(r))
        out[i] = state.active
    return out


def _reading_fields(t: int, temp10: int, hum10: int | None, score: int | None) -> dict[str, Any]:
    return {"t": int(t), "temp": temp10 / 10, "hum": None if hum10 is None else hum10 / 10,
            "score": None if score is None else int(score)}


def firmware_lines(readings: Iterable[RawReading], scores: Sequence[int | None], rules: AlertRules,
                   status_every: int, use_humidity: bool = True, mode: str = "alert") -> list[dict[str, Any]]:
    """The serial lines the firmware prints for these readings, as JSON objects.

    ``scores[i]`` is the model's int8 output code for reading i, or ``None`` while
    the feature window is not full; it is ignored for faulty readings (the firmware
    neither pushes them into the window nor scores them).  ``mode="log"``: every
    reading gives one ``reading`` line (a failed one ``temp``/``hum`` null and its
    ``reason``), after the reading's ``alert``/``clear`` line; no ``status`` or
    ``fault`` lines (``status_every`` is then unused).
    """
    if mode not in MODES:
        raise ValueError(f"firmware_lines: mode must be one of {list(MODES)}, got {mode!r}")
    if rules.stuck_run and rules.stuck_hum != bool(use_humidity):
        raise ValueError(f"firmware_lines: rules.stuck_hum {rules.stuck_hum} but use_humidity {use_humidity}: "
                         "the stuck rule compares humidity exactly when it is used (AlertRules.from_config)")
    log = mode == "log"
    state = AlertState(rules.consecutive, rules.clear_after)
    lines: list[dict[str, Any]] = []
    valid_count = 0
    readings = list(readings)
    if len(scores) != len(readings):
        raise ValueError(f"firmware_lines: {len(readings)} readings but {len(scores)} scores")
    for raw, score in zip(readings, scores):
        fault, t10, h10 = check_sample(raw.temp_c, raw.humidity, raw.status, use_humidity)
        if fault:
            if log:
                lines.append({"t": int(raw.t), "event": "reading", "temp": None, "hum": None, "reason": fault})
            else:
                lines.append({"t": int(raw.t), "event": "fault", "reason": fault})
            continue
        stuck = rules.stuck(state.count_repeat(t10, h10, rules.stuck_hum))
        model = rules.model(score)
        threshold = rules.threshold(t10, h10)
        event, ev_model, ev_threshold, ev_stuck = state.step(model, threshold, stuck, rules.instant(score),
                                                             rules.raising(score))
        fields = _reading_fields(raw.t, t10, h10, score)
        if event:
            lines.append({"t": fields["t"], "event": event, **{k: fields[k] for k in ("temp", "hum", "score")},
                          "model": ev_model, "threshold": ev_threshold, "stuck": ev_stuck})
        if log:
            lines.append({"t": fields["t"], "event": "reading", **{k: fields[k] for k in ("temp", "hum", "score")},
                          "model": model, "threshold": threshold, "stuck": stuck, "alert": state.active})
            continue
        valid_count += 1
        if status_every > 0 and valid_count >= status_every:
            valid_count = 0
            lines.append({"t": fields["t"], "event": "status", **{k: fields[k] for k in ("temp", "hum", "score")},
                          "model": model, "threshold": threshold, "stuck": stuck, "alert": state.active})
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse
    import csv
    import json

    from tinyad.config import load

    ap = argparse.ArgumentParser(description="Replay readings (CSV t,temp,hum,score) through the alert logic "
                                             "and print the firmware's serial lines.")
    ap.add_argument("csv", help="CSV with columns t (seconds), temp, hum, score (empty: no score)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--decision-q", type=int, required=True, help="int8 decision code (TINYAD_DECISION_Q)")
    ap.add_argument("--raise-q", type=int, default=None,
                    help="int8 code an idle alert's model readings must reach (TINYAD_RAISE_Q; default: --decision-q)")
    ap.add_argument("--instant-q", type=int, default=NEVER,
                    help="int8 code at or above which one reading raises at once (TINYAD_INSTANT_Q; default 128: never)")
    ap.add_argument("--stuck-run", type=int, default=None,
                    help="the stuck rule's span in readings (TINYAD_STUCK_RUN; 0: off; default: stuck_run of --scaler)")
    ap.add_argument("--scaler", default="models/scaler.json", help="where the default --stuck-run is read")
    ap.add_argument("--mode", choices=MODES, default=None, help="firmware mode (default: params firmware.mode)")
    args = ap.parse_args(argv)
    cfg = load(args.params)
    stuck_run = args.stuck_run
    if stuck_run is None:
        from pathlib import Path

        from tinyad.device.features import Scaler

        if not Path(args.scaler).is_file():
            ap.error(f"--scaler {args.scaler}: not found; run the cluster stage or pass --stuck-run")
        stuck_run = Scaler.load(args.scaler).stuck_run
    try:
        rules = AlertRules.from_config(cfg.alerts, cfg.thresholds, args.decision_q, stuck_run, cfg.features.use_humidity,
                                       args.instant_q, args.raise_q)
    except ValueError as e:
        ap.error(str(e))
    readings, scores = [], []
    with open(args.csv, newline="") as fh:
        for row in csv.DictReader(fh):
            readings.append(RawReading(int(row["t"]), float(row["temp"] or "nan"), float(row["hum"] or "nan")))
            scores.append(int(row["score"]) if row.get("score") else None)
    for line in firmware_lines(readings, scores, rules, cfg.firmware.status_every, cfg.features.use_humidity,
                               args.mode or cfg.firmware.mode):
        print(json.dumps(line, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
