"""Baseline detectors the model is compared with in ``stages/evaluate.py``.

Each baseline is fitted (where it learns anything) on the valid rows of the train
split only and gives, per row, a continuous ``score`` (higher = more anomalous, for
the precision-recall curve) and a boolean ``decision``:

``ThresholdRule``
    the seed's rule: alarm when the temperature is outside ``thresholds.temp_alarm``
    (20-28 deg C) or the humidity outside ``thresholds.hum_alarm`` (30-50 %RH; a
    missing humidity is ignored, and humidity is ignored entirely when
    ``use_humidity`` is False).  Score: how far the reading is outside its band in
    half-band widths, the larger of the two quantities (negative inside), so
    ``decision == score > 0``.
``KMeansDistance``
    the cluster stage's K-means refitted on the same rows with the same
    ``cluster`` params (``tinyad.labeling.PseudoLabeler``, so clusters and their
    normal/anomalous verdicts are those of the cluster stage); score: Euclidean
    distance (scaled features) to the nearest *normal* centroid; decision: the
    score exceeds the ``cluster.distance_quantile`` quantile of that distance over
    the train rows of normal clusters.
``IsolationForestBaseline``
    scikit-learn's ``IsolationForest`` with ``evaluate.isolation_forest_seed`` and
    ``evaluate.isolation_forest_contamination`` on the scaled features; score:
    ``-score_samples`` (higher = more isolated); decision: ``predict == -1``.

Estimators follow scikit-learn's conventions: parameters in ``__init__``, learned
state ending in ``_``, ``fit`` returns ``self``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyad.config import ClusterConfig, EvaluateConfig, ThresholdsConfig

__all__ = ["IsolationForestBaseline", "KMeansDistance", "ThresholdRule"]


@dataclass
class ThresholdRule:
    thresholds: ThresholdsConfig
    use_humidity: bool = True

    @staticmethod
    def _outside(x: np.ndarray, band: list[float]) -> np.ndarray:
        lo, hi = float(band[0]), float(band[1])
        half = (hi - lo) / 2.0
        return (np.abs(x - (lo + hi) / 2.0) - half) / half

    def score(self, temperature: Any, humidity: Any | None = None) -> np.ndarray:
        t = np.asarray(temperature, dtype=np.float64)
        s = self._outside(t, self.thresholds.temp_alarm)
        if self.use_humidity and humidity is not None:
            h = np.asarray(humidity, dtype=np.float64)
            if h.shape != t.shape:
                raise ValueError(f"ThresholdRule: temperature {t.shape} and humidity {h.shape} differ")
            sh = self._outside(h, self.thresholds.hum_alarm)
            s = np.where(np.isfinite(sh), np.maximum(s, sh), s)
        return s

    def decision(self, temperature: Any, humidity: Any | None = None) -> np.ndarray:
        return self.score(temperature, humidity) > 0


@dataclass
class KMeansDistance:
    cluster_cfg: ClusterConfig
    thresholds: ThresholdsConfig
    use_humidity: bool = True
    labeler_: Any = None
    threshold_: float | None = None

    def fit(self, X_scaled: Any, temperature: Any, humidity: Any | None = None) -> "KMeansDistance":
        from tinyad.labeling import PseudoLabeler

        X = np.asarray(X_scaled, dtype=np.float64)
        hum = None
        if humidity is not None and self.use_humidity:
            hum = np.asarray(humidity, dtype=np.float64)
            if not np.isfinite(hum).all():
                hum = None
        lab = PseudoLabeler(self.cluster_cfg, self.thresholds, use_humidity=self.use_humidity)
        lab.fit(X, temperature, hum)
        assign = lab.kmeans_.predict(X)
        in_normal = np.isin(assign, lab.normal_clusters_)
        self.labeler_ = lab
        self.threshold_ = float(np.quantile(lab.normal_distance(X[in_normal]), self.cluster_cfg.distance_quantile))
        return self

    def score(self, X_scaled: Any) -> np.ndarray:
        if self.labeler_ is None:
            raise ValueError("KMeansDistance: not fitted")
        return self.labeler_.normal_distance(np.asarray(X_scaled, dtype=np.float64))

    def decision(self, X_scaled: Any) -> np.ndarray:
        return self.score(X_scaled) > self.threshold_


@dataclass
class IsolationForestBaseline:
    cfg: EvaluateConfig
    forest_: Any = None

    def fit(self, X_scaled: Any) -> "IsolationForestBaseline":
        from sklearn.ensemble import IsolationForest

        self.forest_ = IsolationForest(
            random_state=self.cfg.isolation_forest_seed,
            contamination=self.cfg.isolation_forest_contamination,
        ).fit(np.asarray(X_scaled, dtype=np.float64))
        return self

    def score(self, X_scaled: Any) -> np.ndarray:
        if self.forest_ is None:
            raise ValueError("IsolationForestBaseline: not fitted")
        return -self.forest_.score_samples(np.asarray(X_scaled, dtype=np.float64))

    def decision(self, X_scaled: Any) -> np.ndarray:
        if self.forest_ is None:
            raise ValueError("IsolationForestBaseline: not fitted")
        return self.forest_.predict(np.asarray(X_scaled, dtype=np.float64)) == -1
