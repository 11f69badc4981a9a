"""Stage ``ingest``: readings (simulated or from CSV logs) -> the tidy interim table.

Run from the project root (``dvc.yaml`` does exactly this)::

    python -m stages.ingest --params params.yaml --out data/interim/readings.parquet \\
        --report metrics/ingest.json --plots plots/ingest

``data.source`` picks the input: ``sim`` (the built-in room, ``tinyad.simulate``),
``csv`` (real logs, ``tinyad.csvlog``) or ``csv+inject`` (real logs with the
simulator's labelled anomalies injected relative to the log's own level, seeded by
``data.inject.seed``; the real background is then taken as normal, label 0).

Writes the table of ``docs/architecture.md`` as parquet (deterministic bytes for the
same parameters), the data report ``metrics/ingest.json`` and
``plots/ingest/timeline.png`` (the series with labelled anomalies shaded).  Input
errors print ``error: <message>`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tinyad.config import ConfigError, DataConfig, load
from tinyad.csvlog import FAULT_KINDS, IngestError, read_logs, tidy_table
from tinyad.io import atomic_path, write_json
from tinyad.simulate import Event, inject_anomalies, simulate

__all__ = ["build_readings", "ingest_report", "plot_timeline", "timezone_lines", "write_parquet", "main"]

TYPE_COLOURS = {
    "point": "tab:red",
    "contextual": "tab:purple",
    "collective": "tab:orange",
    "unknown": "tab:gray",
}


def build_readings(data: DataConfig, root: str | Path | None = None):
    """Make the interim table for ``data.source``: (table, events, stats).

    ``events`` lists injected events (empty for plain CSV), ``stats`` the reader's
    counts (files, readings read, duplicates, merged).  ``root`` overrides the project
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


def _spans(table: pd.DataFrame) -> list[tuple[int, int, str, int]]:
    """(start, stop, type, event_id) of each labelled event, from the table itself."""
    eid = table["event_id"].to_numpy()
    atype = table["anomaly_type"].to_numpy(dtype=object)
    out = []
    idx = np.flatnonzero(eid >= 0)
    if len(idx) == 0:
        return out
    cut = np.flatnonzero(np.diff(eid[idx]) != 0) + 1
    for block in np.split(idx, cut):
        out.append((int(block[0]), int(block[-1]) + 1, str(atype[block[0]]), int(eid[block[0]])))
    return out


def plot_timeline(table: pd.DataFrame, events: list[Event], path: str | Path, title: str = "") -> None:
    """The series with labelled anomalies shaded by type, plus a zoom on one event a kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    ts = pd.DatetimeIndex(table["timestamp"])
    temp = table["temperature"].to_numpy(dtype=np.float64)
    hum = table["humidity"].to_numpy(dtype=np.float64)
    spans = _spans(table)
    kind_of = {e.event_id: e.kind for e in events}
    # one zoom for each sub-kind present (first event of it), else none
    zooms: list[tuple[str, tuple[int, int, str, int]]] = []
    for k in ("point", "contextual", "rise", "stuck"):
        for sp in spans:
            if kind_of.get(sp[3]) == k:
                zooms.append((k, sp))
                break
    n = len(table)
    span_days = n and (ts[-1] - ts[0]).total_seconds() / 86400.0
    min_width = pd.Timedelta(days=max(span_days, 1e-3) * 0.0015)

    fig = plt.figure(figsize=(15, 9.5 if zooms else 6.5), layout="constrained")
    grid = fig.add_gridspec(3 if zooms else 2, max(len(zooms), 1), height_ratios=[1, 1, 0.9][: 3 if zooms else 2])
    ax_t = fig.add_subplot(grid[0, :])
    ax_h = fig.add_subplot(grid[1, :], sharex=ax_t)
    ax_t.plot(ts, temp, lw=0.5, color="tab:blue")
    ax_h.plot(ts, hum, lw=0.5, color="tab:green")
    for ax in (ax_t, ax_h):
        for s, e, t, _ in spans:
            x0 = ts[s]
            x1 = max(ts[e - 1] + (ts[1] - ts[0] if n > 1 else pd.Timedelta(0)), x0 + min_width)
            ax.axvspan(x0, x1, color=TYPE_COLOURS.get(t, "tab:gray"), alpha=0.35, lw=0)
    bad = (table["fault"] != "").to_numpy()
    if bad.any():
        ax_t.plot(ts[bad], np.full(bad.sum(), np.nanmin(temp) - 0.5 if np.isfinite(temp).any() else 0.0),
                  "|", color="black", ms=5, label="fault / missing")
    ax_t.set_ylabel("temperature (deg C)")
    ax_h.set_ylabel("humidity (%RH)")
    if np.isnan(hum).all():
        ax_h.text(0.5, 0.5, "no humidity in this log", transform=ax_h.transAxes, ha="center")
    present = sorted({t for *_, t, _ in [(s, e, t, i) for s, e, t, i in spans]} if spans else set())
    handles = [Patch(color=TYPE_COLOURS.get(t, "tab:gray"), alpha=0.5, label=t) for t in present]
    if bad.any():
        handles += ax_t.get_legend_handles_labels()[0]
    if handles:
        ax_t.legend(handles=handles, loc="upper right", ncols=len(handles), fontsize=8)
    ax_t.set_title(title or "readings with labelled anomalies")
    for j, (k, (s, e, t, i)) in enumerate(zooms):
        ax = fig.add_subplot(grid[2, j])
        pad = max(60, (e - s))
        lo, hi = max(0, s - pad), min(n, e + pad)
        ax.plot(ts[lo:hi], temp[lo:hi], lw=0.8, color="tab:blue", marker="." if e - s < 5 else None, ms=3)
        for s2, e2, t2, _ in spans:  # this event and any neighbour in view
            if s2 < hi and e2 > lo:
                ax.axvspan(ts[max(s2, lo)], ts[min(e2, hi) - 1] + (ts[1] - ts[0]),
                           color=TYPE_COLOURS.get(t2, "tab:gray"), alpha=0.3, lw=0)
        ax.set_title(f"{k} ({t}), event {i}: {e - s} readings", fontsize=9)
        ax.tick_params(axis="x", labelsize=7, rotation=30)
        ax.tick_params(axis="y", labelsize=8)
        if j == 0:
            ax.set_ylabel("temperature (deg C)")
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)


def write_parquet(table: pd.DataFrame, path: str | Path) -> None:
    """Write the table as parquet, atomically; the same table gives the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--out", default="data/interim/readings.parquet")
    ap.add_argument("--report", default="metrics/ingest.json")
    ap.add_argument("--plots", default="plots/ingest")
    args = ap.parse_args(argv)
    try:
        cfg = load(args.params)
        table, events, stats = build_readings(cfg.data)
    except (IngestError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = ingest_report(table, events, stats, cfg.data)
    write_parquet(table, args.out)
    write_json(args.report, report)
    plot_timeline(table, events, Path(args.plots) / "timeline.png",
                  title=f"ingest: {cfg.data.source}, {report['rows']} readings, {report['events']['total']} events")
    print(f"ingest: {report['rows']} rows ({report['days']} days), {report['faults']['total']} faults, "
          f"{report['events']['total']} anomaly events -> {args.out}")
    for line in timezone_lines(report):
        print(line)
    for w in report["warnings"]:
        print(f"ingest: warning: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "ingest"))
