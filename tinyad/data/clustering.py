"""The cluster stage's work: features, chronological split, scaler and K-means pseudo-labels.

``build_dataset(readings, cfg)`` is pure: the interim readings in, a ``ClusterResult``
(the dataset of ``docs/architecture.md``, the scaler fitted on the valid train rows,
the fitted ``tinyad.data.labeling.PseudoLabeler`` and the metrics) out.  Features and the
split are ``tinyad/device/features.py``'s, the labelling policies ``tinyad/data/labeling.py``'s.
TensorFlow is not imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tinyad.config import Config
from tinyad.device.features import Scaler, check_train_size, compute_features, feature_names, split_labels
from tinyad.data.labeling import PseudoLabeler, scores_overall_and_by_type

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
    space = cluster_space(names, cfg.cluster.ignore_features)  # the features K-means clusters
    labeler = PseudoLabeler(cfg.cluster, cfg.thresholds, use_humidity=cfg.features.use_humidity,
                            run_cap=cfg.features.run_cap if run is not None else None)
    temp = readings["temperature"].to_numpy(dtype=np.float64)
    hum = readings["humidity"].to_numpy(dtype=np.float64)
    hum_train = hum[train] if np.isfinite(hum[train]).all() else None
    labeler.fit(Xs[train][:, space], temp[train], hum_train, None if run is None else run[train])
    cluster = np.full(len(readings), -1, dtype=np.int64)
    pseudo = np.full(len(readings), -1, dtype=np.int8)
    hum_valid = hum[valid] if cfg.features.use_humidity else None
    cluster[valid], pseudo[valid], reasons = labeler.predict_reasons(
        Xs[valid][:, space], temp[valid], hum_valid, None if run is None else run[valid])

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
        "cluster_features": [names[j] for j in space],
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


def cluster_space(names: list[str], ignore: list[str]) -> list[int]:
    """The columns of the features K-means clusters: all but ``cluster.ignore_features``.

    The model still gets every feature as an input; the policies still read the raw
    readings and the ``run`` feature (``stuck``).  ``cluster.ignore_features: [run]``
    is the remedy for a calm room whose device alerts on quiet nights: there a long
    run of identical readings is how the room behaves until it is long enough to be a
    stuck sensor (``features.stuck_min``), and a distance in ``run`` makes the calmest
    nights the room's "anomalies", which the model learns to alert on
    (docs/detection.md, "A calm room").
    """
    space = [j for j, n in enumerate(names) if n not in ignore]
    if not space:
        raise ValueError(f"cluster.ignore_features: {list(ignore)} leaves K-means none of the features {names}")
    return space


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

