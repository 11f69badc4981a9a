"""On-change logs: the same room logged every period, and only when its reading changes.

    python benchmarks/on_change.py                        # home, office, temp_only, hires, uci (~3 min)
    python benchmarks/on_change.py --rooms office uci     # some rooms

Home Assistant, Zigbee and BLE loggers write a line only when a value changes, so a
steady room leaves periods without a line.  Each room of ``benchmarks/rooms.py``
(its own data option, the default config) is run three ways through the same
pipeline (``rooms.run_room``):

- ``periodic``: the room as ``rooms.py`` runs it, one reading a period;
- ``on-change``: the same readings written as an on-change logger writes them
  (``on_change_log``: a line when the reading, at the room's resolution, differs from
  the last line; a failed read as one line of empty cells; the last reading kept so
  that the log ends where the room does), read back as a CSV log with the defaults:
  every period without a line is ``missing``;
- ``on-change, hold``: the same file with ``data.csv.hold_min`` at the value ingest's
  warning suggests (``tinyad.config.CsvConfig.SUGGESTED_HOLD_MIN``): each such period
  repeats the last reading for up to that long, as the device reads it.

A labelled room's log carries its truth as a label column (the anomaly type), so its
events are scored as in ``rooms.py``.  The table (``benchmarks/results/on_change.md``,
its JSON beside it) gives per room and way: the log's lines, the readings the ingest
counts valid, held and missing, then the device's F1, events caught, false alarms a
week and alerts a week on the test split, and whether ingest warned that the log
looks on-change.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import rooms as R  # noqa: E402

from tinyad.config import CsvConfig  # noqa: E402

HOLD_MIN = CsvConfig.SUGGESTED_HOLD_MIN  # the hold ingest's warning suggests

DEFAULT_ROOMS = ("home", "office", "temp_only", "hires", "uci")
WAYS = ("periodic", "on-change", "on-change, hold")


def on_change_log(table: pd.DataFrame, resolution: float, humidity: bool = True,
                  labels: bool = False) -> pd.DataFrame:
    """The lines an on-change logger writes for ``table`` (the ingest table, one row a period).

    A line when the reading at ``resolution`` (both quantities, or the temperature alone
    without ``humidity``; with ``labels`` also the label) differs from the last line's; a
    run of failed reads (a fault other than ``missing``) as one line of empty cells; a
    missing period as nothing; the last valid reading always (so the log ends where the
    table does).  Columns: timestamp, temperature, (humidity), (label: the anomaly type,
    ``none`` for normal)."""
    from tinyad.data.csvlog import quantize

    fault = table["fault"].to_numpy(dtype=object)
    ok = fault == ""
    temp = quantize(table["temperature"].to_numpy(dtype=np.float64), resolution)
    hum = quantize(table["humidity"].to_numpy(dtype=np.float64), resolution)
    kind = table["anomaly_type"].to_numpy(dtype=object)
    keep = np.zeros(len(table), dtype=bool)
    last: Any = object()  # the last line written: a reading, or None (a failed read)
    for i in range(len(table)):
        if fault[i] == "missing":
            continue
        now = (temp[i], hum[i] if humidity else None, kind[i] if labels else None) if ok[i] else None
        keep[i] = now != last
        last = now
    keep[np.flatnonzero(ok)[-1]] = True
    lines = table.loc[keep, ["timestamp"]].copy()
    lines["temperature"] = np.where(ok[keep], temp[keep], np.nan)
    if humidity:
        lines["humidity"] = np.where(ok[keep], hum[keep], np.nan)
    if labels:
        lines["label"] = np.where(table["label"].to_numpy()[keep] == 1, kind[keep], "none")
    return lines.reset_index(drop=True)


def _csv_overrides(path: Path, cfg, humidity: bool, labels: bool, hold: float) -> list[str]:
    resolution = cfg.data.sim.resolution if cfg.data.source == "sim" else cfg.data.csv.resolution
    return ["data.source=csv", f"data.csv.paths=['{path}']", "data.csv.timestamp_col=timestamp",
            "data.csv.time_col=''", "data.csv.temperature_col=temperature",
            f"data.csv.humidity_col='{'humidity' if humidity else ''}'", f"data.csv.label_col='{'label' if labels else ''}'",
            "data.csv.temperature_unit=C", "data.csv.timestamp_format=''", "data.csv.delimiter=','",
            "data.csv.decimal='.'", "data.csv.timezone=''", f"data.csv.resolution={resolution}",
            f"data.csv.hold_min={hold}"]


def run(name: str, tmp: Path) -> list[dict[str, Any]]:
    from tinyad.data.readings import build_readings, ingest_report

    overrides = R.ROOMS[name][0]
    cfg = R.compose_cfg(overrides)
    table, events, stats = build_readings(cfg.data, R.ROOT)
    labels = bool((table["label"] >= 0).any())
    humidity = bool(np.isfinite(table["humidity"].to_numpy(dtype=np.float64)).any())
    resolution = cfg.data.sim.resolution if cfg.data.source == "sim" else cfg.data.csv.resolution
    log = on_change_log(table, resolution, humidity, labels)
    path = tmp / f"{name}_on_change.csv"
    log.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    rows = []
    for way in WAYS:
        extra = [] if way == "periodic" else _csv_overrides(path, cfg, humidity, labels, HOLD_MIN if "hold" in way else 0)
        wcfg = R.compose_cfg(overrides + extra)
        t, ev, st = build_readings(wcfg.data, R.ROOT)
        rep = ingest_report(t, ev, st, wcfg.data)
        print(f"on_change: {name}, {way} ...", file=sys.stderr, flush=True)
        m = R.run_room(overrides, extra=extra)
        row = R.room_row(name, m)
        rows.append({"room": name, "way": way, "lines": int(len(log)) if way != "periodic" else int(rep["readings_read"]),
                     "valid": rep["valid_rows"], "held": rep["held"], "missing": rep["missing"],
                     "warned": any("on-change log" in w for w in rep["warnings"]), **row})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["# On-change logs (benchmarks/on_change.py)", "",
             f"Each room logged every period (`periodic`), and only when its reading changes, read back with the "
             f"defaults (`on-change`) and with `data.csv.hold_min={HOLD_MIN:g}` (`on-change, hold`). Default config, "
             "per room only its data option (and, for the on-change logs, the CSV mapping). Device figures on the "
             "test split; false alarms and alerts a week.", "",
             "| room | log | lines | valid readings | held | missing | warned on-change | F1 | events caught | "
             "false alarms/week | alerts/week |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['room']} | {r['way']} | {r['lines']} | {r['valid']} | {r['held']} | {r['missing']} | "
                     f"{'yes' if r['warned'] else 'no'} | {R.fmt(r.get('device.f1'))} | {R.fmt(r.get('device.caught'), 2)} | "
                     f"{R.fmt(r.get('device.fa_week'), 2)} | {R.fmt(r.get('device.alerts_week'), 2)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rooms", nargs="*", default=list(DEFAULT_ROOMS),
                    choices=[r for r in R.ROOMS if r != "uci_inject"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "on_change.md"))
    args = ap.parse_args(argv)
    from tinyad.tools.quiet import quiet_tensorflow

    quiet_tensorflow()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.rooms:
            rows += run(name, Path(tmp))
    R.write_table(markdown(rows), Path(args.out), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
