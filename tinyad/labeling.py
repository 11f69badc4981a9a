"""Pseudo-labels without ground truth: K-means clusters turned into normal/anomalous.

K-means (scikit-learn, ``cluster.k`` clusters, ``cluster.n_init`` restarts, seed
``cluster.seed``) is fitted on the *scaled* features of the valid train rows; every
other valid row is assigned to its nearest centroid.  Then the policies listed in
``cluster.policies`` decide, using the train rows only, which rows are anomalous
(a row is anomalous when any listed policy says so):

``threshold``
    A cluster is anomalous when the mean of its train rows' raw temperature lies
    outside ``thresholds.temp_normal`` or (when humidity is used) the mean of their
    raw humidity lies outside ``thresholds.hum_normal``: the seed's rule "normal is
    23-25 deg C, 35-45 %RH" applied to the cluster's centroid in reading units.
``small``
    A cluster holding less than ``cluster.small_frac`` of the train rows is
    anomalous: anomalies are rare, so rare regions of feature space are suspect.
``distance``
    After the two cluster policies, the remaining clusters are *normal*.  A row whose
    Euclidean distance (scaled feature space) to the nearest normal centroid exceeds
    the ``cluster.distance_quantile`` quantile of that same distance over the train
    rows of normal clusters is anomalous, whatever its cluster: it catches anomalies
    that K-means folded into a big normal cluster.

If no cluster is left normal, labelling fails with a clear error (the policies are
too aggressive for the data).  ``pseudo_label`` is -1 on rows that are not scored.

Quality against ground truth (``scores``): precision, recall and F1 of the anomalous
label over the rows with a known label (``label`` != -1).  For one anomaly type T,
the per-type scores are computed on the rows that are normal (``anomaly_type`` ==
``none``) or of type T only; rows of other types are left out, so per-type precision
counts the false alarms on normal rows against the hits on T.

The module is pure (arrays in, objects out); ``stages/cluster.py`` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyad.config import ClusterConfig, ThresholdsConfig

__all__ = ["PseudoLabeler", "ANOMALY_TYPES", "scores", "scores_by_type"]

ANOMALY_TYPES = ("point", "contextual", "collective")


@dataclass
class PseudoLabeler:
    """K-means plus the labelling policies (scikit-learn style: fit returns self)."""

    cluster_cfg: ClusterConfig
    thresholds: ThresholdsConfig
    use_humidity: bool = True
    kmeans_: Any = None
    cluster_sizes_: np.ndarray | None = None
    cluster_temp_: np.ndarray | None = None
    cluster_hum_: np.ndarray | None = None
    anomalous_clusters_: dict[int, list[str]] = field(default_factory=dict)
    normal_clusters_: list[int] = field(default_factory=list)
    distance_threshold_: float = float("inf")

    def fit(self, X_scaled: np.ndarray, temperature: np.ndarray, humidity: np.ndarray | None = None) -> "PseudoLabeler":
        """Fit on the scaled features and raw readings of the valid train rows."""
        from sklearn.cluster import KMeans

        cfg = self.cluster_cfg
        X = np.asarray(X_scaled, dtype=np.float64)
        if X.ndim != 2 or len(X) < cfg.k:
            raise ValueError(f"cluster: need at least cluster.k={cfg.k} valid train rows, got {len(X)}")
        if not cfg.policies:
            raise ValueError("cluster.policies: empty; expected at least one of threshold, small, distance")
        km = KMeans(n_clusters=cfg.k, n_init=cfg.n_init, random_state=cfg.seed)
        assign = km.fit_predict(X)
        self.kmeans_ = km
        k = cfg.k
        self.cluster_sizes_ = np.bincount(assign, minlength=k)
        temperature = np.asarray(temperature, dtype=np.float64)
        self.cluster_temp_ = np.array([temperature[assign == c].mean() if self.cluster_sizes_[c] else np.nan for c in range(k)])
        if humidity is not None and self.use_humidity:
            humidity = np.asarray(humidity, dtype=np.float64)
            self.cluster_hum_ = np.array([humidity[assign == c].mean() if self.cluster_sizes_[c] else np.nan for c in range(k)])
        else:
            self.cluster_hum_ = None

        reasons: dict[int, list[str]] = {}
        if "threshold" in cfg.policies:
            lo, hi = self.thresholds.temp_normal
            for c in range(k):
                t = self.cluster_temp_[c]
                out = not (lo <= t <= hi)
                if self.cluster_hum_ is not None:
                    hlo, hhi = self.thresholds.hum_normal
                    out = out or not (hlo <= self.cluster_hum_[c] <= hhi)
                if out:
                    reasons.setdefault(c, []).append("threshold")
        if "small" in cfg.policies:
            frac = self.cluster_sizes_ / self.cluster_sizes_.sum()
            for c in np.flatnonzero(frac < cfg.small_frac):
                reasons.setdefault(int(c), []).append("small")
        self.anomalous_clusters_ = reasons
        self.normal_clusters_ = [c for c in range(k) if c not in reasons]
        if not self.normal_clusters_:
            raise ValueError(
                f"cluster: every one of the {k} clusters is anomalous under policies {list(cfg.policies)}; "
                "loosen cluster.small_frac or thresholds"
            )
        if "distance" in cfg.policies:
            d = self.normal_distance(X)
            in_normal = np.isin(assign, self.normal_clusters_)
            self.distance_threshold_ = float(np.quantile(d[in_normal], cfg.distance_quantile))
        else:
            self.distance_threshold_ = float("inf")
        return self

    def _check_fitted(self) -> None:
        if self.kmeans_ is None:
            raise ValueError("PseudoLabeler: not fitted")

    def normal_distance(self, X_scaled: np.ndarray) -> np.ndarray:
        """Distance of every row to the nearest normal centroid."""
        self._check_fitted()
        cents = self.kmeans_.cluster_centers_[self.normal_clusters_]
        diff = np.asarray(X_scaled, dtype=np.float64)[:, None, :] - cents[None, :, :]
        return np.sqrt((diff * diff).sum(axis=2)).min(axis=1)

    def predict(self, X_scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(cluster, pseudo_label)`` of every row (int, int8 0/1)."""
        self._check_fitted()
        X = np.asarray(X_scaled, dtype=np.float64)
        assign = self.kmeans_.predict(X)
        label = np.isin(assign, list(self.anomalous_clusters_))
        if np.isfinite(self.distance_threshold_):
            label |= self.normal_distance(X) > self.distance_threshold_
        return assign.astype(np.int64), label.astype(np.int8)

    def summary(self) -> dict[str, Any]:
        self._check_fitted()
        out: dict[str, Any] = {
            "sizes": [int(v) for v in self.cluster_sizes_],
            "mean_temperature": [round(float(v), 3) for v in self.cluster_temp_],
            "anomalous_clusters": {str(c): r for c, r in sorted(self.anomalous_clusters_.items())},
            "normal_clusters": [int(c) for c in self.normal_clusters_],
            "distance_threshold": self.distance_threshold_ if np.isfinite(self.distance_threshold_) else None,
        }
        if self.cluster_hum_ is not None:
            out["mean_humidity"] = [round(float(v), 3) for v in self.cluster_hum_]
        return out


# -------------------------------------------------------------------- scoring
def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | int]:
    """Precision, recall, F1 of the positive (anomalous) class, with the counts."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = int((y_true & y_pred).sum())
    fp = int((~y_true & y_pred).sum())
    fn = int((y_true & ~y_pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "n": int(len(y_true))}


def scores_by_type(label: np.ndarray, anomaly_type: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Overall scores and one entry per anomaly type (rows normal or of that type).

    Rows with an unknown label (-1) are left out; returns ``{}`` when none is known.
    """
    label = np.asarray(label)
    atype = np.asarray(anomaly_type).astype(str)
    y_pred = np.asarray(y_pred).astype(bool)
    known = label >= 0
    if not known.any():
        return {}
    out: dict[str, Any] = {"overall": scores(label[known] == 1, y_pred[known])}
    for t in ANOMALY_TYPES:
        rows = known & ((atype == "none") | (atype == t))
        if ((atype == t) & known).any():
            out[t] = scores(label[rows] == 1, y_pred[rows])
    return out
