"""Read real temperature/humidity logs (CSV) into the tidy readings table.

``read_logs(csv_cfg, period_s)`` reads every file named in ``data.csv.paths`` (glob
patterns allowed; relative paths resolve against ``tinyad.paths.project_root()``),
maps the configured columns, converts deg F to deg C, parses timestamps, sorts,
drops duplicated timestamps and puts the readings on a regular grid of
``data.period_s``.  It returns the table described in ``docs/architecture.md``
(timestamp, temperature, humidity, fault, label, anomaly_type, event_id) and a dict
of counts for the data report.  ``tinyad.data.readings.build_readings`` (the ingest stage) calls it; tests call it directly.

Validation
----------
Input that cannot be read raises ``IngestError`` whose message names the file, the
line (as numbered in the file, header = line 1) and the column, and says what was
expected: a missing file or a pattern that matches nothing, an empty file, a missing
column (the columns present are listed), a row with more or fewer fields than the
header (it would shift values: a decimal comma in a comma-separated log needs
``data.csv.decimal: ","`` and another delimiter), a non-numeric cell, a byte that is
not of ``data.csv.encoding``, a timestamp that cannot be parsed, a label that is not
0/1 or a type name.  ``tinyad.data.plausibility.check_log`` then looks at the log as a
whole (a deg F log read as deg C, humidity stuck at 0, a clock never set).

Time zones
----------
Without ``data.csv.timezone`` the timestamps are the log's wall clock as written (a
constant UTC offset is dropped); a UTC offset that changes, or an offset-free clock
that goes back by ``DST_BACK_STEP`` (30 min to 2 h, a daylight-saving change), is
refused with a message naming the key.  With it (an IANA name), offsets are converted
and offset-free times are read as the zone's local time (the repeated autumn hour
told apart by the order of the lines, ``ambiguous="infer"``; a time inside the
skipped spring hour refused); the readings are put on the grid in UTC and
``to_local_time`` turns the grid into the zone's wall clock, reporting each change.
A log with the date and the time of day in two columns (``Date``, ``Time``) names the
second in ``data.csv.time_col``: each line's two cells, joined by a space, are parsed as
one timestamp (``timestamp_format`` then describes the joined text).
Unix time (``data.csv.timestamp_format`` ``unix``, ``unix_ms``, ``unix_us``, ``unix_ns``:
``CsvConfig.UNIX_FORMATS``)
is an instant: read as UTC, then converted like an offset-bearing log (without the key
the table holds UTC's wall clock, and ``check_log`` warns, as it does for a log whose
offsets are all +00:00, a ``Z`` export); a column in another unit (a finer one anywhere,
milliseconds read as seconds, or a coarser one throughout, seconds read as milliseconds)
is refused naming the value to set, told by the numbers' size (``unix_format_of``).

Sensor faults are data, not errors: they are flagged in ``fault``, their values set to
NaN (both quantities: a DHT22 read succeeds or fails as a whole) and counted, never
dropped.  Checked on the raw value, in this order:

* ``dht_error``: the value is exactly -999 (what DHT libraries return on a failed
  read, e.g. a checksum error) in either column;
* ``impossible``: outside the DHT22's physical range, -40..80 deg C or 0..100 %RH
  (after conversion to deg C), infinities included;
* ``nan``: an empty cell or ``nan``/``NA``/``null``/``none`` in either column;
* ``missing``: a grid period without any reading.

When ``data.csv.humidity_col`` is empty the log has no humidity: the column is all
NaN and that is not a fault.

Resampling
----------
Each reading is assigned to the grid point nearest to it (the timestamp rounded to
the period), so a clock that drifts by a second (``17:51:59`` after ``17:51:00``, as
in the UCI occupancy logs) still gives one reading a period.  Exactly duplicated
timestamps keep the last occurrence (``duplicates`` in the report); when two
different timestamps round to the same grid point, the one nearest to it is kept
(``merged``).  Values are rounded to ``data.csv.resolution`` (0.1, the DHT22's step).
An on-change log (a value written only when it changes, as Home Assistant, Zigbee and
BLE loggers keep them) leaves the periods of a steady room without a reading; with
``data.csv.hold_min`` each such period repeats the last valid reading, as the device
would have read it, for up to that many minutes after it (``held`` in the report);
beyond that, and after a failed read, periods are ``missing``.  The hold fills any
period without a line (a periodic log's dropouts too), label included.  Without it
they are all ``missing``, and ``check_log`` warns when a log looks on-change.  A long
log, one line per value (Home Assistant's history export:
``entity_id,state,last_changed``), names its columns in ``data.csv.entity_col`` and
``value_col`` and its two entities in ``temperature_col`` and ``humidity_col``: each
line of either is a reading with the other's last value (``_long_to_wide``), a value
standing for at most ``hold_min`` after its own line (``to_grid``: a reading with an
older one is ``missing``); other entities' lines are skipped, ``unavailable`` and
``unknown`` are failed reads.

Labels (``data.csv.label_col``, optional): ``0``/``1`` (``1``: anomaly of unknown
type, ``anomaly_type`` = ``unknown``), or a type name ``none``/``normal``,
``point``, ``contextual``, ``collective``; an empty cell is unknown (-1).  Contiguous
anomalous rows form one event.  Without a label column every row is -1/``unknown``.
"""

from __future__ import annotations

import csv
import glob
from pathlib import Path

import numpy as np
import pandas as pd

from tinyad.config import CsvConfig, minutes_to_readings
from tinyad.evaluate.metrics import ANOMALY_TYPES, NO_ANOMALY, UNKNOWN_TYPE
from tinyad.paths import project_root
from tinyad.data.plausibility import CLOCK_EARLIEST, check_log

__all__ = [
    "IngestError",
    "COLUMNS",
    "FAULT_KINDS",
    "LOG_ANOMALY_TYPES",
    "DHT_ERROR_VALUE",
    "TEMP_RANGE_C",
    "HUM_RANGE",
    "resolve_paths",
    "read_log",
    "read_logs",
    "flag_faults",
    "to_grid",
    "to_local_time",
    "quantize",
    "tidy_table",
    "events_from_labels",
]

COLUMNS = ["timestamp", "temperature", "humidity", "fault", "label", "anomaly_type", "event_id"]
FAULT_KINDS = ("missing", "nan", "dht_error", "impossible")
# the values of a log's anomaly_type column: normal, a type, or an anomaly of unknown type
LOG_ANOMALY_TYPES = (NO_ANOMALY, *ANOMALY_TYPES, UNKNOWN_TYPE)
DHT_ERROR_VALUE = -999.0
TEMP_RANGE_C = (-40.0, 80.0)
HUM_RANGE = (0.0, 100.0)
MAX_GRID_ROWS = 20_000_000

# a failed read: an empty cell, a NaN, or Home Assistant's states of a sensor not read
_NAN_CELLS = {"", "nan", "na", "n/a", "null", "none", "unavailable", "unknown"}
_LABELS = {  # a label cell (lower case) -> (label, anomaly_type)
    **{cell: (0, NO_ANOMALY) for cell in ("0", "0.0", NO_ANOMALY, "normal", "false")},
    **{cell: (1, UNKNOWN_TYPE) for cell in ("1", "1.0", "true", "anomaly")},
    **{t: (1, t) for t in ANOMALY_TYPES},
}


class IngestError(ValueError):
    """Input data that cannot be read: the message names file, line, column, expectation."""


# ------------------------------------------------------------------- helpers
DECIMALS = 6  # readings are rounded to this many decimals after their resolution (quantize)


def quantize(x: np.ndarray, resolution: float) -> np.ndarray:
    """Round to multiples of ``resolution`` (0: unchanged), then to ``DECIMALS`` decimals.

    The second rounding makes 0.1-steps print and compare as the decimals they are
    (``24.1``, not ``24.100000000000001``); NaN stays NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if resolution <= 0:
        return x.copy()
    return np.round(np.round(x / resolution) * resolution, DECIMALS)


def flag_faults(temperature: np.ndarray, humidity: np.ndarray, has_humidity: bool = True):
    """Flag sensor faults on raw values (deg C); return (temperature, humidity, fault).

    Faulty rows get NaN in both quantities.  ``fault`` is an object array of
    ``""``/``dht_error``/``impossible``/``nan`` (precedence in that order of severity:
    dht_error, impossible, nan).
    """
    t = np.asarray(temperature, dtype=np.float64).copy()
    h = np.asarray(humidity, dtype=np.float64).copy()
    n = len(t)
    if not has_humidity:
        h = np.full(n, np.nan)
    fault = np.full(n, "", dtype=object)
    nan = np.isnan(t) | (np.isnan(h) if has_humidity else False)
    with np.errstate(invalid="ignore"):
        impossible = ~np.isnan(t) & ((t < TEMP_RANGE_C[0]) | (t > TEMP_RANGE_C[1]))
        if has_humidity:
            impossible |= ~np.isnan(h) & ((h < HUM_RANGE[0]) | (h > HUM_RANGE[1]))
    dht = t == DHT_ERROR_VALUE
    if has_humidity:
        dht |= h == DHT_ERROR_VALUE
    fault[nan] = "nan"
    fault[impossible] = "impossible"
    fault[dht] = "dht_error"
    bad = fault != ""
    t[bad] = np.nan
    h[bad] = np.nan
    return t, h, fault


def tidy_table(timestamp, temperature, humidity, fault, label, anomaly_type, event_id) -> pd.DataFrame:
    """The interim table with the contract's column order and dtypes."""
    ts = pd.DatetimeIndex(timestamp)
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return pd.DataFrame({
        "timestamp": ts.as_unit("ns"),
        "temperature": np.asarray(temperature, dtype=np.float64),
        "humidity": np.asarray(humidity, dtype=np.float64),
        "fault": pd.array(np.asarray(fault, dtype=object), dtype="str"),
        "label": np.asarray(label, dtype=np.int8),
        "anomaly_type": pd.array(np.asarray(anomaly_type, dtype=object), dtype="str"),
        "event_id": np.asarray(event_id, dtype=np.int32),
    })


def events_from_labels(label: np.ndarray, first_id: int = 0) -> np.ndarray:
    """Event ids for contiguous runs of ``label == 1`` (``-1`` elsewhere)."""
    label = np.asarray(label)
    on = label == 1
    start = on & ~np.concatenate([[False], on[:-1]])
    ids = np.cumsum(start) - 1 + first_id
    return np.where(on, ids, -1).astype(np.int32)


# ----------------------------------------------------------------- reading
def resolve_paths(patterns: list[str], root: str | Path | None = None) -> list[Path]:
    """Files named by ``patterns`` (globs allowed), relative ones against the project root.

    Each pattern must match at least one file; the result keeps the pattern order,
    the matches of one pattern sorted by name, without repeats.
    """
    base = Path(root) if root is not None else project_root()
    if not patterns:
        raise IngestError("data.csv.paths: no CSV file named (expected a list of files or glob patterns)")
    out: list[Path] = []
    for pattern in patterns:
        p = Path(pattern).expanduser()
        full = p if p.is_absolute() else base / p
        if glob.has_magic(str(pattern)):
            matches = sorted(Path(m) for m in glob.glob(str(full)) if Path(m).is_file())
            if not matches:
                raise IngestError(f"{full}: no file matches this pattern (data.csv.paths entry {pattern!r})")
        else:
            if not full.is_file():
                raise IngestError(f"{full}: file not found (data.csv.paths entry {pattern!r})")
            matches = [full]
        for m in matches:
            if m not in out:
                out.append(m)
    return out


def _numeric(cells: list[str], lines: np.ndarray, path: Path, col: str, decimal: str = ".") -> np.ndarray:
    ser = pd.Series(cells, dtype=object)
    if decimal != ".":
        # a decimal-comma cell "24,5" reads as 24.5; a "." in it is then not a decimal mark
        ser = ser.where(~ser.str.contains(".", regex=False), "bad").str.replace(decimal, ".", regex=False)
    values = np.array(pd.to_numeric(ser, errors="coerce"), dtype=np.float64)
    blank = np.array([c.strip().lower() in _NAN_CELLS for c in cells], dtype=bool)
    bad = np.isnan(values) & ~blank
    if bad.any():
        i = int(np.argmax(bad))
        mark = f" with the decimal mark {decimal!r} (data.csv.decimal)" if decimal != "." else ""
        raise IngestError(
            f"{path}: line {lines[i]}, column {col!r}: expected a number{mark}, got {cells[i]!r}"
        )
    values[blank] = np.nan
    return values


# a clock that goes back by this much in an offset-free log without data.csv.timezone looks
# like the autumn daylight-saving change (30 min: Lord Howe Island; 2 h: the largest shift)
DST_BACK_STEP = (pd.Timedelta(minutes=30), pd.Timedelta(hours=2))
_TZ_HINT = "set data.csv.timezone to the log's IANA time zone (e.g. Europe/Berlin)"


def _timestamps(cells: list[str], lines: np.ndarray, path: Path, col: str, fmt: str,
                timezone: str = "") -> tuple[pd.DatetimeIndex, bool]:
    """Parse a file's timestamps: ``(times, utc)``.

    Without ``timezone``: the wall-clock time as written (a constant UTC offset is
    dropped).  With it: UTC (naive), from the offsets when the log has them, else by
    reading the times as local time in ``timezone``; ``read_logs`` converts the grid
    back to the zone's wall clock.  ``utc``: without ``timezone``, the times are UTC's
    wall clock (Unix time, or every offset +00:00), which ``check_log`` warns about.
    """
    ser = pd.Series(cells, dtype=object).str.strip()
    if fmt in CsvConfig.UNIX_FORMATS:
        return _unix_timestamps(ser, cells, lines, path, col, fmt), not timezone
    want = f"format {fmt!r}" if fmt else "an ISO 8601 timestamp like '2015-02-04 17:51:00'"
    mixed = False
    try:
        ts = pd.to_datetime(ser, format=fmt or "ISO8601", errors="coerce")
    except (ValueError, TypeError) as exc:
        if "Mixed timezones" not in str(exc):
            raise IngestError(f"{path}: column {col!r}: timestamps cannot be parsed ({exc})") from None
        mixed = True  # UTC offsets that change (daylight saving), or offsets on some lines only
        ts = pd.to_datetime(ser, format=fmt or "ISO8601", errors="coerce", utc=True)
    bad = ts.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        unix = unix_format_of(_numbers(pd.Series([cells[i]]))[0])  # NaN: no format
        unix = f": {unix} (Unix time in {UNIX_UNITS[CsvConfig.UNIX_FORMATS[unix]][1]}, by its size)" if unix else ""
        raise IngestError(
            f"{path}: line {lines[i]}, column {col!r}: cannot parse timestamp {cells[i]!r} (expected {want}; "
            f"set data.csv.timestamp_format{unix})"
        )
    if mixed:
        offsets = [_offset(c, fmt) for c in ser]
        naive = [i for i, o in enumerate(offsets) if o is None]
        if naive:
            i = naive[0]
            raise IngestError(
                f"{path}: line {lines[i]}, column {col!r}: timestamp {cells[i]!r} has no UTC offset but other "
                "lines have one (expected every timestamp with an offset, or none)"
            )
        if not timezone:
            i = next(i for i in range(1, len(offsets)) if offsets[i] != offsets[i - 1])
            raise IngestError(
                f"{path}: line {lines[i]}, column {col!r}: the UTC offset changes from {_hhmm(offsets[i - 1])} "
                f"to {_hhmm(offsets[i])} ({cells[i - 1]!r} then {cells[i]!r}, a daylight-saving change?); "
                f"{_TZ_HINT} to convert the log to its local time"
            )
    idx = pd.DatetimeIndex(ts)
    far = (idx.year <= pd.Timestamp.min.year) | (idx.year >= pd.Timestamp.max.year)  # beyond pandas' calendar ('-5')
    if far.any():
        i = int(np.argmax(far))
        raise IngestError(f"{path}: line {lines[i]}, column {col!r}: timestamp {cells[i]!r} is outside the years "
                          f"1677-2262: no time a clock gives (expected {want})")
    if idx.tz is not None:
        if timezone:
            return idx.tz_convert("UTC").tz_localize(None).as_unit("ns"), False
        utc = idx[0].utcoffset() == pd.Timedelta(0)
        return idx.tz_localize(None).as_unit("ns"), utc  # one constant offset: keep the wall-clock time
    if not timezone:
        step = idx[1:] - idx[:-1]
        back = np.flatnonzero((step <= -DST_BACK_STEP[0]) & (step >= -DST_BACK_STEP[1]))
        if len(back):
            i = int(back[0]) + 1
            raise IngestError(
                f"{path}: line {lines[i]}, column {col!r}: the clock goes back from {cells[i - 1]!r} to "
                f"{cells[i]!r}, as at a daylight-saving change; {_TZ_HINT} so that the repeated hour is kept "
                "instead of being merged as duplicates"
            )
        return idx.as_unit("ns"), False
    return _localize(idx, cells, lines, path, col, timezone), False


def _offset(cell: str, fmt: str):
    """A timestamp's UTC offset (a timedelta), or None when it has none."""
    t = pd.to_datetime(cell, format=fmt or "ISO8601")
    return t.utcoffset()


def _hhmm(offset) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# Unix time's units (CsvConfig.UNIX_FORMATS' values): ticks a second, and the word.  Unix
# seconds of the years 1973-5138 have 9-11 digits, milliseconds 12-14, microseconds 15-17,
# nanoseconds 18-20: a column of one unit read as another lands before 1973 or after the
# year 5000 (UNIX_S_FROM, UNIX_S_UNTIL), so a value's size tells that its unit is wrong;
# the unit to set is the one that puts it in the years 2000-2100, if any
UNIX_UNITS = {"s": (1.0, "seconds"), "ms": (1e3, "milliseconds"), "us": (1e6, "microseconds"), "ns": (1e9, "nanoseconds")}
assert set(UNIX_UNITS) == set(CsvConfig.UNIX_FORMATS.values()), "CsvConfig.UNIX_FORMATS and UNIX_UNITS disagree"
UNIX_S_FROM, UNIX_S_UNTIL = 1e8, 1e11  # Unix seconds of 1973-03 and of the year 5138
# Unix seconds of the earliest clock the plausibility check takes as set, and of 2100
UNIX_S_LIKELY = tuple((t - pd.Timestamp(0)).total_seconds() for t in (CLOCK_EARLIEST, pd.Timestamp("2100-01-01")))


def unix_format_of(num: float) -> str | None:
    """The ``data.csv.timestamp_format`` whose unit puts a Unix timestamp of this size in the
    years 2000-2100 (``UNIX_S_LIKELY``); ``None`` for none (a clock never set, a far future,
    or no time)."""
    for fmt, unit in CsvConfig.UNIX_FORMATS.items():
        per_s = UNIX_UNITS[unit][0]
        if UNIX_S_LIKELY[0] * per_s <= num < UNIX_S_LIKELY[1] * per_s:
            return fmt
    return None


def _numbers(cells: pd.Series) -> np.ndarray:
    """The cells as floats (NaN where a cell is not a finite number): the one rule for what a
    Unix timestamp cell may hold."""
    num = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(num), num, np.nan)


def _unix_timestamps(ser: pd.Series, cells: list[str], lines: np.ndarray, path: Path, col: str,
                     fmt: str) -> pd.DatetimeIndex:
    """Unix time (``data.csv.timestamp_format`` ``unix``: seconds, ``unix_ms``, ``unix_us``,
    ``unix_ns``: milli-, micro-, nanoseconds since 1970-01-01 UTC, fractions allowed) -> naive
    UTC.  It is an instant, not a wall clock: ``read_logs`` turns it into
    ``data.csv.timezone``'s local time, and without a zone the table holds UTC
    (``tinyad.data.plausibility.check_log`` warns)."""
    unit = CsvConfig.UNIX_FORMATS[fmt]
    per_s, words = UNIX_UNITS[unit]
    whole = pd.to_numeric(ser, errors="coerce")  # parsed once; integers stay exact (float64 rounds nanoseconds)
    num = _numbers(whole)
    bad = np.isnan(num)
    if bad.any():
        i = int(np.argmax(bad))
        raise IngestError(f"{path}: line {lines[i]}, column {col!r}: cannot parse timestamp {cells[i]!r} "
                          f"(expected Unix time in {words}, data.csv.timestamp_format {fmt!r})")
    # a value of a finer unit anywhere (after the year 5000 read in this one), or of a coarser
    # one throughout (before 1973; a few early ones may be a clock never set, and a log whose
    # every value is before 1973 even in seconds is one: check_log says so)
    late = num >= UNIX_S_UNTIL * per_s
    i = int(np.argmax(late)) if late.any() else int(np.argmax(num))
    right = unix_format_of(num[i])
    if late.any() or (num < UNIX_S_FROM * per_s).all() and right:
        raise IngestError(
            f"{path}: line {lines[i]}, column {col!r}: timestamp {cells[i]!r} is not Unix time in {words} "
            f"(it would be {'after the year 5000' if late.any() else 'before 1973'})"
            + (f"; set data.csv.timestamp_format: {right}" if right else "")
        )
    lo, hi = ((t - pd.Timestamp(0)).total_seconds() * per_s for t in (pd.Timestamp.min, pd.Timestamp.max))
    outside = (num <= lo) | (num >= hi)
    if outside.any():  # beyond pandas' calendar
        i = int(np.argmax(outside))
        raise IngestError(f"{path}: line {lines[i]}, column {col!r}: timestamp {cells[i]!r} is outside the years "
                          f"1677-2262 as Unix time in {words}: the device's clock was not set")
    return pd.DatetimeIndex(pd.to_datetime(whole if whole.dtype.kind == "i" else num, unit=unit)).as_unit("ns")


def _localize(idx: pd.DatetimeIndex, cells: list[str], lines: np.ndarray, path: Path, col: str,
              timezone: str) -> pd.DatetimeIndex:
    """Offset-free local times in ``timezone`` -> naive UTC.

    The repeated autumn hour is told apart by the order of the lines (pandas'
    ``ambiguous="infer"``); a time in the skipped spring hour cannot be on a correct
    clock and is refused.
    """
    amb = np.asarray(idx.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").isna())
    gap = np.asarray(idx.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").isna()) & ~amb
    if gap.any():
        i = int(np.argmax(gap))
        raise IngestError(
            f"{path}: line {lines[i]}, column {col!r}: {cells[i]!r} does not exist in {timezone} (the hour "
            "skipped when the clocks go forward); expected a local time of data.csv.timezone"
        )
    if not amb.any():
        return idx.tz_localize(timezone).tz_convert("UTC").tz_localize(None).as_unit("ns")
    try:
        local = idx.tz_localize(timezone, ambiguous="infer")
    except ValueError:
        i = int(np.argmax(amb))
        raise IngestError(
            f"{path}: line {lines[i]}, column {col!r}: {cells[i]!r} falls in the hour repeated when the clocks "
            f"go back in {timezone}, and the order of the lines does not tell which of the two it is "
            "(expected the readings of that night in the order they were taken)"
        ) from None
    return local.tz_convert("UTC").tz_localize(None).as_unit("ns")


def read_log(path: str | Path, cfg: CsvConfig) -> pd.DataFrame:
    """Read one CSV file as it is (no sorting or resampling).

    Returns columns timestamp (naive; UTC when ``data.csv.timezone`` is set, else the
    log's wall clock), temperature (deg C), humidity, fault, label, anomaly_type, line
    (line number in the file) and file.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found")
    wanted = [("data.csv.timestamp_col", cfg.timestamp_col)]
    if cfg.entity_col:
        wanted += [("data.csv.entity_col", cfg.entity_col), ("data.csv.value_col", cfg.value_col)]
    else:
        wanted.append(("data.csv.temperature_col", cfg.temperature_col))
    if cfg.time_col:
        wanted.append(("data.csv.time_col", cfg.time_col))
    if cfg.humidity_col and not cfg.entity_col:
        wanted.append(("data.csv.humidity_col", cfg.humidity_col))
    if cfg.label_col:
        wanted.append(("data.csv.label_col", cfg.label_col))
    if cfg.sensor_col:
        wanted.append(("data.csv.sensor_col", cfg.sensor_col))
    try:
        header, index, cols, lines, skipped = _read_rows(path, cfg, wanted)
    except UnicodeDecodeError:
        raise IngestError(_decode_error(path, cfg.encoding)) from None
    skipped |= {"other_sensors": 0, "other_entities": 0}
    if cfg.sensor_col and lines:
        n = len(lines)
        cols, lines = _one_sensor(path, cfg, cols, lines)
        skipped["other_sensors"] = n - len(lines)
    if not lines:
        raise IngestError(f"{path}: empty file (a header but no data lines)")
    line_arr = np.asarray(lines, dtype=np.int64)
    stamps = cols[cfg.timestamp_col]
    if cfg.time_col:  # a Date column and a Time column: one timestamp
        stamps = [f"{d.strip()} {t.strip()}" for d, t in zip(stamps, cols[cfg.time_col])]
    ts, utc = _timestamps(stamps, line_arr, path, cfg.timestamp_label, cfg.timestamp_format, cfg.timezone)
    age = None
    if cfg.entity_col:  # a long log: one line per value
        n = len(line_arr)
        line_arr, ts, temp, hum, age, entity = _long_to_wide(path, cfg, cols, line_arr, ts, stamps)
        skipped["other_entities"] = n - len(line_arr)
    else:
        temp = _numeric(cols[cfg.temperature_col], line_arr, path, cfg.temperature_col, cfg.decimal)
        hum = (_numeric(cols[cfg.humidity_col], line_arr, path, cfg.humidity_col, cfg.decimal)
               if cfg.humidity_col else np.full(len(line_arr), np.nan))
    out = _finish(path, cfg, cols, line_arr, ts, temp, hum)
    if age is not None:
        out["age_s"] = age  # to_grid: the reading's values are this old (a long log's held entity)
        out["entity"] = entity  # check_log: a long log's own period is in each entity's steps
    out.attrs["utc_clock"] = utc  # read_logs: check_log warns that the time of day is UTC's
    out.attrs["skipped"] = skipped  # read_logs: the lines that hold no reading of the room, counted
    return out


def _one_sensor(path: Path, cfg: CsvConfig, cols: dict, lines: list[int]) -> tuple[dict, list[int]]:
    """The lines of ``data.csv.sensor`` (``data.csv.sensor_col``'s cell, stripped); the other
    sensors' lines are skipped, and a sensor the log does not hold is refused."""
    keep = [c.strip() == cfg.sensor.strip() for c in cols[cfg.sensor_col]]
    if not any(keep):
        raise IngestError(f"{path}: column {cfg.sensor_col!r}: no line of the sensor {cfg.sensor!r} (data.csv.sensor); "
                          f"sensors present: {_listing(cols[cfg.sensor_col])}")
    return ({k: [v for v, m in zip(vals, keep) if m] for k, vals in cols.items()},
            [ln for ln, m in zip(lines, keep) if m])


def _long_to_wide(path: Path, cfg: CsvConfig, cols: dict, line_arr: np.ndarray, ts: pd.DatetimeIndex,
                  stamps: list[str]):
    """A long log's lines of the temperature and humidity entities as readings: one at each
    line of either, with the other entity's last value, and the age of the older of the two
    (seconds; infinite before the other's first line), which ``to_grid`` holds to
    ``data.csv.hold_min`` like any reading's.  Lines of other entities are skipped; an entity
    that holds two series is refused (``_one_series``; ``stamps``: the timestamp cells, as
    the file has them).  Returns (lines, timestamps, temperature, humidity, age, entity) in time order."""
    entity = np.array([c.strip() for c in cols[cfg.entity_col]], dtype=object)
    cells = cols[cfg.value_col]
    order = np.lexsort((line_arr, ts.asi8))  # time order; a tie keeps the file's order
    names = [("data.csv.temperature_col", cfg.temperature_col)]
    if cfg.humidity_col:
        names.append(("data.csv.humidity_col", cfg.humidity_col))
    mine = order[np.isin(entity[order], [name for _, name in names])]
    out = pd.DataFrame({"timestamp": ts[mine]})
    values, age = [], np.zeros(len(mine))
    for key, name in names:
        at = order[entity[order] == name]
        if not len(at):
            raise IngestError(f"{path}: column {cfg.entity_col!r}: no line of the entity {name!r} ({key}); "
                              f"entities present: {_listing(entity)}")
        own = pd.DataFrame({"timestamp": ts[at], "since": ts[at],
                            "value": _numeric([cells[i] for i in at], line_arr[at], path, cfg.value_col, cfg.decimal)})
        _one_series(path, cfg, name, own["value"].to_numpy(), at, ts, line_arr, stamps)
        last = pd.merge_asof(out, own, on="timestamp", direction="backward")
        values.append(last["value"].to_numpy(dtype=np.float64))
        since = (last["timestamp"] - last["since"]).dt.total_seconds().to_numpy()
        age = np.maximum(age, np.where(np.isnan(since), np.inf, since))
    hum = values[1] if cfg.humidity_col else np.full(len(mine), np.nan)
    return line_arr[mine], pd.DatetimeIndex(out["timestamp"]), values[0], hum, age, entity[mine]


# a long log's entity with two values at one time on more than this share of its times
# holds two sensors' series (_one_series); fewer are a sensor's own double reports
MIXED_SERIES_SHARE = 0.01


def _one_series(path: Path, cfg: CsvConfig, name: str, value: np.ndarray, at: np.ndarray, ts: pd.DatetimeIndex,
                lines: np.ndarray, stamps: list[str]) -> None:
    """Refuse an entity with two values at one time on more than ``MIXED_SERIES_SHARE`` of its
    times (``at``: its lines, in time order; values compared at ``data.csv.resolution``, failed
    reads left out): two sensors' series in one long log, an InfluxDB export of several rooms,
    read together would be one room's readings.  A sensor that now and then reports twice in
    one timestamp is read (the last value kept, ``to_grid``'s duplicates).  Series whose
    times never coincide are not told apart here."""
    ok = np.isfinite(value)
    t, v, at = ts.asi8[at][ok], quantize(value[ok], cfg.resolution), at[ok]
    two = np.flatnonzero((t[1:] == t[:-1]) & (v[1:] != v[:-1]))
    clash, times = len(np.unique(t[two])), len(np.unique(t))  # the times with two values or more
    if clash and clash > MIXED_SERIES_SHARE * times:
        a, b = at[two[0]], at[two[0] + 1]
        raise IngestError(
            f"{path}: lines {lines[a]} and {lines[b]}: the entity {name!r} ({cfg.entity_col!r}) has two values at "
            f"{stamps[a].strip()!r} ({v[two[0]]:g} and {v[two[0] + 1]:g}), and so at {clash} of its {times} times: "
            "two sensors' series? keep one with data.csv.sensor_col (e.g. an InfluxDB tag column) and data.csv.sensor"
        )


def _listing(values) -> str:
    """The distinct values of a column, sorted, the first eight (for a message)."""
    present = sorted({str(v).strip() for v in values})
    return f"{present[:8]}{' ...' if len(present) > 8 else ''}"


def _encoding(name: str) -> str:
    """The codec that reads ``data.csv.encoding``; UTF-8 also skips a byte-order mark."""
    import codecs

    return "utf-8-sig" if codecs.lookup(name).name == "utf-8" else name


def _decode_error(path: Path, encoding: str) -> str:
    """Where a file stops being ``encoding``: the line, the column and the byte."""
    data = path.read_bytes()
    for line_no, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            raw.decode(_encoding(encoding) if line_no == 1 else encoding)
        except UnicodeDecodeError as exc:
            byte = raw[exc.start:exc.start + 1].hex()
            return (f"{path}: line {line_no}, byte {exc.start + 1} of the line: 0x{byte} is not valid {encoding} "
                    f"(set data.csv.encoding to the file's encoding, e.g. latin-1 or cp1252)")
    return f"{path}: not valid {encoding} text (set data.csv.encoding to the file's encoding, e.g. latin-1 or cp1252)"


NOTE_MARK = "#"  # how most loggers' notes start: the data.csv.comment a refused note line's hint suggests


def _text(cell: str) -> str:
    """A cell or line without surrounding spaces and without a byte-order mark (a file joined
    from files that each begin with one)."""
    return cell.strip().lstrip("\ufeff").strip()


def _read_rows(path: Path, cfg: CsvConfig, wanted: list[tuple[str, str]]):
    """Header, column indices, the wanted cells, their line numbers and the lines skipped
    (``{"notes", "repeated_headers"}``); every row as wide as the header.

    Skipped, as they hold no reading: blank lines, note lines (whose text, leading spaces
    aside, starts with ``data.csv.comment``: InfluxDB's annotations), blanked before the CSV
    is parsed so that a quote in a note cannot open a field over the readings after it, and
    a line that repeats the header (files joined into one, an annotated CSV's next table)."""
    note = f"; a note line? set data.csv.comment: {NOTE_MARK!r}"
    skipped = {"notes": 0, "repeated_headers": 0}

    def lines_of(fh):  # one line out for every line in: reader.line_num stays the file's
        quoted = False  # inside a quoted field that runs over lines: no line there is a note
        for line in fh:
            if cfg.comment and not quoted and _text(line).startswith(cfg.comment):
                skipped["notes"] += 1
                yield "\n"
            else:
                quoted ^= line.count('"') % 2 == 1
                yield line

    def cells(row: list[str]) -> list[str]:
        return [_text(c) for c in row]

    with path.open(newline="", encoding=_encoding(cfg.encoding)) as fh:
        reader = csv.reader(lines_of(fh), delimiter=cfg.delimiter)
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)  # leading blank or note lines
        if header is None:
            raise IngestError(f"{path}: empty file (expected a header line naming the columns)")
        header = cells(header)
        index = {}
        for key, name in wanted:
            if name not in header:
                hint = note if not cfg.comment and _text(header[0]).startswith(NOTE_MARK) else ""
                raise IngestError(
                    f"{path}: line {reader.line_num}: column {name!r} ({key}) not found; "
                    f"columns present: {header} (delimiter {cfg.delimiter!r}){hint}"
                )
            index[name] = header.index(name)
        cols = {name: [] for _, name in wanted}
        lines: list[int] = []
        width = len(header)
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if cells(row) == header:
                skipped["repeated_headers"] += 1
                continue
            if len(row) != width:
                # too many fields would shift every value after the extra one (a decimal comma
                # in a comma-separated log, a stray column): refused, never guessed
                hint = ""
                if len(row) > width and cfg.delimiter == ",":
                    hint = ("; a decimal comma? set data.csv.decimal: ',' with a data.csv.delimiter "
                            "other than ','")
                if not cfg.comment and _text(row[0]).startswith(NOTE_MARK):
                    hint = note
                raise IngestError(
                    f"{path}: line {reader.line_num}: expected {width} fields "
                    f"({cfg.delimiter!r}-separated, as in the header), got {len(row)}: "
                    f"{cfg.delimiter.join(row)!r}{hint}"
                )
            for name, j in index.items():
                cols[name].append(row[j])
            lines.append(reader.line_num)
    return header, index, cols, lines, skipped


def _finish(path: Path, cfg: CsvConfig, cols: dict, line_arr: np.ndarray, ts, temp: np.ndarray,
            hum: np.ndarray) -> pd.DataFrame:
    n = len(line_arr)
    # -999 is checked on the raw value, before any unit conversion
    dht = (temp == DHT_ERROR_VALUE) | (hum == DHT_ERROR_VALUE)
    if cfg.temperature_unit == "F":
        temp = np.where(dht, temp, (temp - 32.0) * 5.0 / 9.0)
    temp, hum, fault = flag_faults(temp, hum, has_humidity=bool(cfg.humidity_col))
    fault[dht] = "dht_error"
    if cfg.label_col:
        label = np.empty(n, dtype=np.int8)
        atype = np.empty(n, dtype=object)
        for i, cell in enumerate(cols[cfg.label_col]):
            key = cell.strip().lower()
            if key == "":
                label[i], atype[i] = -1, UNKNOWN_TYPE
                continue
            if key not in _LABELS:
                raise IngestError(
                    f"{path}: line {line_arr[i]}, column {cfg.label_col!r}: expected a label 0/1 or one of "
                    f"{', '.join((NO_ANOMALY, *ANOMALY_TYPES))}, got {cell!r}"
                )
            label[i], atype[i] = _LABELS[key]
    else:
        label = np.full(n, -1, dtype=np.int8)
        atype = np.full(n, UNKNOWN_TYPE, dtype=object)
    return pd.DataFrame({
        "timestamp": ts, "temperature": temp, "humidity": hum, "fault": fault,
        "label": label, "anomaly_type": atype, "line": line_arr, "file": str(path),
    })


# ---------------------------------------------------------------- resampling
def to_grid(raw: pd.DataFrame, period_s: int, resolution: float = 0.0, has_labels: bool = False,
            hold: int = 0):
    """Sort, de-duplicate and put readings on a regular grid; return (table, stats).

    ``raw`` has the columns of ``read_log``.  Periods without a reading become rows
    with fault ``missing``, NaN values and label -1/``unknown``, except, with ``hold``
    > 0 (an on-change log), the ``hold`` periods after a valid reading: they repeat it,
    label included (``held`` in the stats).  A fault ends the hold.  A long log's reading
    carries the age of its older value (``age_s``, ``_long_to_wide``): the hold counts from
    that value's own line, and a reading older than ``hold`` periods is ``missing``.
    """
    if raw.empty:
        raise IngestError("no readings to resample")
    order = np.lexsort((np.arange(len(raw)), raw["timestamp"].to_numpy()))
    df = raw.iloc[order].reset_index(drop=True)
    dup = df["timestamp"].duplicated(keep="last").to_numpy()
    n_dup = int(dup.sum())
    df = df.loc[~dup].reset_index(drop=True)
    freq = pd.Timedelta(seconds=period_s)
    ts = pd.DatetimeIndex(df["timestamp"])
    slot_ts = ts.round(freq)
    # keep, for each grid point, the reading nearest to it (ties: the earlier)
    dist = np.abs((ts - slot_ts).to_numpy().astype(np.int64))
    key = np.lexsort((np.arange(len(df)), dist, slot_ts.to_numpy()))
    slot_sorted = slot_ts.to_numpy()[key]
    first = np.concatenate([[True], slot_sorted[1:] != slot_sorted[:-1]])
    keep = np.sort(key[first])
    n_merged = int(len(df) - len(keep))
    df = df.iloc[keep].reset_index(drop=True)
    slots = slot_ts.to_numpy()[keep]
    start, end = slots[0], slots[-1]
    n_rows = int((end - start) // np.timedelta64(period_s, "s")) + 1
    if n_rows > MAX_GRID_ROWS:
        raise IngestError(
            f"the readings span {pd.Timestamp(start)} to {pd.Timestamp(end)}: {n_rows} periods of {period_s} s "
            f"(more than {MAX_GRID_ROWS}); check the timestamps and data.period_s"
        )
    grid = pd.date_range(pd.Timestamp(start), periods=n_rows, freq=freq).as_unit("ns")
    pos = ((slots - start) // np.timedelta64(period_s, "s")).astype(np.int64)
    temp = np.full(n_rows, np.nan)
    hum = np.full(n_rows, np.nan)
    fault = np.full(n_rows, "missing", dtype=object)
    label = np.full(n_rows, -1, dtype=np.int8)
    atype = np.full(n_rows, UNKNOWN_TYPE, dtype=object)
    temp[pos] = quantize(df["temperature"].to_numpy(), resolution)
    hum[pos] = quantize(df["humidity"].to_numpy(), resolution)
    fault[pos] = df["fault"].to_numpy(dtype=object)
    label[pos] = df["label"].to_numpy()
    atype[pos] = df["anomaly_type"].to_numpy(dtype=object)
    age = np.zeros(n_rows)
    if "age_s" in df:  # periods since the older value's own line (a long log)
        age[pos] = np.round(df["age_s"].to_numpy(dtype=np.float64) / period_s)
        stale = age > hold
        temp[stale], hum[stale], fault[stale] = np.nan, np.nan, "missing"
    held, src = _held(pos, fault, hold, age)
    for col in (temp, hum, fault, label, atype):
        col[held] = col[src[held]]
    event_id = events_from_labels(label) if has_labels else np.full(n_rows, -1, dtype=np.int32)
    table = tidy_table(grid, temp, hum, fault, label, atype, event_id)
    stats = {
        "readings_read": int(len(raw)),
        "duplicates": n_dup,
        "merged": n_merged,
        "held": int(held.sum()),
    }
    return table, stats


def _last_reading(pos: np.ndarray, n_rows: int) -> np.ndarray:
    """For each grid row, the row of the latest reading at or before it (-1: none yet)."""
    last = np.full(n_rows, -1, dtype=np.int64)
    last[pos] = pos
    return np.maximum.accumulate(last)


def _held(pos: np.ndarray, fault: np.ndarray, hold: int, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grid rows an on-change log's last reading stands for, and that reading's row: rows
    without a reading of their own, at most ``hold`` periods after the line of a valid
    (fault-free) one's oldest value (``age``: its values' age in periods at its own row)."""
    n_rows = len(fault)
    last = _last_reading(pos, n_rows)
    if hold <= 0:
        return np.zeros(n_rows, dtype=bool), last
    src = np.maximum(last, 0)
    since = np.arange(n_rows) - last + age[src]
    return (fault == "missing") & (last >= 0) & (since <= hold) & (fault[src] == ""), src


def to_local_time(table: pd.DataFrame, timezone: str, period_s: int):
    """The grid (naive UTC) in ``timezone``'s wall-clock time; return (table, report).

    The rows stay one a period in real time: at the autumn change the wall clock
    repeats an hour (both kept, ``repeated_rows`` counts the second pass), at the
    spring change it skips one (no row is missing: ``skipped_periods`` counts the
    wall-clock periods that did not happen).  ``changes`` lists each change.
    """
    utc = pd.DatetimeIndex(table["timestamp"]).tz_localize("UTC")
    local = utc.tz_convert(timezone).tz_localize(None)
    offset = (local - utc.tz_localize(None)).to_numpy()
    changes, skipped = [], 0
    for i in np.flatnonzero(offset[1:] != offset[:-1]) + 1:
        before, after = pd.Timedelta(offset[i - 1]), pd.Timedelta(offset[i])
        changes.append({
            "utc": str(utc[i].tz_localize(None)), "local_before": str(local[i - 1]), "local_after": str(local[i]),
            "offset_before": _hhmm(before), "offset_after": _hhmm(after),
        })
        if after > before:
            skipped += int((after - before) // pd.Timedelta(seconds=period_s))
    repeated = int(pd.Index(local).duplicated(keep="first").sum())
    out = table.copy()
    out["timestamp"] = local.as_unit("ns")
    return out, {"name": timezone, "changes": changes, "repeated_rows": repeated, "skipped_periods": skipped}


def read_logs(cfg: CsvConfig, period_s: int, root: str | Path | None = None):
    """Read every configured log into one table on the ``period_s`` grid.

    Returns ``(table, stats)``; stats holds ``files`` (list of paths),
    ``rows_per_file``, ``readings_read``, ``duplicates``, ``merged``, ``held`` and
    ``skipped_lines`` (the lines that hold no reading of the room: ``notes``,
    ``repeated_headers``, ``other_sensors``, ``other_entities``), and with
    ``data.csv.timezone`` the ``timezone`` report of ``to_local_time``, and
    ``warnings``: what ``tinyad.data.plausibility.check_log`` found implausible (it raises
    ``IngestError`` for what no room can produce).
    """
    paths = resolve_paths(list(cfg.paths), root)
    logs = [read_log(p, cfg) for p in paths]
    raw = pd.concat(logs, ignore_index=True)
    hold = minutes_to_readings(cfg.hold_min, period_s, least=0)
    table, stats = to_grid(raw, period_s, cfg.resolution, has_labels=bool(cfg.label_col), hold=hold)
    if cfg.timezone:
        table, stats["timezone"] = to_local_time(table, cfg.timezone, period_s)
    utc = [str(p) for p, log in zip(paths, logs) if log.attrs.get("utc_clock")]
    stats["warnings"] = check_log(raw, cfg, period_s=period_s, utc_files=utc)
    stats["files"] = [str(p) for p in paths]
    stats["rows_per_file"] = {p.name: int(len(df)) for p, df in zip(paths, logs)}
    stats["skipped_lines"] = {k: sum(int(log.attrs["skipped"][k]) for log in logs) for k in logs[0].attrs["skipped"]}
    return table, stats
