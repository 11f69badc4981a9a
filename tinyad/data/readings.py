"""The ingest stage's work: readings (simulated or from CSV logs) -> the tidy interim table.

``build_readings(data)`` makes the table of ``docs/architecture.md`` for
``data.source`` (``sim``, ``csv`` or ``csv+inject``: the stage's docstring says what
each is); ``ingest_report`` is the data report (``metrics/ingest.json``),
``timezone_lines`` what the stage prints about time zones, ``write_parquet`` the
table's deterministic parquet bytes.  The timeline plot is ``tinyad.evaluate.figures.plot_timeline``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tinyad.config import DataConfig
from tinyad.data.csvlog import FAULT_KINDS, read_logs, tidy_table
from tinyad.io import atomic_path
from tinyad.data.simulate import Event, inject_anomalies, simulate

__all__ = ["build_readings", "ingest_report", "timezone_lines", "write_parquet"]


def build_readings(data: DataConfig, root: str | Path | None = None):
    """Make the interim table for ``data.source``: (table, events, stats).

    ``events`` lists injected events (empty for plain CSV), ``stats`` the reader's
    counts (files, readings read, duplicates, merged, held).  ``root`` overrides the project
    root that relative CSV paths resolve against.
    """
    if data.source == "sim":
        table, events = simulate(data)
        stats = {"readings_read": int((table["fault"] != "missing").sum()), "duplicates": 0, "merged": 0}
        return table, events, stats
    table, stats = read_logs(data.csv, data.period_s, root)
    if data.source == "csv":
        return table, [], stats
    # csv+inject: labelled anomalies into the real background
    usable = (table["fault"] == "").to_numpy() & (table["label"] != 1).to_numpy()
    rng = np.random.default_rng(data.inject.seed)
    temp, hum, label, atype, event_id, events = inject_anomalies(
        pd.DatetimeIndex(table["timestamp"]), table["temperature"].to_numpy(), table["humidity"].to_numpy(),
        usable, data.inject.anomalies, rng, data.period_s, data.csv.resolution, key="data.inject.anomalies",
    )
    # the log's own labels (if any) stay; unknown background counts as normal
    own = table["label"].to_numpy()
    keep_own = (own == 1) & (label == 0)
    first = int(table["event_id"].max()) + 1 if keep_own.any() else 0
    events = [Event(e.event_id + first, e.kind, e.anomaly_type, e.start, e.stop, e.temp_delta, e.hum_delta)
              for e in events]
    label = np.where(keep_own, 1, label).astype(np.int8)
    atype = np.where(keep_own, table["anomaly_type"].to_numpy(dtype=object), atype)
    event_id = np.where(keep_own, table["event_id"].to_numpy(), np.where(event_id >= 0, event_id + first, -1))
    out = tidy_table(table["timestamp"], temp, hum, table["fault"].to_numpy(dtype=object), label, atype, event_id)
    return out, events, stats


def ingest_report(table: pd.DataFrame, events: list[Event], stats: dict, data: DataConfig) -> dict:
    """The data report (``metrics/ingest.json``): counts, span, faults, anomalies."""
    n = len(table)
    ts = pd.DatetimeIndex(table["timestamp"])
    fault = table["fault"].to_numpy(dtype=object)
    missing = fault == "missing"
    # runs of consecutive missing periods
    gaps = int(np.sum(missing & ~np.concatenate([[False], missing[:-1]])))
    run = longest = 0
    for m in missing:
        run = run + 1 if m else 0
        longest = max(longest, run)
    atype = table["anomaly_type"].to_numpy(dtype=object)
    label = table["label"].to_numpy()
    eid = table["event_id"].to_numpy()
    types = ("point", "contextual", "collective", "unknown")

    def summary(x: np.ndarray) -> dict:
        x = x[~np.isnan(x)]
        if len(x) == 0:
            return {"mean": None, "min": None, "max": None}
        return {"mean": round(float(x.mean()), 3), "min": float(x.min()), "max": float(x.max())}

    events_by_type = {t: int(len(np.unique(eid[(atype == t) & (eid >= 0)]))) for t in types}
    events_by_type["total"] = int(len(np.unique(eid[eid >= 0])))
    kinds = {}
    for k in ("rise", "stuck"):
        kinds[k] = sum(1 for e in events if e.kind == k)
    report = {
        "source": data.source,
        "period_s": int(data.period_s),
        "rows": int(n),
        "start": str(ts[0]) if n else None,
        "end": str(ts[-1]) if n else None,
        "days": round(n * data.period_s / 86400.0, 4),
        "readings_read": int(stats.get("readings_read", 0)),
        "duplicates": int(stats.get("duplicates", 0)),
        "merged": int(stats.get("merged", 0)),
        "held": int(stats.get("held", 0)),
        "valid_rows": int(np.sum(fault == "")),
        "missing": int(missing.sum()),
        "gaps": gaps,
        "longest_gap_rows": int(longest),
        "faults": {k: int(np.sum(fault == k)) for k in FAULT_KINDS} | {"total": int(np.sum(fault != ""))},
        "labelled_rows": int(np.sum(label >= 0)),
        "anomaly_frac": round(float(np.sum(label == 1)) / max(int(np.sum(label >= 0)), 1), 5),
        "anomaly_rows": {t: int(np.sum((label == 1) & (atype == t))) for t in types}
        | {"total": int(np.sum(label == 1))},
        "events": events_by_type | {f"collective_{k}": v for k, v in kinds.items()},
        "temperature": summary(table["temperature"].to_numpy(dtype=np.float64)),
        "humidity": summary(table["humidity"].to_numpy(dtype=np.float64)),
    }
    if "files" in stats:
        report["files"] = len(stats["files"])
    if "skipped_lines" in stats:
        report["skipped_lines"] = dict(stats["skipped_lines"])
    if "timezone" in stats:
        report["timezone"] = stats["timezone"]
    report["warnings"] = list(stats.get("warnings", []))
    return report


def timezone_lines(report: dict) -> list[str]:
    """What the stage prints about time zones and daylight-saving changes (empty without one)."""
    tz = report.get("timezone")
    if not tz:
        return []
    out = [f"ingest: time zone {tz['name']}: {len(tz['changes'])} daylight-saving change(s); "
           f"{tz['repeated_rows']} rows of a repeated hour kept, {tz['skipped_periods']} periods of a skipped hour "
           "not counted as missing"]
    for c in tz["changes"]:
        out.append(f"ingest:   {c['local_before']} {c['offset_before']} -> {c['local_after']} {c['offset_after']} "
                   f"(UTC {c['utc']})")
    return out


def write_parquet(table: pd.DataFrame, path: str | Path) -> None:
    """Write the table as parquet, atomically; the same table gives the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")

