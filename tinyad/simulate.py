"""A simulated room read by a DHT22, and labelled anomalies injected into any series.

``simulate(data_cfg) -> (table, events)`` builds the default data set: one reading a
``data.period_s`` for ``data.sim.days`` days, as the tidy table of
``docs/architecture.md``, plus the list of injected ``Event``s.
``inject_anomalies(...)`` puts the same kinds of events into a real log
(``data.source: csv+inject``); ``stages/ingest.py`` calls both.

The normal room (``data.sim``; defaults in ``conf/data/sim.yaml``)
-----------------------------------------------------------------
True air temperature, deg C::

    base_temp_c + day_amplitude_c * cos(2 pi (hour - peak_hour) / 24)   day/night cycle
                + drift                                                 day-to-day drift
                + hvac                                                  thermostat cycling

* day/night: a smooth cycle, warmest at ``peak_hour`` (15:00), coolest 12 h later;
  its daily mean is ``base_temp_c``.  With the defaults (1.5 deg C) the room is
  22.5 deg C at 03:00 and 25.5 deg C at 15:00; the fastest change is
  ``2 pi A / 24`` = 0.39 deg C/h.
* drift: a random offset for each day (normal, sd ``drift_c`` = 0.15 deg C),
  interpolated linearly between middays.
* hvac: the thermostat's on/off cycle, a sawtooth of peak-to-peak ``hvac_band_c``
  (0.3 deg C): heating raises the room during 30-50 % of a cycle, then it cools back;
  each cycle lasts a random ``hvac_period_min`` (25-45) minutes.

Relative humidity follows from the same air: a vapour pressure that gives
``base_humidity`` at ``base_temp_c`` (with a slow day-to-day drift of 5 %), divided by
the saturation pressure at the true temperature (Magnus formula).  Warm air therefore
reads drier: about -2.5 %RH per deg C, so the room swings between about 44 %RH at
night and 36 %RH in the afternoon.

The sensor adds noise (``temp_noise_c`` = 0.1 deg C, ``hum_noise`` = 0.3 %RH, one
standard deviation) and rounds to ``resolution`` (0.1), so consecutive normal
readings jitter by a tenth or two.  A share ``drop_rate`` of readings is lost (fault
``missing``) and a share ``fault_rate`` fails (raw NaN, -999 or an impossible value,
one third each, flagged by ``tinyad.csvlog.flag_faults`` and set to NaN).  Drops and
faults never fall inside an anomaly event, so each event is fully visible; their
rows keep label 0 (nothing happened to the room).

Anomalies (``data.sim.anomalies`` / ``data.inject.anomalies``)
--------------------------------------------------------------
Each kind has an exact count, ``round(per_day * days)``; events are placed at random
(seeded), never overlapping, at least ``min_gap`` readings apart, only where the
background is valid.  Deltas are drawn uniformly once an event; durations are in
readings (at another ``data.period_s`` they mean other times).  Each kind's k-th
event starts in the k-th of ``count`` equal segments of the series when it can, so
every chronological split sees every kind.  Every row of an event's span is labelled
(label 1, its type, its id); ids count up in time order.

* ``point`` (type ``point``): a spike of ``temp_delta`` (+5..+11 deg C, i.e. about
  30-35 deg C) for 1-3 readings; humidity moves by ``hum_delta``.
* ``contextual`` (type ``contextual``): inside the night window ``hours`` (23:00 to
  05:00) the room reads a *day-time* value: the log's day level (the warmest
  hour-of-day median of the background, 25.5 deg C in the default room) plus
  ``temp_delta`` (-0.3..+0.5), but at least ``min_lift`` (1.5 deg C) above the
  background at onset (a real log may have a warm night), for 45-120 readings,
  ramping in and out over ``ramp`` readings.  Such values are ordinary at 15:00, and
  2-3 deg C above anything normal between 23:00 and 05:00 in the default room.
  Humidity follows physically (the warmer air reads drier).
* ``rise`` (type ``collective``): a slow linear rise of ``temp_delta`` (2.5-3.5
  deg C) over ``duration`` (90-150 readings: 1.0-2.3 deg C/h at one a minute), starting
  from the normal level, followed by a fall back over ``recovery`` (0.3) of that
  time.  Every single reading stays plausible; the change over 30 min (0.5-1.2 deg C)
  is what gives it away.  Humidity follows physically.
* ``stuck`` (type ``collective``): the sensor repeats its last reading, temperature
  and humidity, exactly, for ``duration`` (120-360) readings.  Normal readings always
  jitter, so a window of identical values is the tell.

Run ``python -m stages.ingest`` to write the data set and its plot; tests:
``tests/test_simulate.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from tinyad.config import AnomaliesConfig, DataConfig, SimConfig
from tinyad.csvlog import IngestError, flag_faults, quantize, tidy_table

__all__ = [
    "Event",
    "SUBKINDS",
    "TYPE_OF",
    "saturation_vapour_pressure",
    "simulate_background",
    "day_level",
    "inject_anomalies",
    "simulate",
    "events_frame",
]

# sub-kinds in the order they are placed (the most constrained first)
SUBKINDS = ("contextual", "stuck", "rise", "point")
TYPE_OF = {"point": "point", "contextual": "contextual", "rise": "collective", "stuck": "collective"}
# shape of a rise: delta * (1 - exp(-c u)) / (1 - exp(-c)), u = 0..1 over the rise, i.e.
# a room warmed by a heat source; c = 1.5 starts at 1.9x the mean rate, ends at 0.43x
RISE_CURVATURE = 1.5


@dataclass(frozen=True)
class Event:
    """One injected anomaly: rows ``start`` .. ``stop - 1`` of the table."""

    event_id: int
    kind: str  # point, contextual, rise, stuck
    anomaly_type: str  # point, contextual, collective
    start: int
    stop: int
    temp_delta: float
    hum_delta: float

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


def simulate_background(sim: SimConfig, period_s: int, rng: np.random.Generator):
    """The normal room as the sensor reads it: (timestamps, temperature, humidity).

    Noise and 0.1 rounding included; no drops, faults or anomalies yet.
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
    vapour = sim.base_humidity / 100.0 * saturation_vapour_pressure(sim.base_temp_c)
    vapour = vapour * np.exp(_daily_walk(r_hum, t_days, 0.05))
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
    about.  Humidity may be all NaN (a temperature-only log): it stays NaN.
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
    placed: list[tuple[str, int, int, float, float]] = []
    for kind in SUBKINDS:
        kcfg = getattr(cfg, kind)
        count = int(round(kcfg.per_day * days))
        for k in range(count):
            dur = int(rng.integers(kcfg.duration[0], kcfg.duration[1] + 1))
            span = dur + (int(round(kcfg.recovery * dur)) if kind == "rise" else 0)
            ok = _allowed_starts(blocked, taken, span, cfg.min_gap)
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
                    f"{key}.{kind}: cannot place event {k + 1} of {count} ({span} readings) in "
                    f"{days:.1f} days of data: too many or too long events for the series "
                    f"(lower per_day, duration or {key}.min_gap)"
                )
            s = int(rng.choice(cand))
            taken[s:s + span] = True
            td = float(rng.uniform(*kcfg.temp_delta)) if kind != "stuck" else 0.0
            hd = float(rng.uniform(*kcfg.hum_delta)) if kind != "stuck" else 0.0
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
        if kind == "point":
            temp[sl] = bg_t[sl] + td
            hum[sl] = bg_h[sl] + hd
        elif kind == "stuck":
            temp[sl] = bg_t[s - 1]
            hum[sl] = bg_h[s - 1]
        else:
            if kind == "contextual":
                r = min(cfg.contextual.ramp, span // 3)
                env = np.ones(span)
                if r > 0:
                    ramp = np.arange(1, r + 1) / (r + 1)
                    env[:r] = ramp
                    env[span - r:] = ramp[::-1]
                onset = float(np.median(bg_t[max(0, s - 10):s + 1][usable[max(0, s - 10):s + 1]]))
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
    t, h, fault = flag_faults(raw_t, raw_h)
    t[dropped] = np.nan
    h[dropped] = np.nan
    fault[dropped] = "missing"
    return tidy_table(ts, t, h, fault, label, atype, event_id), events


def events_frame(events: list[Event]) -> pd.DataFrame:
    """The events as a table (one row each), for reports and plots."""
    cols = [f for f in Event.__dataclass_fields__]
    return pd.DataFrame([asdict(e) for e in events], columns=cols)
