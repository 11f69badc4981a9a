"""Stage ``cluster``: features, chronological split, scaler and K-means pseudo-labels.

    python -m stages.cluster --params params.yaml \\
        --readings data/interim/readings.parquet --out data/processed/dataset.parquet \\
        --scaler models/scaler.json --metrics metrics/cluster.json --plots plots/cluster

Reads the params sections ``features``, ``split``, ``thresholds`` and ``cluster``.
Features and the split are defined in ``tinyad/features.py``; the labelling
policies in ``tinyad/labeling.py``.  The scaler and K-means are fitted on the valid
rows of the train split only; val/test rows are only assigned.  Writes the dataset
(see docs/architecture.md), ``models/scaler.json``, the metrics (cluster sizes and
pseudo-label quality against the ground truth when the data has labels) and
``plots/cluster/clusters.png``.  TensorFlow is not imported here.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyad.config import Config, load
from tinyad.features import Scaler, check_train_size, compute_features, feature_names, split_labels
from tinyad.io import atomic_path, write_json
from tinyad.labeling import PseudoLabeler, scores_overall_and_by_type

INTERIM_COLUMNS = ("timestamp", "temperature", "humidity", "fault", "label", "anomaly_type", "event_id")


@dataclass
class ClusterResult:
    dataset: pd.DataFrame
    scaler: Scaler
    labeler: PseudoLabeler
    metrics: dict[str, Any]


def check_readings(df: pd.DataFrame, source: str = "readings") -> None:
    missing = [c for c in INTERIM_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; expected {list(INTERIM_COLUMNS)} (docs/architecture.md)")


def build_dataset(readings: pd.DataFrame, cfg: Config) -> ClusterResult:
    """Pure: readings -> dataset with split, features, clusters and pseudo-labels."""
    check_readings(readings)
    names = feature_names(cfg.features)
    X, valid = compute_features(readings, cfg.features)
    split = split_labels(len(readings), cfg.split)
    train = valid & (split == "train")
    check_train_size(len(readings), int((split == "train").sum()), int(train.sum()), cfg.cluster.k,
                     cfg.features.window, cfg.split.train, cfg.features.period_s)
    scaler = Scaler(features=names).fit(X[train])
    Xs = np.zeros_like(X)
    Xs[valid] = scaler.transform(X[valid])
    run = X[:, names.index("run")] if "run" in names else None
    labeler = PseudoLabeler(cfg.cluster, cfg.thresholds, use_humidity=cfg.features.use_humidity,
                            run_cap=cfg.features.run_cap if run is not None else None)
    temp = readings["temperature"].to_numpy(dtype=np.float64)
    hum = readings["humidity"].to_numpy(dtype=np.float64)
    hum_train = hum[train] if np.isfinite(hum[train]).all() else None
    labeler.fit(Xs[train], temp[train], hum_train, None if run is None else run[train])
    cluster = np.full(len(readings), -1, dtype=np.int64)
    pseudo = np.full(len(readings), -1, dtype=np.int8)
    hum_valid = hum[valid] if cfg.features.use_humidity else None
    cluster[valid], pseudo[valid], reasons = labeler.predict_reasons(
        Xs[valid], temp[valid], hum_valid, None if run is None else run[valid])

    ds = readings.reset_index(drop=True).copy()
    ds["split"] = pd.Series(split, dtype="string")
    ds["valid"] = valid
    for j, name in enumerate(names):
        ds[name] = X[:, j]
    ds["cluster"] = cluster
    ds["pseudo_label"] = pseudo

    metrics: dict[str, Any] = {
        "rows": int(len(ds)),
        "valid_rows": int(valid.sum()),
        "features": names,
        "rows_by_split": {s: int((split == s).sum()) for s in ("train", "val", "test")},
        "pseudo_anomalous_frac": float((pseudo[valid] == 1).mean()) if valid.any() else 0.0,
        "contamination": float(cfg.cluster.contamination),
        "pseudo_anomalous_frac_by_split": pseudo_share_by_split(pseudo, valid, split),
        "flagged_by_policy": {
            p: {s: float(f[split[valid] == s].mean()) if (split[valid] == s).any() else 0.0 for s in ("train", "val", "test")}
            for p, f in reasons.items()
        },
        "clusters": labeler.summary(),
    }
    metrics["warnings"] = budget_warnings(metrics["pseudo_anomalous_frac_by_split"], cfg.cluster.contamination,
                                          metrics["flagged_by_policy"])
    label = ds["label"].to_numpy()
    atype = ds["anomaly_type"].astype(str).to_numpy()
    quality = {}
    for name, rows in (("all", valid), *((s, valid & (split == s)) for s in ("train", "val", "test"))):
        q = scores_overall_and_by_type(label[rows], atype[rows], pseudo[rows] == 1)
        if q:
            quality[name] = q
    if quality:
        metrics["pseudo_label_quality"] = quality
    return ClusterResult(ds, scaler, labeler, metrics)


WARN_FACTOR = 3.0  # a split's pseudo-anomalous share this many times the budget is "far above" it


def pseudo_share_by_split(pseudo: np.ndarray, valid: np.ndarray, split: np.ndarray) -> dict[str, float]:
    """The share of valid rows labelled anomalous, per split."""
    out = {}
    for s in ("train", "val", "test"):
        rows = valid & (split == s)
        out[s] = float((pseudo[rows] == 1).mean()) if rows.any() else 0.0
    return out


def budget_warnings(shares: dict[str, float], contamination: float, by_policy: dict[str, dict[str, float]]) -> list[str]:
    """One line per split whose pseudo-anomalous share is far above ``cluster.contamination``."""
    out = []
    for s, share in shares.items():
        if share > WARN_FACTOR * contamination:
            top = max(by_policy, key=lambda p: by_policy[p].get(s, 0.0)) if by_policy else "?"
            out.append(
                f"{s} split: {share:.1%} of the readings are pseudo-anomalous, over {WARN_FACTOR:g}x the "
                f"contamination budget cluster.contamination={contamination:g} (mostly policy {top!r}"
                + (": is thresholds.temp_alarm/hum_alarm set for this room?" if top == "alarm" else "")
                + (": a stuck or coarse sensor?" if top == "stuck" else "")
                + ")"
            )
    return out


NORMAL_COLOURS = ("#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#7f7f7f", "#bcbd22", "#8c564b", "#e377c2")
ANOMALY_COLOUR = "#d62728"  # every pseudo-anomalous reading, whichever cluster it is in


def plot_clusters(result: ClusterResult, cfg: Config, path: Path, max_points: int = 20000) -> None:
    """The clusters in two features: normal clusters in cool colours, the pseudo-anomalous
    readings in red on top, the legend beside the axes, the axes named in words and units."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinyad.features import feature_label

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
    ax.set_xlabel(feature_label(fx))
    ax.set_ylabel(feature_label(fy))
    ax.set_title(f"K-means clusters (k={cfg.cluster.k}) and the pseudo-labels, valid readings"
                 + (f" (a sample of {len(ds)})" if len(ds) == max_points else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, markerscale=2, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="K-means pseudo-labels over the model's features.")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--readings", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scaler", required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True)
    args = ap.parse_args(argv)
    cfg = load(args.params)
    readings = pd.read_parquet(args.readings)
    check_readings(readings, source=args.readings)
    result = build_dataset(readings, cfg)
    with atomic_path(args.out) as tmp:
        result.dataset.to_parquet(tmp, index=False)
    write_json(args.scaler, result.scaler.to_json())
    write_json(args.metrics, result.metrics)
    shares = result.metrics["pseudo_anomalous_frac_by_split"]
    print("cluster: pseudo-anomalous share " + ", ".join(f"{s} {v:.2%}" for s, v in shares.items())
          + f" (budget cluster.contamination={cfg.cluster.contamination:g})")
    for w in result.metrics["warnings"]:
        print(f"cluster: warning: {w}", file=sys.stderr)
    plot_clusters(result, cfg, Path(args.plots) / "clusters.png")
    return 0


if __name__ == "__main__":
    from tinyad.cli import run_stage

    raise SystemExit(run_stage(main, "cluster"))
