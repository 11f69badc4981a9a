"""The drift remedy of the device: a baseline that follows the sensor's level, in integer tenths.

The Python twin of ``firmware/lib/tinyad/tinyad_baseline.c``, operation for operation
(``tests/test_drift.py`` compares them).  The drift experiment that measures it is
``tinyad/evaluate/drift.py``; the shift, fraction bits and reference levels reach the
C through ``tinyad_config.h`` (``tinyad/codegen/device_config.py``).

``baseline_correct(x10, valid, ref10, shift, frac_bits)`` is a slowly adapting
baseline correction on the readings in integer tenths, applied before the
features (``tinyad/device/features.py``); ``correct_readings`` applies it to a readings
table, ``reference_levels`` gives the levels it corrects towards.

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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tinyad.device.features import round_half_away, to_tenths

__all__ = ["baseline_correct", "correct_readings", "reference_levels"]


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
