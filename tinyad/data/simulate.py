"""A simulated room read by a DHT22, and labelled anomalies injected into any series.

``simulate(data_cfg) -> (table, events)`` builds the default data set: one reading a
``data.period_s`` for ``data.sim.days`` days, as the tidy table of
``docs/architecture.md``, plus the list of injected ``Event``s.
``inject_anomalies(...)`` puts the same kinds of events into a real log
(``data.source: csv+inject``); ``tinyad.data.readings.build_readings`` (the ingest stage) calls both.  Other rooms than
the default one are presets of the ``data`` group (``conf/data/<room>.yaml``, listed
in ``docs/rooms.md``): ``python -m tinyad.params data=office``.

The normal room (``data.sim``; defaults in ``conf/data/sim.yaml``)
-----------------------------------------------------------------
True air temperature, deg C::

    base_temp_c + day_amplitude_c * cos(2 pi (hour - peak_hour) / 24)   day/night cycle
                + drift                                                 day-to-day drift
                + hvac                                                  thermostat cycling
                - setback_c * (1 - heating)                             occupancy schedule

* day/night: a smooth cycle, warmest at ``peak_hour`` (15:00), coolest 12 h later;
  its daily mean is ``base_temp_c``.  With the defaults (1.5 deg C) the room is
  22.5 deg C at 03:00 and 25.5 deg C at 15:00; the fastest change is
  ``2 pi A / 24`` = 0.39 deg C/h.
* drift: a random offset for each day (normal, sd ``drift_c`` = 0.15 deg C),
  interpolated linearly between middays.
* hvac: the thermostat's on/off cycle, a sawtooth of peak-to-peak ``hvac_band_c``
  (0.3 deg C): heating raises the room during 30-50 % of a cycle, then it cools back;
  each cycle lasts a random ``hvac_period_min`` (15-30) minutes.
* schedule (off by default: ``setback_c`` 0): the room is in use inside the hour
  windows ``weekday_hours`` (Monday to Friday) and ``weekend_hours``; outside them
  the heating sets back by ``setback_c``.  ``heating`` (0..1) climbs linearly back to
  comfort over ``warmup_min`` once a window opens (the heating at full power) and
  decays exponentially with the building's time constant ``cooldown_min`` when it
  closes, so ``base_temp_c`` is the comfort (occupied) temperature.

Relative humidity follows from the same air: a vapour pressure that gives
``base_humidity`` at ``base_temp_c`` (with a slow day-to-day drift of 5 %), divided by
the saturation pressure at the true temperature (Magnus formula).  Warm air therefore
reads drier: about -2.5 %RH per deg C, so the room swings between about 44 %RH at
night and 36 %RH in the afternoon.  Two optional terms (0 by default): occupants add
``occupied_vapour`` (a share) to the vapour while the room is in use (lag 30 min), and
``hum_follow`` lets the vapour follow the saturation pressure by that power (plants
transpiring as a greenhouse warms: 0 is a closed room's constant vapour, 1 constant
relative humidity).  ``humidity: false`` is a temperature-only sensor: the humidity
column is NaN, without a fault.

The sensor adds noise (``temp_noise_c`` = 0.1 deg C, ``hum_noise`` = 0.3 %RH, one
standard deviation) and rounds to ``resolution`` (0.1), so consecutive normal
readings jitter by a tenth or two.  A share ``drop_rate`` of readings is lost (fault
``missing``) and a share ``fault_rate`` fails (raw NaN, -999 or an impossible value,
one third each, flagged by ``tinyad.data.csvlog.flag_faults`` and set to NaN).  Drops and
faults never fall inside an anomaly event, so each event is fully visible; their
rows keep label 0 (nothing happened to the room).

Anomalies (``data.sim.anomalies`` / ``data.inject.anomalies``)
--------------------------------------------------------------
Each kind has an exact count, ``round(per_day * rate_scale * days)`` (``rate_scale``, 1 by
default, makes the same room's events rarer or more frequent, every kind alike); events are placed at random
(seeded), never overlapping, at least ``min_gap`` minutes apart, only where the
background is valid.  Deltas are drawn uniformly once an event.  Every duration, gap
and ramp is in MINUTES, turned into readings with ``data.period_s``
(``minutes_to_readings``: rounded, at least one reading, a gap or ramp may be none),
so a room describes the same events at one reading a minute or an hour; at the
default period (60 s) minutes and readings coincide.  Each kind's k-th event starts
in the k-th of ``count`` equal segments of the series when it can, so every
chronological split sees every kind.  Every row of an event's span is labelled
(label 1, its type, its id); ids count up in time order.  Each kind has one type
(``TYPE_OF``):

* ``point`` (type ``point``): a spike of ``temp_delta`` (+5..+11 deg C, i.e. about
  30-35 deg C) for 1-3 minutes; humidity moves by ``hum_delta``.
* ``dip`` (type ``point``): a spike down, ``temp_delta`` -11..-5 deg C (a corrupted
  frame, a draught on the probe) for 1-3 minutes.  Off in the default room.
* ``humidity`` (type ``point``): humidity alone jumps by ``hum_delta`` (+10..+25 %RH:
  steam, a wet probe) for 1-5 minutes; the temperature is untouched (its
  ``temp_delta`` must be [0, 0]).  Needs a humidity column.  Off in the default room.
* ``contextual`` (type ``contextual``): inside the night window ``hours`` (23:00 to
  05:00) the room reads a *day-time* value: the log's day level (the warmest
  hour-of-day median of the background, 25.5 deg C in the default room) plus
  ``temp_delta`` (-0.3..+0.5), but at least ``min_lift`` (1.5 deg C) above the
  background at onset (the median of the 10 minutes before; a real log may have a
  warm night), for 45-120 minutes, ramping in and out over ``ramp`` minutes.  Such
  values are ordinary at 15:00, and 2-3 deg C above anything normal between 23:00
  and 05:00 in the default room.  Humidity follows physically (the warmer air reads
  drier).
* ``rise`` (type ``collective``): a rise of ``temp_delta`` (2.5-3.5 deg C) over
  ``duration`` (90-120 minutes: 1.25-2.3 deg C/h), starting from the normal level,
  fastest at first and levelling off (a heat source), followed by a linear fall back
  over ``recovery`` (0.25) of that time.  Every single reading stays plausible; the
  change over 30 min (0.5-1.2 deg C) is what gives it away.  Humidity follows
  physically.
* ``stuck`` (type ``collective``): the sensor repeats its last reading, temperature
  and humidity, exactly, for ``duration`` (120-240 minutes).  Normal readings always
  jitter, so a window of identical values is the tell.
* ``noise`` (type ``collective``): a failing sensor, for ``duration`` (120-360
  minutes) until it is replaced: zero-mean Gaussian noise is added whose standard
  deviation grows linearly from nearly 0 to ``std_c`` (0.8-1.5 deg C, drawn once an
  event; ``Event.temp_delta``) and ``hum_factor`` times that in %RH (4x).  Off in the
  default room.

A kind with ``per_day`` 0 draws no random number, so the default room (where
``dip``, ``humidity`` and ``noise`` are off) is byte for byte the table it was before
those kinds existed.

Run ``python -m stages.ingest`` to write the data set and its plot; tests:
``tests/test_simulate.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from tinyad.config import AnomaliesConfig, DataConfig, SimConfig, minutes_to_readings
from tinyad.data.csvlog import IngestError, flag_faults, quantize, tidy_table

__all__ = [
    "Event",
    "minutes_to_readings",
    "occupancy",
    "SUBKINDS",
    "TYPE_OF",
    "saturation_vapour_pressure",
    "simulate_background",
    "day_level",
    "inject_anomalies",
    "simulate",
    "events_frame",
]

# sub-kinds in the order they are placed (the most constrained first); a kind with
# per_day 0 draws no random number, so adding kinds leaves older configs' data as it was
SUBKINDS = ("contextual", "stuck", "noise", "rise", "point", "dip", "humidity")
TYPE_OF = {
    "point": "point",
    "dip": "point",
    "humidity": "point",
    "contextual": "contextual",
    "rise": "collective",
    "stuck": "collective",
    "noise": "collective",
}
# shape of a rise: delta * (1 - exp(-c u)) / (1 - exp(-c)), u = 0..1 over the rise, i.e.
# a room warmed by a heat source; c = 1.5 starts at 1.9x the mean rate, ends at 0.43x
RISE_CURVATURE = 1.5
# minutes over which occupants' moisture builds up and airs out (a first-order lag)
OCCUPIED_VAPOUR_LAG_MIN = 30.0
# minutes of background before a contextual event that set its onset level
ONSET_MIN = 10.0


@dataclass(frozen=True)
class Event:
    """One injected anomaly: rows ``start`` .. ``stop - 1`` of the table."""

    event_id: int
    kind: str  # one of SUBKINDS
    anomaly_type: str  # point, contextual, collective
    start: int
    stop: int
    temp_delta: float  # noise: the std reached at the end (deg C)
    hum_delta: float  # noise: the std reached at the end (%RH)

    @property
    def length(self) -> int:
        return self.stop - self.start


def saturation_vapour_pressure(t_c: np.ndarray) -> np.ndarray:
    """Magnus formula over water, hPa (WMO constants 6.112, 17.62, 243.12)."""
    t_c = np.asarray(t_c, dtype=np.float64)
    return 6.112 * np.exp(17.62 * t_c / (243.12 + t_c))


def _rh_at(rh: np.ndarray, t_from: np.ndarray, t_to: np.ndarray) -> np.ndarray:
    """Relative humidity of the same air moved from ``t_from`` to ``t_to``."""
    return rh * saturation_vapour_pressure(t_from) / saturation_vapour_pressure(t_to)


def _daily_walk(rng: np.random.Generator, t_days: np.ndarray, sd: float) -> np.ndarray:
    """Independent N(0, sd) values at each midday, interpolated linearly."""
    n_knots = int(np.ceil(t_days[-1])) + 2 if len(t_days) else 2
    knots = rng.normal(0.0, sd, n_knots)
    return np.interp(t_days, np.arange(n_knots) - 0.5, knots)


def _hvac(rng: np.random.Generator, t_s: np.ndarray, band: float, period_min: list[float]) -> np.ndarray:
    """Thermostat sawtooth: rise by ``band`` while heating, fall back while off."""
    total = float(t_s[-1]) + 1.0 if len(t_s) else 1.0
    mean_len = 60.0 * (period_min[0] + period_min[1]) / 2.0
    n_cycles = int(total / (60.0 * period_min[0])) + 3
    lengths = 60.0 * rng.uniform(period_min[0], period_min[1], n_cycles)
    on_frac = rng.uniform(0.3, 0.5, n_cycles)
    edges = np.concatenate([[0.0], np.cumsum(lengths)]) - rng.uniform(0.0, mean_len)
    idx = np.searchsorted(edges, t_s, side="right") - 1
    phase = (t_s - edges[idx]) / lengths[idx]
    on = on_frac[idx]
    return np.where(
        phase < on,
        -band / 2.0 + band * phase / on,
        band / 2.0 - band * (phase - on) / (1.0 - on),
    )


def occupancy(timestamps: pd.DatetimeIndex, sim: SimConfig) -> np.ndarray:
    """True where the room is in use: inside ``weekday_hours`` (Mon-Fri) or ``weekend_hours``."""
    ts = pd.DatetimeIndex(timestamps)
    hour = ((ts - ts.normalize()).total_seconds() / 3600.0).to_numpy()
    weekday = np.asarray(ts.day_of_week) < 5
    occ = np.zeros(len(ts), dtype=bool)
    for days, windows in ((weekday, sim.weekday_hours), (~weekday, sim.weekend_hours)):
        for h0, h1 in windows:
            occ |= days & (hour >= h0) & (hour < h1)
    return occ


def _heating(target: np.ndarray, period_s: int, warmup_min: float, cooldown_min: float) -> np.ndarray:
    """Share of the comfort temperature reached, 0..1: a linear warm-up while ``target``
    (the heating at full power), an exponential cool-down otherwise (the building's
    time constant).  Exact for any sampling period."""
    up = period_s / (60.0 * warmup_min)
    keep = float(np.exp(-period_s / (60.0 * cooldown_min)))
    x = np.empty(len(target))
    v = 1.0 if len(target) and target[0] else 0.0
    for i, on in enumerate(target):
        v = min(1.0, v + up) if on else v * keep
        x[i] = v
    return x


def _lag(target: np.ndarray, period_s: int, tau_min: float) -> np.ndarray:
    """First-order lag (time constant ``tau_min``) of a 0/1 series, starting at its first value."""
    a = 1.0 - float(np.exp(-period_s / (60.0 * tau_min)))
    x = np.empty(len(target))
    v = float(target[0]) if len(target) else 0.0
    for i, on in enumerate(target):
        v += a * (float(on) - v)
        x[i] = v
    return x


def simulate_background(sim: SimConfig, period_s: int, rng: np.random.Generator):
    """The normal room as the sensor reads it: (timestamps, temperature, humidity).

    Noise and rounding to ``sim.resolution`` included; no drops, faults or anomalies
    yet.  Humidity is computed even for a temperature-only sensor (``simulate`` then
    blanks it), so both read the same temperatures.
    """
    n = int(round(sim.days * 86400.0 / period_s))
    if n < 1:
        raise IngestError(f"data.sim.days: {sim.days} days hold no reading of {period_s} s")
    start = pd.Timestamp(sim.start)
    t_s = np.arange(n, dtype=np.float64) * period_s
    ts = pd.date_range(start, periods=n, freq=pd.Timedelta(seconds=period_s)).as_unit("ns")
    sod = (ts - ts.normalize()).total_seconds().to_numpy()
    hour = sod / 3600.0
    t_days = (t_s + sod[0]) / 86400.0
    r_drift, r_hum, r_hvac, r_tn, r_hn = rng.spawn(5)
    diurnal = sim.day_amplitude_c * np.cos(2.0 * np.pi * (hour - sim.peak_hour) / 24.0)
    drift = _daily_walk(r_drift, t_days, sim.drift_c)
    hvac = _hvac(r_hvac, t_s, sim.hvac_band_c, list(sim.hvac_period_min))
    t_true = sim.base_temp_c + diurnal + drift + hvac
    scheduled = sim.setback_c > 0 or sim.occupied_vapour > 0
    target = occupancy(ts, sim) if scheduled else None
    if sim.setback_c > 0:
        t_true = t_true - sim.setback_c * (1.0 - _heating(target, period_s, sim.warmup_min, sim.cooldown_min))
    vapour = sim.base_humidity / 100.0 * saturation_vapour_pressure(sim.base_temp_c)
    vapour = vapour * np.exp(_daily_walk(r_hum, t_days, 0.05))
    if sim.occupied_vapour > 0:
        vapour = vapour * (1.0 + sim.occupied_vapour * _lag(target, period_s, OCCUPIED_VAPOUR_LAG_MIN))
    if sim.hum_follow > 0:
        ratio = saturation_vapour_pressure(t_true) / saturation_vapour_pressure(sim.base_temp_c)
        vapour = vapour * ratio ** sim.hum_follow
    rh_true = 100.0 * vapour / saturation_vapour_pressure(t_true)
    temp = quantize(t_true + r_tn.normal(0.0, sim.temp_noise_c, n), sim.resolution)
    hum = quantize(np.clip(rh_true + r_hn.normal(0.0, sim.hum_noise, n), 0.0, 100.0), sim.resolution)
    return ts, temp, hum


def day_level(timestamps: pd.DatetimeIndex, temperature: np.ndarray, usable: np.ndarray) -> float:
    """The warmest hour-of-day median of the usable readings: what "day-time" means here."""
    hours = pd.DatetimeIndex(timestamps).hour.to_numpy()
    t = np.asarray(temperature, dtype=np.float64)
    ok = np.asarray(usable, dtype=bool) & ~np.isnan(t)
    if not ok.any():
        raise IngestError("no valid reading to measure the day-time level on")
    med = pd.Series(t[ok]).groupby(hours[ok]).median()
    return float(med.max())


def _allowed_starts(blocked: np.ndarray, taken: np.ndarray, span: int, gap: int) -> np.ndarray:
    """Starts s where rows s-1..s+span-1 are usable and no event lies within ``gap``."""
    n = len(blocked)
    if span + 1 > n:
        return np.zeros(n, dtype=bool)
    cb = np.concatenate([[0], np.cumsum(blocked)])
    ct = np.concatenate([[0], np.cumsum(taken)])
    s = np.arange(n)
    lo = s - 1
    hi = s + span
    ok = (lo >= 0) & (hi <= n)
    lo_c, hi_c = np.clip(lo, 0, n), np.clip(hi, 0, n)
    ok &= (cb[hi_c] - cb[lo_c]) == 0
    glo, ghi = np.clip(s - gap, 0, n), np.clip(s + span + gap, 0, n)
    ok &= (ct[ghi] - ct[glo]) == 0
    return ok


def inject_anomalies(
    timestamps: pd.DatetimeIndex,
    temperature: np.ndarray,
    humidity: np.ndarray,
    usable: np.ndarray,
    cfg: AnomaliesConfig,
    rng: np.random.Generator,
    period_s: int,
    resolution: float,
    key: str = "anomalies",
):
    """Inject labelled anomalies into a series; return (temp, hum, label, type, event_id, events).

    ``usable`` marks rows with a valid background reading; events cover only such
    rows (and a stuck event also needs a valid reading just before it).  ``label``
    is 1 inside events and 0 elsewhere; the caller overrides rows it knows nothing
    about.  Humidity may be all NaN (a temperature-only log): it stays NaN, and a
    ``humidity`` event cannot be placed (an error).  Durations, gaps and ramps are
    minutes, turned into readings with ``period_s`` (``minutes_to_readings``).
    ``key`` names the config section in error messages.
    """
    ts = pd.DatetimeIndex(timestamps)
    temp = np.asarray(temperature, dtype=np.float64).copy()
    hum = np.asarray(humidity, dtype=np.float64).copy()
    usable = np.asarray(usable, dtype=bool) & ~np.isnan(temp)
    n = len(temp)
    days = n * period_s / 86400.0
    blocked = ~usable
    taken = np.zeros(n, dtype=bool)
    hours = ((ts - ts.normalize()).total_seconds().to_numpy()) / 3600.0
    level = day_level(ts, temp, usable) if cfg.contextual.per_day > 0 else float("nan")
    gap = minutes_to_readings(cfg.min_gap, period_s, least=0)
    placed: list[tuple[str, int, int, float, float]] = []
    for kind in SUBKINDS:
        kcfg = getattr(cfg, kind)
        count = int(round(kcfg.per_day * cfg.rate_scale * days))
        if count and kind == "humidity" and np.isnan(hum[usable]).all():
            raise IngestError(
                f"{key}.humidity: {count} humidity events asked for, but the series has no humidity "
                f"(set {key}.humidity.per_day: 0 for a temperature-only sensor)"
            )
        d_lo = minutes_to_readings(kcfg.duration[0], period_s)
        d_hi = max(d_lo, minutes_to_readings(kcfg.duration[1], period_s))
        for k in range(count):
            dur = int(rng.integers(d_lo, d_hi + 1))
            span = dur + (int(round(kcfg.recovery * dur)) if kind == "rise" else 0)
            ok = _allowed_starts(blocked, taken, span, gap)
            if kind == "contextual":
                h0, h1 = kcfg.hours
                width = (h1 - h0) % 24.0 or 24.0
                off = (hours - h0) % 24.0
                ok &= off + (span - 1) * period_s / 3600.0 < width
            # spread each kind evenly: event k starts in the k-th of `count` equal
            # segments when it can (so every chronological split gets its share)
            seg = np.zeros(n, dtype=bool)
            seg[k * n // count:(k + 1) * n // count] = True
            cand = np.flatnonzero(ok & seg)
            if len(cand) == 0:
                cand = np.flatnonzero(ok)
            if len(cand) == 0:
                raise IngestError(
                    f"{key}.{kind}: cannot place event {k + 1} of {count} ({span} readings of "
                    f"{period_s} s) in "
                    f"{days:.1f} days of data: too many or too long events for the series "
                    f"(lower per_day, duration or {key}.min_gap)"
                )
            s = int(rng.choice(cand))
            taken[s:s + span] = True
            if kind == "stuck":
                td = hd = 0.0
            elif kind == "noise":
                td = float(rng.uniform(*kcfg.std_c))
                hd = td * kcfg.hum_factor
            else:
                td = float(rng.uniform(*kcfg.temp_delta))
                hd = float(rng.uniform(*kcfg.hum_delta))
            placed.append((kind, s, s + span, td, hd))

    placed.sort(key=lambda e: e[1])
    label = np.zeros(n, dtype=np.int8)
    atype = np.full(n, "none", dtype=object)
    event_id = np.full(n, -1, dtype=np.int32)
    events: list[Event] = []
    bg_t, bg_h = temp.copy(), hum.copy()
    for eid, (kind, s, e, td, hd) in enumerate(placed):
        span = e - s
        sl = slice(s, e)
        if kind in ("point", "dip", "humidity"):
            temp[sl] = bg_t[sl] + td
            hum[sl] = bg_h[sl] + hd
        elif kind == "stuck":
            temp[sl] = bg_t[s - 1]
            hum[sl] = bg_h[s - 1]
        elif kind == "noise":  # the std grows linearly to td (deg C) and hd (%RH)
            env = np.arange(1, span + 1) / span
            z = rng.standard_normal((2, span))
            temp[sl] = bg_t[sl] + td * env * z[0]
            hum[sl] = bg_h[sl] + hd * env * z[1]
        else:
            if kind == "contextual":
                r = min(minutes_to_readings(cfg.contextual.ramp, period_s, least=0), span // 3)
                env = np.ones(span)
                if r > 0:
                    ramp = np.arange(1, r + 1) / (r + 1)
                    env[:r] = ramp
                    env[span - r:] = ramp[::-1]
                w = max(0, s - minutes_to_readings(ONSET_MIN, period_s))
                onset = float(np.median(bg_t[w:s + 1][usable[w:s + 1]]))
                offset = max(level + td - onset, cfg.contextual.min_lift)
                add_t = offset * env
            else:  # rise (a heat source: fastest at first, then levelling), then recovery
                dur = int(round(span / (1.0 + cfg.rise.recovery)))
                c = RISE_CURVATURE
                up = (1.0 - np.exp(-c * np.arange(1, dur + 1) / dur)) / (1.0 - np.exp(-c))
                down = np.arange(span - dur, 0, -1) / (span - dur + 1)
                env = np.concatenate([up, down])
                add_t = td * env
            temp[sl] = bg_t[sl] + add_t
            hum[sl] = _rh_at(bg_h[sl], bg_t[sl], temp[sl]) + hd * env
        events.append(Event(eid, kind, TYPE_OF[kind], s, e, td, hd))
        label[sl] = 1
        atype[sl] = TYPE_OF[kind]
        event_id[sl] = eid
    temp = quantize(temp, resolution)
    hum = quantize(np.clip(hum, 0.0, 100.0), resolution)
    return temp, hum, label, atype, event_id, events


def simulate(data: DataConfig):
    """The simulated room with drops, faults and labelled anomalies: (table, events)."""
    sim = data.sim
    seq = np.random.SeedSequence(sim.seed)
    r_bg, r_anom, r_drop = (np.random.default_rng(s) for s in seq.spawn(3))
    ts, temp, hum = simulate_background(sim, data.period_s, r_bg)
    n = len(ts)
    if not sim.humidity:  # a temperature-only sensor
        hum = np.full(n, np.nan)
    temp, hum, label, atype, event_id, events = inject_anomalies(
        ts, temp, hum, np.ones(n, dtype=bool), sim.anomalies, r_anom, data.period_s, sim.resolution,
        key="data.sim.anomalies",
    )
    # drops and sensor faults, outside events
    free = np.flatnonzero(event_id < 0)
    u = r_drop.random(len(free))
    dropped = free[u < sim.drop_rate]
    failed = free[(u >= sim.drop_rate) & (u < sim.drop_rate + sim.fault_rate)]
    how = r_drop.integers(0, 3, len(failed))
    raw_t, raw_h = temp.copy(), hum.copy()
    raw_t[failed[how == 0]] = np.nan  # the library returned NaN
    raw_h[failed[how == 0]] = np.nan
    raw_t[failed[how == 1]] = -999.0  # the library's error value
    raw_h[failed[how == 1]] = -999.0
    bad = failed[how == 2]  # a corrupted frame: a value outside the sensor's range
    raw_t[bad] = np.where(r_drop.random(len(bad)) < 0.5, 85.0 + np.round(r_drop.uniform(0, 40, len(bad)), 1), -50.0)
    t, h, fault = flag_faults(raw_t, raw_h, has_humidity=sim.humidity)
    t[dropped] = np.nan
    h[dropped] = np.nan
    fault[dropped] = "missing"
    return tidy_table(ts, t, h, fault, label, atype, event_id), events


def events_frame(events: list[Event]) -> pd.DataFrame:
    """The events as a table (one row each), for reports and plots."""
    cols = [f for f in Event.__dataclass_fields__]
    return pd.DataFrame([asdict(e) for e in events], columns=cols)
