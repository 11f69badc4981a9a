"""Typed schema of ``params.yaml`` (the composition of ``conf/``).

Every section of ``params.yaml`` is a dataclass here.  ``load()`` merges the YAML
into these schemas with OmegaConf, so an unknown key (a typo) or a value of the
wrong type fails at once with a message naming the full key, e.g.::

    params.yaml: Key 'hiddn' not in 'ModelConfig' (full key: model.hiddn)

Choices that OmegaConf cannot express (a value from a set, a range) are checked
in ``__post_init__`` and reported the same way, through ``ConfigError``.

The stage that reads a section is named in its docstring; ``dvc.yaml`` lists the
exact keys each stage reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

__all__ = ["Config", "ConfigError", "load", "load_dict", "minutes_to_readings", "to_dict"]


def minutes_to_readings(minutes: float, period_s: int, least: int = 1) -> int:
    """A time in minutes as a count of readings one ``period_s`` apart: rounded, at least
    ``least``.  Every span the params state in minutes (the feature windows, the alert's
    hold, the simulator's events) becomes readings through this one rule."""
    return max(int(least), int(round(float(minutes) * 60.0 / float(period_s))))


class _PeriodBound:
    """A section whose spans are set in minutes and counted in readings: its
    ``period_s`` is ``data.period_s``, bound by ``Config`` (0 = not bound yet)."""

    SECTION = ""  # the params section, for the messages

    def bind(self, period_s: int) -> "_PeriodBound":
        """Bind the sampling period (``data.period_s``); returns self."""
        if self.period_s and int(self.period_s) != int(period_s):
            raise ConfigError(
                f"{self.SECTION}.period_s: {self.period_s} differs from data.period_s {period_s}; "
                f"leave {self.SECTION}.period_s out (it is data.period_s)"
            )
        self.period_s = int(period_s)
        self._check_counts()
        return self

    def _readings(self, minutes: float, *, least: int) -> int:
        """``minutes`` in readings at the bound period, at least ``least`` (no default: each
        span states its own floor)."""
        if not self.period_s:
            raise ConfigError(f"{self.SECTION}: the sampling period is not bound "
                              f"({type(self).__name__}.bind(data.period_s))")
        return minutes_to_readings(minutes, self.period_s, least)

    def _check_counts(self) -> None:
        raise NotImplementedError


class ConfigError(ValueError):
    """A parameter is unknown, of the wrong type, or out of range."""


def _check_choice(key: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: expected one of {list(choices)}, got {value!r}")


def _check_range(key: str, value: float, lo: float | None = None, hi: float | None = None) -> None:
    if value != value or (lo is not None and value < lo) or (hi is not None and value > hi):  # NaN: refused
        raise ConfigError(f"{key}: expected a value in [{lo}, {hi}], got {value!r}")


def _check_pair(key: str, pair: list[float]) -> None:
    if len(pair) != 2 or not pair[0] < pair[1]:
        raise ConfigError(f"{key}: expected [low, high] with low < high, got {list(pair)!r}")


# --------------------------------------------------------------------------- data
def _check_span(key: str, pair: list, lo: float | None = None) -> None:
    """A [low, high] range to draw from uniformly: low <= high (equal = fixed value)."""
    if len(pair) != 2 or not pair[0] <= pair[1]:
        raise ConfigError(f"{key}: expected [low, high] with low <= high, got {list(pair)!r}")
    if lo is not None and pair[0] < lo:
        raise ConfigError(f"{key}: expected values >= {lo}, got {list(pair)!r}")


@dataclass
class AnomalyKindConfig:
    """One kind of labelled anomaly (tinyad/data/simulate.py says exactly what each does).

    ``per_day`` events a day: the count is ``round(per_day * rate_scale * days)``, exact (``AnomaliesConfig.rate_scale``).
    ``temp_delta`` (deg C) and ``hum_delta`` (%RH) are drawn uniformly from
    [low, high] once an event; ``duration`` is in minutes (time, not readings:
    ``round(minutes * 60 / data.period_s)`` readings, at least one).  Used by
    ``point``, ``dip`` and ``humidity``.
    """

    per_day: float
    temp_delta: list[float]
    hum_delta: list[float]
    duration: list[float]

    @staticmethod
    def _check_minutes(key: str, pair: list) -> None:
        _check_span(key, pair)
        if pair[0] <= 0:
            raise ConfigError(f"{key}: expected [low, high] minutes > 0, got {list(pair)!r}")

    def _check(self, key: str) -> None:
        _check_range(f"{key}.per_day", self.per_day, 0.0, 1000.0)
        _check_span(f"{key}.temp_delta", self.temp_delta)
        _check_span(f"{key}.hum_delta", self.hum_delta)
        AnomalyKindConfig._check_minutes(f"{key}.duration", self.duration)


@dataclass
class ContextualConfig:
    """A day-time value at night: ``temp_delta`` is relative to the log's day level."""

    per_day: float
    temp_delta: list[float]
    hum_delta: list[float]
    # minutes
    duration: list[float]
    # the night window [start hour, end hour) that holds the whole event (wraps midnight)
    hours: list[float]
    # minutes to ramp in and out (inside the labelled span; at most a third of it)
    ramp: float
    # at least this far (deg C) above the background at onset, however warm that night
    min_lift: float

    def _check(self, key: str) -> None:
        AnomalyKindConfig._check(self, key)  # type: ignore[arg-type]
        if len(self.hours) != 2 or not all(0.0 <= h <= 24.0 for h in self.hours):
            raise ConfigError(f"{key}.hours: expected [start, end] hours in [0, 24], got {list(self.hours)!r}")
        _check_range(f"{key}.ramp", self.ramp, 0.0, 10_000.0)
        _check_range(f"{key}.min_lift", self.min_lift, 0.0, 50.0)


@dataclass
class RiseConfig:
    """Collective: a slow rise by ``temp_delta`` over ``duration`` (minutes), then a recovery."""

    per_day: float
    temp_delta: list[float]
    hum_delta: list[float]
    duration: list[float]
    # length of the fall back to normal, as a fraction of the rise (inside the span)
    recovery: float

    def _check(self, key: str) -> None:
        AnomalyKindConfig._check(self, key)  # type: ignore[arg-type]
        _check_range(f"{key}.recovery", self.recovery, 0.0, 10.0)


@dataclass
class StuckConfig:
    """Collective: the sensor repeats its last reading (both quantities) exactly."""

    per_day: float
    # minutes
    duration: list[float]

    def _check(self, key: str) -> None:
        _check_range(f"{key}.per_day", self.per_day, 0.0, 1000.0)
        AnomalyKindConfig._check_minutes(f"{key}.duration", self.duration)


@dataclass
class NoiseConfig:
    """Collective: a failing sensor whose noise grows over ``duration`` (minutes), then is replaced.

    Zero-mean Gaussian noise whose standard deviation ramps linearly up to ``std_c``
    (deg C, drawn once an event) and ``hum_factor * std_c`` in %RH.
    """

    per_day: float
    duration: list[float]
    std_c: list[float]
    hum_factor: float

    def _check(self, key: str) -> None:
        _check_range(f"{key}.per_day", self.per_day, 0.0, 1000.0)
        AnomalyKindConfig._check_minutes(f"{key}.duration", self.duration)
        _check_span(f"{key}.std_c", self.std_c, lo=0.0)
        _check_range(f"{key}.hum_factor", self.hum_factor, 0.0, 100.0)


@dataclass
class AnomaliesConfig:
    """Labelled anomalies injected into the simulated room or a real log.

    Kinds and their types (``tinyad.data.simulate.TYPE_OF``): ``point``, ``dip`` and
    ``humidity`` are point anomalies, ``contextual`` is contextual, ``rise``,
    ``stuck`` and ``noise`` are collective.  Every duration is in minutes.
    """

    point: AnomalyKindConfig
    # a spike down: temp_delta <= 0
    dip: AnomalyKindConfig
    # humidity alone: temp_delta must be [0, 0]
    humidity: AnomalyKindConfig
    contextual: ContextualConfig
    rise: RiseConfig
    stuck: StuckConfig
    noise: NoiseConfig
    # minutes of normal readings kept between two events (and before the first one)
    min_gap: float
    # every kind's per_day is multiplied by this: 0.1 is the same room with a tenth of its events
    rate_scale: float = 1.0

    def check(self, key: str) -> None:
        for name in ("point", "dip", "humidity", "contextual", "rise", "stuck", "noise"):
            getattr(self, name)._check(f"{key}.{name}")
        if self.dip.temp_delta[1] > 0:
            raise ConfigError(f"{key}.dip.temp_delta: a dip goes down, expected values <= 0, "
                              f"got {list(self.dip.temp_delta)!r}")
        if list(self.humidity.temp_delta) != [0.0, 0.0]:
            raise ConfigError(f"{key}.humidity.temp_delta: a humidity event leaves the temperature alone, "
                              f"expected [0.0, 0.0], got {list(self.humidity.temp_delta)!r}")
        _check_range(f"{key}.min_gap", self.min_gap, 0.0, 1e6)
        _check_range(f"{key}.rate_scale", self.rate_scale, 0.0, 1000.0)


@dataclass
class SimConfig:
    """The built-in room simulator (data.source == 'sim')."""

    seed: int
    start: str
    days: float
    base_temp_c: float
    base_humidity: float
    # diurnal swing: base + amplitude * cos(2 pi (hour - peak_hour) / 24)
    day_amplitude_c: float
    peak_hour: float
    # thermostat cycling: peak-to-peak band and the cycle length range in minutes
    hvac_band_c: float
    hvac_period_min: list[float]
    # day-to-day drift of the mean (deg C, one standard deviation)
    drift_c: float
    temp_noise_c: float
    hum_noise: float
    resolution: float
    drop_rate: float
    fault_rate: float
    anomalies: AnomaliesConfig
    # false: a temperature-only sensor (the humidity column is NaN, without a fault)
    humidity: bool = True
    # vapour pressure follows saturation by this share (0: constant vapour, the air of
    # a closed room; 0.7: a greenhouse whose plants transpire as it warms)
    hum_follow: float = 0.0
    # occupancy schedule: [start, end) hour windows when the room is in use, Monday to
    # Friday and at weekends; outside them the heating sets back by setback_c deg C
    weekday_hours: list[list[float]] = field(default_factory=lambda: [[0.0, 24.0]])
    weekend_hours: list[list[float]] = field(default_factory=lambda: [[0.0, 24.0]])
    setback_c: float = 0.0
    # heating back up: a linear ramp over warmup_min; setback: exponential cooling
    # with time constant cooldown_min (the building's)
    warmup_min: float = 60.0
    cooldown_min: float = 240.0
    # vapour pressure share added while occupied (people, cooking), lag 30 min
    occupied_vapour: float = 0.0

    def __post_init__(self) -> None:
        _check_range("data.sim.days", self.days, 1.0 / 24.0, 3650.0)
        _check_range("data.sim.hum_follow", self.hum_follow, 0.0, 1.0)
        for name in ("weekday_hours", "weekend_hours"):
            for w in getattr(self, name):
                if len(w) != 2 or not 0.0 <= w[0] < w[1] <= 24.0:
                    raise ConfigError(f"data.sim.{name}: expected [start, end) hour windows with "
                                      f"0 <= start < end <= 24, got {[list(x) for x in getattr(self, name)]!r}")
        _check_range("data.sim.setback_c", self.setback_c, 0.0, 30.0)
        _check_range("data.sim.warmup_min", self.warmup_min, 1.0, 10_000.0)
        _check_range("data.sim.cooldown_min", self.cooldown_min, 1.0, 100_000.0)
        _check_range("data.sim.occupied_vapour", self.occupied_vapour, 0.0, 2.0)
        _check_range("data.sim.base_humidity", self.base_humidity, 1.0, 99.0)
        _check_range("data.sim.day_amplitude_c", self.day_amplitude_c, 0.0, 20.0)
        _check_range("data.sim.peak_hour", self.peak_hour, 0.0, 24.0)
        _check_range("data.sim.hvac_band_c", self.hvac_band_c, 0.0, 10.0)
        _check_span("data.sim.hvac_period_min", self.hvac_period_min, lo=1.0)
        for name in ("drift_c", "temp_noise_c", "hum_noise"):
            _check_range(f"data.sim.{name}", getattr(self, name), 0.0, 10.0)
        _check_range("data.sim.resolution", self.resolution, 0.0, 10.0)
        _check_range("data.sim.drop_rate", self.drop_rate, 0.0, 0.5)
        _check_range("data.sim.fault_rate", self.fault_rate, 0.0, 0.5)
        self.anomalies.check("data.sim.anomalies")


@dataclass
class CsvConfig:
    """Real logs (data.source == 'csv' or 'csv+inject'); tinyad/data/csvlog.py reads them."""

    # files or glob patterns; relative ones resolve against tinyad.paths.project_root()
    paths: list[str]
    timestamp_col: str
    temperature_col: str
    # empty: the log has no humidity (the column is then NaN, without a fault)
    humidity_col: str
    # empty: no ground truth (label -1)
    label_col: str
    temperature_unit: str
    # strftime format; empty: ISO 8601; "unix" / "unix_ms" / "unix_us" / "unix_ns": seconds /
    # milli- / micro- / nanoseconds since 1970-01-01 UTC (UNIX_FORMATS; the room's local
    # time then needs data.csv.timezone)
    timestamp_format: str
    delimiter: str
    # readings are rounded to this step (the DHT22 reports 0.1); 0 keeps them as read
    resolution: float
    # the decimal mark of the numbers: "." or "," (a decimal-comma log; its delimiter is then not ",")
    decimal: str = "."
    # IANA time zone of the room (e.g. Europe/Berlin); empty: the timestamps' own wall clock.
    # Set, timestamps with a UTC offset are converted to it, offset-free ones are read as its
    # local time (the repeated autumn hour kept, the skipped spring hour not a gap)
    timezone: str = ""
    # the file's text encoding (a Python codec name: utf-8, latin-1, cp1252, ...)
    encoding: str = "utf-8"
    # a log with the time of day in a column of its own (Date, Time): its name; each line's
    # timestamp is then timestamp_col's cell, a space, and this one's (parsed as one timestamp)
    time_col: str = ""
    # an on-change log (a reading written only when the value changes: Home Assistant,
    # Zigbee and BLE loggers): a grid period without a reading repeats the last valid one,
    # as the sensor would have read it, for up to this many minutes (then: missing, the
    # sensor silent); 0: every period without a reading is missing (a periodic logger)
    hold_min: float = 0.0
    # a long log, one line per value (Home Assistant's history export: entity_id, state,
    # last_changed): the column naming whose value a line holds; temperature_col and
    # humidity_col then name the entities (sensor.room_temperature), value_col the column
    # of the values.  Such a log is on-change: it needs hold_min
    entity_col: str = ""
    value_col: str = ""
    # lines starting with this text (leading spaces aside) are notes, not readings, and are
    # skipped (InfluxDB's annotated CSV: "#"; a logger's "# device ..." preamble); "": none
    comment: str = ""
    # a log of several sensors (or rooms) in one file: the column naming each line's sensor
    # (an InfluxDB tag such as room, a logger's sensor id) and the one to read; "": one sensor
    sensor_col: str = ""
    sensor: str = ""

    DECIMALS = (".", ",")
    # the hold_min suggested for an on-change log (ingest's warning, the long log's error):
    # longer than most silences of a steady room, and than the default features.stuck_min,
    # so that a stuck sensor's silence, held, is a run of repeats the stuck-sensor rule sees
    SUGGESTED_HOLD_MIN = 120.0
    # timestamp_format -> the unit of the numbers (InfluxDB 1.x writes nanoseconds)
    UNIX_FORMATS = {"unix": "s", "unix_ms": "ms", "unix_us": "us", "unix_ns": "ns"}

    @property
    def timestamp_label(self) -> str:
        """The timestamp's column(s) as messages name them: ``Date`` or, with ``time_col``, ``Date Time``."""
        return f"{self.timestamp_col} {self.time_col}" if self.time_col else self.timestamp_col

    def __post_init__(self) -> None:
        _check_choice("data.csv.temperature_unit", self.temperature_unit, ("C", "F"))
        if len(self.delimiter) != 1:
            raise ConfigError(f"data.csv.delimiter: expected one character, got {self.delimiter!r}")
        _check_range("data.csv.resolution", self.resolution, 0.0, 10.0)
        _check_range("data.csv.hold_min", self.hold_min, 0.0, 7 * 24 * 60.0)
        if bool(self.entity_col) != bool(self.value_col):
            raise ConfigError("data.csv.entity_col, data.csv.value_col: a long log (one line per value) names both "
                              f"(e.g. entity_id and state), got {self.entity_col!r} and {self.value_col!r}")
        if bool(self.sensor_col) != bool(self.sensor.strip()):
            raise ConfigError("data.csv.sensor_col, data.csv.sensor: a log of several sensors names both, the column "
                              f"and the sensor to read (e.g. room and office), got {self.sensor_col!r} and {self.sensor!r}")
        if self.entity_col and not self.hold_min:
            raise ConfigError("data.csv.hold_min: a long log (data.csv.entity_col) holds a line when a value "
                              f"changes; set how long a value stands unreported (e.g. {self.SUGGESTED_HOLD_MIN:g} minutes)")
        if self.entity_col and self.label_col:
            raise ConfigError("data.csv.label_col: a long log (data.csv.entity_col) has no label column; "
                              "set data.csv.label_col: ''")
        if self.comment != self.comment.strip() or self.delimiter in self.comment:
            raise ConfigError(f"data.csv.comment: expected the text a note line starts with (e.g. '#'), without "
                              f"surrounding spaces or the delimiter {self.delimiter!r}, got {self.comment!r}")
        _check_choice("data.csv.decimal", self.decimal, self.DECIMALS)
        if self.decimal == self.delimiter:
            raise ConfigError(
                f"data.csv.decimal: the decimal mark {self.decimal!r} is also data.csv.delimiter; "
                "a decimal-comma log separates its fields with another character (set data.csv.delimiter, e.g. ';')"
            )
        if self.timezone:
            import zoneinfo

            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"data.csv.timezone: {self.timezone!r} is not an IANA time zone name "
                    "(expected e.g. 'Europe/Berlin', 'America/New_York' or 'UTC'; '' keeps the log's wall clock)"
                ) from None
        import codecs

        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError(
                f"data.csv.encoding: {self.encoding!r} is not a known text encoding "
                "(expected e.g. 'utf-8', 'latin-1', 'cp1252')"
            ) from None


@dataclass
class InjectConfig:
    """Semi-synthetic mode: simulator anomalies injected into a real log."""

    seed: int
    anomalies: AnomaliesConfig

    def __post_init__(self) -> None:
        self.anomalies.check("data.inject.anomalies")


@dataclass
class DataConfig:
    """Read by ``ingest``."""

    source: str
    period_s: int
    sim: SimConfig
    csv: CsvConfig
    inject: InjectConfig

    def __post_init__(self) -> None:
        _check_choice("data.source", self.source, ("sim", "csv", "csv+inject"))
        _check_range("data.period_s", self.period_s, 1, 3600)
        if self.source != "sim" and not self.csv.paths:
            raise ConfigError(f"data.csv.paths: data.source is {self.source!r} but no CSV file is named")
        if self.csv.hold_min and minutes_to_readings(self.csv.hold_min, self.period_s, least=0) < 1:
            raise ConfigError(f"data.csv.hold_min: {self.csv.hold_min:g} minutes hold no period of data.period_s "
                              f"{self.period_s} s; expected 0 (no hold) or at least {self.period_s / 60.0:g} minutes")


# --------------------------------------------------------------------- features
@dataclass
class FeaturesConfig(_PeriodBound):
    """The model's inputs, shared by cluster, train, quantize, evaluate, codegen.

    Windows are set in time, not in readings, so that a 1-minute and an hourly log
    describe the same thing: ``window_min`` minutes of history, runs of repeats
    capped at ``stuck_min`` minutes and the jitter of the last ``jitter_min`` minutes.
    ``period_s`` is not a key of its own: it is ``data.period_s``, bound by ``Config``
    (``bind``), and ``window``/``run_cap``/``jitter_steps`` are the counts in readings
    that the features, the C and the firmware use::

        window       = max(min_readings, round(window_min * 60 / period_s))
        run_cap      = min(window - 1, max(min_readings - 1, round(stuck_min * 60 / period_s)))
        jitter_steps = min(window - 1, max(min_readings - 1, round(jitter_min * 60 / period_s)))

    ``min_readings`` is the floor for logs too coarse for the window: an hourly log
    gets a window of 6 readings (6 h), a stuck span of 5, not 1, and a jitter of 5 steps.
    """

    window_min: float
    names: list[str]
    use_humidity: bool
    # the "run" features count readings in a row that repeat exactly, up to this long
    stuck_min: float
    # the fewest readings a window holds, whatever the period
    min_readings: int
    # the "jitter" features measure the steps between the readings of the last this many minutes
    jitter_min: float
    # data.period_s (bound by Config; 0 = not bound yet)
    period_s: int = 0

    SECTION = "features"
    MIN_WINDOW = 2  # the fewest readings a window statistic (and the C pipeline) needs
    MAX_WINDOW = 4096  # the C pipeline's limit (int64 sums stay exact, sqrt below 2**53)

    def __post_init__(self) -> None:
        _check_range("features.window_min", self.window_min, 0.0, 100000.0)
        _check_range("features.stuck_min", self.stuck_min, 0.0, 100000.0)
        _check_range("features.jitter_min", self.jitter_min, 0.0, 100000.0)
        _check_range("features.min_readings", self.min_readings, self.MIN_WINDOW, self.MAX_WINDOW)
        if self.period_s:
            self._check_counts()

    @property
    def window(self) -> int:
        """The ring buffer's length in readings."""
        return self._readings(self.window_min, least=int(self.min_readings))

    def _steps(self, minutes: float) -> int:
        """A span of ``minutes`` in steps between readings, at least ``min_readings - 1``
        (before the window cuts it)."""
        return self._readings(minutes, least=int(self.min_readings) - 1)

    @property
    def stuck_readings(self) -> int:
        """The stuck span ``stuck_min`` asks for, in readings (before the window cuts it)."""
        return self._steps(self.stuck_min)

    @property
    def run_cap(self) -> int:
        """The cap of the run features, in readings (below the window)."""
        return min(self.window - 1, self.stuck_readings)

    @property
    def jitter_steps(self) -> int:
        """The steps between readings the jitter features measure (below the window)."""
        return min(self.window - 1, self._steps(self.jitter_min))

    def _check_counts(self) -> None:
        n = self.window
        if any(name.endswith("_jitter") for name in self.names):
            from tinyad.device.features import check_jitter_steps  # lazy: the features import this module

            check_jitter_steps(self.jitter_steps, n)
        if n > self.MAX_WINDOW:
            raise ConfigError(
                f"features.window_min: {self.window_min} min at data.period_s {self.period_s} s is {n} readings; "
                f"the device holds at most {self.MAX_WINDOW} (shorten the window or sample less often)"
            )


@dataclass
class SplitConfig:
    """Chronological split fractions (train, then validation, then test)."""

    train: float
    val: float
    test: float

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            _check_range(f"split.{name}", getattr(self, name), 0.0, 1.0)
        if abs(self.train + self.val + self.test - 1.0) > 1e-9:
            raise ConfigError(
                f"split: train + val + test must be 1, got {self.train} + {self.val} + {self.test}"
            )


@dataclass
class ThresholdsConfig:
    """The seed's threshold rules: a baseline and the firmware's safety net."""

    temp_normal: list[float]
    hum_normal: list[float]
    temp_alarm: list[float]
    hum_alarm: list[float]

    def __post_init__(self) -> None:
        for name in ("temp_normal", "hum_normal", "temp_alarm", "hum_alarm"):
            _check_pair(f"thresholds.{name}", getattr(self, name))


# ---------------------------------------------------------------------- cluster
@dataclass
class ClusterConfig:
    """Read by ``cluster``: K-means and the policies that turn clusters into labels.

    ``contamination`` is the share of anomalous readings a user expects in the
    training history (the budget of the ``edge`` and ``context`` policies, together); the policies with
    absolute evidence (``alarm``, ``stuck``, ``noise``) may add to it.  tinyad/data/labeling.py
    documents each policy.
    """

    k: int
    n_init: int
    seed: int
    policies: list[str]
    contamination: float
    small_frac: float
    distance_quantile: float
    plot_features: list[str]
    ignore_features: list[str] = field(default_factory=lambda: ["run", "temp_jitter", "hum_jitter"])  # features K-means leaves out (the model keeps them)
    exposure: float = 0.0  # exposure rows for the MLP, as a share of the valid train rows (0: none)
    exposure_sigma: list[float] = field(default_factory=lambda: [2.0, 8.0])  # how far they are pushed (std units)
    exposure_features: list[str] = field(default_factory=list)  # the features they push ([]: all K-means clusters)
    context_weight: float = 2.0  # the context policy: the time of day's weight in its K-means space
    recurring_share: float = 0.5  # edge/context labels in an hour of the day they mark on this share of the history's days, or of its weekdays or weekend days beyond chance, are dropped (0: off)

    POLICIES = ("edge", "context", "alarm", "stuck", "noise", "threshold", "small", "distance")

    def __post_init__(self) -> None:
        _check_range("cluster.k", self.k, 2, 64)
        _check_range("cluster.n_init", self.n_init, 1, 1000)
        if not self.policies:
            raise ConfigError(f"cluster.policies: expected at least one of {list(self.POLICIES)}, got []")
        if len(self.plot_features) != 2:
            raise ConfigError(f"cluster.plot_features: expected two feature names, got {list(self.plot_features)!r}")
        for p in self.policies:
            _check_choice("cluster.policies[]", p, self.POLICIES)
        _check_range("cluster.contamination", self.contamination, 0.0001, 0.2)
        _check_range("cluster.small_frac", self.small_frac, 0.0, 0.5)
        _check_range("cluster.distance_quantile", self.distance_quantile, 0.5, 1.0)
        _check_range("cluster.exposure", self.exposure, 0.0, 1.0)
        _check_range("cluster.context_weight", self.context_weight, 1.0, 10.0)
        _check_range("cluster.recurring_share", self.recurring_share, 0.0, 1.0)
        _check_pair("cluster.exposure_sigma", self.exposure_sigma)
        _check_range("cluster.exposure_sigma[0]", self.exposure_sigma[0], 0.0)


# ------------------------------------------------------------------------ model
@dataclass
class ModelConfig:
    """Read by ``train``: the Keras MLP and how it is trained."""

    hidden: list[int]
    activation: str
    dropout: float
    learning_rate: float
    epochs: int
    batch_size: int
    class_weight: str
    early_stopping_patience: int
    seed: int

    def __post_init__(self) -> None:
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError(f"model.hidden: expected a list of positive layer sizes, got {list(self.hidden)!r}")
        _check_choice("model.activation", self.activation, ("relu", "relu6", "tanh"))
        _check_range("model.dropout", self.dropout, 0.0, 0.9)
        _check_range("model.learning_rate", self.learning_rate, 1e-6, 1.0)
        _check_range("model.epochs", self.epochs, 1, 10000)
        _check_range("model.batch_size", self.batch_size, 1, 1 << 20)
        _check_choice("model.class_weight", self.class_weight, ("balanced", "none"))


# --------------------------------------------------------------------- quantize
@dataclass
class QuantizeConfig:
    """Read by ``quantize``: full-integer post-training quantization."""

    method: str
    representative_samples: int
    seed: int

    def __post_init__(self) -> None:
        if self.method == "qat":
            raise ConfigError(
                "quantize.method: 'qat' is not available (tensorflow-model-optimization needs Keras 2, "
                "the models here are Keras 3); expected 'ptq'"
            )
        _check_choice("quantize.method", self.method, ("ptq",))
        _check_range("quantize.representative_samples", self.representative_samples, 1, 1_000_000)


# --------------------------------------------------------------------- evaluate
@dataclass
class EvaluateConfig:
    """Read by ``evaluate``."""

    latency_runs: int
    isolation_forest_seed: int
    isolation_forest_contamination: float

    def __post_init__(self) -> None:
        _check_range("evaluate.latency_runs", self.latency_runs, 10, 10_000_000)


# ------------------------------------------------------------------------ drift
@dataclass
class DriftConfig:
    """Read by ``evaluate`` (the drift table, tinyad/evaluate/drift.py).

    Sizes to evaluate per kind: ``temp_drift`` (deg C reached at the end of the test
    split), ``noise`` (noise std in deg C reached at the end), ``hum_offset`` (%RH).
    The remedy: a baseline of ``2**baseline_shift`` readings with
    ``baseline_frac_bits`` fractional bits (mirrored in C by tinyad_baseline.c).
    """

    temp_drift: list[float]
    noise: list[float]
    hum_offset: list[float]
    seed: int
    baseline_shift: int
    baseline_frac_bits: int

    def __post_init__(self) -> None:
        for key in ("temp_drift", "noise", "hum_offset"):
            vals = list(getattr(self, key))
            if not vals or any(not (0.0 <= float(v) <= 50.0) for v in vals):
                raise ConfigError(f"drift.{key}: expected a non-empty list of sizes in [0, 50], got {vals!r}")
        _check_range("drift.baseline_shift", self.baseline_shift, 0, 30)
        _check_range("drift.baseline_frac_bits", self.baseline_frac_bits, 1, 24)


# ----------------------------------------------------------------------- alerts
@dataclass
class AlertsConfig(_PeriodBound):
    """The device's alert logic, mirrored in Python (evaluate) and C (firmware).

    With ``calibrate`` the decision threshold is not ``decision_threshold`` but the
    most sensitive int8 code for which the device, replayed through this alert
    logic over the train and validation history, raises at most
    ``max_false_alarms_per_week`` false alarms a week (``tinyad/learn/calibration.py``),
    with ``budget_confidence`` that the rate behind the history's count is within it;
    ``decision_threshold`` is then only the fallback named in the report, and
    ``consecutive`` is the longest debounce: the calibration picks one from 1 to it
    (``tinyad.learn.calibration.device_alerts``), and a raise code above the decision
    code, ``raise_margin`` of the way to the highest code that raises on as many of the
    history's events: a model reading must reach it to raise an alert, and one at the
    decision code holds it (``tinyad.learn.calibration.raise_code``).

    The hold is set in time, as the feature windows are: an alert clears after
    ``clear_after_min`` minutes of normal readings, ``clear_after`` readings at
    ``data.period_s`` (bound by ``Config``; at least one).  The debounce stays a count
    of readings: it is about single readings (a glitch), whatever the period.
    """

    decision_threshold: float
    consecutive: int
    clear_after_min: float
    calibrate: bool
    max_false_alarms_per_week: float
    budget_confidence: float
    # with calibrate: how far the raise code sits from the decision code towards the highest code
    # that raises on as many of the history's events (0: no hysteresis, 1: that highest code)
    raise_margin: float = 0.5
    # data.period_s (bound by Config; 0 = not bound yet)
    period_s: int = 0

    SECTION = "alerts"
    MAX_READINGS = 65535  # the C alert state's uint16_t counters

    def __post_init__(self) -> None:
        _check_range("alerts.decision_threshold", self.decision_threshold, 0.0, 1.0)
        _check_range("alerts.consecutive", self.consecutive, 1, 1000)
        _check_range("alerts.clear_after_min", self.clear_after_min, 0.0, 100000.0)
        _check_range("alerts.max_false_alarms_per_week", self.max_false_alarms_per_week, 0.0, 1000.0)
        _check_range("alerts.raise_margin", self.raise_margin, 0.0, 1.0)
        if self.budget_confidence != 0 and not 0.5 <= self.budget_confidence <= 0.999:
            raise ConfigError(f"alerts.budget_confidence: expected 0 (off) or a value in [0.5, 0.999], "
                              f"got {self.budget_confidence!r}")
        if self.period_s:
            self._check_counts()

    @property
    def clear_after(self) -> int:
        """Normal readings in a row that clear an alert: ``clear_after_min`` in readings."""
        return self._readings(self.clear_after_min, least=1)

    def _check_counts(self) -> None:
        if self.clear_after > self.MAX_READINGS:
            raise ConfigError(
                f"alerts.clear_after_min: {self.clear_after_min} min at data.period_s {self.period_s} s is "
                f"{self.clear_after} readings; the device counts at most {self.MAX_READINGS}"
            )


# ---------------------------------------------------------------------- codegen
@dataclass
class CodegenConfig:
    """Read by ``codegen``.

    ``style``: layout of the generated int8 inference (tinyad/codegen/model.py): ``lean``
    (loops over const tables, unrolled by the compiler unless it optimizes for size),
    ``unrolled`` (straight-line code) or ``compact`` (plain loops).

    The C names' prefix is no parameter: the hand-written firmware (firmware/lib/tinyad)
    is written against ``tinyad_``/``TINYAD_`` (``tinyad.codegen.cgen.PREFIX``).
    """

    style: str = "lean"

    def __post_init__(self) -> None:
        _check_choice("codegen.style", self.style, ("lean", "unrolled", "compact"))


# --------------------------------------------------------------------- firmware
# firmware.sleep -> TINYAD_SLEEP_MODE (firmware/src/esp32/hal_esp32.cpp): the one table
SLEEP_MODES = {"none": 0, "light": 1, "deep": 2}


@dataclass
class FirmwareConfig:
    """Read by ``firmware`` (and baked into the generated config header)."""

    envs: list[str]
    dht_pin: int
    led_pin: int
    buzzer_pin: int
    baud: int
    status_every: int
    sleep: str
    # alert: alert/clear/status/fault lines; log: one "reading" line for every reading
    # (valid or failed) in place of status/fault lines, plus alert/clear: collects data
    mode: str = "alert"

    def __post_init__(self) -> None:
        for env in self.envs:
            _check_choice("firmware.envs[]", env, ("host", "esp32dev", "esp32dev-tflm"))
        _check_choice("firmware.sleep", self.sleep, tuple(SLEEP_MODES))
        _check_choice("firmware.mode", self.mode, ("alert", "log"))


# ----------------------------------------------------------------------- serial
@dataclass
class SerialConfig:
    """Read by ``python -m tinyad.board.serial_monitor`` (the monitor/recorder, no stage)."""

    port: str
    # 0: firmware.baud
    baud: int
    # where --record without a path writes session-<timestamp>.csv
    record_dir: str
    # a read returns after this long without a byte (the view refreshes)
    read_timeout_s: float
    # after a lost port: first wait, doubled each failed attempt up to retry_max_s
    retry_initial_s: float
    retry_max_s: float
    # stop after the port has been gone this long (0: keep retrying)
    give_up_s: float

    def __post_init__(self) -> None:
        if not self.port:
            raise ConfigError("serial.port: expected a device path such as /dev/ttyUSB0, got ''")
        _check_range("serial.baud", self.baud, 0, 10_000_000)
        _check_range("serial.read_timeout_s", self.read_timeout_s, 0.01, 60.0)
        _check_range("serial.retry_initial_s", self.retry_initial_s, 0.001, 600.0)
        _check_range("serial.retry_max_s", self.retry_max_s, self.retry_initial_s, 3600.0)
        _check_range("serial.give_up_s", self.give_up_s, 0.0, 1e9)


# ------------------------------------------------------------------------ power
@dataclass
class BatteryConfig:
    """A battery and the converter to the 3.3 V rail, for the life estimate (tinyad/board/power.py)."""

    name: str
    capacity_mah: float
    nominal_v: float
    # rail power / battery power of the converter (a linear regulator: 3.3 / nominal_v)
    converter_efficiency: float
    # quiescent current of the converter, drawn from the battery all the time
    regulator_iq_ua: float
    # share of the rated capacity the device can use (cut-off voltage, self-discharge)
    usable_fraction: float

    def _check(self, key: str) -> None:
        _check_range(f"{key}.capacity_mah", self.capacity_mah, 1.0, 1e6)
        _check_range(f"{key}.nominal_v", self.nominal_v, 0.5, 60.0)
        _check_range(f"{key}.converter_efficiency", self.converter_efficiency, 0.05, 1.0)
        _check_range(f"{key}.regulator_iq_ua", self.regulator_iq_ua, 0.0, 1e5)
        _check_range(f"{key}.usable_fraction", self.usable_fraction, 0.01, 1.0)


@dataclass
class PowerConfig:
    """Energy per reading and battery life estimate (tinyad/board/power.py; no stage).

    The datasheet figures (ESP32, DHT22) are constants in tinyad/board/power.py with their
    sources; the keys here are the assumptions that no datasheet gives.
    """

    cpu_mhz: list[int]
    batteries: list[BatteryConfig]
    # used when no measured instruction count is given: instructions per MAC
    instructions_per_mac: float
    # features, alert logic, line formatting per reading (instructions, assumption)
    other_instructions: int
    # cycles per instruction of the Xtensa LX6 core (assumption)
    cpi: float
    # deep sleep: wake, boot ROM + bootloader + app start until the reading (s, assumption)
    deep_wake_s: float
    # light sleep: wake-up and clock start (s, assumption)
    light_wake_s: float
    # the DHT22 measures after each read at its measuring current for this long (s, assumption)
    sensor_measure_s: float
    # bytes a line on the serial port (UART at firmware.baud, 10 bits a byte)
    line_bytes: int

    def __post_init__(self) -> None:
        if not self.cpu_mhz:
            raise ConfigError("power.cpu_mhz: expected at least one of [80, 160, 240], got []")
        for mhz in self.cpu_mhz:
            _check_choice("power.cpu_mhz[]", mhz, (80, 160, 240))
        if not self.batteries:
            raise ConfigError("power.batteries: expected at least one battery, got []")
        for i, b in enumerate(self.batteries):
            b._check(f"power.batteries[{i}]")
        _check_range("power.instructions_per_mac", self.instructions_per_mac, 0.1, 1000.0)
        _check_range("power.other_instructions", self.other_instructions, 0, 100_000_000)
        _check_range("power.cpi", self.cpi, 0.1, 100.0)
        _check_range("power.deep_wake_s", self.deep_wake_s, 0.0, 10.0)
        _check_range("power.light_wake_s", self.light_wake_s, 0.0, 1.0)
        _check_range("power.sensor_measure_s", self.sensor_measure_s, 0.0, 10.0)
        _check_range("power.line_bytes", self.line_bytes, 0, 4096)


# --------------------------------------------------------------------- tracking
@dataclass
class TrackingConfig:
    """MLflow: empty uri means sqlite:///<project root>/mlflow.db (MLFLOW_TRACKING_URI wins)."""

    experiment: str
    uri: str
    registered_model: str = ""  # the MLflow registered model each run's model becomes a version of ("": none)


# ------------------------------------------------------------------------- root
@dataclass
class Config:
    data: DataConfig
    features: FeaturesConfig
    split: SplitConfig
    thresholds: ThresholdsConfig
    cluster: ClusterConfig
    model: ModelConfig
    quantize: QuantizeConfig
    evaluate: EvaluateConfig
    alerts: AlertsConfig
    codegen: CodegenConfig
    firmware: FirmwareConfig
    tracking: TrackingConfig
    serial: SerialConfig
    power: PowerConfig
    drift: DriftConfig
    # resolved from ${tinyad_preflight:} when DVC composes conf/ (see preflight below)
    preflight: str = "checked by tinyad/config.py"

    def __post_init__(self) -> None:
        self.features.bind(self.data.period_s)
        self.alerts.bind(self.data.period_s)
        from tinyad.device.features import known_features  # it imports this module

        for name in self.cluster.ignore_features:  # a feature the names do not hold is left out already
            _check_choice("cluster.ignore_features[]", name, tuple(known_features()))
        clustered = tuple(n for n in self.features.names if n not in self.cluster.ignore_features)
        for name in self.cluster.exposure_features:
            _check_choice("cluster.exposure_features[]", name, clustered)


# ------------------------------------------------------------------- preflight
# conf/config.yaml holds ``preflight: ${tinyad_preflight:}``.  Resolving it checks the
# whole composition against this schema, so ``dvc exp run -S cluster.k=100`` is refused
# while DVC composes conf/ (DVC loads hydra_plugins/ from the project root, which calls
# ``register_preflight``), before params.yaml is written or any stage's outputs deleted.
PREFLIGHT_KEY = "preflight"
PREFLIGHT_VALUE = "checked by tinyad/config.py"
PREFLIGHT_RESOLVER = "tinyad_preflight"
# what restores the workspace after a stage refused a value of params.yaml
# (metrics/ and plots/ are cache: false outputs, kept in git: dvc checkout cannot bring them back)
RECOVERY = "git checkout -- params.yaml dvc.lock metrics plots && dvc checkout"


def preflight(*, _root_: Any) -> str:
    """The ``tinyad_preflight`` resolver: validate the composition, or raise ``ConfigError``."""
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(_root_, resolve=False)
    names = {f.name for f in fields(Config)} - {PREFLIGHT_KEY}
    raw = {k: v for k, v in raw.items() if k in names}  # a sweep's `sweep` node is not a pipeline section
    try:
        load_dict(raw, source="conf/ composition")
    except ConfigError as exc:
        raise ConfigError(f"{exc} (refused before params.yaml was written: nothing changed)") from None
    return PREFLIGHT_VALUE


def register_preflight() -> None:
    """Register the ``tinyad_preflight`` resolver with OmegaConf (idempotent)."""
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver(PREFLIGHT_RESOLVER, preflight, replace=True)


# keys that were renamed: an old params file is told the new name, not only that the old is unknown
RENAMED_KEYS = {
    "alerts.clear_after": "alerts.clear_after_min (minutes, counted in readings with data.period_s)",
}


def load_dict(raw: dict, source: str = "params") -> Config:
    """Validate a plain dict against the schema and return typed dataclasses."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.create(raw))
        return OmegaConf.to_object(merged)  # runs every __post_init__
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        first = str(exc).splitlines()[0]
        where = f" (full key: {key})" if key else ""
        if key in RENAMED_KEYS:
            where += f"; it is now {RENAMED_KEYS[key]}"
        raise ConfigError(f"{source}: {first}{where}") from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load(path: str | Path = "params.yaml") -> Config:
    """Read and validate ``params.yaml``."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: parameter file not found (run from the project root)")
    with path.open() as fh:
        raw = yaml.safe_load(fh) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    try:
        return load_dict(raw, source=str(path))
    except ConfigError as exc:
        # DVC deleted the stage's outputs before running it: say how to get them back
        raise ConfigError(f"{exc}; fix the value, or restore the last committed params and outputs: "
                          f"{RECOVERY}") from None


def to_dict(obj: Any) -> Any:
    """Dataclasses back to plain dicts/lists (for logging and reports)."""
    if is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def dotted(d: Any, key: str) -> Any:
    """``d["a"]["b"]`` for ``key="a.b"``; ``None`` where a part is missing (the inverse view of ``flatten``)."""
    for part in key.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """``{'a': {'b': 1}} -> {'a.b': 1}`` as in ``dvc params diff`` and MLflow params."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out
