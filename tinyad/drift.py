"""Sensor drift and noise, and a remedy that needs no retraining.

Two pure, seeded functions on a readings table (the interim columns of
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

* ``baseline_correct(t10, h10, valid, cfg...)``: the remedy, a slowly adapting
  baseline correction on the readings in integer tenths, applied before the
  features (``tinyad/features.py``) and mirrored bit for bit in C by
  ``firmware/lib/tinyad/tinyad_baseline.c``.

The remedy (exact integer arithmetic)
-------------------------------------
For each quantity q in {temp, hum} separately, with ``F = drift.baseline_frac_bits``
fractional bits and a time constant of ``2**K`` readings (``K =
drift.baseline_shift``; K = 11 is about 1.4 days at one reading a minute)::

    B   = ref10 << F                      initial state: the reference level
    for each VALID reading x (tenths; invalid readings are skipped, as the device
    skips them, and leave B unchanged):
        B     = B + floor((x << F) - B, 2**K)          floor division (C: see below)
        level = floor(B + 2**(F-1), 2**F)              the baseline, rounded, in tenths
        out   = x - (level - ref10)                    the corrected reading

``ref10`` is the long-run level the model was trained on: the mean of the valid
train-split readings in tenths, rounded half away from zero (``reference_levels``).
The baseline follows the sensor's level over days (an exponential moving average
of ``2**K`` readings), so a calibration drift or a humidity offset is removed once
the baseline has caught up, while an anomaly lasting minutes or hours barely moves
it.  The floor division leaves the baseline up to ``2**(K-F)`` tenths short of a
steady level, so F should exceed K (default F = 16, K = 11: under 1/32 tenth).
It cannot remove noise, and it lags a drift that keeps growing by about
``rate * 2**K`` readings.  B fits in 64 bits for any DHT22 reading (|B| < 2**35 with F = 24).  C's ``/``
truncates toward zero, so the C mirror uses an explicit floor division.

Run ``python -m tinyad.drift --help`` to print a drifted copy of a readings file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tinyad.features import round_half_away, to_tenths

__all__ = ["HUM_NOISE_PER_DEG", "KINDS", "apply_drift", "baseline_correct", "correct_readings", "reference_levels"]

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


def reference_levels(readings_df: pd.DataFrame) -> tuple[int, int]:
    """``(ref_temp10, ref_hum10)``: mean valid reading in tenths, rounded (0 if none)."""
    ok = readings_df["fault"].astype(str).to_numpy() == ""
    out = []
    for col in ("temperature", "humidity"):
        v = readings_df[col].to_numpy(dtype=np.float64)
        m = ok & np.isfinite(v)
        out.append(int(round_half_away(np.array([to_tenths(v[m]).mean()]))[0]) if m.any() else 0)
    return out[0], out[1]


def _floor_div(a: int, shift: int) -> int:
    return a >> shift  # Python's >> on int is floor division by 2**shift


def baseline_correct(x10: np.ndarray, valid: np.ndarray, ref10: int, shift: int, frac_bits: int) -> np.ndarray:
    """The corrected readings (int64 tenths); invalid rows are returned unchanged."""
    if not 0 <= shift <= 30 or not 1 <= frac_bits <= 24:
        raise ValueError(f"baseline_correct: expected 0 <= shift <= 30 and 1 <= frac_bits <= 24, got {shift}, {frac_bits}")
    x = np.asarray(x10, dtype=np.int64)
    valid = np.asarray(valid, dtype=bool)
    out = x.copy()
    b = int(ref10) << frac_bits
    half = 1 << (frac_bits - 1)
    for i in np.flatnonzero(valid).tolist():
        xi = int(x[i])
        b += _floor_div((xi << frac_bits) - b, shift)
        level = (b + half) >> frac_bits
        out[i] = xi - (level - int(ref10))
    return out


def correct_readings(readings_df: pd.DataFrame, ref: tuple[int, int], shift: int, frac_bits: int,
                     use_humidity: bool = True) -> pd.DataFrame:
    """A copy with the baseline correction applied to temperature (and humidity).

    A reading enters the baseline when its fault is empty and its temperature (and,
    with ``use_humidity``, its humidity) is a number: the readings the device pushes.
    """
    df = readings_df.copy()
    temp = df["temperature"].to_numpy(dtype=np.float64)
    hum = df["humidity"].to_numpy(dtype=np.float64)
    ok = (df["fault"].astype(str).to_numpy() == "") & np.isfinite(temp)
    if use_humidity:
        ok &= np.isfinite(hum)
    t10 = baseline_correct(to_tenths(temp), ok, ref[0], shift, frac_bits)
    df["temperature"] = np.where(ok, t10 / 10.0, temp)
    if use_humidity:
        h10 = baseline_correct(to_tenths(hum), ok, ref[1], shift, frac_bits)
        df["humidity"] = np.where(ok, h10 / 10.0, hum)
    return df


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
