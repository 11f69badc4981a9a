"""Is this a room?  Plausibility checks of a real log, after it has been read.

A log can be read without an error and still be wrong as a whole: a deg F log read
with ``data.csv.temperature_unit: C`` is a "75 deg C room", a humidity column that
is all zeros is not humidity, a device clock that was never set starts in 1970.
``check_log`` looks at the readings of every file together (``tinyad.data.csvlog.read_logs``
calls it) and

* returns **warnings** for what a room could produce but rarely does, each naming the
  likely mistake and the key to set (``ingest`` prints them and keeps them in
  ``metrics/ingest.json``, ``warnings``);
* raises ``IngestError`` (exit status 2) for what no room can produce.

The bands are the constants below, and only here:

===========================  ============================  =======================
check                        band                          outside it
===========================  ============================  =======================
mean temperature             ``ROOM_TEMP_MEAN_C``          warning (deg F? deg C?)
mean humidity                ``ROOM_HUM_MEAN``             warning
humidity exactly 0 %RH       ``HUM_ZERO_MAX_SHARE`` of     error (no air is that dry
                             the valid readings, at least  for that long)
                             ``HUM_ZERO_MIN_READINGS``
timestamps                   ``CLOCK_EARLIEST`` .. now +   error (a clock never set,
                             ``CLOCK_AHEAD``               or set to the future)
UTC timestamps (Unix, or     with ``data.csv.timezone``    warning (the time of day
+00:00 / Z offsets)                                        would be UTC's)
median step between          within ``PERIOD_FACTOR`` of   warning (data.period_s:
timestamps                   ``data.period_s``, once       every window in minutes
                             there are                     is converted with it)
                             ``PERIOD_MIN_STEPS``
hardly a reading repeats     ``ON_CHANGE_MAX_REPEATS``     warning (an on-change log:
the one before it, and       of ``ON_CHANGE_MIN_PAIRS`` or set data.csv.hold_min)
periods without one          more, ``ON_CHANGE_GAP_SHARE``
                             of the steps longer than
                             ``PERIOD_FACTOR`` periods
a hold (data.csv.hold_min)   more repeats than             warning (it would fill an
on a periodic logger         ``ON_CHANGE_MAX_REPEATS``,    outage with the last
                             fewer long steps than         reading: a few periods)
                             ``ON_CHANGE_GAP_SHARE``, a
                             hold over
                             ``PERIODIC_HOLD_PERIODS``
the temperature's step       finer than ``COARSE_STEP_C``  warning (a coarse sensor:
(``value_step``, or                                        one step passes for an
``data.csv.resolution``)                                   event)
===========================  ============================  =======================

Whether a log is long enough for ``cluster.k`` and the feature window is checked by
``cluster`` (``tinyad.device.features.check_train_size``).

Single readings outside the sensor's physical range are not checked here: they are
``impossible`` sensor faults (``tinyad.data.csvlog.TEMP_RANGE_C``, ``HUM_RANGE``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tinyad.config import CsvConfig
from tinyad.evaluate.metrics import median_period_s

__all__ = ["ROOM_TEMP_MEAN_C", "ROOM_HUM_MEAN", "HUM_ZERO_MAX_SHARE", "HUM_ZERO_MIN_READINGS", "CLOCK_EARLIEST", "CLOCK_AHEAD",
           "PERIOD_FACTOR", "PERIOD_MIN_STEPS", "ON_CHANGE_MIN_PAIRS", "ON_CHANGE_MAX_REPEATS", "ON_CHANGE_GAP_SHARE",
           "ON_CHANGE_PERIOD_PCT", "PERIODIC_HOLD_PERIODS", "COARSE_STEP_C", "VALUE_STEP_MIN_WEIGHT", "change_figures",
           "check_log", "judged_on_change", "on_change", "periodic", "value_step"]

# the mean indoor temperature of any heated, cooled or unconditioned room people keep
# things in (the seed's room: 24 deg C; a cold store or a sauna is outside it: a warning)
ROOM_TEMP_MEAN_C = (5.0, 40.0)
# the mean relative humidity of a room (the UCI office in winter: 17-39 %RH)
ROOM_HUM_MEAN = (5.0, 95.0)
# at most this share of the valid humidity readings may be exactly 0 %RH (once there
# are HUM_ZERO_MIN_READINGS of them: a lone 0 is a reading, a log of zeros is not a room)
HUM_ZERO_MAX_SHARE = 0.5
HUM_ZERO_MIN_READINGS = 10
# no log of this device is older (a clock never set counts from 1970-01-01)
CLOCK_EARLIEST = pd.Timestamp("2000-01-01")
# nor later than the machine's clock by more than this (time zones and clock skew)
CLOCK_AHEAD = pd.Timedelta(days=1)
# the log's median step between readings is within this factor of data.period_s (a
# sensor read every 2 minutes on a 1-minute grid leaves half the periods missing, and
# a 60-minute window would hold 2 hours of readings); checked once there are this many steps
PERIOD_FACTOR = 1.5
PERIOD_MIN_STEPS = 10
# an on-change log (a reading written only when the value changes: Home Assistant, Zigbee,
# BLE loggers) hardly ever repeats the reading on the line before it (at data.csv.resolution)
# and leaves the periods of a steady room without a line.  A periodic logger repeats a
# steady room's reading (0.6 % of the pairs of rooms.md's 0.01-step sensor, 2-6 % at 0.1),
# and a log with dropouts has repeats between them: the warning needs both signs, over at
# least ON_CHANGE_MIN_PAIRS pairs of consecutive lines: at most ON_CHANGE_MAX_REPEATS of
# them repeat, and at least ON_CHANGE_GAP_SHARE of the steps between valid readings are
# longer than PERIOD_FACTOR periods.  Such a log's own period shows in its shortest steps
# (the ON_CHANGE_PERIOD_PCT-th percentile), not the median
ON_CHANGE_MIN_PAIRS = 200
ON_CHANGE_MAX_REPEATS = 0.002
ON_CHANGE_GAP_SHARE = 0.01
ON_CHANGE_PERIOD_PCT = 5
# a hold longer than this many periods on a log that repeats like a periodic logger is
# warned about: it would fill an outage of the sensor with its last reading
PERIODIC_HOLD_PERIODS = 5
# a temperature read in steps this coarse or coarser (a DHT11's whole degrees, a
# deg F log's 0.56 deg C) is warned about: a room's normal swing is a few such steps,
# and one step up passes for an event.  The defaults were chosen at 0.1 deg C and
# finer; docs/detection.md ("A coarse sensor") gives what 0.5 and 1 deg C steps cost
COARSE_STEP_C = 0.5
# value_step measures a step once this many readings sit beside their neighbouring value
VALUE_STEP_MIN_WEIGHT = 10


def value_step(x: np.ndarray) -> float | None:
    """The step a sensor reads in: the gap between neighbouring distinct values of the
    finite ``x``, its median weighted by the readings that sit on both sides of each gap
    (the fewer of the two values' counts), so a few outliers, each read once, do not
    outvote the sensor's own steps: 1.0 for whole degrees, 0.1 for a DHT22, a fraction
    of 0.1 for the UCI log's minute means.  None where fewer than
    ``VALUE_STEP_MIN_WEIGHT`` readings weigh in (a log of one or two values)."""
    from tinyad.data.csvlog import DECIMALS

    a = np.asarray(x, dtype=np.float64)
    v, n = np.unique(np.round(a[np.isfinite(a)], DECIMALS), return_counts=True)
    if len(v) < 2:
        return None
    gaps, w = np.diff(v), np.minimum(n[:-1], n[1:])
    if w.sum() < VALUE_STEP_MIN_WEIGHT:
        return None
    order = np.argsort(gaps, kind="stable")
    cum = np.cumsum(w[order])
    return float(gaps[order][np.searchsorted(cum, cum[-1] / 2.0)])


def change_figures(raw: pd.DataFrame, cfg: CsvConfig, period_s: int) -> dict | None:
    """How ``raw`` (``read_log``'s rows) changes from line to line: ``{"pairs", "repeats",
    "gap_share", "step_s"}``, the pairs of consecutive valid lines compared (a failed read
    between two is no pair) and how many of them repeat the line before at
    ``data.csv.resolution``, the share of the steps between valid readings longer than
    ``PERIOD_FACTOR`` periods, and the log's own period (its shortest steps,
    ``ON_CHANGE_PERIOD_PCT``).  A long log's (``data.csv.entity_col``) are those of each
    entity's own lines.  ``None`` with too few pairs to tell (``ON_CHANGE_MIN_PAIRS``; a long
    log: ``PERIOD_MIN_STEPS`` steps)."""
    from tinyad.data.csvlog import quantize

    lines = raw.sort_values("timestamp", kind="stable")
    if "entity" in lines:  # a long log: each entity's own lines
        series = [(lines[(lines["entity"] == e).to_numpy()], [col])
                  for e, col in ((cfg.temperature_col, "temperature"), (cfg.humidity_col, "humidity")) if e]
        least = PERIOD_MIN_STEPS + 1
    else:
        series = [(lines, ["temperature", "humidity"] if cfg.humidity_col else ["temperature"])]
        least = ON_CHANGE_MIN_PAIRS
    pairs = repeats = 0
    steps = []
    for own, cols in series:
        valid = (own["fault"] == "").to_numpy()
        pair = valid[1:] & valid[:-1]
        same = pair.copy()
        for col in cols:
            x = quantize(own[col].to_numpy(dtype=np.float64), cfg.resolution)
            same &= x[1:] == x[:-1]
        pairs, repeats = pairs + int(pair.sum()), repeats + int(same.sum())
        steps.append(np.diff(pd.DatetimeIndex(own["timestamp"][valid]).asi8) / 1e9)
    step = np.concatenate(steps)
    if pairs < least or not (step > 0).any():
        return None
    return {"pairs": pairs, "repeats": repeats, "gap_share": float(np.mean(step > PERIOD_FACTOR * period_s)),
            "step_s": float(np.percentile(step[step > 0], ON_CHANGE_PERIOD_PCT))}


def on_change(raw: pd.DataFrame, cfg: CsvConfig, period_s: int) -> dict | None:
    """Does ``raw`` look like an on-change log?  Its ``change_figures`` if so, else ``None``
    (``judged_on_change``)."""
    return judged_on_change(change_figures(raw, cfg, period_s), cfg)


def judged_on_change(figures: dict | None, cfg: CsvConfig) -> dict | None:
    """``figures`` (``change_figures``) if they are an on-change log's, else ``None``: at most
    ``ON_CHANGE_MAX_REPEATS`` of its pairs repeat and at least ``ON_CHANGE_GAP_SHARE`` of its
    steps are long.  A long log (``data.csv.entity_col``, which needs ``hold_min``) is read as
    one whatever its figures: its period is in each entity's shortest steps."""
    if figures is None or cfg.entity_col:
        return figures
    if _repeats(figures) or figures["gap_share"] < ON_CHANGE_GAP_SHARE:
        return None
    return figures


def periodic(figures: dict | None) -> bool:
    """The ``change_figures`` of a logger that writes every period: over at least
    ``ON_CHANGE_MIN_PAIRS`` pairs, more of them repeat than an on-change log's can
    (``ON_CHANGE_MAX_REPEATS``), and fewer than ``ON_CHANGE_GAP_SHARE`` of its steps are long
    (an on-change log of a finer sensor than ``data.csv.resolution`` repeats once rounded,
    but leaves its steady periods without a line)."""
    return (figures is not None and figures["pairs"] >= ON_CHANGE_MIN_PAIRS and _repeats(figures)
            and figures["gap_share"] < ON_CHANGE_GAP_SHARE)


def _repeats(figures: dict) -> bool:
    """More of the pairs repeat than an on-change log's can."""
    return figures["repeats"] > ON_CHANGE_MAX_REPEATS * figures["pairs"]


def _f_to_c(x: float) -> float:
    return (x - 32.0) * 5.0 / 9.0


def _c_to_f(x: float) -> float:
    return x * 9.0 / 5.0 + 32.0


def check_log(raw: pd.DataFrame, cfg: CsvConfig, now: pd.Timestamp | None = None,
              period_s: int | None = None, utc_files: list[str] | None = None) -> list[str]:
    """Warnings for ``raw`` (the rows of ``read_log``, every file); raises ``IngestError``.

    ``now`` (default: the machine's clock, UTC) bounds the timestamps from above;
    ``period_s`` (``data.period_s``; None: not checked) is compared with the log's step;
    ``utc_files``: the files whose times are UTC's wall clock without ``data.csv.timezone``
    (Unix time, or offsets all +00:00; ``read_log``).
    """
    from tinyad.data.csvlog import IngestError

    warnings: list[str] = []
    files = ", ".join(sorted(set(raw["file"].astype(str)))) if len(raw) else "the log"
    ts = pd.DatetimeIndex(raw["timestamp"])
    latest = (now if now is not None else pd.Timestamp.now("UTC").tz_localize(None)) + CLOCK_AHEAD
    for bad, what in ((ts < CLOCK_EARLIEST, f"before {CLOCK_EARLIEST.date()}"),
                      (ts > latest, f"after {latest.floor('s')}, in the future")):
        if bad.any():
            i = int(np.argmax(bad))
            raise IngestError(
                f"{raw['file'].iloc[i]}: line {raw['line'].iloc[i]}, column {cfg.timestamp_label!r}: the timestamp "
                f"{ts[i]} is {what} ({int(bad.sum())} rows): the device's clock was not set; correct the "
                "timestamps of the log (its time of day is a model feature)"
            )
    if utc_files:
        warnings.append(
            f"{', '.join(utc_files)}: the timestamps are UTC (Unix time, or a +00:00 / Z offset) and "
            "data.csv.timezone is not set, so the time of day, a model feature, is UTC's, not the room's (the "
            "device keeps local time); set data.csv.timezone to the room's IANA zone (e.g. Europe/Berlin, or "
            "UTC if the room keeps UTC)"
        )
    figures = change_figures(raw, cfg, period_s) if period_s else None
    sparse = judged_on_change(figures, cfg)
    if periodic(figures) and cfg.hold_min * 60.0 > PERIODIC_HOLD_PERIODS * period_s:
        warnings.append(
            f"{files}: {figures['repeats']} of {figures['pairs']} consecutive readings repeat the one before it: "
            f"a logger that writes every period, not on change? data.csv.hold_min {cfg.hold_min:g} repeats the "
            f"last reading over up to {cfg.hold_min:g} minutes of an outage; set it to a few periods (e.g. "
            f"{2 * period_s / 60.0:g}){'' if cfg.entity_col else ' or 0'}"
        )
    if sparse and not cfg.hold_min:
        warnings.append(
            f"{files}: {sparse['repeats']} of {sparse['pairs']} consecutive readings repeat the one before it, and "
            f"{sparse['gap_share']:.0%} of the steps between them are longer than {PERIOD_FACTOR:g} periods: an "
            "on-change log (a value written only when it changes, e.g. a Home Assistant export)? Its missing "
            "periods are a steady room, not a silent sensor: set data.csv.hold_min to how long a value may stand "
            f"unreported (e.g. {CsvConfig.SUGGESTED_HOLD_MIN:g}), so that they repeat the last reading as the device would read it"
        )
    step, how = None, "the median step between timestamps"
    if sparse:
        step, how = sparse["step_s"], "the shortest steps of an on-change log"
    elif period_s and ts.nunique() > PERIOD_MIN_STEPS and not cfg.entity_col:
        step = median_period_s(ts)
    if step is not None and not period_s / PERIOD_FACTOR <= step <= period_s * PERIOD_FACTOR:
        what = (f"about {1 - period_s / step:.0%} of the grid's periods will be missing" if step > period_s
                else f"about {1 - step / period_s:.0%} of the readings will be merged into a neighbour's period")
        warnings.append(
            f"{files}: the readings come every {step:g} s ({how}), but "
            f"data.period_s is {period_s}: {what}, and every window in minutes (features.window_min, "
            f"stuck_min, jitter_min) is converted with it; set data.period_s: {int(round(step))}"
        )
    valid = (raw["fault"] == "").to_numpy()
    temp = raw["temperature"].to_numpy(dtype=np.float64)[valid]
    if len(temp):
        mean = float(temp.mean())
        lo, hi = ROOM_TEMP_MEAN_C
        if not lo <= mean <= hi:
            unit = cfg.temperature_unit
            if unit == "C" and lo <= _f_to_c(mean) <= hi:
                why = (f"as deg F it would be {_f_to_c(mean):.1f} deg C: a deg F log? "
                       "set data.csv.temperature_unit: F")
            elif unit == "F" and lo <= _c_to_f(mean) <= hi:
                why = (f"read as deg C it would be {_c_to_f(mean):.1f} deg C: a deg C log? "
                       "set data.csv.temperature_unit: C")
            else:
                why = f"is data.csv.temperature_col ({cfg.temperature_col!r}) the room's temperature?"
            warnings.append(
                f"{files}: the mean temperature is {mean:.1f} deg C (read as deg {unit}), outside "
                f"{lo:g}-{hi:g} deg C where rooms are; {why}"
            )
    temp_step = value_step(temp)
    what = None
    if temp_step is not None and temp_step >= max(COARSE_STEP_C, cfg.resolution):
        what = f"come in steps of {temp_step:g} deg C (the usual gap between neighbouring values)"
    elif cfg.resolution >= COARSE_STEP_C:
        what = f"are rounded to data.csv.resolution {cfg.resolution:g}"
    if what:
        warnings.append(
            f"{files}: the temperatures {what}, a coarse sensor (a DHT11 reads whole degrees): a room's "
            f"normal swing is a few such steps and one step passes for an event, so expect more false "
            f"alarms and missed events than on a 0.1 deg C sensor (DHT22, SHT3x), which the defaults "
            f"were chosen on (docs/detection.md, 'A coarse sensor')"
        )
    if cfg.humidity_col:
        hum = raw["humidity"].to_numpy(dtype=np.float64)[valid]
        hum = hum[np.isfinite(hum)]
        if len(hum):
            zero = float(np.mean(hum == 0.0))
            if zero > HUM_ZERO_MAX_SHARE and int(np.sum(hum == 0.0)) >= HUM_ZERO_MIN_READINGS:
                raise IngestError(
                    f"{files}: column {cfg.humidity_col!r}: {zero:.0%} of the valid humidity readings are exactly "
                    f"0 %RH (no room's air is that dry): a sensor stuck at 0 or not a humidity column; check "
                    "data.csv.humidity_col ('' reads a temperature-only log)"
                )
            mean = float(hum.mean())
            lo, hi = ROOM_HUM_MEAN
            if not lo <= mean <= hi:
                warnings.append(
                    f"{files}: the mean humidity is {mean:.1f} %RH, outside {lo:g}-{hi:g} %RH where rooms are; "
                    f"is data.csv.humidity_col ({cfg.humidity_col!r}) the relative humidity in %?"
                )
    return warnings

