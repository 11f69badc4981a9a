"""The model's input features: one definition, shared by every stage and mirrored in C.

Everything a stage or the firmware needs to turn readings into the int8 input vector
and the int8 output code into a decision lives here:

* ``compute_features(readings_df, features_cfg) -> (X, valid)``: the features of every
  row (float64, unscaled) and whether the row is scored;
* ``Scaler``: standardisation fitted on the valid rows of the train split only;
* ``quantize_input(X_scaled, scale, zero_point) -> int8``: the caller-side input
  quantization of the int8 model;
* ``output_code_threshold(quant, threshold)`` and ``decide(q_out, quant, threshold)``:
  the int8 decision, as an integer comparison;
* ``split_labels(n, split_cfg)``: the chronological train/val/test split.

Readings and validity (what the device does)
--------------------------------------------
A DHT22 reports integer tenths, so the features work on integer tenths::

    t10 = round_half_away_from_zero(temperature * 10)      (C: lround(temp * 10.0))
    h10 = round_half_away_from_zero(humidity * 10)

A reading is *valid* when its ``fault`` is empty and its temperature (and, when
humidity features are used, its humidity) is a number.  An invalid reading is
skipped: it is not pushed into the ring buffer and its row is not scored.  The ring
buffer holds the last N VALID readings (N = ``features.window``, the readings in
``features.window_min`` minutes at ``data.period_s``, see ``FeaturesConfig``), oldest first,
``w[0] .. w[N-1]``, the current reading being ``c = w[N-1]``.  A row is *scored*
(``valid``) when its own reading is valid and the buffer is full (at least N valid
readings so far, the current one included).  The buffer is never reset: a gap in
the log (missing readings) simply makes a window span a longer time.

Feature formulas (exact arithmetic)
-----------------------------------
Sums are computed in 64-bit integers; each feature is then converted to float64 once,
with exactly the operations written here (IEEE-754 double, no fused multiply-add:
compile the C mirror with ``-ffp-contract=off``).  ``/`` is a float64 division of the
float64 conversions of its integer operands; ``sqrt`` is IEEE sqrt (correctly
rounded in C and numpy alike).  For a quantity q in {temp, hum} with window ``w``::

    S1 = sum w[i]                 S2 = sum w[i]^2            (int64)
    SI = sum (2*i - (N-1)) * w[i]  D = N*(N*N-1)/6            (int64, D exact)

    temp           = c / 10.0                        current reading, deg C
    hum            = c / 10.0                        current reading, %RH
    tod_sin        = sin(2*pi * sod / 86400)
    tod_cos        = cos(2*pi * sod / 86400)
                     sod = integer second of the day of the row's timestamp; both
                     computed without libm by tod_sin_cos (integer quadrant and
                     folding, a Taylor polynomial in IEEE double, error < 2e-16), so
                     Python and the C on any target give the same bits
    weekend        = 1.0 on Saturday and Sunday, else 0.0, of the row's local
                     timestamp: weekday = (floor(t / 86400) + 3) mod 7 with t the
                     local time in seconds since 1970-01-01 (a Thursday), weekend
                     when weekday >= 5 (optional day-of-week context for rooms on
                     a weekly schedule: offices, schools)
    <q>_delta      = (c - w[0]) / 10.0               change over the window
    <q>_slope      = SI / (10.0 * D)                 least-squares slope, per reading
    <q>_std        = sqrt(N*S2 - S1*S1) / (10.0 * N) population standard deviation
    <q>_range      = (max w - min w) / 10.0          spread
    <q>_dev        = (N*c - S1) / (10.0 * N)         current minus window mean
    <q>_devup      = max(<q>_dev, 0.0)                only rises above the window mean
                     (a fall after an event ends is not mistaken for the event)
    <q>_step       = |c - w[N-2]| / 10.0             the jump from the previous valid reading
                     (a failing, noisy sensor jumps; it does not linger after an event)
    <q>_iqr        = (s[N-1-N//4] - s[N//4]) / 10.0  s = w sorted ascending (robust spread)
    <q>_mdelta     = (M2(last m) - M2(first m)) / 20.0
                     m = N // 3 readings; M2(k values) = s[(k-1)//2] + s[k//2] of the
                     k values sorted, i.e. twice their median, an integer
                     (robust change: a 1-3 reading spike does not move it)
    <q>_changes    = number of i in 1..N-1 with w[i] != w[i-1], as a double
                     (a stuck sensor reports the same value over and over)
    <q>_run        = min(r, R) / 1.0 where r is the largest r in 0..N-1 with
                     w[N-1-j] == c for every j in 1..r: how many readings before
                     the current one repeat it without a break (0 = it changed),
                     capped at R = features.run_cap (the readings in
                     ``features.stuck_min`` minutes, so that a sensor stuck for
                     10 minutes already looks like one stuck for 100)
    run            = the same capped run, counted while temperature AND humidity both repeat
                     (temperature only when humidity is not used): a stuck sensor
                     repeats both exactly, a live one rarely repeats both twice
    <q>_jitter     = (sum d - d1 - d2) / (10.0 * (J - 2))
                     d = |w[i] - w[i-1]| for the last J steps (i = N-J .. N-1),
                     J = features.jitter_steps (the steps in ``features.jitter_min``
                     minutes), d1 >= d2 its two largest: the mean step without the
                     two largest (JITTER_TRIM), so a lone spike (a jump up and one
                     back) does not move it and a failing, noisy sensor, whose every
                     step jumps, does

``sqrt`` of ``N*S2 - S1*S1`` is exact for any window a DHT22 can fill (the integer is
below 2**53).  No feature calls libm's ``sin``/``cos`` (whose last bit differs
between C libraries, and a last bit can move an int8 code across a rounding
boundary): the time of day is ``tod_sin_cos``, additions and multiplications only.

With ``features.use_humidity: false`` every feature whose name starts with ``hum``
is dropped from ``features.names`` (temperature-only rooms); ``feature_names()``
gives the effective list, which is also the order of the model's inputs.

Scaling, quantization, decision
-------------------------------
``Scaler``: ``x_scaled = (x - mean) / scale`` (float64, per feature), mean and
population standard deviation of the valid train rows (a constant feature gets
scale 1.0).  ``quantize_input``: ``q = clamp(round_half_away_from_zero(x_scaled /
input_scale) + input_zero_point, -128, 127)`` (C: ``lround``).  The model's output
code ``q_out`` means the probability ``(q_out - output_zero_point) * output_scale``;
a row is anomalous when that probability is strictly above the decision threshold.
``output_code_threshold`` turns the threshold into the smallest int8 code meeting
it, so the device only compares integers: anomalous iff ``q_out >= code``.

Chronological split
-------------------
Rows are in time order.  The first ``floor(n * split.train)`` rows are ``train``,
the next ``floor(n * (split.train + split.val)) - n_train`` are ``val``, the rest
``test``; nothing is shuffled across time.  Windows look only backwards: a train
row's features use readings at or before it, so they never see a val/test reading
(no future leaks into training).  The first N-1 rows of val/test do read train-
period readings, but only *inputs* from their own past, exactly what the device has
in its ring buffer when it scores that reading; no label and no fitted statistic of
val/test ever flows back into training, so these rows are kept.

Run ``python -m tinyad.device.features --help`` for a small command that prints the
features of a readings file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.config import ConfigError, FeaturesConfig, SplitConfig

__all__ = [
    "CONTEXT_FEATURES",
    "BASE_FEATURES",
    "mdelta_half",
    "feature_label",
    "MIN_TRAIN_ROWS_PER_CLUSTER",
    "WINDOW_KINDS",
    "Scaler",
    "check_train_size",
    "compute_features",
    "dataset_inputs",
    "decide",
    "dequantize_output",
    "feature_names",
    "known_features",
    "output_code_threshold",
    "quantize_input",
    "round_half_away",
    "second_of_week",
    "split_labels",
    "tod_sin_cos",
    "to_tenths",
    "valid_readings",
]

BASE_FEATURES = ("temp", "hum", "tod_sin", "tod_cos", "weekend", "run")
# The time of day: a reading's context (when it was taken), not what it measured.  The
# labelling's context policy weights it (cluster.context_weight, tinyad/data/labeling.py).
# Not ``weekend``: weighted too, it splits the clusters into weekdays and weekends first and
# leaves each half fewer hours of the day (measured in docs/detection.md).
CONTEXT_FEATURES = ("tod_sin", "tod_cos")

# Words and units of each feature, for plots and reports (the formulas are in the module docstring).
_BASE_LABELS = {
    "temp": "temperature (deg C)",
    "hum": "relative humidity (%RH)",
    "tod_sin": "time of day, sine (+1 at 06:00, -1 at 18:00)",
    "tod_cos": "time of day, cosine (+1 at midnight, -1 at noon)",
    "weekend": "weekend (1) or weekday (0)",
    "run": "readings in a row repeating the current one",
}
_QUANTITY = {"temp": ("temperature", "deg C"), "hum": ("humidity", "%RH")}
_KIND_LABELS = {
    "delta": "{q} change over the window ({u})",
    "slope": "{q} slope over the window ({u} a reading)",
    "std": "{q} standard deviation in the window ({u})",
    "range": "{q} range in the window ({u})",
    "dev": "{q} minus its window mean ({u})",
    "devup": "{q} above its window mean ({u})",
    "iqr": "{q} interquartile range in the window ({u})",
    "mdelta": "{q} change of the median over the window ({u})",
    "changes": "{q} changes in the window (count)",
    "run": "{q} readings in a row repeating the current one",
    "step": "{q} jump from the previous reading ({u})",
    "jitter": "{q} jitter: mean step of the last minutes, two largest left out ({u})",
}


def feature_label(name: str) -> str:
    """A feature's name in words, with its unit (``temp_devup`` -> "temperature above
    its window mean (deg C)"); the name itself for one this module does not define."""
    if name in _BASE_LABELS:
        return _BASE_LABELS[name]
    q, _, kind = name.partition("_")
    if q in _QUANTITY and kind in _KIND_LABELS:
        word, unit = _QUANTITY[q]
        return _KIND_LABELS[kind].format(q=word, u=unit)
    return name
WINDOW_KINDS = ("delta", "slope", "std", "range", "dev", "devup", "iqr", "mdelta", "changes", "run", "step", "jitter")
JITTER_TRIM = 2  # the <q>_jitter features leave out this many largest steps: a lone spike's jump and fall
SECONDS_PER_DAY = 86400
# The time of day, libm-free (tod_sin_cos): the angle of one second, the double nearest
# 2*pi / 86400, and the Taylor coefficients of sin and cos on [0, pi/4] (|error| of the
# truncated series below 1e-19 there), each the double nearest 1/n!, signed.  The C
# mirror (tinyad/codegen/features.py) prints these same doubles with repr.
TOD_QUARTER = SECONDS_PER_DAY // 4
TOD_STEP = 2.0 * math.pi / SECONDS_PER_DAY
TOD_SIN_COEF = tuple((-1.0) ** (k // 2) / math.factorial(k) for k in range(3, 19, 2))  # t^3 .. t^17
TOD_COS_COEF = tuple((-1.0) ** (k // 2) / math.factorial(k) for k in range(2, 20, 2))  # t^2 .. t^18
REQUIRED_COLUMNS = ("timestamp", "temperature", "humidity", "fault")


def check_jitter_steps(steps: int, window: int) -> None:
    """Refuse a jitter span the ``<q>_jitter`` features cannot measure: more steps than
    ``JITTER_TRIM`` (they are left out) and fewer than the window holds."""
    if not JITTER_TRIM < steps < window:
        raise ConfigError(f"features.jitter_min: the jitter features need {JITTER_TRIM + 1}..{window - 1} steps in "
                          f"the {window}-reading window, got {steps} (lengthen features.jitter_min, "
                          f"features.min_readings or the window)")


def mdelta_half(n: int) -> int:
    """Readings in each half of the ``*_mdelta`` feature of an ``n``-reading window (the C
    pipeline's ``<P>_MDELTA_M``): a third of the window, at least one."""
    return max(n // 3, 1)


def known_features() -> list[str]:
    """Every feature name ``features.names`` may use."""
    names = list(BASE_FEATURES)
    for q in ("temp", "hum"):
        names += [f"{q}_{k}" for k in WINDOW_KINDS]
    return names


def feature_names(cfg: FeaturesConfig) -> list[str]:
    """The effective, ordered input features (humidity ones dropped if unused)."""
    known = set(known_features())
    for i, name in enumerate(cfg.names):
        if name not in known:
            raise ConfigError(f"features.names[{i}]: unknown feature {name!r}; expected one of {known_features()}")
    if len(set(cfg.names)) != len(cfg.names):
        raise ConfigError(f"features.names: duplicate names in {list(cfg.names)}")
    names = [n for n in cfg.names if cfg.use_humidity or not n.startswith("hum")]
    if not names:
        raise ConfigError("features.names: no feature left (all were humidity features and use_humidity is false)")
    return names


def counts_runs(cfg: FeaturesConfig) -> bool:
    """Whether a feature counts repeated readings (``run``, ``<q>_run``): capped at ``run_cap``."""
    return any(n == "run" or n.endswith("_run") for n in feature_names(cfg))


def stuck_warning(cfg: FeaturesConfig) -> str | None:
    """A one-line warning when ``features.stuck_min`` asks for a span longer than the window.

    The run features count repeats inside the window, so ``run_cap`` is at most
    ``window - 1`` readings: a longer ``stuck_min`` is cut to the window (the cluster
    stage prints this and keeps it in its metrics' ``warnings``).  None when nothing is
    cut beyond that, or no feature counts runs."""
    if not counts_runs(cfg) or cfg.stuck_readings <= cfg.window:
        return None
    return (f"features.stuck_min: {cfg.stuck_min:g} min is {cfg.stuck_readings} readings at data.period_s "
            f"{cfg.period_s} s, longer than the {cfg.window}-reading window (features.window_min "
            f"{cfg.window_min:g}); the run features count repeats inside the window, so the stuck span is "
            f"{cfg.run_cap} readings (lengthen features.window_min to keep {cfg.stuck_min:g} min)")


def uses_humidity(cfg: FeaturesConfig) -> bool:
    names = feature_names(cfg)
    return any(n.startswith("hum") for n in names) or ("run" in names and cfg.use_humidity)


# ----------------------------------------------------------------- arithmetic
def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (C ``lround``), as float64.

    ``trunc`` then compare the exact fractional part, so 0.49999999999999994 rounds
    to 0 (``floor(x + 0.5)`` would give 1).
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.trunc(x)
    frac = x - t  # exact
    return t + np.where(np.abs(frac) >= 0.5, np.sign(x), 0.0)


def to_tenths(values: np.ndarray) -> np.ndarray:
    """Readings to integer tenths (int64); NaN becomes 0 (callers mask it out)."""
    v = np.asarray(values, dtype=np.float64)
    out = round_half_away(np.where(np.isfinite(v), v, 0.0) * 10.0)
    return out.astype(np.int64)


def _check_readings(df: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"readings: missing column(s) {missing}; expected at least {list(REQUIRED_COLUMNS)}")
    if not pd.api.types.is_datetime64_any_dtype(df["timestamp"]):
        raise ValueError(f"readings: column 'timestamp' must be datetime64, got {df['timestamp'].dtype}")
    ts = df["timestamp"].to_numpy()
    if len(ts) > 1 and not (ts[1:] > ts[:-1]).all():
        bad = int(np.argmin(ts[1:] > ts[:-1])) + 1
        raise ValueError(f"readings: 'timestamp' must increase strictly; row {bad} ({ts[bad]}) does not")


def valid_readings(df: pd.DataFrame, cfg: FeaturesConfig) -> np.ndarray:
    """Which readings are pushed into the ring buffer (bool per row)."""
    _check_readings(df)
    ok = (df["fault"].astype(str).to_numpy() == "") & np.isfinite(df["temperature"].to_numpy(dtype=np.float64))
    if uses_humidity(cfg):
        ok &= np.isfinite(df["humidity"].to_numpy(dtype=np.float64))
    return ok


def _window_features(w: np.ndarray, kind: str, run_cap: int = 1 << 30, jitter_steps: int | None = None) -> np.ndarray:
    """One window feature of every full window ``w`` (int64, shape [m, N]); ``jitter_steps``
    (``features.jitter_steps``, default every step of the window) for ``jitter``."""
    n = w.shape[1]
    c = w[:, -1]
    if kind == "delta":
        return (c - w[:, 0]).astype(np.float64) / 10.0
    if kind == "slope":
        coef = 2 * np.arange(n, dtype=np.int64) - (n - 1)
        si = w @ coef
        d = n * (n * n - 1) // 6
        return si.astype(np.float64) / (10.0 * float(d))
    if kind == "std":
        s1 = w.sum(axis=1)
        s2 = (w * w).sum(axis=1)
        var = n * s2 - s1 * s1
        return np.sqrt(var.astype(np.float64)) / (10.0 * float(n))
    if kind == "range":
        return (w.max(axis=1) - w.min(axis=1)).astype(np.float64) / 10.0
    if kind == "dev":
        s1 = w.sum(axis=1)
        return (n * c - s1).astype(np.float64) / (10.0 * float(n))
    if kind == "iqr":
        s = np.sort(w, axis=1)
        return (s[:, n - 1 - n // 4] - s[:, n // 4]).astype(np.float64) / 10.0
    if kind == "mdelta":
        m = mdelta_half(n)
        first = np.sort(w[:, :m], axis=1)
        last = np.sort(w[:, n - m :], axis=1)
        m2_first = first[:, (m - 1) // 2] + first[:, m // 2]
        m2_last = last[:, (m - 1) // 2] + last[:, m // 2]
        return (m2_last - m2_first).astype(np.float64) / 20.0
    if kind == "changes":
        return (w[:, 1:] != w[:, :-1]).sum(axis=1).astype(np.float64)
    if kind == "devup":
        return np.maximum(_window_features(w, "dev"), 0.0)
    if kind == "step":
        return np.abs(c - w[:, -2]).astype(np.float64) / 10.0
    if kind == "run":
        return np.minimum(_run_length(w[:, :-1] == c[:, None]), run_cap).astype(np.float64)
    if kind == "jitter":
        j = n - 1 if jitter_steps is None else int(jitter_steps)
        check_jitter_steps(j, n)
        d = np.abs(np.diff(w[:, n - 1 - j:], axis=1))
        top = np.sort(d, axis=1)[:, j - JITTER_TRIM:].sum(axis=1)
        return (d.sum(axis=1) - top).astype(np.float64) / (10.0 * float(j - JITTER_TRIM))
    raise ConfigError(f"features.names: unknown window feature kind {kind!r}")


def _run_length(eq: np.ndarray) -> np.ndarray:
    """Per row, how many trailing entries of ``eq`` (bool [m, N-1]) are all True."""
    return np.cumprod(eq[:, ::-1], axis=1).sum(axis=1)


def second_of_week(ts: pd.Series) -> np.ndarray:
    """Seconds since Monday 00:00 of each local timestamp (int64; C: tinyad_second_of_week).

    The one local-time rule of the features (the time of day is it modulo a day; the
    labelling's hour slots read it too).  A timestamp with a time zone counts by its
    wall clock; fractions of a second are dropped."""
    t = pd.DatetimeIndex(ts)
    if t.tz is not None:
        t = t.tz_localize(None)
    t = t.as_unit("s").asi8
    return ((t // SECONDS_PER_DAY) + 3) % 7 * SECONDS_PER_DAY + t % SECONDS_PER_DAY


def is_weekend(second: np.ndarray) -> np.ndarray:
    """True on Saturday/Sunday, from ``second_of_week`` (C: second_of_week >= 5 * 86400)."""
    return np.asarray(second) >= 5 * SECONDS_PER_DAY


def _weekend(ts: pd.Series) -> np.ndarray:
    """1.0 on Saturday/Sunday of the local timestamp (``is_weekend``)."""
    return is_weekend(second_of_week(ts)).astype(np.float64)


def _horner(z: np.ndarray, coef: tuple[float, ...]) -> np.ndarray:
    """``coef[0] + z*(coef[1] + z*(... + z*coef[-1]))``, one IEEE operation at a time."""
    p = np.full_like(z, coef[-1])
    for c in coef[-2::-1]:
        p = c + z * p
    return p


def tod_sin_cos(sod) -> tuple[np.ndarray, np.ndarray]:
    """``sin`` and ``cos`` of ``2*pi * sod / 86400`` for integer seconds of the day, libm-free.

    Only IEEE-754 double additions and multiplications, each rounded once, in the order
    written (the C mirror, compiled with ``-ffp-contract=off``, gives the same bits on
    any target, whatever its libm): the quadrant ``q = sod // 21600`` and the second in
    it ``r = sod % 21600`` are integers; ``a = r`` when ``r <= 10800``, else ``21600 - r``
    (the angle folded onto [0, pi/4], sin and cos swapped); ``t = a * TOD_STEP``,
    ``z = t * t``; ``S = t + t * (z * P_sin(z))`` and ``C = 1 + z * P_cos(z)`` (Horner
    over ``TOD_SIN_COEF`` / ``TOD_COS_COEF``); then by quadrant
    ``sin = S, C, -S, -C`` and ``cos = C, -S, -C, S``.  Absolute error below 2e-16
    for every second of the day (against 80-bit long double; glibc's ``sin`` of the
    rounded angle ``2*pi * sod / 86400.0`` is off by up to 1.3e-15, from rounding the
    angle).
    """
    sod = np.asarray(sod, dtype=np.int64) % SECONDS_PER_DAY
    q, r = sod // TOD_QUARTER, sod % TOD_QUARTER
    flip = r > TOD_QUARTER // 2
    t = np.where(flip, TOD_QUARTER - r, r).astype(np.float64) * TOD_STEP
    z = t * t
    s = t + t * (z * _horner(z, TOD_SIN_COEF))
    c = 1.0 + z * _horner(z, TOD_COS_COEF)
    s, c = np.where(flip, c, s), np.where(flip, s, c)
    sin = np.select([q == 0, q == 1, q == 2], [s, c, -s], -c)
    cos = np.select([q == 0, q == 1, q == 2], [c, -s, -c], s)
    return sin, cos


def _time_of_day(ts: pd.Series, which: int) -> np.ndarray:
    """``tod_sin`` (``which`` 0) or ``tod_cos`` (1) of each local timestamp."""
    return tod_sin_cos(second_of_week(ts) % SECONDS_PER_DAY)[which]


def compute_features(readings_df: pd.DataFrame, features_cfg: FeaturesConfig) -> tuple[np.ndarray, np.ndarray]:
    """Features of every row and whether the row is scored.

    Returns ``X`` float64 ``[n_rows, n_features]`` in the order of
    ``feature_names(features_cfg)`` (NaN on rows that are not scored) and ``valid``
    bool ``[n_rows]``.  See the module docstring for the formulas.
    """
    names = feature_names(features_cfg)
    n_win = int(features_cfg.window)
    ok = valid_readings(readings_df, features_cfg)
    n_rows = len(readings_df)
    idx = np.flatnonzero(ok)  # rows whose reading enters the ring buffer
    X = np.full((n_rows, len(names)), np.nan, dtype=np.float64)
    valid = np.zeros(n_rows, dtype=bool)
    if len(idx) < n_win:
        return X, valid
    scored = idx[n_win - 1 :]  # the buffer is full from the N-th valid reading on
    valid[scored] = True
    series = {
        "temp": to_tenths(readings_df["temperature"].to_numpy()[idx]),
        "hum": to_tenths(readings_df["humidity"].to_numpy()[idx]),
    }
    windows: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        if name in ("temp", "hum"):
            X[scored, j] = series[name][n_win - 1 :].astype(np.float64) / 10.0
        elif name == "run":
            qs = ["temp", "hum"] if features_cfg.use_humidity else ["temp"]
            eq = None
            for q in qs:
                if q not in windows:
                    windows[q] = np.lib.stride_tricks.sliding_window_view(series[q], n_win)
                e = windows[q][:, :-1] == windows[q][:, -1:]
                eq = e if eq is None else eq & e
            X[scored, j] = np.minimum(_run_length(eq), int(features_cfg.run_cap)).astype(np.float64)
        elif name == "weekend":
            X[scored, j] = _weekend(readings_df["timestamp"].iloc[scored])
        elif name in ("tod_sin", "tod_cos"):
            X[scored, j] = _time_of_day(readings_df["timestamp"].iloc[scored], 0 if name == "tod_sin" else 1)
        else:
            q, kind = name.split("_", 1)
            if q not in windows:
                windows[q] = np.lib.stride_tricks.sliding_window_view(series[q], n_win)
            X[scored, j] = _window_features(windows[q], kind, int(features_cfg.run_cap), int(features_cfg.jitter_steps))
    return X, valid


# -------------------------------------------------------------------- scaling
@dataclass
class Scaler:
    """Standardisation ``(x - mean) / scale``; fit on the valid train rows only.

    ``models/scaler.json`` carries, beside the statistics of the model's inputs, the
    one statistic of the history that a device rule reads: ``stuck_run``, the ``run``
    feature's stuck span (``tinyad.data.labeling.PseudoLabeler.device_stuck_run``, 0: no
    stuck rule), which the calibration, the evaluation and ``TINYAD_STUCK_RUN`` apply.
    """

    features: list[str] = field(default_factory=list)
    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None
    stuck_run: int = 0

    def fit(self, X: np.ndarray) -> "Scaler":
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 2:
            raise ValueError(f"Scaler.fit: expected at least 2 rows of a 2-D array, got shape {X.shape}")
        if self.features and X.shape[1] != len(self.features):
            raise ValueError(f"Scaler.fit: {X.shape[1]} columns for {len(self.features)} features {self.features}")
        if not np.isfinite(X).all():
            raise ValueError("Scaler.fit: X has NaN/inf; fit on the valid rows only")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("Scaler.transform: not fitted")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            raise ValueError(f"Scaler.transform: expected [n, {len(self.mean_)}] features, got shape {X.shape}")
        return (X - self.mean_) / self.scale_

    def to_json(self) -> dict[str, Any]:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("Scaler.to_json: not fitted")
        return {"features": list(self.features), "mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_],
                "stuck_run": int(self.stuck_run)}

    @classmethod
    def from_json(cls, obj: dict[str, Any], source: str = "scaler") -> "Scaler":
        for key in ("features", "mean", "scale"):
            if key not in obj:
                raise ValueError(f"{source}: missing key {key!r}; expected features, mean, scale")
        n = len(obj["features"])
        if len(obj["mean"]) != n or len(obj["scale"]) != n:
            raise ValueError(f"{source}: features, mean and scale must have the same length ({n})")
        scale = np.asarray(obj["scale"], dtype=np.float64)
        if not (scale > 0).all():
            raise ValueError(f"{source}: every scale must be > 0, got {obj['scale']}")
        stuck = obj.get("stuck_run", 0)
        if isinstance(stuck, bool) or not isinstance(stuck, int) or not 0 <= stuck <= 0xFFFF:
            raise ValueError(f"{source}: stuck_run must be a whole number of readings in 0..65535, got {stuck!r}")
        if stuck and "run" not in obj["features"]:
            raise ValueError(f"{source}: stuck_run is {stuck} but the features have no 'run': rerun the cluster stage")
        return cls(features=list(obj["features"]), mean_=np.asarray(obj["mean"], dtype=np.float64), scale_=scale,
                   stuck_run=stuck)

    @classmethod
    def load(cls, path: str | Path) -> "Scaler":
        with open(path) as fh:
            return cls.from_json(json.load(fh), source=str(path))

    def check_stuck_run(self, run_cap: int, source: str = "scaler") -> None:
        """The stuck span must be within the ``run`` feature's cap (``features.run_cap``): beyond it
        the evaluation and the calibration, which read the capped feature, would never see the rule
        the device (an uncapped count) applies."""
        if self.stuck_run > run_cap:
            raise ValueError(f"{source}: stuck_run {self.stuck_run} is beyond features.run_cap {run_cap} "
                             "(features.stuck_min / window_min changed since the cluster stage?): rerun the cluster stage")

    def check_features(self, names: list[str], source: str = "scaler") -> None:
        if list(names) != list(self.features):
            raise ValueError(f"{source}: fitted on features {self.features}, but features.names gives {list(names)}")


# --------------------------------------------------------------- int8 in / out
def quantize_input(X_scaled: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``clamp(round_half_away(x / scale) + zero_point, -128, 127)`` as int8."""
    if not scale > 0:
        raise ValueError(f"quantize_input: scale must be > 0, got {scale}")
    v = np.asarray(X_scaled, dtype=np.float64) / float(scale)
    q = round_half_away(v) + float(int(zero_point))
    return np.clip(q, -128, 127).astype(np.int8)


def _output_params(quant: dict[str, Any]) -> tuple[float, int]:
    out = quant.get("output", quant)
    try:
        return float(out["scale"]), int(out["zero_point"])
    except (KeyError, TypeError):
        raise ValueError("quant: expected {'output': {'scale': s, 'zero_point': z}}") from None


def dequantize_output(q_out: np.ndarray, quant: dict[str, Any]) -> np.ndarray:
    """The probability an int8 output code stands for: ``(q - zero_point) * scale``."""
    s, z = _output_params(quant)
    return (np.asarray(q_out, dtype=np.int64) - z).astype(np.float64) * s


def output_code_threshold(quant: dict[str, Any], threshold: float) -> int:
    """Smallest int8 code whose probability is strictly above ``threshold``.

    Returns 128 (no int8 code) when no code is above it: then nothing is anomalous.
    The device compares ``q_out >= code`` in integers.
    """
    codes = np.arange(-128, 128)
    above = dequantize_output(codes, quant) > float(threshold)
    return int(codes[above][0]) if above.any() else 128


def decide(q_out: np.ndarray, quant: dict[str, Any], threshold: float) -> np.ndarray:
    """int8 output code(s) -> anomalous (bool), i.e. ``q_out >= output_code_threshold``."""
    return np.asarray(q_out, dtype=np.int64) >= output_code_threshold(quant, threshold)


def dataset_inputs(dataset: pd.DataFrame, scaler: Scaler, split: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scaled model inputs of the valid rows of ``dataset`` (optionally one split).

    Returns ``(X_scaled float64 [m, f], rows int [m])`` where ``rows`` are the
    positions of those rows in ``dataset``.
    """
    for col in ("valid", "split", *scaler.features):
        if col not in dataset.columns:
            raise ValueError(f"dataset: missing column {col!r} (scaler features {scaler.features}); run the cluster stage")
    mask = dataset["valid"].to_numpy(dtype=bool).copy()
    if split is not None:
        mask &= dataset["split"].astype(str).to_numpy() == split
    rows = np.flatnonzero(mask)
    X = dataset[scaler.features].to_numpy(dtype=np.float64)[rows]
    return scaler.transform(X), rows


# ---------------------------------------------------------------------- split
def split_labels(n: int, cfg: SplitConfig) -> np.ndarray:
    """``train``/``val``/``test`` for ``n`` rows in time order (see module docstring)."""
    n_train = int(math.floor(n * cfg.train))
    n_trval = int(math.floor(n * (cfg.train + cfg.val)))
    out = np.empty(n, dtype=object)
    out[:n_train] = "train"
    out[n_train:n_trval] = "val"
    out[n_trval:] = "test"
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    from tinyad.config import load

    ap = argparse.ArgumentParser(description="Print the features of a readings parquet file.")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("readings")
    ap.add_argument("--rows", type=int, default=10)
    args = ap.parse_args(argv)
    cfg = load(args.params)
    df = pd.read_parquet(args.readings)
    X, valid = compute_features(df, cfg.features)
    out = pd.DataFrame(X, columns=feature_names(cfg.features))
    out.insert(0, "valid", valid)
    out.insert(0, "timestamp", df["timestamp"].to_numpy())
    print(out[valid].head(args.rows).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# K-means on fewer valid train rows a cluster than this is not a model of the room: a
# smaller log is refused with the number of readings it would need (a 130-row log with
# k = 8 trained, and flagged most of its rows, without a word)
MIN_TRAIN_ROWS_PER_CLUSTER = 10
def check_train_size(rows: int, train_rows: int, train_valid: int, k: int, window: int, train_frac: float,
                     period_s: int) -> None:
    """Raise ``ValueError`` (exit 2 in a stage) when the train split is too small for ``k`` and the window.

    ``rows``: readings in the log; ``train_rows``: in the train split; ``train_valid``:
    of those, valid with a full window.  The minimum is stated in readings of log:
    ``MIN_TRAIN_ROWS_PER_CLUSTER * k`` valid rows plus the ``window - 1`` readings that
    fill the window, divided by the train fraction (every reading valid; faults need more).
    """
    need = MIN_TRAIN_ROWS_PER_CLUSTER * int(k)
    if train_valid >= need:
        return
    import math

    rows_needed = math.ceil((need + int(window) - 1) / float(train_frac))
    hours = rows_needed * int(period_s) / 3600.0
    most_k = train_valid // MIN_TRAIN_ROWS_PER_CLUSTER
    lower = f"or lower cluster.k to at most {most_k}" if most_k >= 2 else "(no cluster.k >= 2 fits this log)"
    raise ValueError(
        f"readings: the train split has {train_valid} valid rows (of {train_rows} train rows of {rows}; a row is "
        f"valid once the {window}-reading feature window is full) for cluster.k={k}: K-means needs at least "
        f"{MIN_TRAIN_ROWS_PER_CLUSTER} a cluster ({need}); give a log of at least {rows_needed} readings "
        f"({hours:.1f} h at data.period_s={period_s}) {lower}"
    )
