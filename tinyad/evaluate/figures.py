"""Every matplotlib figure of the pipeline, for the ingest, cluster and evaluate stages.

One module, so that one anomaly type has one colour everywhere (``TYPE_COLORS``) and
every PNG is written the same way (``save_png``: atomically, 110 dpi).  The offline
Vega page of ``dvc plots`` is another thing (``tinyad/tools/plots.py``: HTML and Vega-Lite
templates, no matplotlib), so it stays apart.  Only the metrics module is imported at
the top (the ingest stage's DVC deps stay small); matplotlib is imported inside the
functions, with the ``Agg`` backend.

* ingest: ``plot_timeline`` (``plots/ingest/timeline.png``);
* cluster: ``plot_clusters`` (``plots/cluster/clusters.png``);
* evaluate: ``write_plots`` (confusion, PR curve, timeline, events, alerts) and
  ``drift_figure`` (``drift.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.evaluate import metrics as M
from tinyad.io import atomic_path
from tinyad.evaluate.metrics import BASELINES, HEADLINE_DETECTORS, LABELS, MODELS, alerts_by_day, truth_of

TYPE_COLORS = {"point": "tab:red", "contextual": "tab:purple", "collective": "tab:orange", "unknown": "tab:gray"}
DETECTOR_COLORS = {"device": "tab:red", "thresholds": "tab:blue", "kmeans_distance": "tab:green",
                   "isolation_forest": "tab:olive", "ecod": "tab:cyan"}
NORMAL_COLOURS = ("#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#7f7f7f", "#bcbd22", "#8c564b", "#e377c2")
ANOMALY_COLOUR = "#d62728"  # every pseudo-anomalous reading, whichever cluster it is in


def pyplot():
    """``matplotlib.pyplot`` on the ``Agg`` backend (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path, metadata: dict | None = None) -> None:
    """Write the figure as a 110-dpi PNG, atomically, and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, dpi=110, format="png", **({"metadata": metadata} if metadata is not None else {}))
    plt.close(fig)


# ------------------------------------------------------------------- ingest
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


def plot_timeline(table: pd.DataFrame, events: list[Any], path: str | Path, title: str = "") -> None:
    """The series with labelled anomalies shaded by type, plus a zoom on one event a kind
    (``events``: the ``tinyad.data.simulate.Event``s of ``build_readings``)."""
    from matplotlib.patches import Patch

    plt = pyplot()
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
            ax.axvspan(x0, x1, color=TYPE_COLORS.get(t, "tab:gray"), alpha=0.35, lw=0)
    bad = (table["fault"] != "").to_numpy()
    if bad.any():
        ax_t.plot(ts[bad], np.full(bad.sum(), np.nanmin(temp) - 0.5 if np.isfinite(temp).any() else 0.0),
                  "|", color="black", ms=5, label="fault / missing")
    ax_t.set_ylabel("temperature (deg C)")
    ax_h.set_ylabel("humidity (%RH)")
    if np.isnan(hum).all():
        ax_h.text(0.5, 0.5, "no humidity in this log", transform=ax_h.transAxes, ha="center")
    present = sorted({t for *_, t, _ in [(s, e, t, i) for s, e, t, i in spans]} if spans else set())
    handles = [Patch(color=TYPE_COLORS.get(t, "tab:gray"), alpha=0.5, label=t) for t in present]
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
                           color=TYPE_COLORS.get(t2, "tab:gray"), alpha=0.3, lw=0)
        ax.set_title(f"{k} ({t}), event {i}: {e - s} readings", fontsize=9)
        ax.tick_params(axis="x", labelsize=7, rotation=30)
        ax.tick_params(axis="y", labelsize=8)
        if j == 0:
            ax.set_ylabel("temperature (deg C)")
    save_png(fig, path, metadata={"Software": None})


# ------------------------------------------------------------------ cluster
def plot_clusters(result: Any, cfg: Any, path: Path, label: Any = str, max_points: int = 20000) -> None:
    """The clusters in two features: normal clusters in cool colours, the pseudo-anomalous
    readings in red on top, the legend beside the axes, the axes named in words and units
    (``label``: a feature's name -> its axis label, ``tinyad.device.features.feature_label``).
    ``result`` is a ``tinyad.data.clustering.ClusterResult``."""
    plt = pyplot()
    fx, fy = cfg.cluster.plot_features
    for i, f in enumerate((fx, fy)):
        if f not in result.scaler.features:
            raise ValueError(f"cluster.plot_features[{i}]: {f!r} is not a feature; expected one of {result.scaler.features}")
    ds = result.dataset[result.dataset["valid"]]
    if len(ds) > max_points:
        ds = ds.sample(max_points, random_state=0)
    fig, ax = plt.subplots(figsize=(10, 6))
    flagged = ds["pseudo_label"] == 1
    anomalous_clusters = set(result.labeler.anomalous_clusters_)
    for c in range(cfg.cluster.k):
        part = ds[(ds["cluster"] == c) & ~flagged]
        if c in anomalous_clusters or part.empty:
            continue  # its rows are all flagged: drawn below
        ax.scatter(part[fx], part[fy], s=5, color=NORMAL_COLOURS[c % len(NORMAL_COLOURS)], marker="o", alpha=0.35,
                   linewidths=0, label=f"cluster {c}: {len(part)} readings")
    far = ds[flagged]
    ax.scatter(far[fx], far[fy], s=22, color=ANOMALY_COLOUR, marker="x", linewidths=1.0,
               label=f"pseudo-anomalous: {len(far)} readings ({len(far) / max(len(ds), 1):.2%})")
    ax.set_xlabel(label(fx))
    ax.set_ylabel(label(fy))
    ax.set_title(f"K-means clusters (k={cfg.cluster.k}) and the pseudo-labels, valid readings"
                 + (f" (a sample of {len(ds)})" if len(ds) == max_points else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, markerscale=2, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    fig.tight_layout()
    save_png(fig, path)


# ----------------------------------------------------------------- evaluate
def write_plots(res: Any, plots: Path, model: str = "int8_tflm") -> None:
    """confusion.png, pr_curve.csv/.png, timeline.png, events.png and alerts.png (fixed paths).

    Without ground truth the confusion matrices are against the pseudo-labels and
    titled as the imitation they measure, the precision-recall curve is not drawn
    (pr_curve.csv holds its header only) and the close-ups are the device's longest
    alerts.  ``res`` is a ``tinyad.evaluate.compare.EvalResult``."""
    plt = pyplot()
    plots.mkdir(parents=True, exist_ok=True)
    m = res.metrics
    ground = bool(m["ground_truth"])
    known = res.truth >= 0
    y = res.truth[known] == 1

    # PR curve data for DVC (the int8 model: what the device runs); none without ground truth
    curve = M.pr_curve(y, res.detections["int8_litert"].score[known]) if ground else {"recall": [], "precision": [], "threshold": []}
    with atomic_path(plots / "pr_curve.csv") as tmp:
        pd.DataFrame({"recall": curve["recall"], "precision": curve["precision"], "threshold": curve["threshold"]}).to_csv(tmp, index=False)

    # confusion matrices
    names = [n for n in (*MODELS, *BASELINES) if n in res.detections]
    n_cols = (len(names) + 1) // 2
    fig, axes = plt.subplots(2, n_cols, figsize=(3.7 * n_cols, 7), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, n in zip(axes.ravel(), names):
        c = m[n]["confusion"] if ground else m[n]["diagnostic_vs_pseudo_labels"]["confusion"]
        mat = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
        rows = mat.sum(axis=1, keepdims=True)
        frac = np.divide(mat, rows, out=np.zeros_like(mat, dtype=float), where=rows > 0)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{mat[i, j]}\n{frac[i, j]:.1%}", ha="center", va="center",
                        color="white" if frac[i, j] > 0.5 else "black", fontsize=11)
        ax.set_xticks([0, 1], ["normal", "anomalous"])
        ax.set_yticks([0, 1], ["normal", "anomalous"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true" if ground else "K-means pseudo-label")
        sub = f"F1 {m[n]['f1']:.3f}" if ground else f"agreement {m[n]['diagnostic_vs_pseudo_labels']['agreement']:.1%}"
        ax.set_title(f"{LABELS.get(n, n)}\n{sub}", fontsize=10)
    fig.suptitle("Confusion matrices, test split (ground truth)" if ground else
                 "Decisions against the K-means pseudo-labels (NO ground truth): imitation of the K-means labels, "
                 "not detection quality")
    fig.tight_layout()
    save_png(fig, plots / "confusion.png")

    # PR curves of every detector
    fig, ax = plt.subplots(figsize=(7, 5.5))
    if ground:
        for n in names:
            cv = M.pr_curve(y, res.detections[n].score[known])
            if not len(cv["recall"]):
                continue
            # point k's precision holds over the recall interval (r_{k-1}, r_k]: the area is the AP
            ax.step(np.r_[0.0, cv["recall"]], np.r_[cv["precision"][0], cv["precision"]], where="pre", label=f"{LABELS.get(n, n)} (AP {m[n]['pr_auc']:.3f})",
                    lw=2 if n == model else 1.2, ls="-" if n in MODELS else "--")
        ax.legend(loc="lower left", fontsize=9)
        ax.set_title("Precision-recall, test split (per reading)")
    else:
        ax.text(0.5, 0.5, "No ground truth on this log:\nno precision-recall curve.\nSee alerts.png and summary.md.",
                ha="center", va="center", fontsize=12, transform=ax.transAxes)
        ax.set_title("Precision-recall: not measurable without labels")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_png(fig, plots / "pr_curve.png")

    _timeline(res, plots / "timeline.png", model, plt)
    _event_closeups(res, plots / "events.png", model, plt)
    _alerts_plot(res, plots / "alerts.png", plt)


def _step(ts) -> np.timedelta64:
    """The reading period of the timestamps (``metrics.median_period_s``) as a timedelta."""
    return np.timedelta64(round(M.median_period_s(ts) * 1e9), "ns")


def _shade_events(ax, test: pd.DataFrame, ground: bool, truth_rows: np.ndarray) -> None:
    """Shade the true anomalies by type (without ground truth: the pseudo-anomalies, gray);
    very short ones get a minimum visible width."""
    ts = test["timestamp"].to_numpy()
    step = _step(ts)
    min_width = (ts[-1] - ts[0]) / 300 if len(ts) > 1 else step
    kinds = test["anomaly_type"].astype(str).to_numpy() if ground else np.where(truth_rows == 1, "unknown", "none")
    for kind, color in TYPE_COLORS.items():
        for a, b in M.runs(kinds == kind):
            start, stop = ts[a], ts[b - 1] + step
            if stop - start < min_width:
                mid = start + (stop - start) / 2
                start, stop = mid - min_width / 2, mid + min_width / 2
            ax.axvspan(start, stop, color=color, alpha=0.3, lw=0)


def _timeline(res: Any, path: Path, model: str, plt) -> None:
    """Alert lanes on top, then temperature and humidity with the true anomalies shaded."""
    import matplotlib.dates as mdates
    from matplotlib.patches import Patch

    test = res.test
    ts = test["timestamp"].to_numpy()
    ground = bool(res.metrics["ground_truth"])
    truth_rows, _ = truth_of(test)
    has_hum = np.isfinite(test["humidity"].to_numpy(dtype=float)).any()
    lanes = [n for n in ("device", model, *BASELINES) if f"alert_{n}" in test]
    lanes = list(dict.fromkeys(lanes))
    heights = [0.45 * len(lanes), 3.0] + ([2.0] if has_hum else [])
    fig, axes = plt.subplots(len(heights), 1, figsize=(16, sum(heights) + 1.6), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    step = _step(ts)
    lane_ax = axes[0]
    _shade_events(lane_ax, test, ground, truth_rows)
    for i, n in enumerate(reversed(lanes)):
        alert = test[f"alert_{n}"].to_numpy(dtype=bool)
        spans = [(mdates.date2num(ts[a]), mdates.date2num(ts[b - 1] + step) - mdates.date2num(ts[a])) for a, b in M.runs(alert)]
        lane_ax.broken_barh(spans, (i + 0.15, 0.7), color="red" if n in (model, "device") else "tab:blue")
    lane_ax.set_yticks([i + 0.5 for i in range(len(lanes))], [f"{LABELS[n]} alerts" for n in reversed(lanes)], fontsize=8)
    lane_ax.set_ylim(0, len(lanes))
    if ground:
        e = res.metrics[model]["events"]
        lane_ax.set_title(
            f"Test split: true anomalies shaded, alerts marked.  {LABELS[model]}: {e['caught']}/{e['events']} events caught, "
            f"{e['false_alarms_per_day']:.2f} false alarms/day"
        )
    else:
        h = res.metrics["headline"]["device"]
        lane_ax.set_title(
            f"Test split, NO ground truth: K-means pseudo-anomalies shaded gray, alerts marked.  {LABELS['device']}: "
            f"{h['alerts_per_week']:.2f} alerts/week, {h['flagged_share']:.2%} of readings flagged"
        )
    series = [("temperature", "temperature (deg C)", "black")] + ([("humidity", "humidity (%RH)", "tab:blue")] if has_hum else [])
    for ax, (col, label, color) in zip(axes[1:], series):
        _shade_events(ax, test, ground, truth_rows)
        ax.plot(ts, test[col], color=color, lw=0.6)
        ax.set_ylabel(label)
        ax.grid(alpha=0.2)
    if ground:
        handles = [Patch(color=c, alpha=0.4, label=f"{k} anomaly (true)") for k, c in TYPE_COLORS.items() if k != "unknown"]
    else:
        handles = [Patch(color=TYPE_COLORS["unknown"], alpha=0.4, label="K-means pseudo-anomaly (not ground truth)")]
    handles.append(Patch(color="red", label="alert (device / model)"))
    handles.append(Patch(color="tab:blue", label="alert (baseline)"))
    fig.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=8, frameon=False)
    axes[-1].set_xlabel("time")
    fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    save_png(fig, path)


def _event_closeups(res: Any, path: Path, model: str, plt) -> None:
    """The first event of each type (or the first few), two hours either side; without
    ground truth, the device's longest alerts (up to four, in time order)."""
    test = res.test
    ground = bool(res.metrics["ground_truth"])
    kinds = test["anomaly_type"].astype(str).to_numpy()
    if ground:
        ev = test["event_id"].to_numpy(dtype=np.int64)
        alert = test[f"alert_{model}"].to_numpy(dtype=bool)
        alert_label = LABELS[model]
    else:
        # the spans the person on call would look at: the device's alerts
        alert = test["alert_device"].to_numpy(dtype=bool)
        alert_label = LABELS["device"]
        spans = sorted(M.runs(alert), key=lambda r: r[0] - r[1])[:4]
        ev = np.full(len(test), -1, dtype=np.int64)
        for i, (a, b) in enumerate(sorted(spans)):
            ev[a:b] = i
    picks: list[int] = []
    seen: set[str] = set()
    for e in pd.unique(ev[ev >= 0]):
        k = kinds[ev == e][0] if ground else f"alert {e}"
        if k not in seen:
            seen.add(k)
            picks.append(int(e))
    for e in pd.unique(ev[ev >= 0]):
        if len(picks) >= 4:
            break
        if int(e) not in picks:
            picks.append(int(e))
    n = max(len(picks), 1)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.8), squeeze=False)
    ts = test["timestamp"].to_numpy()
    temp = test["temperature"].to_numpy(dtype=float)
    step = _step(ts)
    pad = int(np.timedelta64(2, "h") / step)  # _step is positive: the median of distinct, ordered stamps
    for ax, e in zip(axes[0], picks):
        rows = np.flatnonzero(ev == e)
        a, b = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, len(test))
        sel = np.arange(a, b)[alert[a:b]]
        if ground:
            k = kinds[rows[0]]
            ax.axvspan(ts[rows[0]], ts[rows[-1]] + step, color=TYPE_COLORS.get(k, "gray"), alpha=0.25, lw=0, label=f"{k} anomaly")
            hits = rows[alert[rows]]
            delay = f"delay {hits[0] - rows[0]} readings" if len(hits) else "missed"
            title = f"event {e}: {k}, {len(rows)} readings, {delay}"
        else:
            minutes = float((ts[rows[-1]] - ts[rows[0]] + step) / np.timedelta64(1, "m"))
            title = f"device alert from {pd.Timestamp(ts[rows[0]]):%m-%d %H:%M}: {len(rows)} readings, {minutes:.0f} min"
        ax.plot(ts[a:b], temp[a:b], color="black", lw=0.9, label="temperature")
        ax.scatter(ts[sel], temp[sel], color="red", s=14, zorder=3, label=f"alert ({alert_label})")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("deg C")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.2)
    if not picks:
        axes[0, 0].text(0.5, 0.5, "no anomaly event in the test split" if ground else "the device raised no alert",
                        ha="center", va="center")
    fig.tight_layout()
    save_png(fig, path)


def _alerts_plot(res: Any, path: Path, plt) -> None:
    """The whole test period: temperature and humidity with the device's alert spans, the
    baselines' alerts as lanes, and the alerts raised each day (bars, with the budget)."""
    import matplotlib.dates as mdates

    test = res.test
    m = res.metrics
    ts = test["timestamp"].to_numpy()
    has_hum = np.isfinite(test["humidity"].to_numpy(dtype=float)).any()
    names = [n for n in HEADLINE_DETECTORS if f"alert_{n}" in test]
    step = _step(ts)
    heights = [3.0] + ([2.0] if has_hum else []) + [0.4 * len(names), 2.6]
    fig, axes = plt.subplots(len(heights), 1, figsize=(16, sum(heights) + 1.8), gridspec_kw={"height_ratios": heights})
    device = test["alert_device"].to_numpy(dtype=bool)
    series = [("temperature", "temperature (deg C)", "black")] + ([("humidity", "humidity (%RH)", "tab:blue")] if has_hum else [])
    for ax, (col, label, color) in zip(axes, series):
        for a, b in M.runs(device):
            ax.axvspan(ts[a], ts[b - 1] + step, color="red", alpha=0.25, lw=0)
        ax.plot(ts, test[col], color=color, lw=0.6)
        ax.set_ylabel(label)
        ax.grid(alpha=0.2)
    lane_ax = axes[len(series)]
    for i, n in enumerate(reversed(names)):
        alert = test[f"alert_{n}"].to_numpy(dtype=bool)
        spans = [(mdates.date2num(ts[a]), mdates.date2num(ts[b - 1] + step) - mdates.date2num(ts[a])) for a, b in M.runs(alert)]
        lane_ax.broken_barh(spans, (i + 0.15, 0.7), color=DETECTOR_COLORS.get(n, "gray"))
    lane_ax.set_yticks([i + 0.5 for i in range(len(names))], [LABELS[n] for n in reversed(names)], fontsize=8)
    lane_ax.set_ylim(0, len(names))
    for ax in axes[: len(series) + 1]:
        ax.set_xlim(ts[0], ts[-1] + step)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    for ax in axes[: len(series)]:
        ax.tick_params(labelbottom=False)
    # alerts raised each day, one bar a detector
    bar_ax = axes[-1]
    counts = {n: alerts_by_day(test[f"alert_{n}"].to_numpy(dtype=bool), ts) for n in names}
    days = counts[names[0]].index
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(days))
    for i, n in enumerate(names):
        bar_ax.bar(x + (i - (len(names) - 1) / 2) * width, counts[n].to_numpy(), width=width,
                   color=DETECTOR_COLORS.get(n, "gray"), label=LABELS[n])
    budget = m.get("headline", {}).get("budgets", {}).get("max_false_alarms_per_week")
    if budget is not None:
        bar_ax.axhline(budget / 7.0, color="gray", ls=":", lw=1.2, label=f"false-alarm budget ({budget:g}/week)")
    bar_ax.set_xticks(x, [f"{d:%m-%d}" for d in days], fontsize=7, rotation=45 if len(days) > 14 else 0)
    bar_ax.set_ylabel("alerts raised")
    bar_ax.set_xlabel("day")
    bar_ax.grid(alpha=0.2, axis="y")
    bar_ax.legend(fontsize=7, ncol=len(names) + 1, loc="upper left")
    h = m["headline"]["device"]
    truth = "with ground truth" if m["ground_truth"] else "NO ground truth"
    fig.suptitle(
        f"Alerts over the test period ({m['headline']['test_days']:.2f} days, {truth}); device alert spans shaded red.  "
        f"{LABELS['device']}: {h['alerts']} alerts, {h['alerts_per_week']:.2f}/week, {h['flagged_share']:.2%} of readings "
        f"flagged, longest {h['longest_alert_minutes']:.0f} min"
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    save_png(fig, path)


def drift_figure(long: pd.DataFrame, kinds: list[str], ground: bool, budget: float, types: tuple[str, ...],
                 units: dict[str, str], path: Path) -> None:
    """drift.png: per drift kind, the device's F1 by type against the size (with ground
    truth) or its alerts a week against the false-alarm ``budget`` (without); solid =
    raw readings, dashed = the baseline correction.  ``long`` is ``tinyad.evaluate.drift.drift_long``."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    colors = {**TYPE_COLORS, "all": "black"}
    for ax, kind in zip(axes[0], kinds):
        sub = long[long["kind"] == kind]
        if ground:
            for t in types:
                for remedy, ls in ((False, "-"), (True, "--")):
                    s = sub[(sub["type"] == t) & (sub["remedy"] == remedy)].sort_values("size")
                    if len(s):
                        ax.plot(s["size"], s["f1"], ls=ls, marker="o", ms=3, color=colors.get(t, "gray"),
                                label=f"{t}{' + remedy' if remedy else ''}")
            ax.set_ylabel("F1 (device, per reading)")
            ax.set_ylim(0, 1.02)
        else:
            for remedy, ls in ((False, "-"), (True, "--")):
                s = sub[sub["remedy"] == remedy].sort_values("size")
                if len(s):
                    ax.plot(s["size"], s["alerts_per_week"], ls=ls, marker="o", ms=3, color="tab:red",
                            label=f"alerts/week{' + remedy' if remedy else ''}")
            ax.axhline(budget, color="gray", ls=":", lw=1, label="false-alarm budget")
            ax.set_ylabel("device alerts per week")
            ax.set_ylim(bottom=0)
        ax.set_title(kind)
        ax.set_xlabel(units.get(kind, "size"))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle("F1 against drift size: solid = raw readings, dashed = baseline correction" if ground else
                 "Device alerts per week against drift size (no ground truth): solid = raw, dashed = baseline correction")
    fig.tight_layout()
    save_png(fig, path)

